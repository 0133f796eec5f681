/* scenarios_faults.c (tests): link faults in the middle of real traffic,
 * from arc-faultproxy (test/support/faultproxy.c) between the context and
 * the shared server, with the reconnect policy on. Every scenario has a
 * load of INCRs on one counter in flight when the fault comes and checks:
 * each callback ran once, in order, with a reply, ARC_ERR_UNANSWERED or
 * ARC_ERR_NOT_SENT; the counter the server kept lies between the replies
 * and the replies plus the UNANSWERED commands (so no NOT_SENT one ran);
 * the INCR replies only go up; on_connect / on_disconnect ran as
 * docs/reconnect.md says; and the same context is READY again and answers.
 *
 * In the TLS group the proxy forwards the TLS bytes to the server's TLS
 * port: the faults land in the middle of TLS records. */
#define _GNU_SOURCE
#include "itest.h"

#include "fault_proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- watching the context ---- */

enum { STATUS_MAX = 8 };

typedef struct fwatch {
    int connects, connect_ok, connect_status;
    int disconnects;
    int disconnect_status[STATUS_MAX];
    arc_state disconnect_state[STATUS_MAX]; /* the state during the call */
    int readies, waits;
    int wait_failure[STATUS_MAX]; /* arc_context_failure() entering WAITING */
    int ended;                    /* CLOSED or FAILED seen */
    int data_frees;
} fwatch;

static void fw_connect(arc_context *c, int status, void *data)
{
    (void)c;
    fwatch *w = data;
    w->connects++;
    w->connect_status = status;
    w->connect_ok += status == ARC_OK;
}

static void fw_disconnect(arc_context *c, int status, void *data)
{
    fwatch *w = data;
    if (w->disconnects < STATUS_MAX) {
        w->disconnect_status[w->disconnects] = status;
        w->disconnect_state[w->disconnects] = arc_context_state(c);
    }
    w->disconnects++;
}

static void fw_state(arc_context *c, arc_state prev, arc_state now, void *data)
{
    (void)prev;
    fwatch *w = data;
    if (now == ARC_STATE_READY)
        w->readies++;
    if (now == ARC_STATE_WAITING) {
        if (w->waits < STATUS_MAX)
            w->wait_failure[w->waits] = arc_context_failure(c);
        w->waits++;
    }
    if (now == ARC_STATE_CLOSED || now == ARC_STATE_FAILED)
        w->ended++;
}

static void fw_data_free(void *data)
{
    fwatch *w = data;
    w->data_frees++;
}

/* ---- a load of INCRs (and, optionally, big SETs) kept at a depth ---- */

/* What a failed scenario left behind (see leftovers_free). */
static fault_proxy *left_proxy;
static itest_load *left_load;

/* A load on the context through the proxy, on one counter from start to
 * end (the server is never restarted here): its INCR replies only go up. */
static itest_load *load_new(arc_context *c, const fwatch *w, long depth, long limit)
{
    itest_load *l = itest_load_new(c, &w->connect_ok, "fp-counter", depth, limit);
    l->big_key = "fp-big";
    l->rising = true;
    left_load = l;
    return l;
}

/* ---- one context through the proxy ---- */

typedef struct fx {
    fault_proxy *proxy;
    arc_context *c;
    fwatch w;
    bool timeouts; /* a lost link may be a timeout too (the health check) */
} fx;

static const arc_reconnect fast_rc = {.initial_delay_ms = 20, .max_delay_ms = 200};

/* What a failed scenario left behind (an assertion leaves by longjmp): the
 * next one stops that proxy and frees that load. Its context went with the
 * loop, whose teardown called back every command first. */

static void leftovers_free(void)
{
    fproxy_stop(left_proxy);
    free(left_load);
    left_proxy = NULL;
    left_load = NULL;
}

/* The proxy in front of the group's server (its TLS port in the TLS
 * group), and a ready context through it, with the health check after
 * `health_ms` of silence (0: none). */
static void fx_open_health(itest *t, fx *x, long health_ms)
{
    leftovers_free();
    memset(x, 0, sizeof *x);
    x->timeouts = health_ms > 0;
    x->proxy = left_proxy = fproxy_start(itest_port(t));
    assert_non_null(x->proxy);
    arc_options o = itest_options(t);
    o.host = "127.0.0.1";
    o.port = fproxy_port(x->proxy);
    /* The certificate names "localhost", not the address: verify that. */
    o.transport = itest_transport_as_localhost(t);
    o.connect_timeout_ms = 2000;
    o.health_check_ms = health_ms;
    o.reconnect = &fast_rc;
    o.on_connect = fw_connect;
    o.on_disconnect = fw_disconnect;
    o.on_state = fw_state;
    o.data = &x->w;
    o.data_free = fw_data_free;
    x->c = itest_connect(t, &o);
    ITEST_RUN_UNTIL(t, 10000, x->w.connects == 1);
    assert_int_equal(x->w.connect_status, ARC_OK);
    assert_int_equal(arc_context_state(x->c), ARC_STATE_READY);
}

static void fx_open(itest *t, fx *x)
{
    fx_open_health(t, x, 0);
}

static void fx_cmd(fx *x, const char *line)
{
    char got[256];
    if (fproxy_cmd(x->proxy, line, got, sizeof got) != 0)
        fail_msg("proxy \"%s\": %s", line, got);
}

static bool lost_link_status(int status)
{
    return status == ARC_ERR_EOF || status == ARC_ERR_IO;
}

/* After `losses` lost ready links: the context is READY on its next one,
 * on_connect ran once per ready link, on_disconnect once per lost one, in
 * WAITING, with an end of stream or an I/O error; a PING works. Then
 * arc_free: one more on_disconnect (FREED), data_free once. The proxy
 * stops and the load (if any) is freed. */
static void fx_close(itest *t, fx *x, int losses, const char *what)
{
    fwatch *w = &x->w;
    ITEST_RUN_UNTIL(t, 10000, arc_context_state(x->c) == ARC_STATE_READY || w->ended);
    if (arc_context_state(x->c) != ARC_STATE_READY)
        fail_msg("%s: the context ended (%s: %s)", what, arc_status_name(arc_context_failure(x->c)),
                 arc_context_error(x->c));
    static itest_rec ping;
    ping = (itest_rec){0};
    assert_int_equal(arc_command(x->c, itest_rec_cb, &ping, "PING"), ARC_OK);
    ITEST_RUN_UNTIL(t, 10000, ping.calls == 1);
    itest_run_for(t, 10);
    assert_int_equal(ping.calls, 1);
    itest_assert_str(itest_last(&ping), ARC_REPLY_STATUS, "PONG");
    itest_rec_clear(&ping);

    if (w->connect_ok != losses + 1 || w->connects != losses + 1 || w->readies != losses + 1 ||
        w->disconnects != losses)
        fail_msg("%s: %d on_connect (%d ok), %d READY, %d on_disconnect for %d lost links", what,
                 w->connects, w->connect_ok, w->readies, w->disconnects, losses);
    for (int i = 0; i < losses && i < STATUS_MAX; i++) {
        bool lost = lost_link_status(w->disconnect_status[i]) ||
                    (x->timeouts && w->disconnect_status[i] == ARC_ERR_TIMEOUT);
        if (!lost || w->disconnect_state[i] != ARC_STATE_WAITING)
            fail_msg("%s: on_disconnect #%d with %s in %s", what, i + 1,
                     arc_status_name(w->disconnect_status[i]),
                     arc_state_name(w->disconnect_state[i]));
    }
    assert_int_equal(w->ended, 0);
    arc_free(x->c);
    x->c = NULL;
    assert_int_equal(w->disconnects, losses + 1);
    if (losses + 1 <= STATUS_MAX)
        assert_int_equal(w->disconnect_status[losses], ARC_ERR_FREED);
    assert_int_equal(w->connects, losses + 1);
    assert_int_equal(w->data_frees, 1);
    leftovers_free(); /* the proxy, and the load: every callback has run */
    x->proxy = NULL;
}

/* The load runs until `before` replies, the fault comes (`fault`, a proxy
 * line), and the load goes on until `after` replies on the next link;
 * then it stops and every callback is checked. One lost link. */
static void fault_under_load(itest *t, const char *fault, long before, long after,
                             const char *what)
{
    static fx x;
    fx_open(t, &x);
    itest_load *l = load_new(x.c, &x.w, 256, ITEST_LOAD_MAX);
    itest_load_more(l);
    ITEST_RUN_UNTIL(t, 10000, l->ok_on_link[1] >= before);
    fx_cmd(&x, fault);
    ITEST_RUN_UNTIL(t, 10000, itest_load_ok_since(l, 2) >= after || x.w.ended);
    l->stop = true;
    ITEST_RUN_UNTIL(t, 10000, l->callbacks == l->issued || x.w.ended);
    if (x.w.ended)
        fail_msg("%s: the context ended (%s: %s)", what, arc_status_name(arc_context_failure(x.c)),
                 arc_context_error(x.c));
    itest_tally y = itest_load_tally(l, what);
    itest_load_assert_counter(t, l, &y, what);
    /* One lost link: it cut at most one command short. */
    assert_true(y.not_sent <= 1);
    assert_true(x.w.waits >= 1);
    assert_true(lost_link_status(x.w.wait_failure[0]));
    fx_close(t, &x, 1, what);
}

/* ---- the scenarios ---- */

/* The reply stream stops in the middle of a reply, then ends. The load
 * pauses (nothing in flight) so that the proxy counts from a reply
 * boundary; then 256 INCRs go out at once and the proxy lets through the
 * first 100 replies and 3 bytes of the 101st (in the TLS group, as many
 * bytes of TLS records: a record cut short). Over plain TCP exactly those
 * 100 are answered on the old link; the half reply is dropped, its
 * command and the rest UNANSWERED; the new link carries the remainder. */
static void cut_mid_reply(void **state)
{
    itest *t = *state;
    const char *what = "cut mid-reply";
    static fx x;
    fx_open(t, &x);
    itest_load *l = load_new(x.c, &x.w, 256, ITEST_LOAD_MAX);
    itest_load_more(l);
    ITEST_RUN_UNTIL(t, 10000, l->ok_on_link[1] >= 300);
    l->stop = true;
    ITEST_RUN_UNTIL(t, 10000, l->callbacks == l->issued);
    long long v = l->slot[l->issued - 1].value; /* the counter now */
    long before = l->ok_on_link[1];
    long long bytes = 3; /* ":NN" of the 101st */
    for (long long i = 1; i <= 100; i++) {
        char reply[32];
        bytes += snprintf(reply, sizeof reply, ":%lld\r\n", v + i);
    }
    char line[64];
    snprintf(line, sizeof line, "cut %lld", bytes);
    fx_cmd(&x, line);
    l->stop = false;
    itest_load_more(l);
    ITEST_RUN_UNTIL(t, 10000, itest_load_ok_since(l, 2) >= 300 || x.w.ended);
    l->stop = true;
    ITEST_RUN_UNTIL(t, 10000, l->callbacks == l->issued || x.w.ended);
    if (x.w.ended)
        fail_msg("%s: the context ended (%s: %s)", what, arc_status_name(arc_context_failure(x.c)),
                 arc_context_error(x.c));
    itest_tally y = itest_load_tally(l, what);
    itest_load_assert_counter(t, l, &y, what);
    if (!itest_tls(t) && l->ok_on_link[1] - before != 100)
        fail_msg("%s: %ld replies came before the cut; the proxy let 100 and a half through",
                 what, l->ok_on_link[1] - before);
    assert_true(y.unanswered >= 156);
    assert_true(y.not_sent <= 1);
    assert_int_equal(x.w.waits, 1);
    assert_true(lost_link_status(x.w.wait_failure[0]));
    fx_close(t, &x, 1, what);
}

/* Both sides reset with 256 INCRs in flight. */
static void reset_under_load(void **state)
{
    fault_under_load(*state, "reset", 300, 300, "reset under load");
}

/* The reply stream comes one byte per millisecond: slow, but every reply
 * is whole and right, parsed a byte at a time (in the TLS group a record
 * at a time, once its last byte is in); nothing is lost and no link
 * either. Then pass: the rest comes at full speed. */
static void trickle_then_pass(void **state)
{
    itest *t = *state;
    static fx x;
    fx_open(t, &x);
    char value[100];
    for (size_t i = 0; i < sizeof value; i++)
        value[i] = (char)('a' + i % 26);
    static itest_rec set, get, get2;
    set = get = get2 = (itest_rec){0};
    assert_int_equal(arc_command(x.c, itest_rec_cb, &set, "SET fp-val %b", value, sizeof value),
                     ARC_OK);
    ITEST_RUN_UNTIL(t, 10000, set.calls == 1);
    fx_cmd(&x, "trickle 1");
    itest_load *l = load_new(x.c, &x.w, 32, 32);
    itest_load_more(l);
    assert_int_equal(arc_command(x.c, itest_rec_cb, &get, "GET fp-val"), ARC_OK);
    /* Half the replies trickle in. */
    ITEST_RUN_UNTIL(t, 10000, l->callbacks >= 16);
    fx_cmd(&x, "pass");
    assert_int_equal(arc_command(x.c, itest_rec_cb, &get2, "GET fp-val"), ARC_OK);
    ITEST_RUN_UNTIL(t, 10000, get2.calls == 1);
    itest_tally y = itest_load_tally(l, "trickle");
    assert_int_equal(y.ok, 32);
    for (long i = 0; i < 32; i++)
        assert_int_equal(l->slot[i].value, i + 1);
    itest_load_assert_counter(t, l, &y, "trickle");
    assert_int_equal(get.calls, 1);
    assert_int_equal(get2.calls, 1);
    const arc_reply *g = itest_last(&get);
    assert_int_equal(g->type, ARC_REPLY_STRING);
    assert_int_equal(g->len, sizeof value);
    assert_memory_equal(g->str, value, sizeof value);
    g = itest_last(&get2);
    assert_int_equal(g->len, sizeof value);
    assert_int_equal(x.w.waits, 0);
    fx_close(t, &x, 0, "trickle");
    itest_rec_clear(&set);
    itest_rec_clear(&get);
    itest_rec_clear(&get2);
}

/* The server goes away while arc writes a large pipeline: 8192 INCRs and
 * 128 SETs of 64 KiB (about 8.6 MB) issued at once; the proxy closes both
 * sides after 200 KB reached the server. The send fails in the middle;
 * what was written is UNANSWERED (or answered, if the replies made it),
 * the command cut short NOT_SENT, and everything never written goes out
 * on the next link and is answered. How much counts as written depends
 * on the kernel: Linux lets arc's send buffer grow to tcp_wmem's maximum
 * (4 MiB by default) on loopback, and the proxy holds a few hundred KB
 * more; the pipeline is twice that so that some of it is left for the
 * new link. */
static void server_gone_mid_pipeline(void **state)
{
    itest *t = *state;
    static fx x;
    fx_open(t, &x);
    enum { BIG = 64 * 1024, COMMANDS = 8192 + 128 };
    char *big = malloc(BIG);
    assert_non_null(big);
    memset(big, 'p', BIG);
    itest_load *l = load_new(x.c, &x.w, COMMANDS, COMMANDS);
    l->set_every = COMMANDS / 128;
    l->big = big;
    l->big_len = BIG;
    fx_cmd(&x, "close-on-write 200000");
    itest_load_more(l); /* all at once, before the loop runs */
    assert_int_equal(l->issued, COMMANDS);
    ITEST_RUN_UNTIL(t, 20000, l->callbacks == l->issued || x.w.ended);
    if (x.w.ended)
        fail_msg("mid-pipeline: the context ended (%s: %s)",
                 arc_status_name(arc_context_failure(x.c)), arc_context_error(x.c));
    itest_tally y = itest_load_tally(l, "mid-pipeline");
    itest_load_assert_counter(t, l, &y, "mid-pipeline");
    assert_true(y.not_sent + y.set_not_sent <= 1);
    /* The link was lost while part of the pipeline was still unwritten:
     * that part went out on the next link. */
    if (itest_load_ok_since(l, 2) == 0)
        fail_msg("mid-pipeline: only %ld replies on the second link (%ld on the first, %ld "
                 "unanswered)",
                 itest_load_ok_since(l, 2), l->ok_on_link[1], y.unanswered + y.set_unanswered);
    assert_int_equal(x.w.waits, 1);
    assert_true(lost_link_status(x.w.wait_failure[0]));
    fx_close(t, &x, 1, "mid-pipeline");
    free(big);
}

/* The proxy refuses new connections (accepts and resets them), then the
 * server drops the ready link: each attempt fails in its handshake and
 * the context backs off, with the load's commands waiting; after three
 * refused attempts the proxy passes again and the next attempt is
 * ready. Failed attempts were never ready: no on_connect nor
 * on_disconnect for them. */
static void refused_then_pass(void **state)
{
    itest *t = *state;
    static fx x;
    fx_open(t, &x);
    itest_load *l = load_new(x.c, &x.w, 256, ITEST_LOAD_MAX);
    itest_load_more(l);
    ITEST_RUN_UNTIL(t, 10000, l->ok_on_link[1] >= 300);
    long long id = itest_client_id(t, x.c);
    fx_cmd(&x, "refuse");
    itest_kill_client(t, id);
    /* The lost link and three refused attempts. */
    ITEST_RUN_UNTIL(t, 10000, x.w.waits >= 4 || x.w.ended);
    if (x.w.ended)
        fail_msg("refused: the context ended (%s: %s)", arc_status_name(arc_context_failure(x.c)),
                 arc_context_error(x.c));
    assert_int_equal(x.w.connect_ok, 1);
    assert_int_not_equal(arc_context_state(x.c), ARC_STATE_READY);
    assert_true(arc_context_reconnects(x.c) >= 3);
    /* An attempt reset in its handshake (or, in the TLS group, in the TLS
     * handshake) is a lost link like any other: tried again. */
    for (int i = 1; i < 4; i++)
        if (!lost_link_status(x.w.wait_failure[i]))
            fail_msg("refused: attempt %d failed with %s", i, arc_status_name(x.w.wait_failure[i]));
    fx_cmd(&x, "pass");
    ITEST_RUN_UNTIL(t, 10000, itest_load_ok_since(l, 2) >= 300 || x.w.ended);
    l->stop = true;
    ITEST_RUN_UNTIL(t, 10000, l->callbacks == l->issued || x.w.ended);
    itest_tally y = itest_load_tally(l, "refused");
    itest_load_assert_counter(t, l, &y, "refused");
    assert_true(y.not_sent <= 1);
    /* CLIENT KILL: an end of stream, or a reset when the server had
     * unread commands of ours. */
    assert_true(lost_link_status(x.w.wait_failure[0]));
    fx_close(t, &x, 1, "refused");
}

/* The proxy goes silent both ways with 256 INCRs in flight, sockets open:
 * no reset, no end of stream, nothing TCP would notice for minutes. The
 * health check's PING gets no answer and the link goes (ARC_ERR_TIMEOUT);
 * attempts meet the same silence until the proxy passes again, and then
 * the same context carries the rest. */
static void blackhole_found_by_health_check(void **state)
{
    itest *t = *state;
    const char *what = "blackhole";
    static fx x;
    fx_open_health(t, &x, 100);
    itest_load *l = load_new(x.c, &x.w, 256, ITEST_LOAD_MAX);
    itest_load_more(l);
    ITEST_RUN_UNTIL(t, 10000, l->ok_on_link[1] >= 300);
    int64_t silent = itest_now_ms();
    fx_cmd(&x, "blackhole");
    ITEST_RUN_UNTIL(t, 10000, x.w.waits >= 1 || x.w.ended);
    long found = (long)(itest_now_ms() - silent);
    if (x.w.ended)
        fail_msg("%s: the context ended (%s: %s)", what, arc_status_name(arc_context_failure(x.c)),
                 arc_context_error(x.c));
    assert_int_equal(x.w.wait_failure[0], ARC_ERR_TIMEOUT);
    assert_non_null(strstr(arc_context_error(x.c), "health check"));
    /* 100 ms of silence, then 100 ms for the PING (timers fire late
     * under valgrind, never early). */
    if (found < 150)
        fail_msg("%s: found after %ld ms, before the health check could have", what, found);
    fx_cmd(&x, "pass");
    ITEST_RUN_UNTIL(t, 10000, itest_load_ok_since(l, 2) >= 300 || x.w.ended);
    l->stop = true;
    ITEST_RUN_UNTIL(t, 10000, l->callbacks == l->issued || x.w.ended);
    itest_tally y = itest_load_tally(l, what);
    itest_load_assert_counter(t, l, &y, what);
    assert_true(y.unanswered >= 1); /* replies were due when it went silent */
    fx_close(t, &x, 1, what);
}

const struct CMUnitTest itest_fault_scenarios[] = {
    cmocka_unit_test(cut_mid_reply),
    cmocka_unit_test(reset_under_load),
    cmocka_unit_test(trickle_then_pass),
    cmocka_unit_test(server_gone_mid_pipeline),
    cmocka_unit_test(refused_then_pass),
    cmocka_unit_test(blackhole_found_by_health_check),
};
const size_t itest_fault_scenario_count =
    sizeof itest_fault_scenarios / sizeof itest_fault_scenarios[0];
