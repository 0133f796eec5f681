/* session_script.c (tests): see session_script.h. */
#define _GNU_SOURCE
#include "session_script.h"

#include <arc/events.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

/* ---- memory: live blocks and live bytes ---- */


/* Each block carries its size in front, aligned for anything. */
typedef union header {
    size_t size;
    max_align_t align;
} header;

static void *counting_realloc(void *ud, void *p, size_t n)
{
    counter *k = ud;
    header *h = p != NULL ? (header *)p - 1 : NULL;
    if (n == 0) {
        if (h != NULL) {
            k->blocks--;
            k->bytes -= h->size;
            free(h);
        }
        return NULL;
    }
    size_t old = h != NULL ? h->size : 0;
    header *m = realloc(h, sizeof *m + n);
    if (m == NULL)
        return NULL;
    if (h == NULL)
        k->blocks++;
    k->bytes = k->bytes - old + n;
    m->size = n;
    return m + 1;
}

/* ---- the clock ---- */

int64_t now_ms;

int64_t fake_clock(void)
{
    return now_ms;
}

/* ---- the scripted transport ---- */


static int sc_handshake(arc_transport *t)
{
    (void)t;
    return ARC_IO_OK;
}

static int sc_read(arc_transport *t, char *buf, size_t cap, size_t *n)
{
    script *s = t->impl;
    s->reads++;
    size_t left = s->in_len - s->in_pos;
    if (left == 0) {
        if (s->at_end == ARC_IO_ERROR)
            t->err = s->read_errno;
        return s->at_end;
    }
    size_t k = left < cap ? left : cap;
    if (s->piece != 0 && k > s->piece)
        k = s->piece;
    memcpy(buf, s->in + s->in_pos, k);
    s->in_pos += k;
    *n = k;
    s->data_reads++;
    return ARC_IO_OK;
}

static int sc_write(arc_transport *t, const char *buf, size_t len, size_t *n)
{
    script *s = t->impl;
    s->writes++;
    if (s->write_errno != 0) {
        t->err = s->write_errno;
        return ARC_IO_ERROR;
    }
    if (s->write_room == 0)
        return ARC_IO_WANT_WRITE;
    size_t k = len < s->write_room ? len : s->write_room;
    assert_true(s->out_len + k <= sizeof s->out);
    memcpy(s->out + s->out_len, buf, k);
    s->out_len += k;
    if (s->write_room != SIZE_MAX)
        s->write_room -= k;
    *n = k;
    return ARC_IO_OK;
}

static size_t sc_pending(const arc_transport *t)
{
    const script *s = t->impl;
    return s->report_pending ? s->in_len - s->in_pos : 0;
}

static void sc_close(arc_transport *t)
{
    script *s = t->impl;
    s->closes++;
}

static const arc_transport_ops script_ops = {
    "script", sc_handshake, sc_read, sc_write, sc_pending, sc_close,
};

/* ---- one session per test ---- */


struct session S;
int seq; /* orders callbacks across a test */

static void on_connect(arc_context *c, int status, void *data)
{
    (void)c;
    struct session *s = data;
    s->connects++;
    s->connect_status = status;
}

static void on_disconnect(arc_context *c, int status, void *data)
{
    (void)c;
    struct session *s = data;
    s->disconnects++;
    s->disconnect_status = status;
    s->disconnect_seq = ++seq;
}

static void on_push(arc_context *c, arc_reply *r, void *data)
{
    (void)c;
    (void)r;
    struct session *s = data;
    s->pushes++;
}

arc_context *open_session(const arc_options *base)
{
    memset(&S, 0, sizeof S);
    seq = 0;
    S.alloc.realloc = counting_realloc;
    S.alloc.ud = &S.mem;
    S.sc.write_room = SIZE_MAX;
    S.sc.at_end = ARC_IO_WANT_READ;
    now_ms = 100000;
    arc__clock_set(fake_clock);
    arc_options o = *base;
    o.allocator = &S.alloc;
    o.on_connect = on_connect;
    o.on_disconnect = on_disconnect;
    o.on_push = on_push;
    o.data = &S;
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    assert_true(fd >= 0);
    S.c = arc__connect_transport(&o, &script_ops, &S.sc, fd);
    assert_non_null(S.c);
    S.links = 1;
    return S.c;
}

/* The link starts from a 0 ms timer. */
void start(void)
{
    assert_int_equal(arc_next_timeout_ms(S.c), 0);
    arc_handle_timeout(S.c);
}

/* A session with no handshake: READY once started. */
arc_context *open_ready(const arc_options *base)
{
    open_session(base);
    start();
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    assert_int_equal(S.connects, 1);
    assert_int_equal(S.connect_status, ARC_OK);
    return S.c;
}

void script_bytes(const char *bytes, size_t n)
{
    assert_true(S.sc.in_len + n <= sizeof S.sc.in);
    memcpy(S.sc.in + S.sc.in_len, bytes, n);
    S.sc.in_len += n;
}

void script_in(const char *bytes)
{
    script_bytes(bytes, strlen(bytes));
}

/* What the loop does when the socket is writable (if it was asked to). */
void flush(void)
{
    if (arc_want_write(S.c))
        arc_handle_write(S.c);
}

/* Bytes arrive, and the loop reports readability. */
void deliver(const char *bytes)
{
    script_in(bytes);
    arc_handle_read(S.c);
}

void expect_out(const char *want)
{
    size_t n = strlen(want);
    assert_int_equal(S.sc.out_len, n);
    assert_memory_equal(S.sc.out, want, n);
}

void finish(void)
{
    arc_free(S.c);
    S.c = NULL;
    assert_int_equal(S.mem.blocks, 0);
    assert_int_equal(S.mem.bytes, 0);
    assert_int_equal(S.sc.closes, S.links);
}

static int reopen(void *impl)
{
    script *sc = impl;
    int closes = sc->closes;
    size_t room = sc->write_room;
    memset(sc, 0, sizeof *sc);
    sc->closes = closes;
    sc->write_room = room;
    sc->at_end = ARC_IO_WANT_READ;
    S.links++;
    return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

void allow_reconnect(void)
{
    arc__transport_reopen(S.c, reopen);
}

/* After every test: the real clock again, and a context that a failed
 * assertion left behind is freed, so that valgrind reports only real leaks. */
int end_test(void **state)
{
    (void)state;
    if (S.c != NULL) {
        S.abandoned = true; /* the calls on the failed test's stack are gone */
        arc_free(S.c);
        S.c = NULL;
    }
    arc__clock_set(NULL);
    return 0;
}

/* ---- reply callbacks ---- */


void record(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)c;
    if (S.abandoned)
        return;
    call *k = privdata;
    k->n++;
    k->status = status;
    k->seq = ++seq;
    k->has_reply = r != NULL;
    if (r != NULL) {
        k->type = r->type;
        size_t n = r->str != NULL && r->len < sizeof k->str ? r->len : 0;
        memcpy(k->str, r->str != NULL ? r->str : "", n);
        k->str[n] = '\0';
    }
}

void expect_reply(const call *k, int type, const char *str)
{
    assert_int_equal(k->n, 1);
    assert_int_equal(k->status, ARC_OK);
    assert_true(k->has_reply);
    assert_int_equal(k->type, type);
    assert_string_equal(k->str, str);
}

void expect_none(const call *k, int status)
{
    assert_int_equal(k->n, 1);
    assert_int_equal(k->status, status);
    assert_false(k->has_reply);
}


