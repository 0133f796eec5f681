/* arc/adapters/poll.h: a small poll(2) loop that drives any number of arc
 * contexts; needs nothing but libc, so it is the embedded default.
 *
 *   arc_poll_loop *loop = arc_poll_loop_new();
 *   arc_context *c = arc_connect(&opt);
 *   arc_poll_attach(c, loop);
 *   ... arc_command(c, ...) ...
 *   arc_poll_loop_run(loop);          returns when nothing is left to do
 *   arc_free(c);
 *   arc_poll_loop_free(loop);
 *
 * Memory: the loop and its pollfd arrays come from the allocator given to
 * arc_poll_loop_new_with() (arc_poll_loop_new(): the default), each
 * context's entry from that context's allocator.
 *
 * Header-only: every function is static inline. It needs <poll.h> and
 * nothing else beyond libarc; it compiles under plain -std=c11 -pedantic. */
#ifndef ARC_ADAPTERS_POLL_H
#define ARC_ADAPTERS_POLL_H

#include <arc/arc.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>

/* One context as the loop sees it. Entries are freed only between
 * dispatches, so a callback that frees any context (its own included)
 * leaves no dangling entry behind: cleanup just marks it dead. */
typedef struct arc_poll_entry {
    struct arc_poll_entry *next;
    struct arc_poll_loop *loop;
    arc_context *c;
    arc_allocator alloc; /* a copy: the entry may outlive the context */
    int fd;
    int want_read;
    int want_write;
    int dead;
    int64_t deadline; /* CLOCK_MONOTONIC ms; -1: no timer */
} arc_poll_entry;

typedef struct arc_poll_loop {
    arc_poll_entry *entries;
    size_t count; /* live entries */
    struct pollfd *fds;
    arc_poll_entry **owners; /* fds[i] belongs to owners[i] */
    size_t cap;
    arc_allocator alloc; /* a copy: the loop, fds and owners */
} arc_poll_loop;

/* arc's own monotonic clock: no POSIX declarations needed here. */
static inline int64_t arc_poll_now_ms(void)
{
    return arc_now_ms();
}

/* Makes room for `n` pollfd slots. The arrays keep their contents: a
 * callback may attach a context (and so grow them) while a pass walks them.
 * Returns 0, or -1 when out of memory (the old arrays stay valid). */
static inline int arc_poll_grow(arc_poll_loop *loop, size_t n)
{
    if (n <= loop->cap)
        return 0;
    size_t cap = loop->cap ? loop->cap : 16;
    while (cap < n) {
        if (cap > SIZE_MAX / 2 / sizeof(struct pollfd))
            return -1;
        cap *= 2;
    }
    struct pollfd *fds = (struct pollfd *)arc_mem_realloc(&loop->alloc, loop->fds, cap * sizeof *fds);
    if (fds == NULL)
        return -1;
    loop->fds = fds;
    arc_poll_entry **owners =
        (arc_poll_entry **)arc_mem_realloc(&loop->alloc, loop->owners, cap * sizeof *owners);
    if (owners == NULL)
        return -1; /* fds is larger than cap says: harmless */
    loop->owners = owners;
    loop->cap = cap;
    return 0;
}

/* ---- the hooks: they only record what the context asks for ---- */

static inline int arc_poll_add_read(void *data)
{
    ((arc_poll_entry *)data)->want_read = 1;
    return ARC_OK;
}

static inline void arc_poll_del_read(void *data)
{
    ((arc_poll_entry *)data)->want_read = 0;
}

static inline int arc_poll_add_write(void *data)
{
    ((arc_poll_entry *)data)->want_write = 1;
    return ARC_OK;
}

static inline void arc_poll_del_write(void *data)
{
    ((arc_poll_entry *)data)->want_write = 0;
}

/* A context with a socket needs a pollfd slot. The arrays grow here, where
 * the context can still be told that there is no memory for it; a pass
 * that starts then never lacks room. */
static inline int arc_poll_set_fd(void *data, int fd)
{
    arc_poll_entry *e = (arc_poll_entry *)data;
    e->fd = fd;
    if (fd >= 0 && arc_poll_grow(e->loop, e->loop->count) < 0)
        return ARC_ERR_NOMEM;
    return ARC_OK;
}

static inline int arc_poll_schedule_timer(void *data, long ms)
{
    arc_poll_entry *e = (arc_poll_entry *)data;
    e->deadline = ms < 0 ? -1 : arc_poll_now_ms() + ms;
    return ARC_OK;
}

static inline void arc_poll_cleanup(void *data)
{
    arc_poll_entry *e = (arc_poll_entry *)data;
    e->dead = 1;
    e->c = NULL;
    e->loop->count--;
}

/* ---- the loop ---- */

/* A new empty loop whose own memory (the loop and its pollfd arrays) comes
 * from `a`, or NULL when out of memory. `a` is copied; its function and
 * data must outlive the loop. NULL: the default allocator. Free with
 * arc_poll_loop_free(). */
static inline arc_poll_loop *arc_poll_loop_new_with(const arc_allocator *a)
{
    arc_poll_loop *loop = (arc_poll_loop *)arc_mem_alloc(a, sizeof *loop);
    if (loop == NULL)
        return NULL;
    memset(loop, 0, sizeof *loop);
    loop->alloc = a != NULL ? *a : *arc_allocator_default();
    return loop;
}

/* arc_poll_loop_new_with(NULL). */
static inline arc_poll_loop *arc_poll_loop_new(void)
{
    return arc_poll_loop_new_with(NULL);
}

/* Frees the entries of contexts that went away. Never called while a
 * dispatch walks the list. */
static inline void arc_poll_reap(arc_poll_loop *loop)
{
    arc_poll_entry **pp = &loop->entries;
    while (*pp != NULL) {
        arc_poll_entry *e = *pp;
        if (e->dead) {
            *pp = e->next;
            arc_allocator a = e->alloc;
            arc_mem_free(&a, e);
        } else {
            pp = &e->next;
        }
    }
}

static inline int arc_poll_attach(arc_context *c, arc_poll_loop *loop);

/* The attach call as the one type every adapter shares (arc_attach_fn of
 * <arc/group.h>), so that a group can attach members to any loop. */
static inline int arc_poll_attach_loop(arc_context *c, void *loop)
{
    return arc_poll_attach(c, (arc_poll_loop *)loop);
}

/* The attach_other hook: another context onto this one's loop. */
static inline int arc_poll_attach_other(void *data, arc_context *other)
{
    return arc_poll_attach(other, ((arc_poll_entry *)data)->loop);
}

/* Drives `c` from `loop` (the context first, as in every adapter). Returns
 * ARC_OK, ARC_ERR_NOMEM, or what arc_attach() returns (ARC_ERR_STATE:
 * already attached or ended). The entry's memory comes from the context's
 * allocator. */
static inline int arc_poll_attach(arc_context *c, arc_poll_loop *loop)
{
    if (loop == NULL || c == NULL)
        return ARC_ERR_INVALID;
    const arc_allocator *a = arc_context_allocator(c);
    arc_poll_entry *e = (arc_poll_entry *)arc_mem_alloc(a, sizeof *e);
    if (e == NULL)
        return ARC_ERR_NOMEM;
    memset(e, 0, sizeof *e);
    e->alloc = *a;
    e->loop = loop;
    e->c = c;
    e->fd = -1;
    e->deadline = -1;
    arc_event_hooks hooks = {e,
                             arc_poll_add_read,
                             arc_poll_del_read,
                             arc_poll_add_write,
                             arc_poll_del_write,
                             arc_poll_set_fd,
                             arc_poll_schedule_timer,
                             arc_poll_cleanup,
                             arc_poll_attach_other};
    /* Linked before arc_attach: attaching announces fd and timer through
     * the hooks, which write into the entry. */
    e->next = loop->entries;
    loop->entries = e;
    loop->count++;
    int rc = arc_attach(c, &hooks);
    if (rc != ARC_OK) {
        loop->entries = e->next;
        loop->count--;
        arc_mem_free(a, e);
    }
    return rc;
}

/* Contexts attached and not yet freed. */
static inline size_t arc_poll_loop_count(const arc_poll_loop *loop)
{
    return loop ? loop->count : 0;
}

/* One poll() and the calls it calls for: timers that are due, then
 * readability, then writability. Waits at most `max_wait_ms` (< 0: until
 * something happens). Returns the number of contexts still attached, or -1
 * with errno set when poll() fails; an interrupted poll (EINTR) is not a
 * failure. With nothing to watch and no timer it sleeps `max_wait_ms`
 * (so that a caller waiting in a loop does not spin), or returns at once
 * when that is < 0 (nothing would ever wake it). */
static inline int arc_poll_loop_run_once(arc_poll_loop *loop, long max_wait_ms)
{
    arc_poll_reap(loop);
    /* set_fd made room for every socket already; this only guards it. */
    if (arc_poll_grow(loop, loop->count) < 0) {
        errno = ENOMEM;
        return -1;
    }
    int64_t now = arc_poll_now_ms();
    long wait = max_wait_ms;
    nfds_t n = 0;
    int timers = 0;
    for (arc_poll_entry *e = loop->entries; e != NULL; e = e->next) {
        if (e->dead)
            continue;
        if (e->deadline >= 0) {
            long left = e->deadline > now ? (long)(e->deadline - now) : 0;
            if (wait < 0 || left < wait)
                wait = left;
            timers++;
        }
        if (e->fd >= 0 && (e->want_read || e->want_write)) {
            loop->fds[n].fd = e->fd;
            loop->fds[n].events =
                (short)((e->want_read ? POLLIN : 0) | (e->want_write ? POLLOUT : 0));
            loop->fds[n].revents = 0;
            loop->owners[n] = e;
            n++;
        }
    }
    if (n == 0 && timers == 0) {
        if (max_wait_ms > 0)
            (void)poll(NULL, 0, max_wait_ms > 0x7fffffff ? 0x7fffffff : (int)max_wait_ms);
        return (int)loop->count;
    }
    int ready = poll(loop->fds, n, wait < 0 ? -1 : (wait > 0x7fffffff ? 0x7fffffff : (int)wait));
    if (ready < 0)
        return errno == EINTR ? (int)loop->count : -1;

    /* Timers first: a deadline that passed while the socket also became
     * ready still counts (traffic never postpones a timeout). Entries added
     * by callbacks during this pass sit at the head of the list, before
     * the ones walked here, and wait for the next pass. */
    now = arc_poll_now_ms();
    for (arc_poll_entry *e = loop->entries; e != NULL; e = e->next) {
        if (!e->dead && e->deadline >= 0 && e->deadline <= now) {
            e->deadline = -1; /* one-shot: the context re-arms it */
            arc_handle_timeout(e->c);
        }
    }
    for (nfds_t i = 0; i < n; i++) {
        arc_poll_entry *e = loop->owners[i];
        short rev = loop->fds[i].revents;
        /* A context that changed sockets during this pass must not get the
         * old socket's readiness. */
        if (rev == 0 || e->dead || e->fd != loop->fds[i].fd)
            continue;
        if ((rev & (POLLIN | POLLHUP | POLLERR)) && e->want_read)
            arc_handle_read(e->c);
        if (e->dead || e->fd != loop->fds[i].fd)
            continue;
        if ((rev & (POLLOUT | POLLERR | POLLHUP)) && e->want_write)
            arc_handle_write(e->c);
    }
    arc_poll_reap(loop);
    return (int)loop->count;
}

/* Runs until nothing is left to do: no context attached, or every attached
 * context has ended (CLOSED or FAILED: arc never frees a context by itself,
 * so an ended one stays attached until arc_free()) or waits on nothing (a
 * group's or cluster's timer when it is not armed), and none has a timer.
 * Returns 0, or -1 with errno when run_once fails. */
static inline int arc_poll_loop_run(arc_poll_loop *loop)
{
    for (;;) {
        int busy = 0;
        for (arc_poll_entry *e = loop->entries; e != NULL; e = e->next) {
            if (e->dead)
                continue;
            arc_state s = arc_context_state(e->c);
            bool ended = s == ARC_STATE_CLOSED || s == ARC_STATE_FAILED;
            if ((!ended && e->fd >= 0) || e->deadline >= 0)
                busy = 1;
        }
        if (!busy)
            return 0;
        if (arc_poll_loop_run_once(loop, -1) < 0)
            return -1;
    }
}

/* Frees every context still attached (arc_free), then the loop. Not to be
 * called from inside a callback of one of its contexts. NULL is ignored. */
static inline void arc_poll_loop_free(arc_poll_loop *loop)
{
    if (loop == NULL)
        return;
    for (arc_poll_entry *e = loop->entries; e != NULL; e = e->next)
        if (!e->dead)
            arc_free(e->c);
    arc_poll_reap(loop);
    arc_allocator a = loop->alloc;
    arc_mem_free(&a, loop->fds);
    arc_mem_free(&a, loop->owners);
    arc_mem_free(&a, loop);
}

#endif
