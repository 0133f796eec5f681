/* scenarios_link.c (tests): the link's deadlines, cancels, name resolution
 * off the loop, addresses tried in turn, and a failed send, on every loop
 * (see itest.c for the lists). Each scenario checks that every callback it
 * arms runs exactly once, and times what the contract times.
 *
 * Recorders live in static storage: a scenario that fails half-way leaves
 * its contexts to the driver's loop_free, and their last callbacks must
 * find memory that is still there, so that the failure is reported instead
 * of a crash in the teardown. */
#define _GNU_SOURCE
#include "itest.h"

#include "fake_resolver.h"
#include "fake_server.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static void assert_between(int64_t v, int64_t lo, int64_t hi, const char *what)
{
    if (v < lo || v >= hi)
        fail_msg("%s took %lld ms, expected [%lld, %lld)", what, (long long)v, (long long)lo,
                 (long long)hi);
}

/* The context has ended (CLOSED or FAILED). */
static bool ended(const arc_context *c)
{
    arc_state s = arc_context_state(c);
    return s == ARC_STATE_CLOSED || s == ARC_STATE_FAILED;
}

static arc_context *connect_ready(itest *t, arc_options *o, itest_conn *k)
{
    o->on_connect = itest_on_connect;
    o->on_disconnect = itest_on_disconnect;
    o->data = k;
    arc_context *c = itest_connect(t, o);
    ITEST_RUN_UNTIL(t, 5000, k->connects == 1);
    assert_int_equal(k->connect_status, ARC_OK);
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);
    return c;
}

/* ---- per-command timeouts ---- */

/* INCR replies, each expected to be the next value. */
typedef struct incrs {
    long calls;
    long in_order;
    long long next;
} incrs;

static void on_incr(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)c;
    incrs *n = privdata;
    n->calls++;
    if (status == ARC_OK && r != NULL && r->type == ARC_REPLY_INTEGER && r->integer == n->next)
        n->in_order++;
    n->next++;
}

/* What a command's callback saw, and what the pipeline around it had done
 * by then. */
typedef struct early {
    itest_rec rec;
    int64_t at_ms;
    long incrs_before;
    size_t pending_then;
    const incrs *n;
} early;

static void on_early(arc_context *c, arc_reply *r, int status, void *privdata)
{
    early *e = privdata;
    e->at_ms = itest_now_ms();
    e->incrs_before = e->n->calls;
    e->pending_then = arc_context_pending(c);
    itest_rec_cb(c, r, status, &e->rec);
}

/* One slow command in the middle of 10,000 carries a 100 ms timeout: it
 * alone ends with ARC_ERR_TIMEOUT while the server still sleeps, its late
 * reply is dropped, and every INCR around it meets its own reply. */
static void per_command_timeout_in_pipeline(void **state)
{
    itest *t = *state;
    static itest_conn k;
    memset(&k, 0, sizeof k);
    arc_options o = itest_options(t);
    arc_context *c = connect_ready(t, &o, &k);
    static incrs n;
    n = (incrs){0, 0, 1};
    static early slow;
    memset(&slow, 0, sizeof slow);
    slow.n = &n;
    uint64_t slow_id = 0;
    arc_command_options co = {.timeout_ms = 100, .id = &slow_id};
    for (int i = 0; i < 5000; i++)
        assert_int_equal(arc_command(c, on_incr, &n, "INCR link:counter"), ARC_OK);
    int64_t issued = itest_now_ms();
    assert_int_equal(arc_command_with(c, &co, on_early, &slow, "DEBUG SLEEP %s", "0.3"),
                     ARC_OK);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(arc_command(c, on_incr, &n, "INCR link:counter"), ARC_OK);
    assert_int_equal(arc_context_pending(c), 10001);

    ITEST_RUN_UNTIL(t, 20000, n.calls == 10000);
    itest_assert_null_once(&slow.rec, ARC_ERR_TIMEOUT, NULL);
    assert_between(slow.at_ms - issued, 100, 1000, "the per-command timeout");
    /* The server sleeps 300 ms before any INCR behind it: when the timeout
     * came, none of them was answered, and the timed-out command no longer
     * counted as pending. */
    assert_true(slow.incrs_before <= 5000);
    assert_int_equal(slow.pending_then, 10000 - (size_t)slow.incrs_before);
    assert_int_equal(n.in_order, 10000);
    assert_int_equal(arc_cancel(c, slow_id), ARC_ERR_INVALID); /* it timed out */
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);
    assert_int_equal(arc_context_failure(c), ARC_OK);
    assert_int_equal(arc_context_pending(c), 0);

    itest_run_for(t, 30);
    assert_int_equal(slow.rec.calls, 1);
    assert_int_equal(n.calls, 10000);
    arc_free(c);
    assert_int_equal(slow.rec.calls, 1);
    assert_int_equal(n.calls, 10000);
    assert_int_equal(k.disconnects, 1);
    assert_int_equal(k.disconnect_status, ARC_ERR_FREED);
    itest_rec_clear(&slow.rec);
}

/* arc_cancel: the callback now, once, ARC_ERR_CANCELLED; the command's
 * late reply (BLPOP's nil after 2 s) is dropped and the PING behind it gets
 * its PONG; a second cancel, a made-up id and an answered id are refused. */
static void cancel(void **state)
{
    itest *t = *state;
    static itest_conn k;
    memset(&k, 0, sizeof k);
    arc_options o = itest_options(t);
    arc_context *c = connect_ready(t, &o, &k);
    static itest_rec pop, ping;
    memset(&pop, 0, sizeof pop);
    memset(&ping, 0, sizeof ping);
    uint64_t pop_id = 0, ping_id = 0;
    arc_command_options po = {.id = &pop_id};
    assert_int_equal(arc_command_with(c, &po, itest_rec_cb, &pop, "BLPOP link:nothing 2"),
                     ARC_OK);
    int64_t sent = itest_now_ms();
    /* On the server, blocking: not merely queued, which a loaded machine
     * can leave it for longer than any fixed wait (and a cancel then drops
     * it unsent, so the PING behind it is answered at once). */
    assert_int_equal(itest_wait_blocked(t, 1), 1);
    assert_int_equal(pop.calls, 0);

    assert_int_equal(arc_cancel(c, pop_id), ARC_OK);
    itest_assert_null_once(&pop, ARC_ERR_CANCELLED, NULL); /* at once, inside the call */
    assert_int_equal(arc_cancel(c, pop_id), ARC_ERR_INVALID);
    assert_int_equal(arc_cancel(c, pop_id + 1), ARC_ERR_INVALID); /* never issued */
    assert_int_equal(arc_cancel(c, UINT64_MAX), ARC_ERR_INVALID);
    assert_int_equal(arc_cancel(c, 0), ARC_ERR_INVALID);
    assert_int_equal(arc_context_pending(c), 0);

    arc_command_options io = {.id = &ping_id};
    assert_int_equal(arc_command_with(c, &io, itest_rec_cb, &ping, "PING"), ARC_OK);
    assert_true(ping_id != pop_id);
    ITEST_RUN_UNTIL(t, 5000, ping.calls == 1);
    if (ping.status != ARC_OK)
        fail_msg("the PING ended %s: %s", arc_status_name(ping.status), arc_context_error(c));
    itest_assert_str(itest_last(&ping), ARC_REPLY_STATUS, "PONG");
    /* The PING waited behind the BLPOP on the server: the nil came first. */
    int64_t waited = itest_now_ms() - sent;
    if (waited < 1500)
        fail_msg("the PING was answered %lld ms after the BLPOP was sent", (long long)waited);
    assert_int_equal(pop.calls, 1);
    assert_int_equal(arc_cancel(c, ping_id), ARC_ERR_INVALID); /* answered */
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);
    assert_int_equal(arc_context_pending(c), 0);

    itest_run_for(t, 30);
    assert_int_equal(pop.calls, 1);
    assert_int_equal(ping.calls, 1);
    arc_free(c);
    assert_int_equal(pop.calls, 1);
    assert_int_equal(ping.calls, 1);
    itest_rec_clear(&pop);
    itest_rec_clear(&ping);
}

/* ---- the connection-wide command timeout ---- */

/* A blocking command at the head gets its server-side wait on top of the
 * command timeout: BLPOP 1 s under a 300 ms command timeout ends with its
 * nil and the connection stays; BLPOP 0 (for ever) is never taken for a
 * dead link. */
static void blpop_longer_than_command_timeout(void **state)
{
    itest *t = *state;
    static itest_conn k;
    memset(&k, 0, sizeof k);
    arc_options o = itest_options(t);
    o.command_timeout_ms = 300;
    arc_context *c = connect_ready(t, &o, &k);
    static itest_rec pop, ping, forever;
    memset(&pop, 0, sizeof pop);
    memset(&ping, 0, sizeof ping);
    memset(&forever, 0, sizeof forever);
    int64_t start = itest_now_ms();
    assert_int_equal(arc_command(c, itest_rec_cb, &pop, "BLPOP link:empty 1"), ARC_OK);
    assert_int_equal(arc_command(c, itest_rec_cb, &ping, "PING"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, ping.calls == 1 || ended(c));
    assert_int_equal(pop.calls, 1);
    assert_int_equal(pop.status, ARC_OK);
    assert_int_equal(itest_last(&pop)->type, ARC_REPLY_NIL);
    assert_true(itest_now_ms() - start >= 900);
    itest_assert_str(itest_last(&ping), ARC_REPLY_STATUS, "PONG");
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);
    assert_int_equal(arc_context_failure(c), ARC_OK);

    assert_int_equal(arc_command(c, itest_rec_cb, &forever, "BLPOP link:k 0"), ARC_OK);
    itest_run_for(t, 800);
    assert_int_equal(forever.calls, 0);
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);
    arc_reply *r = test_redis_command(t->redis, "RPUSH link:k v");
    assert_non_null(r);
    assert_int_equal(r->type, ARC_REPLY_INTEGER);
    arc_reply_free(r);
    ITEST_RUN_UNTIL(t, 5000, forever.calls == 1);
    const arc_reply *a = itest_last(&forever);
    assert_int_equal(a->type, ARC_REPLY_ARRAY);
    assert_int_equal(a->elements, 2);
    itest_assert_str(a->element[0], ARC_REPLY_STRING, "link:k");
    itest_assert_str(a->element[1], ARC_REPLY_STRING, "v");
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);

    itest_run_for(t, 30);
    arc_free(c);
    assert_int_equal(pop.calls + ping.calls + forever.calls, 3);
    assert_int_equal(k.disconnects, 1);
    itest_rec_clear(&pop);
    itest_rec_clear(&ping);
    itest_rec_clear(&forever);
}

/* The byte at offset i of the trickled value. */
static char trickle_byte(size_t i)
{
    return (char)('a' + (i * 7 + i / 2048) % 26);
}

enum { TRICKLE_SIZE = 64 * 1024, TRICKLE_PIECE = 2048 };

/* Appends "SEND <piece>" (with `tail` after the bytes) to the script. */
static size_t add_piece(char *p, size_t at, size_t from, const char *tail)
{
    at += (size_t)sprintf(p + at, "SEND ");
    for (size_t i = from; i < from + TRICKLE_PIECE; i++)
        p[at++] = trickle_byte(i);
    at += (size_t)sprintf(p + at, "%s\n", tail);
    return at;
}

/* Bytes of a reply still arriving are progress: a 64 KiB bulk sent 2 KiB
 * every 20 ms (~650 ms in all) under a 200 ms command timeout arrives
 * whole. The same reply stopped half-way is a dead link after 200 ms. */
static void trickled_reply_within_timeout(void **state)
{
    itest *t = *state;
    enum { PIECES = TRICKLE_SIZE / TRICKLE_PIECE };
    size_t cap = (size_t)TRICKLE_SIZE + (PIECES + 8) * 64 + 2 * TRICKLE_PIECE;
    char *script = malloc(cap);
    assert_non_null(script);
    size_t at = (size_t)sprintf(script, "ACCEPT\nEXPECT_COMMAND 1\nSEND $%d\\r\\n\n",
                                TRICKLE_SIZE);
    for (size_t i = 0; i < PIECES; i++) {
        at = add_piece(script, at, i * TRICKLE_PIECE, i + 1 == PIECES ? "\\r\\n" : "");
        if (i + 1 < PIECES)
            at += (size_t)sprintf(script + at, "SLEEP 20\n");
    }
    /* The second GET: a piece of its reply, then nothing. */
    at += (size_t)sprintf(script + at, "EXPECT_COMMAND 1\nSEND $%d\\r\\n\n", TRICKLE_SIZE);
    at = add_piece(script, at, 0, "");
    at += (size_t)sprintf(script + at, "STALL\n");
    assert_true(at < cap);
    script[at] = '\0';
    fake_server *f = fake_start(script);
    free(script);
    assert_non_null(f);

    static itest_conn k;
    memset(&k, 0, sizeof k);
    arc_options o = itest_options(t);
    o.transport = NULL; /* the scripted server speaks plain RESP */
    o.host = "127.0.0.1";
    o.port = fake_port(f);
    o.command_timeout_ms = 200;
    arc_context *c = connect_ready(t, &o, &k);
    static itest_rec get, stalled;
    memset(&get, 0, sizeof get);
    memset(&stalled, 0, sizeof stalled);
    int64_t start = itest_now_ms();
    assert_int_equal(arc_command(c, itest_rec_cb, &get, "GET trickled"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, get.calls == 1 || ended(c));
    int64_t took = itest_now_ms() - start;
    assert_int_equal(get.calls, 1);
    assert_int_equal(get.status, ARC_OK);
    assert_true(took >= 500); /* slower than the timeout, or it proves nothing */
    const arc_reply *r = itest_last(&get);
    assert_int_equal(r->type, ARC_REPLY_STRING);
    assert_int_equal(r->len, TRICKLE_SIZE);
    for (size_t i = 0; i < TRICKLE_SIZE; i++)
        if (r->str[i] != trickle_byte(i))
            fail_msg("byte %zu of the trickled reply is wrong", i);
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);
    assert_int_equal(arc_context_failure(c), ARC_OK);

    start = itest_now_ms();
    assert_int_equal(arc_command(c, itest_rec_cb, &stalled, "GET stalled"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, stalled.calls == 1);
    assert_between(itest_now_ms() - start, 190, 1500, "the stalled reply's timeout");
    itest_assert_null_once(&stalled, ARC_ERR_UNANSWERED, NULL);
    assert_int_equal(arc_context_failure(c), ARC_ERR_TIMEOUT);
    assert_int_equal(k.disconnects, 1);
    assert_int_equal(k.disconnect_status, ARC_ERR_TIMEOUT);

    itest_run_for(t, 30);
    arc_free(c);
    assert_int_equal(get.calls, 1);
    assert_int_equal(stalled.calls, 1);
    assert_int_equal(k.disconnects, 1);
    assert_int_equal(fake_stop(f), 0); /* it got as far as STALL */
    itest_rec_clear(&get);
    itest_rec_clear(&stalled);
}

/* ---- name resolution off the loop ---- */

/* 50 PINGs, each sent from the callback of the one before. */
typedef struct pinger {
    int replies;
    int pongs;
    int64_t last_ms;
    int64_t max_gap_ms;
    int64_t done_ms;
} pinger;

static void on_pinger(arc_context *c, arc_reply *r, int status, void *privdata)
{
    pinger *p = privdata;
    int64_t now = itest_now_ms();
    if (p->replies > 0 && now - p->last_ms > p->max_gap_ms)
        p->max_gap_ms = now - p->last_ms;
    p->last_ms = now;
    p->replies++;
    if (status == ARC_OK && r != NULL && r->type == ARC_REPLY_STATUS && r->len == 4 &&
        memcmp(r->str, "PONG", 4) == 0)
        p->pongs++;
    if (p->replies < 50) {
        if (arc_command(c, on_pinger, p, "PING") != ARC_OK)
            p->replies = 1000; /* fails the count below */
    } else {
        p->done_ms = now;
    }
}

typedef struct timed_conn {
    itest_conn k;
    int64_t at_ms;
} timed_conn;

static void on_timed_connect(arc_context *c, int status, void *data)
{
    timed_conn *tc = data;
    tc->at_ms = itest_now_ms();
    itest_on_connect(c, status, &tc->k);
}

/* Waits (running the loop) until every lookup begun has returned and
 * handed its answer back. The lookup runs on a thread of its own, and the
 * loop may have nothing to wait on (a context that gave the lookup up has
 * no descriptor and no timer, so run_once returns at once): each pass also
 * sleeps a millisecond, or the spin could starve that thread (valgrind
 * runs one thread at a time and seldom hands over to a waker). */
static void wait_lookups(itest *t, fake_resolver_counts from, int more, long ms)
{
    fake_resolver_counts now;
    int64_t end = itest_now_ms() + ms;
    for (;;) {
        now = fake_resolver_counts_now();
        if (now.finished >= from.finished + more && now.freed >= from.freed + more)
            break;
        if (itest_now_ms() >= end)
            fail_msg("lookups: %d started, %d finished, %d freed; expected %d more",
                     now.started - from.started, now.finished - from.finished,
                     now.freed - from.freed, more);
        t->drv->run_once(t->loop, 10);
        struct timespec pause = {0, 1000000L};
        nanosleep(&pause, NULL);
    }
}

/* A lookup that takes 2 s blocks nothing: another context on the same
 * loop goes on with its round trips meanwhile, and the slow one then
 * connects. */
static void resolution_does_not_block(void **state)
{
    itest *t = *state;
    static const char *const hosts[] = {"127.0.0.1", NULL};
    fake_resolver_counts before = fake_resolver_counts_now();
    fake_resolver_on(hosts, itest_port(t));
    fake_resolver_delay(2000);
    static timed_conn slow;
    memset(&slow, 0, sizeof slow);
    arc_options o = itest_options(t);
    o.host = "slow-lookup.test";
    o.transport = itest_transport_as_localhost(t);
    o.on_connect = on_timed_connect;
    o.data = &slow;
    int64_t start = itest_now_ms();
    arc_context *a = itest_connect(t, &o);
    fake_resolver_off(); /* the context keeps the hook; B does not get it */

    static itest_conn kb;
    memset(&kb, 0, sizeof kb);
    arc_options ob = itest_options(t);
    ob.host = "127.0.0.1";
    static pinger p;
    memset(&p, 0, sizeof p);
    ob.on_connect = itest_on_connect;
    ob.data = &kb;
    arc_context *b = itest_connect(t, &ob);
    assert_int_equal(arc_command(b, on_pinger, &p, "PING"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, p.replies >= 50);
    assert_int_equal(kb.connect_status, ARC_OK);
    assert_int_equal(p.replies, 50);
    assert_int_equal(p.pongs, 50);
    if (p.max_gap_ms > 100)
        fail_msg("a round trip of B took %lld ms while A was resolving",
                 (long long)p.max_gap_ms);
    /* A is still resolving, on the lookup's descriptor. */
    assert_int_equal(slow.k.connects, 0);
    assert_int_equal(arc_context_state(a), ARC_STATE_CONNECTING);
    assert_true(arc_fd(a) >= 0);

    static itest_rec ping;
    memset(&ping, 0, sizeof ping);
    assert_int_equal(arc_command(a, itest_rec_cb, &ping, "PING"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, slow.k.connects == 1);
    assert_int_equal(slow.k.connect_status, ARC_OK);
    assert_true(slow.at_ms - start >= 1900);
    assert_true(p.done_ms + 1000 < slow.at_ms); /* B was done long before */
    ITEST_RUN_UNTIL(t, 5000, ping.calls == 1);
    itest_assert_str(itest_last(&ping), ARC_REPLY_STATUS, "PONG");
    assert_int_equal(arc_context_attempts(a), 1);
    char want[32];
    snprintf(want, sizeof want, "127.0.0.1:%d", itest_port(t));
    assert_string_equal(arc_context_attempt(a, 0)->address, want);
    wait_lookups(t, before, 1, 10000);
    assert_int_equal(fake_resolver_counts_now().started, before.started + 1);

    itest_run_for(t, 30);
    arc_free(a);
    arc_free(b);
    assert_int_equal(slow.k.connects, 1);
    assert_int_equal(kb.connects, 1);
    assert_int_equal(ping.calls, 1);
    assert_int_equal(p.replies, 50);
    itest_rec_clear(&ping);
}

/* arc_free while the lookup runs (held in the fake until the test lets it
 * go, so it is certainly running): on_connect and the queued command hear
 * ARC_ERR_FREED once; the lookup finishing later touches nothing of the
 * context and frees its answer (leaks show under valgrind and ASan). */
static void free_while_resolving(void **state)
{
    itest *t = *state;
    static const char *const hosts[] = {"127.0.0.1", NULL};
    fake_resolver_counts before = fake_resolver_counts_now();
    fake_resolver_on(hosts, itest_port(t));
    fake_resolver_hold(true);
    static itest_conn k;
    memset(&k, 0, sizeof k);
    arc_options o = itest_options(t);
    o.host = "freed-while-resolving.test";
    o.transport = itest_transport_as_localhost(t);
    o.on_connect = itest_on_connect;
    o.on_disconnect = itest_on_disconnect;
    o.data = &k;
    arc_context *c = itest_connect(t, &o);
    fake_resolver_off();
    static itest_rec ping;
    memset(&ping, 0, sizeof ping);
    assert_int_equal(arc_command(c, itest_rec_cb, &ping, "PING"), ARC_OK);
    ITEST_RUN_UNTIL(t, 2000, fake_resolver_counts_now().started == before.started + 1);
    assert_int_equal(fake_resolver_counts_now().finished, before.finished);
    assert_int_equal(arc_context_state(c), ARC_STATE_CONNECTING);

    arc_free(c);
    assert_int_equal(k.connects, 1);
    assert_int_equal(k.connect_status, ARC_ERR_FREED);
    assert_int_equal(k.disconnects, 0); /* it was never ready */
    itest_assert_null_once(&ping, ARC_ERR_FREED, NULL);
    itest_run_for(t, 50);
    assert_int_equal(fake_resolver_counts_now().finished, before.finished);

    fake_resolver_hold(false);
    wait_lookups(t, before, 1, 10000); /* generous: valgrind on a loaded machine */
    itest_run_for(t, 50);
    assert_int_equal(k.connects, 1);
    assert_int_equal(k.disconnects, 0);
    assert_int_equal(ping.calls, 1);
    itest_rec_clear(&ping);
}

/* The connect timeout counts the lookup: 300 ms against a lookup that
 * does not end (held in the fake until the test lets it go) fails with
 * ARC_ERR_TIMEOUT after ~300 ms, and the message says it was still
 * resolving. */
static void resolution_counts_in_connect_timeout(void **state)
{
    itest *t = *state;
    static const char *const hosts[] = {"127.0.0.1", NULL};
    fake_resolver_counts before = fake_resolver_counts_now();
    fake_resolver_on(hosts, itest_port(t));
    fake_resolver_hold(true);
    static itest_conn k;
    memset(&k, 0, sizeof k);
    arc_options o = itest_options(t);
    o.host = "slower-than-the-timeout.test";
    o.transport = itest_transport_as_localhost(t);
    o.connect_timeout_ms = 300;
    o.on_connect = itest_on_connect;
    o.on_disconnect = itest_on_disconnect;
    o.data = &k;
    int64_t start = itest_now_ms();
    arc_context *c = itest_connect(t, &o);
    fake_resolver_off();
    static itest_rec ping;
    memset(&ping, 0, sizeof ping);
    assert_int_equal(arc_command(c, itest_rec_cb, &ping, "PING"), ARC_OK);
    ITEST_RUN_UNTIL(t, 3000, k.connects == 1);
    assert_between(itest_now_ms() - start, 290, 1000, "the connect timeout while resolving");
    assert_int_equal(k.connect_status, ARC_ERR_TIMEOUT);
    assert_int_equal(arc_context_state(c), ARC_STATE_FAILED);
    assert_int_equal(arc_context_failure(c), ARC_ERR_TIMEOUT);
    if (strstr(arc_context_error(c), "resolving") == NULL)
        fail_msg("the message does not say it was resolving: %s", arc_context_error(c));
    itest_assert_null_once(&ping, ARC_ERR_NOT_SENT, NULL);
    assert_int_equal(fake_resolver_counts_now().finished, before.finished);

    /* The lookup ends long after the context gave it up. */
    itest_run_for(t, 200);
    fake_resolver_hold(false);
    wait_lookups(t, before, 1, 10000); /* generous: valgrind on a loaded machine */
    itest_run_for(t, 30);
    arc_free(c);
    assert_int_equal(k.connects, 1);
    assert_int_equal(k.disconnects, 0);
    assert_int_equal(ping.calls, 1);
    itest_rec_clear(&ping);
}

/* ---- several addresses ---- */

static void assert_attempt(const arc_context *c, size_t i, const char *address, int status)
{
    const arc_attempt *a = arc_context_attempt(c, i);
    assert_non_null(a);
    assert_string_equal(a->address, address);
    assert_int_equal(a->family, AF_INET);
    assert_true(a->done);
    if (a->status != status)
        fail_msg("attempt %zu (%s) ended %s, expected %s", i, a->address,
                 arc_status_name(a->status), arc_status_name(status));
}

/* A silent first address (its connect hangs) gets its share of the
 * connect timeout, 1000 ms / 2 addresses, and no more: the second, the
 * real server, then connects. */
static void silent_first_address(void **state)
{
    itest *t = *state;
    fake_server *silent = fake_start("BACKLOG_FULL\n");
    assert_non_null(silent);
    char first[32], second[32];
    snprintf(first, sizeof first, "127.0.0.1:%d", fake_port(silent));
    snprintf(second, sizeof second, "127.0.0.1:%d", itest_port(t));
    const char *const hosts[] = {first, second, NULL};
    fake_resolver_on(hosts, 0);
    static itest_conn k;
    memset(&k, 0, sizeof k);
    arc_options o = itest_options(t);
    o.host = "silent-first.test";
    o.transport = itest_transport_as_localhost(t); /* then TLS on the second */
    o.connect_timeout_ms = 1000;
    o.on_connect = itest_on_connect;
    o.on_disconnect = itest_on_disconnect;
    o.data = &k;
    arc_context *c = itest_connect(t, &o);
    fake_resolver_off();
    static itest_rec ping;
    memset(&ping, 0, sizeof ping);
    assert_int_equal(arc_command(c, itest_rec_cb, &ping, "PING"), ARC_OK);
    ITEST_RUN_UNTIL(t, 3000, ping.calls == 1);
    assert_int_equal(k.connects, 1);
    assert_int_equal(k.connect_status, ARC_OK);
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);
    itest_assert_str(itest_last(&ping), ARC_REPLY_STATUS, "PONG");

    assert_int_equal(arc_context_attempts(c), 2);
    assert_null(arc_context_attempt(c, 2));
    assert_attempt(c, 0, first, ARC_ERR_TIMEOUT);
    assert_attempt(c, 1, second, ARC_OK);
    const arc_attempt *a0 = arc_context_attempt(c, 0), *a1 = arc_context_attempt(c, 1);
    assert_between(a0->duration_ms, 450, 800, "the silent address's share");
    assert_int_equal(a1->sys_errno, 0);
    assert_true(a1->started_ms >= a0->started_ms + a0->duration_ms);
    assert_true(a1->duration_ms < 400);

    itest_run_for(t, 30);
    arc_free(c);
    assert_int_equal(k.connects, 1);
    assert_int_equal(k.disconnects, 1);
    assert_int_equal(ping.calls, 1);
    assert_int_equal(fake_stop(silent), 0);
    itest_rec_clear(&ping);
}

/* Six refusing addresses, then the real one: it connects, and the story
 * has seven tries, six of them ARC_ERR_REFUSED. Old-style entries (no
 * port: the one given) and new ones (their own port) mix. */
static void many_addresses_last_answers(void **state)
{
    itest *t = *state;
    int port = itest_port(t);
    char last[32];
    snprintf(last, sizeof last, "127.0.0.1:%d", port);
    /* The server listens on 127.0.0.1 only: the others refuse. */
    const char *const hosts[] = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5",
                                 "127.0.0.6", "127.0.0.7", last, NULL};
    fake_resolver_on(hosts, port);
    static itest_conn k;
    memset(&k, 0, sizeof k);
    arc_options o = itest_options(t);
    o.host = "seven.test";
    o.transport = itest_transport_as_localhost(t);
    o.on_connect = itest_on_connect;
    o.on_disconnect = itest_on_disconnect;
    o.data = &k;
    arc_context *c = itest_connect(t, &o);
    fake_resolver_off();
    static itest_rec ping;
    memset(&ping, 0, sizeof ping);
    assert_int_equal(arc_command(c, itest_rec_cb, &ping, "PING"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, ping.calls == 1);
    assert_int_equal(k.connect_status, ARC_OK);
    itest_assert_str(itest_last(&ping), ARC_REPLY_STATUS, "PONG");
    assert_int_equal(arc_context_attempts(c), 7);
    for (size_t i = 0; i < 6; i++) {
        char want[32];
        snprintf(want, sizeof want, "127.0.0.%zu:%d", i + 2, port);
        assert_attempt(c, i, want, ARC_ERR_REFUSED);
        assert_int_equal(arc_context_attempt(c, i)->sys_errno, ECONNREFUSED);
    }
    assert_attempt(c, 6, last, ARC_OK);

    itest_run_for(t, 30);
    arc_free(c);
    assert_int_equal(k.connects, 1);
    assert_int_equal(k.disconnects, 1);
    assert_int_equal(ping.calls, 1);
    itest_rec_clear(&ping);
}

/* ---- a failed send ---- */

/* Waits, without running the loop, until the socket has seen the peer's
 * reset (POLLHUP or POLLERR: both are reported whatever is asked for). */
static void wait_reset_arrived(int fd)
{
    int64_t end = itest_now_ms() + 5000;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = 0};
        if (poll(&pfd, 1, 10) > 0 && (pfd.revents & (POLLHUP | POLLERR)))
            return;
        if (itest_now_ms() >= end)
            fail_msg("the reset did not reach the client's socket");
    }
}

/* The server answers three commands and resets while the client still
 * writes. Made deterministic on loopback by never running the loop until
 * the reset has arrived: the three replies then wait in the socket ahead
 * of the reset (Linux keeps data that came before an RST readable), and
 * the next send (a command big enough to be written from arc_command
 * itself) meets the reset before anything is read. The replies must still
 * reach their callbacks; then the context fails with the send's error. */
static void replies_read_after_failed_send(void **state)
{
    itest *t = *state;
    fake_server *f = fake_start("ACCEPT\n"
                                "EXPECT_COMMAND 1\n"
                                "SEND +one\\r\\n+two\\r\\n+three\\r\\n\n"
                                "RESET_CLOSE\n");
    assert_non_null(f);
    static itest_conn k;
    memset(&k, 0, sizeof k);
    arc_options o = itest_options(t);
    o.transport = NULL; /* the scripted server speaks plain RESP */
    o.host = "127.0.0.1";
    o.port = fake_port(f);
    arc_context *c = connect_ready(t, &o, &k);

    enum { BIG = 8 << 20, AFTER = 256 << 10 };
    char *big = malloc(BIG);
    assert_non_null(big);
    memset(big, 'x', BIG);
    static itest_rec rec[5];
    memset(rec, 0, sizeof rec);
    assert_int_equal(arc_command(c, itest_rec_cb, &rec[0], "ECHO one"), ARC_OK);
    assert_int_equal(arc_command(c, itest_rec_cb, &rec[1], "ECHO two"), ARC_OK);
    assert_int_equal(arc_command(c, itest_rec_cb, &rec[2], "ECHO three"), ARC_OK);
    /* Past the write-through size: sent from the call, with the three. */
    assert_int_equal(arc_command(c, itest_rec_cb, &rec[3], "SET big %b", big, (size_t)BIG),
                     ARC_OK);
    assert_int_equal(fake_finish(f, 5000), 0); /* read one, answered three, reset */
    wait_reset_arrived(arc_fd(c));
    assert_int_equal(arc_command(c, itest_rec_cb, &rec[4], "SET after %b", big, (size_t)AFTER),
                     ARC_OK);
    free(big);
    for (int i = 0; i < 5; i++)
        assert_int_equal(rec[i].calls, 0); /* nothing ran inside arc_command */

    ITEST_RUN_UNTIL(t, 5000, ended(c));
    itest_assert_str(itest_last(&rec[0]), ARC_REPLY_STATUS, "one");
    itest_assert_str(itest_last(&rec[1]), ARC_REPLY_STATUS, "two");
    itest_assert_str(itest_last(&rec[2]), ARC_REPLY_STATUS, "three");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rec[i].calls, 1);
        assert_int_equal(rec[i].status, ARC_OK);
    }
    /* The SET was cut short (or all in the kernel's buffers); the last one
     * never left. */
    assert_int_equal(rec[3].calls, 1);
    assert_int_equal(rec[3].nulls, 1);
    assert_true(rec[3].status == ARC_ERR_UNANSWERED || rec[3].status == ARC_ERR_NOT_SENT);
    itest_assert_null_once(&rec[4], ARC_ERR_NOT_SENT, NULL);
    int failure = arc_context_failure(c);
    assert_true(failure == ARC_ERR_EOF || failure == ARC_ERR_IO);
    int err = arc_context_errno(c);
    if (err != ECONNRESET && err != EPIPE)
        fail_msg("errno %d (%s), expected the send's ECONNRESET or EPIPE", err, strerror(err));
    if (strstr(arc_context_error(c), "write") == NULL)
        fail_msg("the failure is not the send's: %s", arc_context_error(c));
    assert_int_equal(k.disconnects, 1);
    assert_int_equal(k.disconnect_status, failure);

    itest_run_for(t, 30);
    arc_free(c);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(rec[i].calls, 1);
        itest_rec_clear(&rec[i]);
    }
    assert_int_equal(k.disconnects, 1);
}

/* ---- changing the timeouts ---- */

/* arc_set_timeouts on a live context: the command timeout can be lifted
 * and imposed on a command already due; negative values are refused and
 * change nothing; an ended context says ARC_ERR_CLOSED. */
static void set_timeouts_live(void **state)
{
    itest *t = *state;
    static itest_conn k;
    memset(&k, 0, sizeof k);
    arc_options o = itest_options(t);
    o.command_timeout_ms = 150;
    arc_context *c = connect_ready(t, &o, &k);
    static itest_rec lifted, slow;
    memset(&lifted, 0, sizeof lifted);
    memset(&slow, 0, sizeof slow);

    assert_int_equal(arc_set_timeouts(c, -1, 0), ARC_ERR_INVALID);
    assert_int_equal(arc_set_timeouts(c, 0, -1), ARC_ERR_INVALID);
    assert_int_equal(arc_set_timeouts(NULL, 0, 0), ARC_ERR_INVALID);
    /* Lifted: a 300 ms sleep under what was a 150 ms timeout is answered. */
    assert_int_equal(arc_set_timeouts(c, 5000, 0), ARC_OK);
    assert_int_equal(arc_command(c, itest_rec_cb, &lifted, "DEBUG SLEEP 0.3"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, lifted.calls == 1);
    itest_assert_str(itest_last(&lifted), ARC_REPLY_STATUS, "OK");
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);

    /* Imposed on a command already on its way; then a refused change must
     * not lift it again. A quiet spell first: the timeout must count from
     * when it was set, not from the last reply before the command (it
     * did, and came 16 ms early once under valgrind). */
    itest_run_for(t, 100);
    int64_t start = itest_now_ms();
    assert_int_equal(arc_command(c, itest_rec_cb, &slow, "DEBUG SLEEP 0.5"), ARC_OK);
    itest_run_for(t, 50);
    assert_int_equal(arc_set_timeouts(c, 0, 200), ARC_OK);
    assert_int_equal(arc_set_timeouts(c, 0, -200), ARC_ERR_INVALID);
    ITEST_RUN_UNTIL(t, 3000, slow.calls == 1);
    assert_between(itest_now_ms() - start, 190, 480, "the command timeout set live");
    itest_assert_null_once(&slow, ARC_ERR_UNANSWERED, NULL);
    assert_int_equal(arc_context_state(c), ARC_STATE_FAILED);
    assert_int_equal(arc_context_failure(c), ARC_ERR_TIMEOUT);
    assert_int_equal(k.disconnects, 1);
    assert_int_equal(k.disconnect_status, ARC_ERR_TIMEOUT);
    assert_int_equal(arc_set_timeouts(c, 0, 100), ARC_ERR_CLOSED);
    assert_int_equal(arc_set_timeouts(c, -1, 100), ARC_ERR_INVALID);

    itest_run_for(t, 30);
    arc_free(c);
    assert_int_equal(lifted.calls, 1);
    assert_int_equal(slow.calls, 1);
    itest_rec_clear(&lifted);
    itest_rec_clear(&slow);
    /* The server is still asleep for a moment: let it finish before the
     * next scenario's FLUSHALL. */
    arc_reply *r = test_redis_command(t->redis, "PING");
    arc_reply_free(r);
}

/* The connect timeout set on a context still connecting: an address whose
 * connect hangs, and no timeout at first, fails 300 ms after the start. */
static void set_connect_timeout_while_connecting(void **state)
{
    itest *t = *state;
    fake_server *silent = fake_start("BACKLOG_FULL\n");
    assert_non_null(silent);
    static itest_conn k;
    memset(&k, 0, sizeof k);
    arc_options o = itest_options(t);
    /* One address whatever "localhost" resolves to, and no transport: the
     * connect never completes, so TLS never starts. */
    o.transport = NULL;
    o.host = "127.0.0.1";
    o.port = fake_port(silent);
    o.connect_timeout_ms = 0;
    o.on_connect = itest_on_connect;
    o.data = &k;
    int64_t start = itest_now_ms();
    arc_context *c = itest_connect(t, &o);
    itest_run_for(t, 100);
    assert_int_equal(arc_context_state(c), ARC_STATE_CONNECTING);
    assert_int_equal(arc_set_timeouts(c, 300, 0), ARC_OK);
    ITEST_RUN_UNTIL(t, 3000, k.connects == 1);
    assert_between(itest_now_ms() - start, 290, 1000, "the connect timeout set live");
    assert_int_equal(k.connect_status, ARC_ERR_TIMEOUT);
    assert_int_equal(arc_context_attempts(c), 1);
    assert_int_equal(arc_context_attempt(c, 0)->status, ARC_ERR_TIMEOUT);
    itest_run_for(t, 30);
    arc_free(c);
    assert_int_equal(k.connects, 1);
    assert_int_equal(fake_stop(silent), 0);
}

const struct CMUnitTest itest_link_scenarios[] = {
    cmocka_unit_test(per_command_timeout_in_pipeline),
    cmocka_unit_test(cancel),
    cmocka_unit_test(blpop_longer_than_command_timeout),
    cmocka_unit_test(trickled_reply_within_timeout),
    cmocka_unit_test(resolution_does_not_block),
    cmocka_unit_test(free_while_resolving),
    cmocka_unit_test(resolution_counts_in_connect_timeout),
    cmocka_unit_test(silent_first_address),
    cmocka_unit_test(many_addresses_last_answers),
    cmocka_unit_test(replies_read_after_failed_send),
    cmocka_unit_test(set_timeouts_live),
    cmocka_unit_test(set_connect_timeout_while_connecting),
};
const size_t itest_link_scenario_count =
    sizeof itest_link_scenarios / sizeof itest_link_scenarios[0];
