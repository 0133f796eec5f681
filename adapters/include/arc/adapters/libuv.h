/* arc/adapters/libuv.h: drives an arc context from a libuv 1.x loop.
 *
 *   uv_loop_t *loop = uv_default_loop();
 *   arc_context *c = arc_connect(&opt);
 *   arc_libuv_attach(c, loop);
 *   ... arc_command(c, ...) ...
 *   uv_run(loop, UV_RUN_DEFAULT);
 *   arc_free(c);   the adapter's handles close; run the loop once more
 *                  (or until it is idle) before uv_loop_close()
 *
 * A uv_poll_t on the current socket (a new one for each socket: a closing
 * handle must live until its close callback) and a uv_timer_t of its own, so
 * traffic never postpones a timeout. The state is freed once every handle's
 * close callback has run. Memory comes from the context's allocator.
 * Header-only: every function is static inline. <uv.h> itself needs POSIX
 * types: under -std=c11 define _POSIX_C_SOURCE 200809L first. */
#ifndef ARC_ADAPTERS_LIBUV_H
#define ARC_ADAPTERS_LIBUV_H

#include <arc/arc.h>

#include <string.h>
#include <uv.h>

typedef struct arc_libuv_state {
    arc_context *c;
    uv_loop_t *loop;
    uv_poll_t *poll; /* on the current socket, or NULL */
    uv_timer_t timer;
    int events;      /* UV_READABLE | UV_WRITABLE wanted */
    int closing;     /* handles whose close callback is still due */
    int dead;        /* cleanup ran */
    arc_allocator alloc;
} arc_libuv_state;

static inline void arc_libuv_maybe_free(arc_libuv_state *s)
{
    if (s->dead && s->closing == 0) {
        arc_allocator a = s->alloc;
        arc_mem_free(&a, s);
    }
}

static inline void arc_libuv_poll_closed(uv_handle_t *h)
{
    arc_libuv_state *s = (arc_libuv_state *)h->data;
    arc_mem_free(&s->alloc, h);
    s->closing--;
    arc_libuv_maybe_free(s);
}

static inline void arc_libuv_timer_closed(uv_handle_t *h)
{
    arc_libuv_state *s = (arc_libuv_state *)h->data;
    s->closing--;
    arc_libuv_maybe_free(s);
}

/* Reads left on an errored socket whose handle libuv would not restart
 * (see arc_libuv_on_poll): each read takes bytes or meets the error, so the
 * bound is only there so that a socket that never reports one cannot spin
 * the loop. */
#define ARC_LIBUV_DRAIN_MAX 4096

static inline void arc_libuv_on_poll(uv_poll_t *h, int status, int events)
{
    arc_libuv_state *s = (arc_libuv_state *)h->data;
    /* An error on the descriptor: let arc find it with a read and a write. */
    if (status < 0)
        events = UV_READABLE | UV_WRITABLE;
    if ((events & UV_READABLE) && !s->dead && h == s->poll)
        arc_handle_read(s->c);
    /* The read may have freed the context (s->dead: the state lives on
     * until the close callbacks) or moved it to another socket. */
    if ((events & UV_WRITABLE) && !s->dead && h == s->poll)
        arc_handle_write(s->c);
    if (status >= 0 || s->dead || h != s->poll || s->events == 0)
        return;
    /* On an error libuv stops the handle itself. A reset can come while
     * replies are still unread and arc reads them a chunk at a time, so
     * the handle must go on reporting until arc has read them and met the
     * error (test/adapters/test_reset.c). */
    if (uv_poll_start(h, s->events, arc_libuv_on_poll) == 0)
        return;
    for (int i = 0; i < ARC_LIBUV_DRAIN_MAX && !s->dead && h == s->poll && arc_want_read(s->c); i++)
        arc_handle_read(s->c);
}

static inline void arc_libuv_on_timer(uv_timer_t *h)
{
    arc_libuv_state *s = (arc_libuv_state *)h->data;
    if (!s->dead)
        arc_handle_timeout(s->c);
}

/* Starts or stops the handle for the events wanted. ARC_ERR_IO when libuv
 * refuses to start it. */
static inline int arc_libuv_update(arc_libuv_state *s)
{
    if (s->poll == NULL)
        return ARC_OK;
    if (s->events == 0) {
        uv_poll_stop(s->poll);
        return ARC_OK;
    }
    if (uv_poll_start(s->poll, s->events, arc_libuv_on_poll) != 0)
        return ARC_ERR_IO;
    return ARC_OK;
}

static inline int arc_libuv_add_read(void *data)
{
    arc_libuv_state *s = (arc_libuv_state *)data;
    s->events |= UV_READABLE;
    return arc_libuv_update(s);
}

static inline void arc_libuv_del_read(void *data)
{
    arc_libuv_state *s = (arc_libuv_state *)data;
    s->events &= ~UV_READABLE;
    (void)arc_libuv_update(s);
}

static inline int arc_libuv_add_write(void *data)
{
    arc_libuv_state *s = (arc_libuv_state *)data;
    s->events |= UV_WRITABLE;
    return arc_libuv_update(s);
}

static inline void arc_libuv_del_write(void *data)
{
    arc_libuv_state *s = (arc_libuv_state *)data;
    s->events &= ~UV_WRITABLE;
    (void)arc_libuv_update(s);
}

static inline void arc_libuv_close_poll(arc_libuv_state *s)
{
    if (s->poll != NULL) {
        uv_poll_stop(s->poll);
        uv_close((uv_handle_t *)s->poll, arc_libuv_poll_closed);
        s->closing++;
        s->poll = NULL;
    }
}

/* A new socket: the old uv_poll_t closes (arc has not closed the descriptor
 * yet), a new one watches the new socket. Without memory for the handle
 * (ARC_ERR_NOMEM) or when libuv refuses the descriptor (ARC_ERR_IO) the
 * context fails rather than wait on a socket nobody watches. */
static inline int arc_libuv_set_fd(void *data, int fd)
{
    arc_libuv_state *s = (arc_libuv_state *)data;
    arc_libuv_close_poll(s);
    s->events = 0;
    if (fd < 0)
        return ARC_OK;
    uv_poll_t *p = (uv_poll_t *)arc_mem_alloc(&s->alloc, sizeof *p);
    if (p == NULL)
        return ARC_ERR_NOMEM;
    if (uv_poll_init_socket(s->loop, p, fd) != 0) {
        /* A failed init leaves no handle in the loop: plain memory. */
        arc_mem_free(&s->alloc, p);
        return ARC_ERR_IO;
    }
    p->data = s;
    s->poll = p;
    return ARC_OK;
}

static inline int arc_libuv_schedule_timer(void *data, long ms)
{
    arc_libuv_state *s = (arc_libuv_state *)data;
    uv_timer_stop(&s->timer);
    if (ms < 0)
        return ARC_OK;
    /* libuv times from the loop's cached clock; refresh it first. */
    uv_update_time(s->loop);
    if (uv_timer_start(&s->timer, arc_libuv_on_timer, (uint64_t)ms, 0) != 0)
        return ARC_ERR_IO;
    return ARC_OK;
}

static inline void arc_libuv_cleanup(void *data)
{
    arc_libuv_state *s = (arc_libuv_state *)data;
    s->dead = 1;
    s->c = NULL;
    arc_libuv_close_poll(s);
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, arc_libuv_timer_closed);
    s->closing++;
}

static inline int arc_libuv_attach(arc_context *c, uv_loop_t *loop);

/* The attach call as the one type every adapter shares (arc_attach_fn of
 * <arc/group.h>), so that a group can attach members to any loop. */
static inline int arc_libuv_attach_loop(arc_context *c, void *loop)
{
    return arc_libuv_attach(c, (uv_loop_t *)loop);
}

/* The attach_other hook: another context onto this one's loop. */
static inline int arc_libuv_attach_other(void *data, arc_context *other)
{
    return arc_libuv_attach(other, ((arc_libuv_state *)data)->loop);
}

/* Drives `c` from `loop`. Returns ARC_OK, ARC_ERR_INVALID (NULL argument),
 * ARC_ERR_NOMEM, or ARC_ERR_STATE (already attached, or ended). */
static inline int arc_libuv_attach(arc_context *c, uv_loop_t *loop)
{
    if (c == NULL || loop == NULL)
        return ARC_ERR_INVALID;
    const arc_allocator *a = arc_context_allocator(c);
    arc_libuv_state *s = (arc_libuv_state *)arc_mem_alloc(a, sizeof *s);
    if (s == NULL)
        return ARC_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    s->alloc = *a;
    s->c = c;
    s->loop = loop;
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    arc_event_hooks hooks = {s,
                             arc_libuv_add_read,
                             arc_libuv_del_read,
                             arc_libuv_add_write,
                             arc_libuv_del_write,
                             arc_libuv_set_fd,
                             arc_libuv_schedule_timer,
                             arc_libuv_cleanup,
                             arc_libuv_attach_other};
    int rc = arc_attach(c, &hooks);
    if (rc != ARC_OK) {
        /* Nothing was announced; the timer handle still closes the libuv way. */
        s->dead = 1;
        uv_close((uv_handle_t *)&s->timer, arc_libuv_timer_closed);
        s->closing++;
    }
    return rc;
}

#endif
