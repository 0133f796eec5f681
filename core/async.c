/* async.c: the session's life: creation, its state, failure, teardown,
 * getters. The link it holds is in link.c. */
#define _POSIX_C_SOURCE 200809L
#include "async.h"

#include "alloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t (*clock_fn)(void) = monotonic_ms;

void arc__clock_set(int64_t (*now)(void))
{
    clock_fn = now ? now : monotonic_ms;
}

int64_t arc__now_ms(void)
{
    return clock_fn();
}

int64_t arc_now_ms(void)
{
    return clock_fn();
}

/* The tracking options, their prefixes copied (the caller keeps its own). */
static void copy_tracking(arc_context *c, const arc_tracking *t, bool *nomem)
{
    c->tracking_on = true;
    c->tracking = *t;
    c->tracking.prefixes = NULL;
    size_t n = t->prefixes != NULL ? t->nprefixes : 0;
    c->tracking.nprefixes = 0;
    if (n == 0)
        return;
    c->tracking_prefixes = arc_mem_alloc(&c->alloc, arc__mul_size(n, sizeof(char *)));
    if (c->tracking_prefixes == NULL) {
        *nomem = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        /* A NULL prefix is an empty one: every key. */
        const char *prefix = t->prefixes[i] ? t->prefixes[i] : "";
        c->tracking_prefixes[i] = arc__strdup(&c->alloc, prefix, nomem);
        if (*nomem)
            return;
        c->tracking.nprefixes = i + 1;
    }
}

static void destroy(arc_context *c)
{
    if (arc__loop_attached(c)) {
        void (*cleanup)(void *) = c->hooks.cleanup;
        c->hooks.cleanup = NULL;
        cleanup(c->hooks.data);
    }
    arc__link_release(c);
    if (c->transport_session != NULL && c->transport->session_free != NULL)
        c->transport->session_free(c->transport->data, c->transport_session);
    if (c->adopted_fd >= 0)
        close(c->adopted_fd);
    arc__buffer_release(&c->out);
    arc__queue_release(&c->queue);
    arc__retry_release(c);
    arc__sentinel_unwatch(c);
    arc__sentinel_release(c);
    arc__deadlines_release(&c->deadlines);
    arc__pubsub_release(&c->subs);
    arc_mem_free(&c->alloc, c->host);
    arc_mem_free(&c->alloc, c->unix_path);
    arc_mem_free(&c->alloc, c->username);
    arc_mem_free(&c->alloc, c->password);
    arc_mem_free(&c->alloc, c->client_name);
    for (size_t i = 0; c->tracking_prefixes != NULL && i < c->tracking.nprefixes; i++)
        arc_mem_free(&c->alloc, c->tracking_prefixes[i]);
    arc_mem_free(&c->alloc, c->tracking_prefixes);
    arc_mem_free(&c->alloc, c->ticker);
    void (*data_free)(void *) = c->data_free;
    void *data = c->data;
    arc_allocator a = c->alloc;
    arc_mem_free(&a, c);
    if (data_free != NULL)
        data_free(data);
}

/* Nothing here can call back: a context's first callbacks run from the
 * loop, after the caller holds the pointer. Bad options are found when the
 * link starts, so that a caller has one path for every failure. */
static arc_context *create(const arc_options *opt)
{
    if (opt == NULL)
        return NULL;
    arc_context *c = arc_mem_alloc(opt->allocator, sizeof *c);
    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof *c);
    arc__alloc_copy(&c->alloc, opt->allocator);
    arc__link_init(c);
    c->adopted_fd = -1;
    c->resolver = arc__net_resolver();
    c->told_fd = -1;
    c->told_deadline = -1;
    c->resp = 2;
    c->state = ARC_STATE_CONNECTING; /* where every context starts, unannounced */
    c->previous = ARC_STATE_INIT;
    c->since_ms = arc__now_ms();
    c->phase = ARC_PHASE_OPEN;
    c->idle_since_ms = -1;
    c->rc_at = -1;
    arc__buffer_init(&c->out, opt->max_output ? opt->max_output : ARC_DEFAULT_MAX_OUTPUT,
                     &c->alloc);
    arc__queue_init(&c->queue, &c->alloc);
    arc__deadlines_init(&c->deadlines, &c->alloc);
    arc__pubsub_init(&c->subs, &c->alloc);

    bool nomem = false;
    c->host = arc__strdup(&c->alloc, opt->host, &nomem);
    c->unix_path = arc__strdup(&c->alloc, opt->unix_path, &nomem);
    c->username = arc__strdup(&c->alloc, opt->username, &nomem);
    c->password = arc__strdup(&c->alloc, opt->password, &nomem);
    c->client_name = arc__strdup(&c->alloc, opt->client_name, &nomem);
    if (opt->tracking != NULL && !nomem)
        copy_tracking(c, opt->tracking, &nomem);
    if (!nomem && arc__sentinel_setup(c, opt->sentinel) != ARC_OK)
        nomem = true;
    if (nomem) {
        destroy(c); /* data_free is not set yet: the caller keeps its data */
        return NULL;
    }
    c->port = opt->port ? opt->port : 6379;
    c->family = opt->family;
    c->tuning.keepalive_s = opt->keepalive_s > 0 ? opt->keepalive_s : 0;
    c->tuning.keepalive_interval_s = opt->keepalive_interval_s > 0 ? opt->keepalive_interval_s : 0;
    c->tuning.keepalive_count = opt->keepalive_count > 0 ? opt->keepalive_count : 0;
    c->tuning.user_timeout_ms = opt->tcp_user_timeout_ms > 0 ? opt->tcp_user_timeout_ms : 0;
    c->health_check_ms = opt->health_check_ms > 0 ? opt->health_check_ms : 0;
    c->health_timeout_ms = opt->health_timeout_ms > 0 ? opt->health_timeout_ms : c->health_check_ms;
    c->resp_wanted = opt->resp ? opt->resp : 2;
    c->db = opt->db;
    c->limits = opt->limits;
    c->connect_timeout_ms = opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms : 0;
    c->command_timeout_ms = opt->command_timeout_ms > 0 ? opt->command_timeout_ms : 0;
    c->transport = opt->transport;
    c->on_connect = opt->on_connect;
    c->on_disconnect = opt->on_disconnect;
    c->on_push = opt->on_push;
    c->on_state = opt->on_state;
    c->data = opt->data;
    c->data_free = opt->data_free;
    arc__reconnect_setup(c, opt->reconnect);
    /* With a sentinel to ask, a demoted master is left for the new one. */
    if (c->snt.on && c->reconnecting_on)
        c->rc.readonly_reconnects = true;
    return c;
}

arc_context *arc_connect(const arc_options *opt)
{
    return create(opt);
}

arc_context *arc_connect_fd(int fd, const arc_options *opt)
{
    if (fd < 0)
        return NULL;
    arc_context *c = create(opt);
    if (c == NULL)
        return NULL;
    c->adopted_fd = fd; /* the link takes it when it starts, from the loop */
    return c;
}

arc_context *arc__connect_transport(const arc_options *opt, const arc_transport_ops *ops,
                                    void *impl, int fd)
{
    if (ops == NULL)
        return NULL;
    arc_context *c = arc_connect_fd(fd, opt);
    if (c != NULL) {
        c->adopted_ops = ops;
        c->adopted_impl = impl;
    }
    return c;
}

void arc__transport_reopen(arc_context *c, int (*reopen)(void *impl))
{
    if (c != NULL && c->adopted_ops != NULL)
        c->adopted_reopen = reopen;
}

/* The observable state follows from the phase, the link's step and the
 * session's mode; it is never written anywhere else. */
static arc_state derive_state(const arc_context *c)
{
    if (c->phase == ARC_PHASE_CLOSED)
        return ARC_STATE_CLOSED;
    if (c->phase == ARC_PHASE_FAILED)
        return ARC_STATE_FAILED;
    switch (c->link.step) {
    case ARC_LINK_HELD:
        return ARC_STATE_HELD;
    case ARC_LINK_HANDSHAKE:
        /* Asking a sentinel is part of connecting. */
        return c->link.asking ? ARC_STATE_CONNECTING : ARC_STATE_HANDSHAKE;
    case ARC_LINK_UP:
        break;
    case ARC_LINK_DOWN:
        return c->rc_at >= 0 ? ARC_STATE_WAITING : ARC_STATE_CONNECTING;
    default:
        return ARC_STATE_CONNECTING;
    }
    if (c->phase == ARC_PHASE_DRAINING)
        return ARC_STATE_DISCONNECTING;
    if (c->monitor_fn != NULL)
        return ARC_STATE_MONITORING;
    if (arc__pubsub_confirmed(&c->subs) > 0)
        return ARC_STATE_SUBSCRIBED;
    return ARC_STATE_READY;
}

void arc__update_state(arc_context *c)
{
    arc_state s = derive_state(c);
    if (c->state == s)
        return;
    c->previous = c->state;
    c->state = s;
    c->since_ms = arc__now_ms();
    if (c->on_state != NULL) {
        c->depth++;
        c->on_state(c, c->previous, s, c->data);
        c->depth--;
    }
}

size_t arc__live_entries(const arc_context *c)
{
    size_t n = arc__queue_len(&c->queue);
    size_t skip = c->tombstones + c->handshake_left;
    return n > skip ? n - skip : 0;
}

void arc__enter(arc_context *c)
{
    c->depth++;
}

bool arc__leave(arc_context *c)
{
    if (c->depth > 1) {
        c->depth--;
        return true;
    }
    /* Telling the loop can fail the context, and its callbacks may ask for
     * arc_free(): look again after it. */
    if (!c->free_requested)
        arc__sync_loop(c);
    if (c->free_requested) {
        /* Still at depth 1, so callbacks run by the teardown that call
         * arc_free() or arc_disconnect() again only find it under way. */
        arc__terminate(c, ARC_ERR_FREED);
        destroy(c);
        return false;
    }
    if (arc__ended(c) && c->link.reader != NULL) {
        /* Only now: a callback that ended the context may still have been
         * reading its reply, which lives in the reader's arena. */
        arc_reader_free(c->link.reader);
        c->link.reader = NULL;
    }
    c->depth--;
    return true;
}

void arc__terminate(arc_context *c, int status)
{
    if (arc__ended(c))
        return;
    c->phase = status == ARC_OK || status == ARC_ERR_FREED ? ARC_PHASE_CLOSED : ARC_PHASE_FAILED;
    if (status != ARC_OK && c->failure == ARC_OK)
        c->failure = status;
    bool was_up = c->link.step == ARC_LINK_UP;
    c->rc_at = -1;
    arc__link_down(c);
    arc__sentinel_unwatch(c);
    arc__update_state(c);

    arc__fail_entries(c, status == ARC_ERR_FREED ? ARC_ERR_FREED : ARC_OK);
    arc__end_subscriptions(c, status);
    arc__deadlines_clear(&c->deadlines);

    /* on_connect's failure when never ready; on_disconnect for a ready
     * link that ends now (a lost one was told when it was lost). */
    c->depth++;
    if (!c->ever_ready) {
        c->ever_ready = true; /* told: never again */
        if (c->on_connect != NULL)
            c->on_connect(c, status == ARC_OK ? ARC_ERR_CLOSED : status, c->data);
    } else if (was_up && c->on_disconnect != NULL) {
        c->on_disconnect(c, status, c->data);
    }
    c->depth--;
    arc__buffer_release(&c->out);
}

void arc__fail(arc_context *c, int status, int sys_errno, const char *fmt, ...)
{
    if (arc__ended(c))
        return;
    c->failure = status;
    c->sys_errno = sys_errno;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
    if (arc__sentinel_next(c))
        return; /* the next sentinel is asked */
    status = c->failure;
    long delay = arc__reconnect_delay(c, status);
    if (delay >= 0 && arc__alive(c))
        arc__reconnect_after(c, status, delay);
    else
        arc__terminate(c, status);
}

void arc__link_up(arc_context *c)
{
    int64_t now = arc__now_ms();
    c->ready_ms = now;
    c->link.last_progress_ms = now;
    c->link.deadline = -1;
    if (arc__queue_len(&c->queue) == 0)
        c->idle_since_ms = now;
    c->rc_attempt = 0;
    arc__link_set_step(c, ARC_LINK_UP);
    /* A callback above may have ended or freed the session. */
    if (!arc__alive(c))
        return;
    /* Invalidations sent while the link was down are lost: the cache goes
     * before anything is read through the new link. */
    if (c->ever_ready && c->tracking_on && c->tracking.flush != NULL) {
        c->depth++;
        c->tracking.flush(c, c->data);
        c->depth--;
        if (!arc__alive(c))
            return;
    }
    c->ever_ready = true;
    arc__sentinel_watch(c);
    if (c->on_connect != NULL) {
        c->depth++;
        c->on_connect(c, ARC_OK, c->data);
        c->depth--;
    }
    if (arc__alive(c))
        arc__maybe_close(c);
}

void arc__maybe_close(arc_context *c)
{
    if (c->phase == ARC_PHASE_DRAINING && c->link.step == ARC_LINK_UP &&
        arc__queue_len(&c->queue) == c->tombstones)
        arc__terminate(c, ARC_OK);
}

void arc_free(arc_context *c)
{
    if (c == NULL || c->free_requested)
        return;
    c->free_requested = true;
    if (c->depth > 0)
        return; /* the outermost entry point finishes it in arc__leave */
    arc__enter(c);
    arc__leave(c);
}

void arc_disconnect(arc_context *c)
{
    if (c == NULL || !arc__alive(c) || c->phase != ARC_PHASE_OPEN)
        return;
    arc__enter(c);
    if (c->link.step == ARC_LINK_DOWN && c->rc_at >= 0) {
        /* Waiting to reconnect: nothing to drain over; end it now. */
        arc__terminate(c, ARC_OK);
        arc__leave(c);
        return;
    }
    /* Commands already queued were accepted: they are still sent and
     * answered (once the link is up, when it is not yet), then it closes.
     * Subscriptions and a monitor never end on their own: with no command
     * left to answer, a clean disconnect closes now. */
    c->phase = ARC_PHASE_DRAINING;
    arc__update_state(c);
    if (arc__alive(c))
        arc__maybe_close(c);
    arc__leave(c);
}

int arc_set_timeouts(arc_context *c, long connect_timeout_ms, long command_timeout_ms)
{
    if (c == NULL || connect_timeout_ms < 0 || command_timeout_ms < 0)
        return ARC_ERR_INVALID;
    if (!arc__alive(c))
        return ARC_ERR_CLOSED;
    /* Without a command timeout the time replies became due is not kept
     * (it costs a clock read per command); one imposed on replies already
     * due counts from now, not from whatever was kept before. */
    if (c->command_timeout_ms == 0 && command_timeout_ms > 0 && arc__live_entries(c) > 0)
        c->due_since_ms = arc__now_ms();
    c->connect_timeout_ms = connect_timeout_ms;
    c->command_timeout_ms = command_timeout_ms;
    arc_link *l = &c->link;
    if (l->step != ARC_LINK_IDLE && l->step < ARC_LINK_UP) {
        /* Counted from the start of the attempt under way. */
        int64_t started = l->nattempts ? l->attempts[0].started_ms : c->since_ms;
        l->deadline = connect_timeout_ms ? started + connect_timeout_ms : -1;
    }
    if (c->depth == 0) {
        arc__enter(c);
        arc__leave(c);
    }
    return ARC_OK;
}

/* ---- getters ---- */

void *arc_context_transport(const void *context, const arc_transport_ops *ops)
{
    const arc_context *c = context;
    if (c == NULL || ops == NULL || c->link.tr.ops != ops)
        return NULL;
    return c->link.tr.impl;
}

arc_state arc_context_state(const arc_context *c)
{
    return c ? c->state : ARC_STATE_INIT;
}

arc_state arc_context_previous_state(const arc_context *c)
{
    return c ? c->previous : ARC_STATE_INIT;
}

int64_t arc_context_state_since_ms(const arc_context *c)
{
    return c ? c->since_ms : 0;
}

int arc_context_failure(const arc_context *c)
{
    return c ? c->failure : ARC_ERR_INVALID;
}

const char *arc_context_error(const arc_context *c)
{
    return c ? c->error : "";
}

int arc_context_errno(const arc_context *c)
{
    return c ? c->sys_errno : 0;
}

size_t arc_context_attempts(const arc_context *c)
{
    return c ? c->link.nattempts : 0;
}

const arc_attempt *arc_context_attempt(const arc_context *c, size_t i)
{
    if (c == NULL || i >= c->link.nattempts)
        return NULL;
    return &c->link.attempts[i];
}

size_t arc_context_pending(const arc_context *c)
{
    return c ? arc__live_entries(c) : 0;
}

int arc_context_resp(const arc_context *c)
{
    return c ? c->resp : 0;
}

void *arc_context_data(const arc_context *c)
{
    return c ? c->data : NULL;
}

const arc_allocator *arc_context_allocator(const arc_context *c)
{
    return c ? &c->alloc : arc_allocator_default();
}

const char *arc_state_name(arc_state s)
{
    switch (s) {
    case ARC_STATE_INIT: return "INIT";
    case ARC_STATE_CONNECTING: return "CONNECTING";
    case ARC_STATE_HELD: return "HELD";
    case ARC_STATE_HANDSHAKE: return "HANDSHAKE";
    case ARC_STATE_READY: return "READY";
    case ARC_STATE_SUBSCRIBED: return "SUBSCRIBED";
    case ARC_STATE_MONITORING: return "MONITORING";
    case ARC_STATE_DISCONNECTING: return "DISCONNECTING";
    case ARC_STATE_CLOSED: return "CLOSED";
    case ARC_STATE_FAILED: return "FAILED";
    case ARC_STATE_WAITING: return "WAITING";
    }
    return "UNKNOWN";
}
