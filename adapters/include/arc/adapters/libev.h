/* arc/adapters/libev.h: drives an arc context from a libev 4 loop.
 *
 *   struct ev_loop *loop = EV_DEFAULT;
 *   arc_context *c = arc_connect(&opt);
 *   arc_libev_attach(c, loop);
 *   ... arc_command(c, ...) ...
 *   ev_run(loop, 0);
 *   arc_free(c);                 frees the adapter's state with it
 *
 * An ev_io for reading, one for writing, and an ev_timer of its own, so
 * traffic never postpones a timeout. State memory comes from the context's
 * allocator. libev's own calls cannot fail (it aborts when it runs out of
 * memory), so every hook returns ARC_OK. Header-only: every function is static inline. */
#ifndef ARC_ADAPTERS_LIBEV_H
#define ARC_ADAPTERS_LIBEV_H

#include <arc/arc.h>

#include <ev.h>
#include <string.h>

typedef struct arc_libev_state {
    arc_context *c;
    struct ev_loop *loop;
    ev_io rio;
    ev_io wio;
    ev_timer timer;
    int fd;
    int in_callback; /* a watcher callback of ours is on the stack */
    int dead;        /* cleanup ran: free when the callback returns */
    arc_allocator alloc;
} arc_libev_state;

/* Frees the state through the allocator copied into it at attach (the
 * context's may be gone by now); the copy moves to the stack first, since
 * it lives in the block being freed. */
static inline void arc_libev_release(arc_libev_state *s)
{
    arc_allocator a = s->alloc;
    arc_mem_free(&a, s);
}

/* After calling into arc: the context may have been freed meanwhile, and
 * with it (through cleanup) this state. */
static inline void arc_libev_leave(arc_libev_state *s)
{
    if (--s->in_callback == 0 && s->dead)
        arc_libev_release(s);
}

static inline void arc_libev_on_read(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    arc_libev_state *s = (arc_libev_state *)w->data;
    s->in_callback++;
    arc_handle_read(s->c);
    arc_libev_leave(s);
}

static inline void arc_libev_on_write(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    arc_libev_state *s = (arc_libev_state *)w->data;
    s->in_callback++;
    arc_handle_write(s->c);
    arc_libev_leave(s);
}

static inline void arc_libev_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    arc_libev_state *s = (arc_libev_state *)w->data;
    s->in_callback++;
    arc_handle_timeout(s->c);
    arc_libev_leave(s);
}

static inline int arc_libev_add_read(void *data)
{
    arc_libev_state *s = (arc_libev_state *)data;
    if (s->fd >= 0)
        ev_io_start(s->loop, &s->rio);
    return ARC_OK;
}

static inline void arc_libev_del_read(void *data)
{
    arc_libev_state *s = (arc_libev_state *)data;
    ev_io_stop(s->loop, &s->rio);
}

static inline int arc_libev_add_write(void *data)
{
    arc_libev_state *s = (arc_libev_state *)data;
    if (s->fd >= 0)
        ev_io_start(s->loop, &s->wio);
    return ARC_OK;
}

static inline void arc_libev_del_write(void *data)
{
    arc_libev_state *s = (arc_libev_state *)data;
    ev_io_stop(s->loop, &s->wio);
}

/* A new socket: the (stopped) watchers are re-pointed at it. */
static inline int arc_libev_set_fd(void *data, int fd)
{
    arc_libev_state *s = (arc_libev_state *)data;
    ev_io_stop(s->loop, &s->rio);
    ev_io_stop(s->loop, &s->wio);
    s->fd = fd;
    if (fd >= 0) {
        ev_io_set(&s->rio, fd, EV_READ);
        ev_io_set(&s->wio, fd, EV_WRITE);
    }
    return ARC_OK;
}

static inline int arc_libev_schedule_timer(void *data, long ms)
{
    arc_libev_state *s = (arc_libev_state *)data;
    ev_timer_stop(s->loop, &s->timer);
    if (ms >= 0) {
        /* libev measures from the loop's cached time; refresh it so that a
         * deadline set after a long callback is not short. */
        ev_now_update(s->loop);
        ev_timer_set(&s->timer, (ev_tstamp)ms / 1000.0, 0.0);
        ev_timer_start(s->loop, &s->timer);
    }
    return ARC_OK;
}

static inline void arc_libev_cleanup(void *data)
{
    arc_libev_state *s = (arc_libev_state *)data;
    ev_io_stop(s->loop, &s->rio);
    ev_io_stop(s->loop, &s->wio);
    ev_timer_stop(s->loop, &s->timer);
    s->c = NULL;
    if (s->in_callback)
        s->dead = 1; /* our callback frees it once arc has returned */
    else
        arc_libev_release(s);
}

static inline int arc_libev_attach(arc_context *c, struct ev_loop *loop);

/* The attach call as the one type every adapter shares (arc_attach_fn of
 * <arc/group.h>), so that a group can attach members to any loop. */
static inline int arc_libev_attach_loop(arc_context *c, void *loop)
{
    return arc_libev_attach(c, (struct ev_loop *)loop);
}

/* The attach_other hook: another context onto this one's loop. */
static inline int arc_libev_attach_other(void *data, arc_context *other)
{
    return arc_libev_attach(other, ((arc_libev_state *)data)->loop);
}

/* Drives `c` from `loop`. Returns ARC_OK, ARC_ERR_INVALID (NULL argument),
 * ARC_ERR_NOMEM, or ARC_ERR_STATE (already attached, or ended). */
static inline int arc_libev_attach(arc_context *c, struct ev_loop *loop)
{
    if (c == NULL || loop == NULL)
        return ARC_ERR_INVALID;
    const arc_allocator *a = arc_context_allocator(c);
    arc_libev_state *s = (arc_libev_state *)arc_mem_alloc(a, sizeof *s);
    if (s == NULL)
        return ARC_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    s->alloc = *a;
    s->c = c;
    s->loop = loop;
    s->fd = -1;
    ev_init(&s->rio, arc_libev_on_read);
    ev_init(&s->wio, arc_libev_on_write);
    ev_init(&s->timer, arc_libev_on_timer);
    s->rio.data = s->wio.data = s->timer.data = s;
    arc_event_hooks hooks = {s,
                             arc_libev_add_read,
                             arc_libev_del_read,
                             arc_libev_add_write,
                             arc_libev_del_write,
                             arc_libev_set_fd,
                             arc_libev_schedule_timer,
                             arc_libev_cleanup,
                             arc_libev_attach_other};
    int rc = arc_attach(c, &hooks);
    if (rc != ARC_OK)
        arc_libev_release(s);
    return rc;
}

#endif
