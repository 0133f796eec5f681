/* arc/adapters/libevent.h: drives an arc context from a libevent 2.x
 * event_base.
 *
 *   struct event_base *base = event_base_new();
 *   arc_context *c = arc_connect(&opt);
 *   arc_libevent_attach(c, base);
 *   ... arc_command(c, ...) ...
 *   event_base_dispatch(base);
 *   arc_free(c);                 frees the adapter's state with it
 *   event_base_free(base);       after every attached context is freed
 *
 * Three events per context: read and write (persistent, on the current
 * socket) and a timer of its own, so traffic never postpones a timeout.
 * The adapter's memory, its events included, comes from the context's
 * allocator. Header-only: every function is static inline. */
#ifndef ARC_ADAPTERS_LIBEVENT_H
#define ARC_ADAPTERS_LIBEVENT_H

#include <arc/arc.h>

#include <event2/event.h>
#include <string.h>

typedef struct arc_libevent_state {
    arc_context *c;
    struct event_base *base;
    struct event *rev; /* storage allocated once, assigned per socket */
    struct event *wev;
    struct event *tev;
    int fd;
    int reading;
    int writing;
    int in_callback; /* an event callback of ours is on the stack */
    int dead;        /* cleanup ran: free when the callback returns */
    arc_allocator alloc;
} arc_libevent_state;

static inline void arc_libevent_release(arc_libevent_state *s)
{
    arc_allocator a = s->alloc;
    arc_mem_free(&a, s->rev);
    arc_mem_free(&a, s->wev);
    arc_mem_free(&a, s->tev);
    arc_mem_free(&a, s);
}

/* After calling into arc: the context may have been freed meanwhile, and
 * with it (through cleanup) this state. */
static inline void arc_libevent_leave(arc_libevent_state *s)
{
    if (--s->in_callback == 0 && s->dead)
        arc_libevent_release(s);
}

static inline void arc_libevent_on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    arc_libevent_state *s = (arc_libevent_state *)arg;
    s->in_callback++;
    arc_handle_read(s->c);
    arc_libevent_leave(s);
}

static inline void arc_libevent_on_write(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    arc_libevent_state *s = (arc_libevent_state *)arg;
    s->in_callback++;
    arc_handle_write(s->c);
    arc_libevent_leave(s);
}

static inline void arc_libevent_on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    arc_libevent_state *s = (arc_libevent_state *)arg;
    s->in_callback++;
    arc_handle_timeout(s->c);
    arc_libevent_leave(s);
}

/* event_add fails only when the backend refuses the descriptor or runs out
 * of memory: either way the context learns it (ARC_ERR_IO) and fails. */
static inline int arc_libevent_add_read(void *data)
{
    arc_libevent_state *s = (arc_libevent_state *)data;
    if (!s->reading && s->fd >= 0) {
        if (event_add(s->rev, NULL) != 0)
            return ARC_ERR_IO;
        s->reading = 1;
    }
    return ARC_OK;
}

static inline void arc_libevent_del_read(void *data)
{
    arc_libevent_state *s = (arc_libevent_state *)data;
    if (s->reading) {
        event_del(s->rev);
        s->reading = 0;
    }
}

static inline int arc_libevent_add_write(void *data)
{
    arc_libevent_state *s = (arc_libevent_state *)data;
    if (!s->writing && s->fd >= 0) {
        if (event_add(s->wev, NULL) != 0)
            return ARC_ERR_IO;
        s->writing = 1;
    }
    return ARC_OK;
}

static inline void arc_libevent_del_write(void *data)
{
    arc_libevent_state *s = (arc_libevent_state *)data;
    if (s->writing) {
        event_del(s->wev);
        s->writing = 0;
    }
}

/* A new socket: the I/O events are re-assigned to it. arc dropped interest
 * before, so neither event is pending here. */
static inline int arc_libevent_set_fd(void *data, int fd)
{
    arc_libevent_state *s = (arc_libevent_state *)data;
    arc_libevent_del_read(s);
    arc_libevent_del_write(s);
    s->fd = -1;
    if (fd < 0)
        return ARC_OK;
    if (event_assign(s->rev, s->base, fd, EV_READ | EV_PERSIST, arc_libevent_on_read, s) != 0 ||
        event_assign(s->wev, s->base, fd, EV_WRITE | EV_PERSIST, arc_libevent_on_write, s) != 0)
        return ARC_ERR_IO;
    s->fd = fd;
    return ARC_OK;
}

static inline int arc_libevent_schedule_timer(void *data, long ms)
{
    arc_libevent_state *s = (arc_libevent_state *)data;
    evtimer_del(s->tev);
    if (ms < 0)
        return ARC_OK;
    struct timeval tv;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return evtimer_add(s->tev, &tv) == 0 ? ARC_OK : ARC_ERR_IO;
}

static inline void arc_libevent_cleanup(void *data)
{
    arc_libevent_state *s = (arc_libevent_state *)data;
    arc_libevent_del_read(s);
    arc_libevent_del_write(s);
    evtimer_del(s->tev);
    s->c = NULL;
    if (s->in_callback)
        s->dead = 1; /* our callback frees it once arc has returned */
    else
        arc_libevent_release(s);
}

static inline int arc_libevent_attach(arc_context *c, struct event_base *base);

/* The attach call as the one type every adapter shares (arc_attach_fn of
 * <arc/group.h>), so that a group can attach members to any loop. */
static inline int arc_libevent_attach_loop(arc_context *c, void *loop)
{
    return arc_libevent_attach(c, (struct event_base *)loop);
}

/* The attach_other hook: another context onto this one's loop. */
static inline int arc_libevent_attach_other(void *data, arc_context *other)
{
    return arc_libevent_attach(other, ((arc_libevent_state *)data)->base);
}

/* Drives `c` from `base`. Returns ARC_OK, ARC_ERR_INVALID (NULL argument),
 * ARC_ERR_NOMEM, or ARC_ERR_STATE (already attached, or ended). */
static inline int arc_libevent_attach(arc_context *c, struct event_base *base)
{
    if (c == NULL || base == NULL)
        return ARC_ERR_INVALID;
    const arc_allocator *a = arc_context_allocator(c);
    size_t evsize = event_get_struct_event_size();
    arc_libevent_state *s = (arc_libevent_state *)arc_mem_alloc(a, sizeof *s);
    if (s == NULL)
        return ARC_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    s->alloc = *a;
    s->c = c;
    s->base = base;
    s->fd = -1;
    s->rev = (struct event *)arc_mem_alloc(a, evsize);
    s->wev = (struct event *)arc_mem_alloc(a, evsize);
    s->tev = (struct event *)arc_mem_alloc(a, evsize);
    if (s->rev == NULL || s->wev == NULL || s->tev == NULL) {
        arc_libevent_release(s);
        return ARC_ERR_NOMEM;
    }
    evtimer_assign(s->tev, base, arc_libevent_on_timer, s);
    arc_event_hooks hooks = {s,
                             arc_libevent_add_read,
                             arc_libevent_del_read,
                             arc_libevent_add_write,
                             arc_libevent_del_write,
                             arc_libevent_set_fd,
                             arc_libevent_schedule_timer,
                             arc_libevent_cleanup,
                             arc_libevent_attach_other};
    int rc = arc_attach(c, &hooks);
    if (rc != ARC_OK) {
        evtimer_del(s->tev);
        arc_libevent_release(s);
    }
    return rc;
}

#endif
