/* async.c: the context's life: creation, states, failure, teardown, getters. */
#define _POSIX_C_SOURCE 200809L
#include "async.h"

#include "alloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t arc__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t arc_now_ms(void)
{
    return arc__now_ms();
}

static char *dup_string(const arc_allocator *a, const char *s, bool *nomem)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *d = arc_mem_alloc(a, n + 1);
    if (d == NULL) {
        *nomem = true;
        return NULL;
    }
    memcpy(d, s, n + 1);
    return d;
}

static void destroy(arc_context *c)
{
    if (c->attached) {
        c->attached = false;
        c->hooks.cleanup(c->hooks.data);
    }
    if (c->fd >= 0)
        close(c->fd);
    arc_reader_free(c->reader);
    arc__buffer_release(&c->out);
    arc__queue_release(&c->queue);
    arc__pubsub_release(&c->subs);
    arc_mem_free(&c->alloc, c->addrs);
    arc_mem_free(&c->alloc, c->host);
    arc_mem_free(&c->alloc, c->unix_path);
    arc_mem_free(&c->alloc, c->username);
    arc_mem_free(&c->alloc, c->password);
    arc_mem_free(&c->alloc, c->client_name);
    void (*data_free)(void *) = c->data_free;
    void *data = c->data;
    arc_allocator a = c->alloc;
    arc_mem_free(&a, c);
    if (data_free != NULL)
        data_free(data);
}

static arc_context *create(const arc_options *opt)
{
    if (opt == NULL)
        return NULL;
    arc_context *c = arc_mem_alloc(opt->allocator, sizeof *c);
    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof *c);
    arc__alloc_copy(&c->alloc, opt->allocator);
    c->fd = -1;
    c->told_fd = -1;
    c->told_deadline = -1;
    c->connect_deadline = -1;
    c->busy_since = -1;
    c->resp = 2;
    c->state = ARC_STATE_INIT;
    c->previous = ARC_STATE_INIT;
    c->since_ms = arc__now_ms();
    arc__buffer_init(&c->out, opt->max_output ? opt->max_output : ARC_DEFAULT_MAX_OUTPUT,
                     &c->alloc);
    arc__queue_init(&c->queue, &c->alloc);
    arc__pubsub_init(&c->subs, &c->alloc);

    bool nomem = false;
    c->host = dup_string(&c->alloc, opt->host, &nomem);
    c->unix_path = dup_string(&c->alloc, opt->unix_path, &nomem);
    c->username = dup_string(&c->alloc, opt->username, &nomem);
    c->password = dup_string(&c->alloc, opt->password, &nomem);
    c->client_name = dup_string(&c->alloc, opt->client_name, &nomem);
    c->reader = arc_reader_new(&opt->limits, &c->alloc);
    if (nomem || c->reader == NULL) {
        destroy(c); /* data_free is not set yet: the caller keeps its data */
        return NULL;
    }
    c->port = opt->port ? opt->port : 6379;
    c->family = opt->family;
    c->keepalive_s = opt->keepalive_s;
    c->resp_wanted = opt->resp == 3 ? 3 : 2;
    c->db = opt->db;
    c->connect_timeout_ms = opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms : 0;
    c->command_timeout_ms = opt->command_timeout_ms > 0 ? opt->command_timeout_ms : 0;
    c->on_connect = opt->on_connect;
    c->on_disconnect = opt->on_disconnect;
    c->on_push = opt->on_push;
    c->on_state = opt->on_state;
    c->data = opt->data;
    if (c->connect_timeout_ms)
        c->connect_deadline = c->since_ms + c->connect_timeout_ms;
    c->in_connect = true;
    if (opt->resp != 0 && opt->resp != 2 && opt->resp != 3) {
        c->deferred = ARC_ERR_INVALID;
        snprintf(c->error, sizeof c->error, "resp must be 2 or 3, not %d", opt->resp);
    } else if (opt->port < 0 || opt->port > 65535) {
        c->deferred = ARC_ERR_INVALID;
        snprintf(c->error, sizeof c->error, "port %d is out of range", opt->port);
    } else {
        int rc = arc__queue_handshake(c);
        if (rc != ARC_OK) {
            destroy(c);
            return NULL;
        }
    }
    return c;
}

arc_context *arc_connect(const arc_options *opt)
{
    arc_context *c = create(opt);
    if (c == NULL)
        return NULL;
    c->data_free = opt->data_free;
    /* Set, not announced: a state callback here would run before the
     * caller holds the pointer. CONNECTING is where every context starts. */
    c->state = ARC_STATE_CONNECTING;
    if (!c->deferred) {
        if (c->unix_path == NULL && c->host == NULL) {
            c->deferred = ARC_ERR_INVALID;
            snprintf(c->error, sizeof c->error, "no host and no unix_path given");
        } else {
            arc__start_connect(c);
        }
    }
    c->in_connect = false;
    return c;
}

arc_context *arc_connect_fd(int fd, const arc_options *opt)
{
    if (fd < 0)
        return NULL;
    arc_context *c = create(opt);
    if (c == NULL)
        return NULL;
    c->data_free = opt->data_free;
    c->state = ARC_STATE_CONNECTING;
    c->fd = fd;
    if (arc__net_adopt(fd) != ARC_OK && !c->deferred) {
        c->deferred = ARC_ERR_IO;
        c->sys_errno = errno;
        snprintf(c->error, sizeof c->error, "cannot make socket non-blocking: %s",
                 strerror(errno));
    }
    /* An adopted socket goes the way of a connect in progress: the first
     * writability confirms it, so on_connect runs from the loop. */
    c->connecting = true;
    c->in_connect = false;
    return c;
}

void arc__set_state(arc_context *c, arc_state s)
{
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

bool arc__ended(const arc_context *c)
{
    return c->state == ARC_STATE_CLOSED || c->state == ARC_STATE_FAILED;
}

void arc__call_reply(arc_context *c, arc_reply_fn *fn, arc_reply *r, int status, void *pd)
{
    if (fn == NULL)
        return;
    c->depth++;
    fn(c, r, status, pd);
    c->depth--;
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
    if (c->free_requested) {
        /* Still at depth 1, so callbacks run by the teardown that call
         * arc_free() or arc_disconnect() again only find it under way. */
        arc__terminate(c, ARC_STATE_CLOSED, ARC_ERR_FREED);
        destroy(c);
        return false;
    }
    arc__sync_loop(c);
    c->depth--;
    return true;
}

void arc__terminate(arc_context *c, arc_state final, int status)
{
    if (arc__ended(c))
        return;
    arc__close_socket(c);
    c->connecting = false;
    if (status != ARC_OK && c->failure == ARC_OK)
        c->failure = status;
    arc__set_state(c, final);

    /* Every pending command: its callback once, with NULL. Entries are
     * popped before the call, so a callback that looks at the queue (or
     * frees the context) never sees one twice. */
    while (arc__queue_len(&c->queue) > 0) {
        arc_entry e;
        arc__queue_pop(&c->queue, &e);
        if (e.kind == ARC_ENTRY_HANDSHAKE || e.kind == ARC_ENTRY_SUB)
            continue; /* SUB callbacks live in the subscription table */
        arc__call_reply(c, e.fn, NULL, status, e.privdata);
    }
    c->sub_inflight = 0;
    c->monitor_inflight = false;
    c->handshake_left = 0;
    arc__end_subscriptions(c, status);

    c->depth++;
    if (!c->connect_called) {
        c->connect_called = true;
        if (c->on_connect != NULL)
            c->on_connect(c, status == ARC_OK ? ARC_ERR_CLOSED : status, c->data);
    } else if (!c->disconnect_called) {
        c->disconnect_called = true;
        if (c->on_disconnect != NULL)
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
    arc__terminate(c, ARC_STATE_FAILED, status);
}

void arc__connected(arc_context *c)
{
    c->connecting = false;
    if (c->handshake_left > 0)
        arc__set_state(c, ARC_STATE_HANDSHAKE);
    else
        arc__ready(c);
}

void arc__ready(arc_context *c)
{
    c->holding = false;
    c->hold = 0;
    c->ready_ms = arc__now_ms();
    c->connect_deadline = -1;
    if (c->state == ARC_STATE_DISCONNECTING || arc__ended(c))
        return;
    arc__set_state(c, ARC_STATE_READY);
    if (!c->connect_called) {
        c->connect_called = true;
        if (c->on_connect != NULL) {
            c->depth++;
            c->on_connect(c, ARC_OK, c->data);
            c->depth--;
        }
    }
    if (c->disconnect_asked && !c->free_requested && !arc__ended(c)) {
        arc__set_state(c, ARC_STATE_DISCONNECTING);
        if (arc__queue_len(&c->queue) == 0)
            arc__terminate(c, ARC_STATE_CLOSED, ARC_OK);
    }
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
    if (c == NULL || c->free_requested || arc__ended(c) ||
        c->state == ARC_STATE_DISCONNECTING || c->disconnect_asked)
        return;
    arc__enter(c);
    if (c->state == ARC_STATE_CONNECTING || c->state == ARC_STATE_HELD ||
        c->state == ARC_STATE_HANDSHAKE || c->state == ARC_STATE_INIT) {
        /* Commands already queued were accepted: they are still sent and
         * answered once the connection is up, then it closes. */
        c->disconnect_asked = true;
    } else {
        arc__set_state(c, ARC_STATE_DISCONNECTING);
        /* Subscriptions and a monitor never end on their own: with no
         * command left to answer, a clean disconnect closes now. */
        if (arc__queue_len(&c->queue) == 0)
            arc__terminate(c, ARC_STATE_CLOSED, ARC_OK);
    }
    arc__leave(c);
}

/* ---- getters ---- */

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

size_t arc_context_pending(const arc_context *c)
{
    if (c == NULL)
        return 0;
    size_t n = arc__queue_len(&c->queue);
    return n >= c->handshake_left ? n - c->handshake_left : 0;
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
    }
    return "UNKNOWN";
}
