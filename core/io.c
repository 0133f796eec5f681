/* io.c: the session's side of the event loop: what to watch, one timer for
 * every deadline, reading and writing through the link's transport. */
#include "async.h"

#include "alloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* One read asks for this much; the reader's buffer grows to it once. */
#define READ_CHUNK (64 * 1024)
/* A context with nothing due for this long gives back its buffers, so that
 * an idle connection costs a few KiB instead of its last burst's peak. */
#define IDLE_TRIM_MS 1000
/* What an idle output buffer and queue may keep. */
#define OUT_KEEP (64 * 1024)
#define QUEUE_KEEP 64

bool arc__loop_attached(const arc_context *c)
{
    return c->hooks.cleanup != NULL;
}

/* Bytes that may go out now: only the handshake until the link is up. */
static size_t writable(const arc_context *c, const arc_buffer **from)
{
    const arc_link *l = &c->link;
    if (l->write_errno != 0 || l->fd < 0)
        return 0;
    if (l->step == ARC_LINK_HANDSHAKE || (l->step == ARC_LINK_UP && arc__buffer_len(&l->hello))) {
        /* The handshake, then what a new link replays, before commands. */
        *from = &l->hello;
        return arc__buffer_len(&l->hello);
    }
    if (l->step == ARC_LINK_UP) {
        *from = &c->out;
        return arc__buffer_len(&c->out);
    }
    return 0;
}

bool arc_want_read(const arc_context *c)
{
    if (c == NULL || !arc__alive(c) || c->link.fd < 0)
        return false;
    switch (c->link.step) {
    case ARC_LINK_RESOLVING:
    case ARC_LINK_HANDSHAKE:
    case ARC_LINK_UP:
        return true;
    case ARC_LINK_SECURING:
        return c->link.secure_want == ARC_IO_WANT_READ;
    default:
        return false;
    }
}

bool arc_want_write(const arc_context *c)
{
    if (c == NULL || !arc__alive(c) || c->link.fd < 0)
        return false;
    switch (c->link.step) {
    case ARC_LINK_CONNECTING:
        return true;
    case ARC_LINK_SECURING:
        return c->link.secure_want == ARC_IO_WANT_WRITE;
    default: {
        const arc_buffer *from;
        return c->link.read_wants_write || writable(c, &from) > 0;
    }
    }
}

static bool trimmable(const arc_context *c)
{
    return c->idle_since_ms >= 0 && c->link.step == ARC_LINK_UP &&
           arc__queue_len(&c->queue) == 0;
}

/* The one deadline the loop's timer follows: the earliest of the link's
 * own, the commands', the connection's liveness, the idle trim, the
 * reconnect backoff and the health check. */
int64_t arc__deadline(arc_context *c)
{
    if (arc__ended(c))
        return -1;
    if (c->ticker != NULL)
        return arc__ticker_deadline(c);
    int64_t d = arc__link_deadline(c);
    int64_t more[5] = {arc__commands_deadline(c), arc__liveness_deadline(c),
                       trimmable(c) ? c->idle_since_ms + IDLE_TRIM_MS : -1, c->rc_at,
                       arc__health_deadline(c)};
    for (int i = 0; i < 5; i++)
        if (more[i] >= 0 && (d < 0 || more[i] < d))
            d = more[i];
    return d;
}

long arc_next_timeout_ms(const arc_context *c)
{
    if (c == NULL)
        return -1;
    int64_t d = arc__deadline((arc_context *)c);
    if (d < 0)
        return -1;
    int64_t left = d - arc__now_ms();
    return left < 0 ? 0 : (long)left;
}

void arc__sync_loop(arc_context *c)
{
    if (!arc__loop_attached(c))
        return;
    const arc_event_hooks *h = &c->hooks;
    int rc = ARC_OK;
    if (c->told_fd != c->link.fd) {
        if (c->told_read)
            h->del_read(h->data);
        if (c->told_write)
            h->del_write(h->data);
        c->told_read = c->told_write = false;
        c->told_fd = c->link.fd;
        rc = h->set_fd(h->data, c->link.fd);
        if (c->link.fd < 0)
            rc = ARC_OK; /* letting go cannot fail */
    }
    bool r = arc_want_read(c), w = arc_want_write(c);
    if (rc == ARC_OK && r != c->told_read) {
        c->told_read = r;
        if (r)
            rc = h->add_read(h->data);
        else
            h->del_read(h->data);
    }
    if (rc == ARC_OK && w != c->told_write) {
        c->told_write = w;
        if (w)
            rc = h->add_write(h->data);
        else
            h->del_write(h->data);
    }
    /* The timer is re-armed only when the deadline comes before the one
     * armed (or none is): a later or vanished deadline leaves the armed
     * timer to fire early, which arc_handle_timeout re-checks (DESIGN rule
     * 2). At depth 1 that saves two timer calls per round trip. An ended
     * context cancels it. */
    int64_t d = arc__deadline(c);
    if (rc == ARC_OK) {
        if (d < 0 && arc__ended(c) && c->told_deadline >= 0) {
            c->told_deadline = -1;
            h->schedule_timer(h->data, -1);
        } else if (d >= 0 && (c->told_deadline < 0 || d < c->told_deadline)) {
            c->told_deadline = d;
            int64_t left = d - arc__now_ms();
            rc = h->schedule_timer(h->data, left < 0 ? 0 : (long)left);
        }
    }
    if (rc != ARC_OK && !arc__ended(c))
        arc__fail(c, rc, 0, "the event loop could not watch the connection: %s",
                  arc_strerror(rc));
}

/* The link carries bytes: alive, and in its RESP handshake or up. A
 * failure inside a read or a dispatch can take the link down (and a
 * reconnect policy keep the session alive), so loops check this. */
static bool flowing(const arc_context *c)
{
    return arc__alive(c) &&
           (c->link.step == ARC_LINK_HANDSHAKE || c->link.step == ARC_LINK_UP);
}

static int write_status(int err)
{
    return err == EPIPE || err == ECONNRESET ? ARC_ERR_EOF : ARC_ERR_IO;
}

/* Sends until the output is empty or the transport would block. A failed
 * send only stops the sending: what the server answered before it went
 * away may still be waiting to be read (see after_write_error). */
static void flush_output(arc_context *c)
{
    arc_link *l = &c->link;
    const arc_buffer *from;
    size_t n;
    while ((n = writable(c, &from)) > 0) {
        size_t w = 0;
        int rc = l->tr.ops->write(&l->tr, arc__buffer_head(from), n, &w);
        if (rc == ARC_IO_OK) {
            arc__buffer_consume((arc_buffer *)from, w);
            if (from == &c->out)
                c->out_sent += w;
            else if (arc__buffer_len(from) == 0)
                arc__buffer_release(&l->hello);
            if (w < n)
                break; /* the socket is full; wait for writability */
            continue;
        }
        if (rc == ARC_IO_ERROR)
            l->write_errno = l->tr.err ? l->tr.err : EIO;
        break;
    }
    if (arc__buffer_len(&c->out) == 0)
        arc__buffer_shrink(&c->out, OUT_KEEP);
}

/* Sends what the socket takes now, for a caller that queues commands faster
 * than the loop runs: the output stays near the socket's buffer instead of
 * growing to hold every command (a million queued SETs would be 45 MB).
 * A failure is not reported here but left for the loop's next read to
 * meet, so that no callback ever runs inside arc_command. */
void arc__write_through(arc_context *c)
{
    if (c->link.step == ARC_LINK_UP && arc__alive(c))
        flush_output(c);
}

/* After a failed send, the link lives only while commands it wrote may
 * still be answered; then it fails with the send's error. */
static void check_write_error(arc_context *c)
{
    arc_link *l = &c->link;
    if (l->write_errno == 0 || !flowing(c))
        return;
    const arc_entry *head = arc__queue_head(&c->queue);
    if (head != NULL && head->end <= c->out_sent)
        return; /* written, unanswered: its reply may be in the socket */
    int err = l->write_errno;
    arc__fail(c, write_status(err), err, "write failed: %s", strerror(err));
}

/* A read's replies are dispatched in chunks of SPLIT_CHUNK (or a part of
 * the commands in flight, when that is more: an eighth, or the
 * transport's window_parts), the refills of each chunk sent before the
 * next is parsed, once at least 4 * SPLIT_CHUNK commands are in flight. */
#define SPLIT_CHUNK 32
#define SPLIT_PARTS 8

static void parse_replies(arc_context *c)
{
    arc_reader *r = c->link.reader;
    /* A deep pipeline otherwise travels as one batch each way: the server
     * idles while the client parses the window and refills it, and the
     * client idles while the server answers. Sending each chunk's refills
     * at once gives the server work while the client does the rest, so
     * several batches go round and neither side waits: at depth 256
     * against redis-server, 1.6 times the ops/s of one batch, for about
     * the same CPU per command (bench/README.md). Below 4 chunks in flight
     * the overlap buys nothing and the sends cost. */
    size_t inflight = arc__queue_len(&c->queue);
    size_t parts = c->link.tr.window_parts ? c->link.tr.window_parts : SPLIT_PARTS;
    size_t chunk = inflight / parts > SPLIT_CHUNK ? inflight / parts : SPLIT_CHUNK;
    size_t split = inflight >= 4 * SPLIT_CHUNK ? chunk : 0, left = split;
    while (flowing(c)) {
        arc_reply *reply;
        int rc = arc_reader_next(r, &reply);
        if (rc != ARC_OK) {
            if (rc == ARC_ERR_NOMEM)
                arc__fail(c, ARC_ERR_NOMEM, ENOMEM, "out of memory while reading a reply");
            else
                arc__fail(c, ARC_ERR_PROTOCOL, 0, "%s", arc_reader_error(r));
            return;
        }
        if (reply == NULL)
            return;
        arc__dispatch(c, reply);
        if (c->phase == ARC_PHASE_DRAINING && arc__alive(c))
            arc__maybe_close(c);
        if (split && --left == 0 && flowing(c)) {
            flush_output(c);
            left = split;
        }
    }
}

static void end_of_stream(arc_context *c)
{
    if (c->phase == ARC_PHASE_DRAINING && arc__live_entries(c) == 0) {
        arc__terminate(c, ARC_OK);
        return;
    }
    int err = c->link.write_errno;
    if (err != 0)
        arc__fail(c, write_status(err), err, "write failed: %s; then the server closed",
                  strerror(err));
    else
        arc__fail(c, ARC_ERR_EOF, 0, "server closed the connection%s",
                  arc__live_entries(c) ? " with replies pending" : "");
}

/* Reads until the transport would block, dispatching every reply. A TLS
 * transport may hold decrypted bytes after the socket is drained, so the
 * loop goes on while it does. */
static void read_input(arc_context *c)
{
    arc_link *l = &c->link;
    while (flowing(c)) {
        if (l->reader == NULL) {
            /* Given back by the idle trim; made again on demand. */
            l->reader = arc_reader_new(&c->limits, &c->alloc);
            if (l->reader == NULL) {
                arc__fail(c, ARC_ERR_NOMEM, ENOMEM, "out of memory for the reader");
                return;
            }
        }
        char *space;
        size_t avail;
        int rc = arc__reader_space(l->reader, READ_CHUNK, &space, &avail);
        if (rc != ARC_OK) {
            if (rc == ARC_ERR_NOMEM)
                arc__fail(c, ARC_ERR_NOMEM, ENOMEM, "out of memory for the input buffer");
            else
                arc__fail(c, ARC_ERR_PROTOCOL, 0, "protocol error: %s",
                          rc == ARC_ERR_LIMIT ? "a reply line passed max_buffer"
                                              : arc_reader_error(l->reader));
            return;
        }
        size_t n = 0;
        rc = l->tr.ops->read(&l->tr, space, avail, &n);
        if (rc == ARC_IO_EOF) {
            end_of_stream(c);
            return;
        }
        if (rc == ARC_IO_ERROR) {
            int err = l->tr.err;
            int st = l->tr.status ? l->tr.status : err == ECONNRESET ? ARC_ERR_EOF : ARC_ERR_IO;
            arc__fail(c, st, err, "read failed: %s", l->tr.why[0] ? l->tr.why : strerror(err));
            return;
        }
        if (rc != ARC_IO_OK) {
            /* Would block. A TLS read may need to write first (a key
             * update): then writability wakes the read. */
            l->read_wants_write = rc == ARC_IO_WANT_WRITE;
            return;
        }
        arc__reader_commit(l->reader, n);
        l->read_ms = arc__now_ms(); /* one clock read per read, for all below */
        uint64_t answered = c->queue.head_id;
        parse_replies(c);
        /* Progress for the liveness timeout: a reply that answered a
         * command, or part of one still arriving. Pushes alone are not: a
         * server that only sends invalidations while a reply is late is
         * still late. */
        if (flowing(c) && (c->queue.head_id != answered || arc__reader_midway(l->reader)))
            l->last_progress_ms = l->read_ms;
        if (l->tr.ops == NULL || l->tr.ops->pending(&l->tr) == 0)
            return;
    }
}

/* A link with nothing to do for IDLE_TRIM_MS gives back its buffers. */
static void trim(arc_context *c)
{
    arc_link *l = &c->link;
    c->idle_since_ms = -1;
    if (l->reader != NULL && arc_reader_pending(l->reader) == 0) {
        arc_reader_free(l->reader);
        l->reader = NULL;
    }
    if (arc__buffer_len(&c->out) == 0)
        arc__buffer_release(&c->out);
    arc__queue_shrink(&c->queue, 0);
    if (c->deadlines.len == 0)
        arc__deadlines_release(&c->deadlines);
}

void arc_handle_read(arc_context *c)
{
    /* Re-entered from a callback: the reply on the stack lives in the
     * reader's arena, which reading on would recycle. The loop calls again. */
    if (c == NULL || c->depth > 0)
        return;
    arc__enter(c);
    if (arc__alive(c)) {
        arc_link_step s = c->link.step;
        if (s == ARC_LINK_HANDSHAKE || s == ARC_LINK_UP) {
            read_input(c);
            /* Commands the callbacks queued go out now, in one send,
             * instead of through a round of write interest: at depth 1 a
             * round trip costs one wait, one recv and one send. */
            if (flowing(c))
                flush_output(c);
            if (c->link.write_errno != 0 && flowing(c)) {
                read_input(c);
                check_write_error(c);
            }
        } else {
            arc__link_progress(c);
        }
    }
    arc__leave(c);
}

void arc_handle_write(arc_context *c)
{
    if (c == NULL || c->depth > 0)
        return;
    arc__enter(c);
    if (arc__alive(c)) {
        arc_link_step s = c->link.step;
        if (s == ARC_LINK_CONNECTING || s == ARC_LINK_SECURING)
            arc__link_progress(c);
        s = c->link.step;
        if (arc__alive(c) && (s == ARC_LINK_HANDSHAKE || s == ARC_LINK_UP) &&
            c->link.read_wants_write) {
            c->link.read_wants_write = false;
            read_input(c);
        }
        if (arc__alive(c) && (s == ARC_LINK_HANDSHAKE || s == ARC_LINK_UP)) {
            flush_output(c);
            if (c->link.write_errno != 0 && flowing(c)) {
                /* What the server sent before it went away comes first. */
                read_input(c);
                check_write_error(c);
            }
        }
    }
    arc__leave(c);
}

void arc_handle_timeout(arc_context *c)
{
    if (c == NULL || c->depth > 0)
        return;
    arc__enter(c);
    /* The loop's timer is a hint: each deadline is checked here, so an
     * early or spurious expiry does nothing (DESIGN rule 2). Whatever was
     * armed has fired. */
    c->told_deadline = -1;
    int64_t now = arc__now_ms();
    if (c->ticker != NULL) {
        if (arc__alive(c))
            arc__ticker_due(c, now);
        arc__leave(c);
        return;
    }
    if (arc__alive(c) && c->link.step == ARC_LINK_DOWN)
        arc__reconnect_due(c, now);
    else if (arc__alive(c) && c->link.step < ARC_LINK_UP)
        arc__link_timeout(c, now);
    if (arc__alive(c))
        arc__expire_commands(c, now);
    if (arc__alive(c)) {
        int64_t d = arc__liveness_deadline(c);
        if (d >= 0 && now >= d)
            arc__fail(c, ARC_ERR_TIMEOUT, ETIMEDOUT, "no reply within %ld ms",
                      c->command_timeout_ms);
    }
    if (arc__alive(c))
        arc__health_check(c, now);
    if (arc__alive(c) && trimmable(c) && now >= c->idle_since_ms + IDLE_TRIM_MS)
        trim(c);
    arc__leave(c);
}

int arc_attach(arc_context *c, const arc_event_hooks *hooks)
{
    if (c == NULL || hooks == NULL || !hooks->add_read || !hooks->del_read ||
        !hooks->add_write || !hooks->del_write || !hooks->set_fd || !hooks->schedule_timer ||
        !hooks->cleanup)
        return ARC_ERR_INVALID;
    if (arc__loop_attached(c) || !arc__alive(c))
        return ARC_ERR_STATE;
    c->hooks = *hooks;
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
    return c ? c->link.fd : -1;
}
