/* group.c: many members (contexts) from one loop: the table of their
 * states, the changed list and the connect-in-flight limit. Fan-out, one
 * command to many members, is in fanout.c; the objects and their
 * lifetimes are described in group_internal.h. */
#include "async.h"
#include "group_internal.h"
#include "list.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_MAX_CONNECTING 64

/* ---- references ---- */

void arc__group_unref(arc_group *g)
{
    if (--g->refs == 0 && g->freeing) {
        arc_allocator a = g->alloc;
        arc_mem_free(&a, g);
    }
}

void arc__member_ref(arc_member *m)
{
    m->refs++;
}

void arc__member_unref(arc_member *m)
{
    if (--m->refs > 0)
        return;
    arc_group *g = m->g;
    arc_mem_free(&g->alloc, m->error);
    arc_mem_free(&g->alloc, m);
    arc__group_unref(g);
}

/* ---- the lists (list.h) ---- */

/* Whether m is on a list: its first entry, or linked behind another.
 * Being on the waiting list is what waiting means, and on the changed
 * list what changed means, so neither has a flag of its own. */
#define LIST_HOLDS(g, m, head, prev) ((g)->head == (m) || (m)->prev != NULL)

bool arc__member_waiting(const arc_member *m)
{
    return LIST_HOLDS(m->g, m, whead, wprev);
}

static bool changed(const arc_member *m)
{
    return LIST_HOLDS(m->g, m, chead, cprev);
}

static void unwait(arc_group *g, arc_member *m)
{
    if (arc__member_waiting(m))
        LIST_UNLINK(g, m, whead, wtail, wprev, wnext);
}

static void unchange(arc_group *g, arc_member *m)
{
    if (changed(m))
        LIST_UNLINK(g, m, chead, ctail, cprev, cnext);
}

/* ---- states ---- */

static bool connecting(arc_state s)
{
    return s == ARC_STATE_CONNECTING || s == ARC_STATE_HELD || s == ARC_STATE_HANDSHAKE;
}

static size_t connecting_now(const arc_group *g)
{
    return g->counts[ARC_STATE_CONNECTING] + g->counts[ARC_STATE_HELD] +
           g->counts[ARC_STATE_HANDSHAKE];
}

static void copy_error(arc_member *m)
{
    const char *text = m->c ? arc_context_error(m->c) : "";
    size_t n = strlen(text);
    char *copy = arc_mem_alloc(&m->g->alloc, n + 1);
    arc_mem_free(&m->g->alloc, m->error);
    m->error = copy; /* NULL when out of memory: arc_member_error() says "" */
    if (copy != NULL)
        memcpy(copy, text, n + 1);
}

static void start_waiting(arc_group *g);

/* The ticker no later than `at`: only ever earlier, the tick working out
 * the next time itself. */
void arc__group_arm_at(arc_group *g, int64_t at)
{
    if (at < 0 || g->ticker == NULL || g->freeing || (g->armed >= 0 && g->armed <= at))
        return;
    g->armed = at;
    arc__ticker_at(g->ticker, at);
}

/* Deadlines of commands on members that wait their turn: their contexts
 * are not attached, so the group expires those commands (ARC_ERR_TIMEOUT,
 * as their own timer would) and re-arms for the earliest left. Callbacks
 * may change the table: each member is held while it is looked at, and a
 * member that left the waiting list ends the walk (the re-arm catches the
 * rest). */
static void on_tick(void *data)
{
    arc_group *g = data;
    g->armed = -1;
    g->refs++;
    start_waiting(g);
    int64_t now = arc__now_ms();
    arc_member *m = g->whead;
    if (m != NULL)
        arc__member_ref(m);
    while (m != NULL && !g->freeing) {
        arc_member *next = arc__member_waiting(m) ? m->wnext : NULL;
        if (next != NULL)
            arc__member_ref(next);
        if (arc__member_waiting(m) && m->c != NULL) {
            arc_context *c = m->c;
            arc__enter(c);
            arc__expire_commands(c, now);
            arc__leave(c);
        }
        arc__member_unref(m);
        m = next;
    }
    if (m != NULL)
        arc__member_unref(m);
    for (arc_member *w = g->whead; w != NULL && !g->freeing; w = w->wnext)
        if (w->c != NULL)
            arc__group_arm_at(g, arc__commands_deadline(w->c));
    arc__group_unref(g);
}

/* The one place a member's state changes: the counts, the changed list
 * and on_change follow it. The caller holds a reference on m and g. */
static void set_state(arc_member *m, arc_state now)
{
    arc_group *g = m->g;
    arc_state before = m->state;
    if (now == before || (unsigned)now >= STATES)
        return;
    m->state = now;
    m->since_ms = arc_now_ms();
    m->failure = m->c ? arc_context_failure(m->c) : m->failure;
    if (now == ARC_STATE_FAILED || now == ARC_STATE_WAITING)
        copy_error(m);
    if (!m->in_table)
        return; /* removed: its row is kept for fan-outs only */
    g->counts[before]--;
    g->counts[now]++;
    /* Changed means "not as the caller last saw it": a member that went
     * back to that state is no longer a change to report. */
    if (now == m->seen) {
        unchange(g, m);
    } else if (!changed(m)) {
        LIST_APPEND(g, m, chead, ctail, cprev, cnext);
    }
    if (g->on_change != NULL)
        g->on_change(g, m, before, now, g->data);
    if (connecting(before) && !connecting(now))
        start_waiting(g);
}

/* ---- the members' contexts call here ---- */

static void member_on_state(arc_context *c, arc_state previous, arc_state now, void *data)
{
    arc_member *m = data;
    arc_group *g = m->g;
    arc__member_ref(m);
    g->refs++;
    set_state(m, now);
    if (m->on_state != NULL)
        m->on_state(c, previous, now, m->data);
    arc__member_unref(m);
    arc__group_unref(g);
}

static void member_on_connect(arc_context *c, int status, void *data)
{
    arc_member *m = data;
    if (m->on_connect != NULL)
        m->on_connect(c, status, m->data);
}

static void member_on_disconnect(arc_context *c, int status, void *data)
{
    arc_member *m = data;
    if (m->on_disconnect != NULL)
        m->on_disconnect(c, status, m->data);
}

static void member_on_push(arc_context *c, arc_reply *reply, void *data)
{
    arc_member *m = data;
    if (m->on_push != NULL)
        m->on_push(c, reply, m->data);
}

/* The context is gone (freed by arc_group_remove, directly or later when
 * it was inside one of its own callbacks). */
static void member_context_gone(void *data)
{
    arc_member *m = data;
    m->c = NULL;
    if (m->data_free != NULL)
        m->data_free(m->data);
    arc__member_unref(m);
}

/* ---- the group ---- */

arc_group *arc_group_new(const arc_group_options *opt)
{
    arc_group_options none;
    if (opt == NULL) {
        memset(&none, 0, sizeof none);
        opt = &none;
    }
    arc_group *g = arc_mem_alloc(opt->allocator, sizeof *g);
    if (g == NULL)
        return NULL;
    memset(g, 0, sizeof *g);
    arc__alloc_copy(&g->alloc, opt->allocator);
    g->refs = 1; /* the caller's, until arc_group_free */
    g->max_connecting = opt->max_connecting ? opt->max_connecting : DEFAULT_MAX_CONNECTING;
    g->member_options = opt->member_options;
    g->on_change = opt->on_change;
    g->data = opt->data;
    g->armed = -1;
    g->ticker = arc__ticker_new(opt->allocator, on_tick, g);
    if (g->ticker == NULL) {
        arc_allocator a = g->alloc;
        arc_mem_free(&a, g);
        return NULL;
    }
    return g;
}

/* Attaches the members whose turn has come. Attaching runs no callback of
 * theirs (the link starts from the loop), but a failed attach fails the
 * context, whose callbacks may add, remove or free anything: the loop
 * looks at the list afresh each time. */
static void start_waiting(arc_group *g)
{
    if (g->attach == NULL || g->starting || g->freeing)
        return;
    g->starting = true;
    g->refs++;
    while (g->whead != NULL && connecting_now(g) < g->max_connecting && !g->freeing) {
        arc_member *m = g->whead;
        unwait(g, m);
        arc__member_ref(m);
        /* The member counts as connecting from its turn on: the context
         * announces CONNECTING only once the loop has run it. */
        set_state(m, ARC_STATE_CONNECTING);
        if (m->c != NULL) {
            int rc = g->attach(m->c, g->loop);
            if (rc != ARC_OK && m->c != NULL) {
                arc_context *c = m->c;
                arc__enter(c);
                arc__fail(c, rc, 0, "the group could not attach the member to its loop: %s",
                          arc_strerror(rc));
                arc__leave(c);
            }
        }
        arc__member_unref(m);
    }
    g->starting = false;
    arc__group_unref(g);
}

int arc_group_attach(arc_group *g, arc_attach_fn *attach, void *loop)
{
    if (g == NULL || attach == NULL) /* a NULL loop is GLib's default context */
        return ARC_ERR_INVALID;
    if (g->attach != NULL || g->freeing)
        return ARC_ERR_STATE;
    g->attach = attach;
    g->loop = loop;
    int rc = attach(g->ticker, loop);
    if (rc != ARC_OK) {
        g->attach = NULL;
        g->loop = NULL;
        return rc;
    }
    if (g->armed >= 0) { /* armed before the loop was there */
        int64_t at = g->armed;
        g->armed = -1;
        arc__group_arm_at(g, at);
    }
    /* The members added so far start now: the caller holds every one of
     * them, so their on_change may run inside this call. */
    start_waiting(g);
    return ARC_OK;
}

/* "host:port", "[v6]:port" or the path, into buf (snprintf's count). */
static int member_name(char *buf, size_t n, const char *host, int port, const char *path)
{
    if (path != NULL || host == NULL) /* the second for gcc -O3's -Wnonnull */
        return snprintf(buf, n, "%s", path ? path : "");
    return snprintf(buf, n, strchr(host, ':') != NULL ? "[%s]:%d" : "%s:%d", host,
                    port ? port : 6379);
}

/* Makes the member and its context; the context reports to the member. */
static arc_member *add(arc_group *g, const arc_options *base, const char *host, int port,
                       const char *path, void *data, bool forward)
{
    if (g == NULL || g->freeing)
        return NULL;
    /* Measured first: a host name may be as long as DNS allows (253), and
     * arc_member_name() promises the address as given. */
    int len = member_name(NULL, 0, host, port, path);
    if (len < 0)
        return NULL;
    arc_member *m = arc_mem_alloc(&g->alloc, sizeof *m + (size_t)len + 1);
    if (m == NULL)
        return NULL;
    memset(m, 0, sizeof *m);
    member_name(m->name, (size_t)len + 1, host, port, path);
    m->g = g;
    m->state = m->seen = ARC_STATE_INIT;
    m->since_ms = arc_now_ms();
    m->data = forward ? base->data : data;
    if (forward) {
        m->on_connect = base->on_connect;
        m->on_disconnect = base->on_disconnect;
        m->on_push = base->on_push;
        m->on_state = base->on_state;
        m->data_free = base->data_free;
    }
    arc_options o;
    if (base != NULL)
        o = *base;
    else
        memset(&o, 0, sizeof o);
    if (!forward) {
        o.host = path ? NULL : host;
        o.port = path ? 0 : port;
        o.unix_path = path;
        o.sentinel = NULL; /* the member is this address */
    }
    o.on_connect = member_on_connect;
    o.on_disconnect = member_on_disconnect;
    o.on_push = member_on_push;
    o.on_state = member_on_state;
    o.data = m;
    o.data_free = member_context_gone;
    m->c = arc_connect(&o);
    if (m->c == NULL) {
        arc_mem_free(&g->alloc, m);
        return NULL;
    }
    m->refs = 2; /* the table's and the context's */
    g->refs++;
    m->in_table = true;
    LIST_APPEND(g, m, head, tail, prev, next);
    g->size++;
    g->counts[ARC_STATE_INIT]++;
    LIST_APPEND(g, m, whead, wtail, wprev, wnext);
    /* It starts from the loop (its turn may be now): no callback runs
     * before the caller holds the member. */
    if (g->attach != NULL)
        arc__group_arm_at(g, arc__now_ms());
    return m;
}

arc_member *arc_group_add(arc_group *g, const char *host, int port, void *data)
{
    if (g == NULL || host == NULL)
        return NULL;
    return add(g, g->member_options, host, port, NULL, data, false);
}

arc_member *arc_group_add_unix(arc_group *g, const char *path, void *data)
{
    if (g == NULL || path == NULL)
        return NULL;
    return add(g, g->member_options, NULL, 0, path, data, false);
}

arc_member *arc_group_add_options(arc_group *g, const arc_options *opt)
{
    if (g == NULL || opt == NULL)
        return NULL;
    if (opt->unix_path != NULL)
        return add(g, opt, NULL, 0, opt->unix_path, NULL, true);
    if (opt->sentinel != NULL && opt->sentinel->master_name != NULL)
        return add(g, opt, opt->sentinel->master_name, 0, NULL, NULL, true);
    return add(g, opt, opt->host ? opt->host : "127.0.0.1", opt->port, NULL, NULL, true);
}

void arc_group_remove(arc_group *g, arc_member *m)
{
    if (g == NULL || m == NULL || m->g != g || !m->in_table)
        return;
    g->refs++;
    unwait(g, m);
    unchange(g, m);
    LIST_UNLINK(g, m, head, tail, prev, next);
    g->size--;
    g->counts[m->state]--;
    m->in_table = false;
    bool was_connecting = connecting(m->state);
    /* The member has no context from here on, even while its own callback,
     * which removed it, is still running (the context goes when it ends). */
    arc_context *c = m->c;
    m->c = NULL;
    arc_free(c); /* calls back: fan-out slots, on_connect / on_disconnect */
    arc__member_unref(m); /* the table's */
    if (was_connecting)
        start_waiting(g);
    arc__group_unref(g);
}

void arc_group_free(arc_group *g)
{
    if (g == NULL || g->freeing)
        return;
    g->freeing = true; /* nothing starts, nothing is added from now */
    g->refs++;
    while (g->head != NULL)
        arc_group_remove(g, g->head);
    arc_free(g->ticker);
    g->ticker = NULL;
    g->refs--; /* balanced below: the caller's reference */
    arc__group_unref(g);
}

/* ---- the table ---- */

size_t arc_group_size(const arc_group *g)
{
    return g ? g->size : 0;
}

size_t arc_group_count(const arc_group *g, arc_state s)
{
    return g && (unsigned)s < STATES ? g->counts[s] : 0;
}

arc_member *arc_group_next(const arc_group *g, const arc_member *m)
{
    if (g == NULL)
        return NULL;
    if (m == NULL)
        return g->head;
    return m->in_table ? m->next : NULL;
}

arc_member *arc_group_next_changed(arc_group *g, arc_state *previous)
{
    if (g == NULL || g->chead == NULL)
        return NULL;
    arc_member *m = g->chead;
    unchange(g, m);
    if (previous != NULL)
        *previous = m->seen;
    m->seen = m->state;
    return m;
}

arc_state arc_member_state(const arc_member *m)
{
    return m ? m->state : ARC_STATE_INIT;
}

arc_state arc_member_previous(const arc_member *m)
{
    return m ? m->seen : ARC_STATE_INIT;
}

int64_t arc_member_since_ms(const arc_member *m)
{
    return m ? m->since_ms : 0;
}

int arc_member_failure(const arc_member *m)
{
    return m ? m->failure : ARC_OK;
}

const char *arc_member_error(const arc_member *m)
{
    if (m == NULL || m->failure == ARC_OK)
        return "";
    return m->error ? m->error : "";
}

const char *arc_member_name(const arc_member *m)
{
    return m ? m->name : "";
}

size_t arc_member_attempts(const arc_member *m)
{
    return m && m->c && m->state != ARC_STATE_INIT ? arc_context_attempts(m->c) : 0;
}

const arc_attempt *arc_member_attempt(const arc_member *m, size_t i)
{
    return m && m->c && m->state != ARC_STATE_INIT ? arc_context_attempt(m->c, i) : NULL;
}

arc_context *arc_member_context(const arc_member *m)
{
    return m ? m->c : NULL;
}

void *arc_member_data(const arc_member *m)
{
    return m ? m->data : NULL;
}

int arc_member_user_status(const arc_member *m)
{
    return m ? m->user_status : 0;
}

void arc_member_set_user_status(arc_member *m, int status)
{
    if (m != NULL)
        m->user_status = status;
}

void arc_member_close(arc_member *m)
{
    if (m == NULL || m->c == NULL)
        return;
    if (!arc__member_waiting(m)) {
        arc_disconnect(m->c);
        return;
    }
    /* Its turn never comes: it ends here, its commands unsent. */
    arc_group *g = m->g;
    unwait(g, m);
    arc__member_ref(m);
    g->refs++;
    arc_context *c = m->c;
    arc__enter(c);
    arc__terminate(c, ARC_OK);
    if (arc__leave(c))
        set_state(m, arc_context_state(c));
    arc__member_unref(m);
    arc__group_unref(g);
}
