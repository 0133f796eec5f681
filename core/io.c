/* io.c: the context's side of the event loop: connecting address by address,
 * reading, writing, timers, and telling the loop what to watch. */
#define _GNU_SOURCE /* MSG_NOSIGNAL */
#include "async.h"

#include "alloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long a context without a free descriptor waits before trying again. */
#define HOLD_RETRY_MS 50
/* A unix server whose accept queue is full: try again this often, for at
 * most the connect timeout or, without one, BUSY_MAX_MS. */
#define BUSY_RETRY_MS 10
#define BUSY_MAX_MS 2000
/* One read() asks for this much; the reader's buffer grows to it once. */
#define READ_CHUNK (64 * 1024)

static bool connected_state(const arc_context *c)
{
    return c->fd >= 0 && !c->connecting && !arc__ended(c);
}

static size_t writable(const arc_context *c)
{
    size_t n = arc__buffer_len(&c->out);
    return c->holding && c->hold < n ? c->hold : n;
}

bool arc_want_read(const arc_context *c)
{
    return c != NULL && connected_state(c);
}

bool arc_want_write(const arc_context *c)
{
    if (c == NULL || c->fd < 0 || arc__ended(c))
        return false;
    return c->connecting || writable(c) > 0;
}

int64_t arc__deadline(const arc_context *c)
{
    if (arc__ended(c))
        return -1;
    if (c->deferred)
        return 0;
    int64_t d = -1;
    switch (c->state) {
    case ARC_STATE_CONNECTING:
        d = c->connect_deadline;
        if (c->busy_since >= 0 && (d < 0 || c->held_until < d))
            d = c->held_until;
        break;
    case ARC_STATE_HANDSHAKE:
        d = c->connect_deadline;
        break;
    case ARC_STATE_HELD:
        d = c->held_until;
        if (c->connect_deadline >= 0 && c->connect_deadline < d)
            d = c->connect_deadline;
        break;
    default:
        /* The command timeout follows the oldest reply still due; time spent
         * connecting does not count against it. Subscriptions and a monitor
         * wait for nothing in particular, so they have no timer. */
        if (c->command_timeout_ms && arc__queue_len(&c->queue) > 0) {
            const arc_entry *e = arc__queue_head(&c->queue);
            int64_t from = e->queued_ms > c->ready_ms ? e->queued_ms : c->ready_ms;
            d = from + c->command_timeout_ms;
        }
        break;
    }
    return d;
}

long arc_next_timeout_ms(const arc_context *c)
{
    if (c == NULL)
        return -1;
    int64_t d = arc__deadline(c);
    if (d < 0)
        return -1;
    int64_t left = d - arc__now_ms();
    return left < 0 ? 0 : (long)left;
}

void arc__sync_loop(arc_context *c)
{
    if (!c->attached)
        return;
    const arc_event_hooks *h = &c->hooks;
    if (c->told_fd != c->fd) {
        if (c->told_read)
            h->del_read(h->data);
        if (c->told_write)
            h->del_write(h->data);
        c->told_read = c->told_write = false;
        c->told_fd = c->fd;
        h->set_fd(h->data, c->fd);
    }
    bool r = arc_want_read(c), w = arc_want_write(c);
    if (r != c->told_read) {
        c->told_read = r;
        (r ? h->add_read : h->del_read)(h->data);
    }
    if (w != c->told_write) {
        c->told_write = w;
        (w ? h->add_write : h->del_write)(h->data);
    }
    int64_t d = arc__deadline(c);
    if (d != c->told_deadline) {
        c->told_deadline = d;
        long ms = -1;
        if (d >= 0) {
            int64_t left = d - arc__now_ms();
            ms = left < 0 ? 0 : (long)left;
        }
        h->schedule_timer(h->data, ms);
    }
}

void arc__close_socket(arc_context *c)
{
    if (c->fd < 0)
        return;
    /* The loop lets go of the descriptor before it is closed (DESIGN rule
     * 3): a loop still polling a closed number could watch a reused one. */
    int fd = c->fd;
    c->fd = -1;
    arc__sync_loop(c);
    close(fd);
}

/* A failure while arc_connect() is still running is kept for the loop:
 * the caller does not hold the context yet, so no callback may run. */
static void fail_connect(arc_context *c, int status, int err, const char *what)
{
    if (c->in_connect) {
        c->deferred = status;
        c->sys_errno = err;
        snprintf(c->error, sizeof c->error, "%s", what);
    } else {
        arc__fail(c, status, err, "%s", what);
    }
}

static void describe(arc_context *c, char *buf, size_t n, const char *what, int err)
{
    if (c->unix_path)
        snprintf(buf, n, "%s %s: %s", what, c->unix_path, strerror(err));
    else
        snprintf(buf, n, "%s %s:%d: %s", what, c->host, c->port, strerror(err));
}

/* Tries the remaining addresses in order until one connects or is in
 * progress; the context fails when none is left. */
static void try_next(arc_context *c)
{
    int last = ARC_ERR_REFUSED, err = ECONNREFUSED;
    char msg[200];
    while (c->next_addr < c->naddrs) {
        const arc_addr *a = &c->addrs[c->next_addr];
        int fd;
        int rc = arc__net_socket(a->family, &fd);
        if (rc == ARC_ERR_NOFD) {
            /* Out of descriptors is a passing condition on a busy process:
             * hold and retry instead of failing (state HELD). */
            c->held_until = arc__now_ms() + HOLD_RETRY_MS;
            if (c->in_connect)
                c->state = ARC_STATE_HELD;
            else
                arc__set_state(c, ARC_STATE_HELD);
            return;
        }
        if (c->state == ARC_STATE_HELD && !c->in_connect)
            arc__set_state(c, ARC_STATE_CONNECTING);
        if (rc != ARC_OK) {
            last = rc;
            err = errno;
            c->next_addr++;
            continue;
        }
        c->fd = fd;
        if (a->family != AF_UNIX)
            arc__net_tune(fd, c->keepalive_s);
        rc = arc__net_connect(fd, a);
        if (rc == ARC_OK || rc == ARC_ERR_STATE) {
            /* Even a connect that succeeded at once is confirmed by the
             * first writability, so on_connect always runs from the loop. */
            c->connecting = true;
            c->busy_since = -1;
            return;
        }
        if (rc == ARC_ERR_LIMIT) {
            int64_t now = arc__now_ms();
            if (c->busy_since < 0)
                c->busy_since = now;
            if (c->connect_timeout_ms || now - c->busy_since < BUSY_MAX_MS) {
                /* Same address again shortly, on a new socket. */
                c->fd = -1;
                close(fd);
                c->held_until = now + BUSY_RETRY_MS;
                return;
            }
            rc = ARC_ERR_REFUSED;
            errno = EAGAIN;
        }
        c->busy_since = -1;
        last = rc;
        err = errno;
        c->fd = -1;
        close(fd);
        c->next_addr++;
    }
    describe(c, msg, sizeof msg, "cannot connect to", err);
    fail_connect(c, last, err, msg);
}

void arc__start_connect(arc_context *c)
{
    char msg[200];
    if (c->unix_path != NULL) {
        c->addrs = arc_mem_alloc(&c->alloc, sizeof *c->addrs);
        if (c->addrs == NULL) {
            fail_connect(c, ARC_ERR_NOMEM, ENOMEM, "out of memory");
            return;
        }
        c->naddrs = 1;
        if (arc__net_unix_addr(c->unix_path, c->addrs) != ARC_OK) {
            fail_connect(c, ARC_ERR_INVALID, 0, "unix socket path is empty or too long");
            return;
        }
    } else {
        msg[0] = '\0';
        int rc = arc__net_resolve(c->host, c->port, c->family, &c->alloc, &c->addrs, &c->naddrs,
                                  msg, sizeof msg);
        if (rc != ARC_OK) {
            fail_connect(c, rc, 0, msg[0] ? msg : "out of memory");
            return;
        }
    }
    try_next(c);
}

/* The pending connect finished: go on with it, or with the next address. */
static void connect_done(arc_context *c)
{
    int rc = arc__net_connect_result(c->fd);
    if (rc == ARC_ERR_STATE)
        return; /* spurious wake-up */
    if (rc == ARC_OK) {
        arc__connected(c);
        return;
    }
    int err = errno;
    arc__close_socket(c);
    c->connecting = false;
    if (c->naddrs == 0) { /* an adopted socket has no other address */
        arc__fail(c, rc, err, "adopted socket failed: %s", strerror(err));
        return;
    }
    c->next_addr++;
    if (c->next_addr < c->naddrs) {
        try_next(c);
        return;
    }
    char msg[200];
    describe(c, msg, sizeof msg, "cannot connect to", err);
    arc__fail(c, rc, err, "%s", msg);
}

/* A clean disconnect completes once nothing is left to answer. */
static void maybe_closed(arc_context *c)
{
    if (c->state == ARC_STATE_DISCONNECTING && arc__queue_len(&c->queue) == 0)
        arc__terminate(c, ARC_STATE_CLOSED, ARC_OK);
}

static bool alive(const arc_context *c)
{
    return !c->free_requested && !arc__ended(c);
}

/* Sends until the output is empty or the socket is full. Returns 0, or the
 * errno of a send that failed for good. */
static int send_output(arc_context *c)
{
    size_t n;
    while ((n = writable(c)) > 0) {
        ssize_t w = send(c->fd, arc__buffer_head(&c->out), n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
        }
        arc__buffer_consume(&c->out, (size_t)w);
        if (c->holding)
            c->hold -= (size_t)w;
        if ((size_t)w < n)
            break; /* the socket is full; wait for writability */
    }
    return 0;
}

static void flush_output(arc_context *c)
{
    int err = send_output(c);
    if (err != 0)
        arc__fail(c, err == EPIPE || err == ECONNRESET ? ARC_ERR_EOF : ARC_ERR_IO, err,
                  "write failed: %s", strerror(err));
    if (alive(c) && arc__buffer_len(&c->out) == 0)
        arc__buffer_shrink(&c->out, 64 * 1024);
}

/* Sends what the socket takes now, for a caller that queues commands faster
 * than the loop runs: the output stays near the socket's buffer instead of
 * growing to hold every command (a million queued SETs would be 45 MB).
 * A failure is not reported here but left for the loop's next read or
 * write to meet, so that no callback ever runs inside arc_command. */
void arc__write_through(arc_context *c)
{
    if (connected_state(c) && !c->free_requested)
        (void)send_output(c);
}

void arc_handle_read(arc_context *c)
{
    /* Re-entered from a callback: the reply on the stack lives in the
     * reader's arena, which reading on would recycle. The loop calls again. */
    if (c == NULL || c->depth > 0)
        return;
    arc__enter(c);
    if (!connected_state(c) || c->free_requested) {
        if (c->connecting && c->fd >= 0)
            connect_done(c);
        arc__leave(c);
        return;
    }
    char *space;
    size_t avail;
    int rc = arc__reader_space(c->reader, READ_CHUNK, &space, &avail);
    if (rc != ARC_OK) {
        if (rc == ARC_ERR_NOMEM)
            arc__fail(c, ARC_ERR_NOMEM, ENOMEM, "out of memory for the input buffer");
        else
            arc__fail(c, ARC_ERR_PROTOCOL, 0, "protocol error: %s",
                      rc == ARC_ERR_LIMIT ? "a reply line passed max_buffer"
                                          : arc_reader_error(c->reader));
        arc__leave(c);
        return;
    }
    ssize_t n;
    do
        n = recv(c->fd, space, avail, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            arc__fail(c, errno == ECONNRESET ? ARC_ERR_EOF : ARC_ERR_IO, errno,
                      "read failed: %s", strerror(errno));
        arc__leave(c);
        return;
    }
    if (n == 0) {
        if (c->state == ARC_STATE_DISCONNECTING && arc__queue_len(&c->queue) == 0)
            arc__terminate(c, ARC_STATE_CLOSED, ARC_OK);
        else
            arc__fail(c, ARC_ERR_EOF, 0, "server closed the connection%s",
                      arc__queue_len(&c->queue) ? " with replies pending" : "");
        arc__leave(c);
        return;
    }
    arc__reader_commit(c->reader, (size_t)n);
    while (alive(c)) {
        arc_reply *reply;
        rc = arc_reader_next(c->reader, &reply);
        if (rc != ARC_OK) {
            if (rc == ARC_ERR_NOMEM)
                arc__fail(c, ARC_ERR_NOMEM, ENOMEM, "out of memory while reading a reply");
            else
                arc__fail(c, ARC_ERR_PROTOCOL, 0, "%s", arc_reader_error(c->reader));
            break;
        }
        if (reply == NULL)
            break;
        arc__dispatch(c, reply);
        if (alive(c))
            maybe_closed(c);
    }
    /* Commands the callbacks queued go out now, all in one send, instead of
     * through a round of write interest: at depth 1 a round trip costs one
     * wait, one recv and one send, and the loop's write watcher stays off
     * while the socket takes everything. */
    if (alive(c) && connected_state(c))
        flush_output(c);
    arc__leave(c);
}

void arc_handle_write(arc_context *c)
{
    if (c == NULL || c->depth > 0)
        return;
    arc__enter(c);
    if (c->fd < 0 || !alive(c)) {
        arc__leave(c);
        return;
    }
    if (c->connecting) {
        connect_done(c);
        if (c->connecting || !alive(c)) {
            arc__leave(c);
            return;
        }
    }
    flush_output(c);
    arc__leave(c);
}

void arc_handle_timeout(arc_context *c)
{
    if (c == NULL || c->depth > 0)
        return;
    arc__enter(c);
    /* The loop's timer is a hint: the deadline is checked here, so an early
     * or spurious expiry does nothing (DESIGN rule 2). */
    int64_t now = arc__now_ms();
    c->told_deadline = -2; /* whatever was scheduled has fired: re-arm */
    if (!alive(c)) {
        arc__leave(c);
        return;
    }
    if (c->deferred) {
        char msg[sizeof c->error];
        memcpy(msg, c->error, sizeof msg);
        int status = c->deferred;
        c->deferred = 0;
        arc__fail(c, status, c->sys_errno, "%s", msg);
    } else if (c->state == ARC_STATE_HELD && c->connect_deadline >= 0 &&
               now >= c->connect_deadline) {
        arc__fail(c, ARC_ERR_NOFD, EMFILE, "no free file descriptor within %ld ms",
                  c->connect_timeout_ms);
    } else if ((c->state == ARC_STATE_CONNECTING || c->state == ARC_STATE_HANDSHAKE) &&
               c->connect_deadline >= 0 && now >= c->connect_deadline) {
        arc__fail(c, ARC_ERR_TIMEOUT, ETIMEDOUT, "connect timed out after %ld ms%s",
                  c->connect_timeout_ms,
                  c->state == ARC_STATE_HANDSHAKE ? " (in the handshake)" : "");
    } else if ((c->state == ARC_STATE_HELD ||
                (c->state == ARC_STATE_CONNECTING && c->busy_since >= 0 && c->fd < 0)) &&
               now >= c->held_until) {
        try_next(c);
    } else {
        int64_t d = arc__deadline(c);
        if (d >= 0 && now >= d && c->state != ARC_STATE_CONNECTING &&
            c->state != ARC_STATE_HANDSHAKE && c->state != ARC_STATE_HELD)
            arc__fail(c, ARC_ERR_TIMEOUT, ETIMEDOUT, "no reply within %ld ms",
                      c->command_timeout_ms);
    }
    arc__leave(c);
}

int arc_attach(arc_context *c, const arc_event_hooks *hooks)
{
    if (c == NULL || hooks == NULL || !hooks->add_read || !hooks->del_read ||
        !hooks->add_write || !hooks->del_write || !hooks->set_fd || !hooks->schedule_timer ||
        !hooks->cleanup)
        return ARC_ERR_INVALID;
    if (c->attached || c->free_requested || arc__ended(c))
        return ARC_ERR_STATE;
    c->hooks = *hooks;
    c->attached = true;
    c->told_fd = -1;
    c->told_read = c->told_write = false;
    c->told_deadline = -1;
    if (c->depth == 0) {
        arc__enter(c);
        arc__leave(c);
    }
    return ARC_OK;
}

int arc_fd(const arc_context *c)
{
    return c ? c->fd : -1;
}
