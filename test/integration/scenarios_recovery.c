/* scenarios_recovery.c (tests): what a reconnecting context does beyond
 * coming back, against a real redis-server on every loop: the ready check
 * while the server loads its data, -READONLY after the server became a
 * replica, client-side caching kept across links, the health check finding
 * a frozen server, and a blocking command marked retry that survives. */
#define _GNU_SOURCE
#include "itest.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* ---- one reconnecting context, watched ---- */

enum { LOG_MAX = 32 };

typedef struct watch {
    int connects, disconnects;
    int disconnect_status[LOG_MAX];
    int failures[LOG_MAX]; /* what decide was asked about, in order */
    int nfailures;
    int flushes, flush_connects;
    int invalidations;
} watch;

static void w_connect(arc_context *c, int status, void *data)
{
    (void)c;
    watch *w = data;
    assert_int_equal(status, ARC_OK);
    w->connects++;
}

static void w_disconnect(arc_context *c, int status, void *data)
{
    (void)c;
    watch *w = data;
    if (w->disconnects < LOG_MAX)
        w->disconnect_status[w->disconnects] = status;
    w->disconnects++;
}

static long w_decide(arc_context *c, int failure, unsigned attempt, long proposed, void *data)
{
    (void)c;
    (void)attempt;
    watch *w = data;
    if (w->nfailures < LOG_MAX)
        w->failures[w->nfailures] = failure;
    w->nfailures++;
    return proposed;
}

static int count_failures(const watch *w, int status)
{
    int n = 0;
    for (int i = 0; i < w->nfailures && i < LOG_MAX; i++)
        n += w->failures[i] == status;
    return n;
}

static void w_flush(arc_context *c, void *data)
{
    (void)c;
    watch *w = data;
    w->flushes++;
    w->flush_connects = w->connects;
}

static void w_push(arc_context *c, arc_reply *r, void *data)
{
    (void)c;
    watch *w = data;
    if (itest_kind_is(r, "invalidate"))
        w->invalidations++;
}

static const arc_reconnect quick = {
    .initial_delay_ms = 10, .max_delay_ms = 50, .decide = w_decide, .readonly_reconnects = true};

static arc_options watched(const itest *t, watch *w)
{
    arc_options o = itest_options(t);
    o.reconnect = &quick;
    o.on_connect = w_connect;
    o.on_disconnect = w_disconnect;
    o.data = w;
    return o;
}

static arc_context *ready(itest *t, watch *w, const arc_options *o)
{
    arc_context *c = itest_connect(t, o);
    ITEST_RUN_UNTIL(t, 10000, w->connects == 1);
    return c;
}

static void expect_ok_reply(itest *t, arc_context *c, const char *cmd)
{
    static itest_rec r;
    r = (itest_rec){0};
    assert_int_equal(arc_command(c, itest_rec_cb, &r, cmd), ARC_OK);
    ITEST_RUN_UNTIL(t, 10000, r.calls == 1);
    assert_int_equal(r.status, ARC_OK);
    if (itest_last(&r)->type == ARC_REPLY_ERROR)
        fail_msg("%s: %s", cmd, itest_last(&r)->str);
    itest_rec_clear(&r);
}

/* ---- the ready check ---- */

/* The link is lost as the server starts loading its data again (DEBUG
 * RELOAD, slowed down per key): every new link meets -LOADING in its ready
 * check and waits, and the command queued meanwhile gets its real reply,
 * never -LOADING. */
static void loading_is_waited_out(void **state)
{
    itest *t = *state;
    itest_admin_ok(t, "DEBUG POPULATE 8000 %s", "rv"); /* rv:N holds value:N */
    itest_admin_ok(t, "CONFIG SET key-load-delay %s", "20");
    itest_admin_ok(t, "CONFIG SET loading-process-events-interval-bytes %s", "1024");
    static watch w;
    w = (watch){0};
    arc_options o = watched(t, &w);
    arc_context *c = ready(t, &w, &o);
    long long id = itest_client_id(t, c);

    /* An admin of the loop's own: the reload takes a while, and the loop
     * must run meanwhile. */
    static itest_conn ac;
    ac = (itest_conn){0};
    arc_options ao = itest_options(t);
    ao.on_connect = itest_on_connect;
    ao.data = &ac;
    arc_context *admin = itest_connect(t, &ao);
    static itest_rec kill, reload, get;
    kill = reload = get = (itest_rec){0};
    char text[32];
    snprintf(text, sizeof text, "%lld", id);
    assert_int_equal(arc_command(admin, itest_rec_cb, &kill, "CLIENT KILL ID %s", text), ARC_OK);
    assert_int_equal(arc_command(admin, itest_rec_cb, &reload, "DEBUG RELOAD"), ARC_OK);
    ITEST_RUN_UNTIL(t, 10000, w.disconnects == 1);
    assert_int_equal(arc_command(c, itest_rec_cb, &get, "GET rv:7"), ARC_OK);
    ITEST_RUN_UNTIL(t, 30000, reload.calls == 1 && get.calls == 1 && w.connects == 2);
    itest_assert_str(itest_last(&reload), ARC_REPLY_STATUS, "OK");
    itest_assert_str(itest_last(&get), ARC_REPLY_STRING, "value:7");
    if (count_failures(&w, ARC_ERR_LOADING) < 1)
        fail_msg("no attempt met the loading server (%d failures)", w.nfailures);
    assert_int_equal(get.calls, 1);

    itest_admin_ok(t, "CONFIG SET key-load-delay %s", "0");
    itest_admin_ok(t, "FLUSHALL", NULL);
    arc_free(admin);
    arc_free(c);
    itest_rec_clear(&kill);
    itest_rec_clear(&reload);
    itest_rec_clear(&get);
}

/* ---- -READONLY ---- */

/* The server becomes a replica (as a failover does to an old master): a
 * write hears -READONLY, the link goes and comes back; once the server is a
 * master again, writes work on the same context. */
static void readonly_moves_on(void **state)
{
    itest *t = *state;
    test_redis *m = test_redis_start(NULL);
    assert_non_null(m);
    static watch w;
    w = (watch){0};
    arc_options o = watched(t, &w);
    arc_context *c = ready(t, &w, &o);
    expect_ok_reply(t, c, "SET ro-key before");

    char port[16];
    snprintf(port, sizeof port, "%d", test_redis_port(m));
    itest_admin_ok(t, "REPLICAOF 127.0.0.1 %s", port);
    static itest_rec set;
    set = (itest_rec){0};
    assert_int_equal(arc_command(c, itest_rec_cb, &set, "SET ro-key during"), ARC_OK);
    ITEST_RUN_UNTIL(t, 10000, set.calls == 1 && w.disconnects == 1);
    assert_int_equal(itest_last(&set)->type, ARC_REPLY_ERROR);
    assert_int_equal(strncmp(itest_last(&set)->str, "READONLY", 8), 0);
    assert_int_equal(w.disconnect_status[0], ARC_ERR_READONLY);
    ITEST_RUN_UNTIL(t, 10000, w.connects == 2);

    itest_admin_ok(t, "REPLICAOF NO ONE", NULL);
    expect_ok_reply(t, c, "SET ro-key after");
    assert_int_equal(w.disconnects, 1);
    assert_int_equal(count_failures(&w, ARC_ERR_READONLY), 1);
    itest_admin_ok(t, "FLUSHALL", NULL);
    arc_free(c);
    itest_rec_clear(&set);
    test_redis_stop(m);
}

/* ---- client-side caching ---- */

/* Tracking is on again on every link: invalidations keep coming after a
 * reconnect, and the cache was told to flush before on_connect. */
static void tracking_survives(void **state)
{
    itest *t = *state;
    static watch w;
    w = (watch){0};
    arc_tracking tr = {.flush = w_flush};
    arc_options o = watched(t, &w);
    o.resp = 3;
    o.tracking = &tr;
    o.on_push = w_push;
    arc_context *c = ready(t, &w, &o);
    expect_ok_reply(t, c, "GET trk-key");
    itest_admin_ok(t, "SET trk-key %s", "one");
    ITEST_RUN_UNTIL(t, 10000, w.invalidations == 1);
    assert_int_equal(w.flushes, 0);

    itest_kill_client(t, itest_client_id(t, c));
    ITEST_RUN_UNTIL(t, 10000, w.connects == 2);
    assert_int_equal(w.flushes, 1);
    assert_int_equal(w.flush_connects, 1); /* before on_connect */
    expect_ok_reply(t, c, "GET trk-key");
    itest_admin_ok(t, "SET trk-key %s", "two");
    ITEST_RUN_UNTIL(t, 10000, w.invalidations == 2);
    assert_int_equal(itest_admin_int(t, "DEL trk-key", NULL), 1);
    arc_free(c);
}

/* ---- the health check ---- */

/* A frozen server (SIGSTOP) sends nothing: the health check's PING gets no
 * answer and the link goes; the attempts time out until the server runs
 * again, and then the same context is ready. */
static void health_check_finds_a_frozen_server(void **state)
{
    itest *t = *state;
    static watch w;
    w = (watch){0};
    arc_options o = watched(t, &w);
    o.health_check_ms = 100;
    o.health_timeout_ms = 200;
    o.connect_timeout_ms = 300;
    arc_context *c = ready(t, &w, &o);
    int pid = test_redis_pid(t->redis);
    assert_int_equal(kill((pid_t)pid, SIGSTOP), 0);
    int64_t stopped = itest_now_ms();
    ITEST_RUN_UNTIL(t, 10000, w.disconnects == 1 || arc_context_state(c) == ARC_STATE_FAILED);
    long found = (long)(itest_now_ms() - stopped);
    itest_run_for(t, 400);
    assert_int_equal(kill((pid_t)pid, SIGCONT), 0);
    assert_int_equal(w.disconnect_status[0], ARC_ERR_TIMEOUT);
    assert_true(found >= 250); /* 100 ms of silence, then 200 ms for the PING */
    ITEST_RUN_UNTIL(t, 10000, w.connects == 2);
    expect_ok_reply(t, c, "PING");
    if (count_failures(&w, ARC_ERR_TIMEOUT) < 2)
        fail_msg("the attempts while frozen did not time out (%d failures)", w.nfailures);
    arc_free(c);
}

/* ---- retry ---- */

/* A BLPOP marked retry is sent again on the next link; one not marked
 * hears that it may have run. The value pushed after the loss reaches the
 * retried one. */
static void retried_blpop_survives(void **state)
{
    itest *t = *state;
    static watch w;
    w = (watch){0};
    arc_options o = watched(t, &w);
    arc_context *c = ready(t, &w, &o);
    long long id = itest_client_id(t, c);
    static itest_rec kept, plain;
    kept = plain = (itest_rec){0};
    arc_command_options again = {.retry = true};
    assert_int_equal(arc_command_with(c, &again, itest_rec_cb, &kept, "BLPOP rq-list 0"),
                     ARC_OK);
    assert_int_equal(arc_command(c, itest_rec_cb, &plain, "BLPOP rq-other 0"), ARC_OK);
    /* Both written: the server blocks the first. */
    assert_int_equal(itest_wait_blocked(t, 1), 1);
    itest_kill_client(t, id);
    ITEST_RUN_UNTIL(t, 10000, plain.calls == 1 && w.connects == 2);
    itest_assert_null_once(&plain, ARC_ERR_UNANSWERED, "the BLPOP not marked retry");
    assert_int_equal(kept.calls, 0);
    assert_int_equal(itest_admin_int(t, "RPUSH rq-list %s", "v"), 1);
    ITEST_RUN_UNTIL(t, 10000, kept.calls == 1);
    assert_int_equal(kept.status, ARC_OK);
    const arc_reply *r = itest_last(&kept);
    assert_int_equal(r->type, ARC_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    itest_assert_str(r->element[1], ARC_REPLY_STRING, "v");
    assert_int_equal(itest_admin_int(t, "LLEN rq-list", NULL), 0);
    arc_free(c);
    itest_rec_clear(&kept);
    itest_rec_clear(&plain);
}

const struct CMUnitTest itest_recovery_scenarios[] = {
    cmocka_unit_test(loading_is_waited_out),
    cmocka_unit_test(readonly_moves_on),
    cmocka_unit_test(tracking_survives),
    cmocka_unit_test(health_check_finds_a_frozen_server),
    cmocka_unit_test(retried_blpop_survives),
};
const size_t itest_recovery_scenario_count =
    sizeof itest_recovery_scenarios / sizeof itest_recovery_scenarios[0];
