/* scenarios_fanout.c (tests): a group's fan-outs (<arc/group.h>) on every
 * loop, at their corners: the table changed from inside on_change, a
 * per-member callback and on_done (members added, removed, closed, the
 * running one's own included); the group freed from a member's callback;
 * a fan-out that completes once however its members are settled, and a
 * kept one freed from its callbacks; to a subset, to nobody, refused; a
 * timeout against a stopped server.
 *
 * Members go to the shared server through itest_options() (TLS in the TLS
 * group), to a listener that never accepts (one that stays connecting) or,
 * for the stopped server, to servers of the scenarios' own (itest_group.h).
 * Recorders live in static storage, as in the other lists. */
#define _GNU_SOURCE
#include "itest_group.h"

#include <signal.h>
#include <string.h>

/* ---- the table changed from inside the callbacks ---- */

enum { T_M0, T_M1, T_M2, T_M3, T_M4, T_M5, T_X, T_Y, T_Z, T_N };

/* Scenario state for the callbacks below. */
static struct {
    arc_group *g;
    arc_member *m[T_N];
    const char *host;
    int port;
    grp_fan *f1;            /* the fan-out to m0..m5 */
    grp_fan *f2;            /* the one issued from f1's on_done */
    bool m5_closed_at_once; /* CLOSED, its slot NOT_SENT, inside arc_member_close */
    bool m2_removed;
    int size_before_m2;
    bool m1_removed;
    int f2_rc;
} tc;

static void tc_change(arc_group *g, arc_member *m, arc_state prev, arc_state now)
{
    int i = grp_index(m);
    if (i == T_M0 && now == ARC_STATE_READY && tc.m[T_X] == NULL) {
        tc.m[T_X] = arc_group_add(g, tc.host, tc.port, grp_id(T_X));
        /* m5 still waits its turn (one connects at a time): it ends now. */
        arc_member_close(tc.m[T_M5]);
        tc.m5_closed_at_once = arc_member_state(tc.m[T_M5]) == ARC_STATE_CLOSED &&
                               tc.f1->per[T_M5] == 1 && tc.f1->status[T_M5] == ARC_ERR_NOT_SENT;
    } else if (i == T_M2 && prev == ARC_STATE_INIT) {
        /* The member whose on_change this is, before it ever connects. */
        tc.size_before_m2 = (int)arc_group_size(g);
        arc_group_remove(g, m);
        tc.m2_removed = true;
    }
}

static void tc_reply(arc_group *g, arc_member *m, arc_reply *r, int status)
{
    (void)r;
    (void)status;
    int i = grp_index(m);
    if (i == T_M1) {
        arc_group_remove(g, m); /* the member whose callback this is */
        tc.m1_removed = true;
        tc.m[T_Y] = arc_group_add(g, tc.host, tc.port, grp_id(T_Y));
    } else if (i == T_M3) {
        arc_member_close(m);
    }
}

static void tc_done(arc_group *g, arc_fanout *f)
{
    (void)f;
    arc_group_remove(g, tc.m[T_M4]);
    tc.m[T_Z] = arc_group_add(g, tc.host, tc.port, grp_id(T_Z));
    arc_fanout_options fo = grp_fan_to(tc.f2, false);
    tc.f2_rc = arc_group_fanout(g, &fo, "PING");
    arc_member_close(tc.m[T_X]); /* after the fan-out: its PING is still answered */
}

/* Members added, removed and closed from on_change, from a fan-out's
 * per-member callback and from its on_done, each with the member's own
 * callback running or another's; one closed while waiting its turn. With
 * one member connecting at a time the order is fixed: m0 READY adds x and
 * closes m5 (waiting: CLOSED at once, its slot NOT_SENT); m2 is removed from
 * its own on_change as it starts (slot FREED); m1 removes itself from its
 * reply and adds y; m3 closes itself; on_done removes m4, adds z, fans out
 * to everyone left, and closes x. */
static void group_table_changed_from_callbacks(void **state)
{
    itest *t = *state;
    arc_options mo = itest_options(t);
    static grp_watch w;
    memset(&w, 0, sizeof w);
    memset(&tc, 0, sizeof tc);
    w.then = tc_change;
    tc.host = mo.host;
    tc.port = mo.port;
    static grp_fan f1, f2;
    tc.f1 = &f1;
    tc.f2 = &f2;
    arc_group_options go = {
        .max_connecting = 1, .member_options = &mo, .on_change = grp_on_change, .data = &w};
    arc_group *g = tc.g = arc_group_new(&go);
    assert_non_null(g);
    for (int i = T_M0; i <= T_M5; i++)
        assert_non_null(tc.m[i] = arc_group_add(g, mo.host, mo.port, grp_id(i)));
    arc_fanout_options fo = grp_fan_to(&f1, false);
    f1.then = tc_reply;
    f1.then_done = tc_done;
    assert_int_equal(arc_group_fanout(g, &fo, "PING"), ARC_OK);
    memset(&f2, 0, sizeof f2); /* grp_fan_to() clears it again when tc_done issues it */

    grp_attach(t, g);
    ITEST_RUN_UNTIL(t, 10000,
                    f2.done > 0 && arc_member_state(tc.m[T_X]) == ARC_STATE_CLOSED &&
                        arc_member_state(tc.m[T_Y]) == ARC_STATE_READY &&
                        arc_member_state(tc.m[T_Z]) == ARC_STATE_READY);
    itest_run_for(t, 20);
    grp_assert_watch_sane(&w);
    assert_true(tc.m5_closed_at_once);
    assert_true(tc.m2_removed);
    assert_int_equal(tc.size_before_m2, 7); /* m0..m5 and x */
    assert_true(tc.m1_removed);

    grp_assert_done_once(&f1, 6, "the first fan-out");
    grp_assert_status(&f1, T_M0, ARC_OK);
    grp_assert_status(&f1, T_M1, ARC_OK);
    grp_assert_status(&f1, T_M2, ARC_ERR_FREED);
    grp_assert_status(&f1, T_M3, ARC_OK);
    grp_assert_status(&f1, T_M4, ARC_OK);
    grp_assert_status(&f1, T_M5, ARC_ERR_NOT_SENT);
    assert_true(f1.pong[T_M0] && f1.pong[T_M1] && f1.pong[T_M3] && f1.pong[T_M4]);

    /* The second went to the table as on_done left it: m0, m3 (closed),
     * m5 (closed), x, y, z. The closed ones refused it inside the call. */
    assert_int_equal(tc.f2_rc, ARC_OK);
    grp_assert_done_once(&f2, 6, "the fan-out from on_done");
    grp_assert_status(&f2, T_M0, ARC_OK);
    grp_assert_status(&f2, T_M3, ARC_ERR_CLOSED);
    grp_assert_status(&f2, T_M5, ARC_ERR_CLOSED);
    grp_assert_status(&f2, T_X, ARC_OK);
    grp_assert_status(&f2, T_Y, ARC_OK);
    grp_assert_status(&f2, T_Z, ARC_OK);
    assert_true(f2.pong[T_X] && f2.pong[T_Y] && f2.pong[T_Z]);

    static const int left[] = {T_M0, T_M3, T_M5, T_X, T_Y, T_Z};
    static const arc_state left_state[] = {ARC_STATE_READY,  ARC_STATE_CLOSED, ARC_STATE_CLOSED,
                                           ARC_STATE_CLOSED, ARC_STATE_READY,  ARC_STATE_READY};
    assert_int_equal(arc_group_size(g), 6);
    arc_member *x = arc_group_next(g, NULL);
    for (int k = 0; k < 6; k++, x = arc_group_next(g, x)) {
        assert_ptr_equal(x, tc.m[left[k]]);
        assert_int_equal(arc_member_state(x), left_state[k]);
    }
    assert_null(x);
    assert_int_equal(arc_group_count(g, ARC_STATE_READY), 3);
    assert_int_equal(arc_group_count(g, ARC_STATE_CLOSED), 3);
    /* Never looked at: each member left is a change from INIT, once; the
     * removed ones are not reported. */
    int seen[T_N] = {0};
    arc_state prev;
    for (arc_member *c; (c = arc_group_next_changed(g, &prev)) != NULL;) {
        int i = grp_index(c);
        assert_true(i >= 0 && i < T_N);
        seen[i]++;
        assert_int_equal(prev, ARC_STATE_INIT);
    }
    for (int k = 0; k < 6; k++)
        assert_int_equal(seen[left[k]], 1);
    assert_int_equal(seen[T_M1] + seen[T_M2] + seen[T_M4], 0);
    arc_group_free(g);
    assert_int_equal(f1.calls, 6);
    assert_int_equal(f2.calls, 6);
}

/* ---- the group freed from inside a per-member callback ---- */

static void free_group_in_reply(arc_group *g, arc_member *m, arc_reply *r, int status)
{
    (void)m;
    (void)r;
    (void)status;
    arc_group_free(g);
}

/* The first member's reply frees the group: every other member's callback
 * runs at once with ARC_ERR_FREED (the second one still connecting to a
 * listener that never accepts, the three after it waiting their turn: one
 * connects at a time), on_done once after them, no on_change for the
 * members removed, and the kept fan-out outlives the group with every
 * outcome readable. */
static void group_freed_from_member_callback(void **state)
{
    itest *t = *state;
    enum { N = 5 };
    arc_options mo = itest_options(t);
    static grp_watch w;
    memset(&w, 0, sizeof w);
    arc_group_options go = {
        .max_connecting = 1, .member_options = &mo, .on_change = grp_on_change, .data = &w};
    arc_group *g = arc_group_new(&go);
    assert_non_null(g);
    static grp_silent s;
    grp_silent_full(&s);
    for (int i = 0; i < N; i++)
        assert_non_null(i == 1 ? arc_group_add(g, "127.0.0.1", s.port, grp_id(i))
                               : arc_group_add(g, mo.host, mo.port, grp_id(i)));
    static grp_fan rec;
    arc_fanout_options fo = grp_fan_to(&rec, true);
    rec.then = free_group_in_reply;
    assert_int_equal(arc_group_fanout(g, &fo, "PING"), ARC_OK);
    grp_attach(t, g);
    ITEST_RUN_UNTIL(t, 5000, rec.done > 0);
    int changes = w.calls;
    itest_run_for(t, 50);
    assert_int_equal(w.calls, changes);
    grp_assert_done_once(&rec, N, "the group freed by the first reply");
    grp_assert_status(&rec, 0, ARC_OK);
    assert_true(rec.pong[0]);
    for (int i = 1; i < N; i++)
        grp_assert_status(&rec, i, ARC_ERR_FREED);
    assert_int_equal(w.now[1], ARC_STATE_CONNECTING);
    for (int i = 2; i < N; i++)
        assert_int_equal(w.per[i], 0); /* never started */
    grp_assert_watch_sane(&w);
    assert_int_equal(arc_fanout_answered(rec.f), 1);
    assert_int_equal(arc_fanout_failed(rec.f), N - 1);
    for (size_t i = 0; i < N; i++) {
        const arc_member *x = arc_fanout_member(rec.f, i);
        assert_int_equal(grp_index(x), (int)i);
        assert_null(arc_member_context(x));
        assert_int_equal(arc_fanout_status(rec.f, i), rec.status[i]);
        if (rec.status[i] == ARC_OK)
            itest_assert_str(arc_fanout_reply(rec.f, i), ARC_REPLY_STATUS, "PONG");
        else
            assert_null(arc_fanout_reply(rec.f, i));
    }
    assert_int_equal(arc_fanout_free(rec.f), ARC_OK);
    grp_silent_close(&s);
}

/* ---- a fan-out completes once ---- */

static struct {
    grp_fan *rec;
    arc_member *other;      /* removed by the first reply */
    int free_in_last_reply; /* arc_fanout_free()'s answers */
    int free_in_done, free_again_in_done;
    int last_reply_calls;
} fc;

static void remove_other(arc_group *g, arc_member *m, arc_reply *r, int status)
{
    (void)m;
    (void)r;
    (void)status;
    arc_member *o = fc.other;
    fc.other = NULL;
    arc_group_remove(g, o); /* NULL the second time: ignored */
}

static void free_in_last_reply(arc_group *g, arc_member *m, arc_reply *r, int status)
{
    (void)g;
    (void)m;
    (void)r;
    (void)status;
    if (arc_fanout_pending(fc.rec->f) == 0) {
        fc.last_reply_calls++;
        fc.free_in_last_reply = arc_fanout_free(fc.rec->f);
    }
}

static void free_in_done(arc_group *g, arc_fanout *f)
{
    (void)g;
    fc.free_in_done = arc_fanout_free(f);
    fc.free_again_in_done = arc_fanout_free(f);
}

/* on_done runs once, after the last member's callback has returned, even
 * when a member's callback settles the others (it removes the last one
 * pending, still connecting to a listener that never accepts); a kept
 * fan-out cannot be freed from its last member's callback (on_done has not
 * run: ARC_ERR_STATE), and can be from on_done, once (it goes when on_done
 * returns), with members or without. */
static void group_fanout_completes_once(void **state)
{
    itest *t = *state;
    arc_options mo = itest_options(t);
    memset(&fc, 0, sizeof fc);
    static grp_fan rec;
    fc.rec = &rec;
    static grp_silent s;
    grp_silent_full(&s);
    arc_group *g = arc_group_new(&(arc_group_options){.member_options = &mo});
    assert_non_null(g);
    arc_member *a = arc_group_add(g, mo.host, mo.port, grp_id(0));
    assert_non_null(a);
    assert_non_null(fc.other = arc_group_add(g, "127.0.0.1", s.port, grp_id(1)));
    arc_fanout_options fo = grp_fan_to(&rec, false);
    rec.then = remove_other;
    assert_int_equal(arc_group_fanout(g, &fo, "PING"), ARC_OK);
    grp_attach(t, g);
    ITEST_RUN_UNTIL(t, 5000, rec.done > 0);
    itest_run_for(t, 20);
    grp_assert_done_once(&rec, 2, "the second member removed by the first's reply");
    grp_assert_status(&rec, 0, ARC_OK);
    grp_assert_status(&rec, 1, ARC_ERR_FREED);
    assert_int_equal(arc_group_size(g), 1);

    arc_member *b = arc_group_add(g, mo.host, mo.port, grp_id(1));
    assert_non_null(b);
    ITEST_RUN_UNTIL(t, 5000, arc_member_state(b) == ARC_STATE_READY);
    fo = grp_fan_to(&rec, true);
    rec.then = free_in_last_reply;
    rec.then_done = free_in_done;
    assert_int_equal(arc_group_fanout(g, &fo, "PING"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, rec.done > 0);
    itest_run_for(t, 20);
    grp_assert_done_once(&rec, 2, "a kept fan-out freed from its callbacks");
    assert_int_equal(fc.last_reply_calls, 1);
    assert_int_equal(fc.free_in_last_reply, ARC_ERR_STATE);
    assert_int_equal(fc.free_in_done, ARC_OK);
    assert_int_equal(fc.free_again_in_done, ARC_ERR_STATE);

    /* To nobody: on_done inside the call, and the free from it. */
    fc.free_in_done = fc.free_again_in_done = -1;
    fo = grp_fan_to(&rec, true);
    rec.then_done = free_in_done;
    fo.members = &a;
    fo.nmembers = 0;
    assert_int_equal(arc_group_fanout(g, &fo, "PING"), ARC_OK);
    grp_assert_done_once(&rec, 0, "a kept fan-out to nobody freed from on_done");
    assert_int_equal(fc.free_in_done, ARC_OK);
    assert_int_equal(fc.free_again_in_done, ARC_ERR_STATE);
    arc_group_free(g);
    grp_silent_close(&s);
}

/* ---- fan-outs: a subset, nobody, refused ---- */

/* Two of four members (in the order given), nobody (on_done inside the
 * call), an empty group; the subscribe family and MONITOR, whose callbacks
 * run more than once, and malformed calls refused with ARC_ERR_INVALID,
 * calling nothing. */
static void group_fanout_subset_none_refused(void **state)
{
    itest *t = *state;
    arc_options mo = itest_options(t);
    arc_group *g = arc_group_new(&(arc_group_options){.member_options = &mo});
    assert_non_null(g);
    arc_member *m[4];
    for (int i = 0; i < 4; i++)
        assert_non_null(m[i] = arc_group_add(g, mo.host, mo.port, grp_id(i)));
    grp_attach(t, g);
    ITEST_RUN_UNTIL(t, 5000, arc_group_count(g, ARC_STATE_READY) == 4);

    static grp_fan rec;
    arc_fanout_options fo = grp_fan_to(&rec, true);
    arc_member *const two[] = {m[3], m[1]};
    fo.members = two;
    fo.nmembers = 2;
    assert_int_equal(arc_group_fanout(g, &fo, "PING"), ARC_OK);
    assert_int_equal(arc_fanout_size(rec.f), 2);
    assert_ptr_equal(arc_fanout_member(rec.f, 0), m[3]);
    assert_ptr_equal(arc_fanout_member(rec.f, 1), m[1]);
    assert_null(arc_fanout_member(rec.f, 2));
    ITEST_RUN_UNTIL(t, 5000, rec.done > 0);
    itest_run_for(t, 20);
    grp_assert_done_once(&rec, 2, "PING to two of four");
    grp_assert_status(&rec, 3, ARC_OK);
    grp_assert_status(&rec, 1, ARC_OK);
    assert_int_equal(rec.per[0] + rec.per[2], 0);
    itest_assert_str(arc_fanout_reply(rec.f, 0), ARC_REPLY_STATUS, "PONG");
    itest_assert_str(arc_fanout_reply(rec.f, 1), ARC_REPLY_STATUS, "PONG");
    assert_int_equal(arc_fanout_free(rec.f), ARC_OK);

    /* Nobody: complete before the call returns, kept or not. */
    for (int keep = 0; keep < 2; keep++) {
        fo = grp_fan_to(&rec, keep);
        fo.members = two;
        fo.nmembers = 0;
        assert_int_equal(arc_group_fanout(g, &fo, "PING"), ARC_OK);
        grp_assert_done_once(&rec, 0, "a fan-out to nobody");
        assert_non_null(rec.f);
        if (keep) {
            assert_int_equal(arc_fanout_size(rec.f), 0);
            assert_int_equal(arc_fanout_pending(rec.f), 0);
            assert_int_equal(arc_fanout_free(rec.f), ARC_OK);
        }
    }
    arc_group *empty = arc_group_new(NULL);
    assert_non_null(empty);
    fo = grp_fan_to(&rec, false);
    assert_int_equal(arc_group_fanout(empty, &fo, "PING"), ARC_OK);
    grp_assert_done_once(&rec, 0, "a fan-out to an empty group");

    /* Refused: nothing is called and no handle is stored. */
    static const char *const refused[] = {"SUBSCRIBE ch", "psubscribe ch*", "SSubscribe ch",
                                          "MONITOR"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        fo = grp_fan_to(&rec, false);
        if (arc_group_fanout(g, &fo, refused[i]) != ARC_ERR_INVALID)
            fail_msg("a fan-out of %s was not refused", refused[i]);
        assert_null(rec.f);
    }
    arc_member *other = arc_group_add(empty, "127.0.0.1", 1, grp_id(9));
    assert_non_null(other);
    arc_member *const foreign[] = {m[0], other};
    fo = grp_fan_to(&rec, false);
    fo.members = foreign;
    fo.nmembers = 2;
    assert_int_equal(arc_group_fanout(g, &fo, "PING"), ARC_ERR_INVALID);
    fo.members = NULL; /* and a count without members */
    assert_int_equal(arc_group_fanout(g, &fo, "PING"), ARC_ERR_INVALID);
    fo.nmembers = 0;
    static const char two_commands[] = "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n";
    assert_int_equal(arc_group_fanout_formatted(g, &fo, two_commands, sizeof two_commands - 1),
                     ARC_ERR_INVALID);
    assert_int_equal(arc_group_fanout(g, NULL, "PING"), ARC_ERR_INVALID);
    itest_run_for(t, 20);
    assert_int_equal(rec.calls + rec.done, 0);
    assert_null(rec.f);
    arc_group_free(empty);
    arc_group_free(g);
}

/* A fan-out with a 300 ms timeout, one of whose two servers is stopped
 * (SIGSTOP): its member's callback gets ARC_ERR_TIMEOUT after 300 ms, the
 * other's the reply, on_done after both; once the server goes on
 * (SIGCONT) the member is still READY and answers the next one. */
static void group_fanout_timeout_stopped_server(void **state)
{
    itest *t = *state;
    grp_servers_up();
    arc_options mo;
    memset(&mo, 0, sizeof mo);
    arc_group *g = arc_group_new(&(arc_group_options){.member_options = &mo});
    assert_non_null(g);
    arc_member *a = arc_group_add(g, "127.0.0.1", test_redis_port(grp_server(1)), grp_id(0));
    arc_member *b = arc_group_add_unix(g, test_redis_unix_path(grp_server(2)), grp_id(1));
    assert_non_null(a);
    assert_non_null(b);
    grp_attach(t, g);
    ITEST_RUN_UNTIL(t, 5000, arc_group_count(g, ARC_STATE_READY) == 2);

    int pid = test_redis_pid(grp_server(1));
    assert_int_equal(kill(pid, SIGSTOP), 0);
    static grp_fan rec;
    arc_fanout_options fo = grp_fan_to(&rec, false);
    fo.timeout_ms = 300;
    int64_t start = itest_now_ms();
    assert_int_equal(arc_group_fanout(g, &fo, "PING"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, rec.done > 0);
    int64_t took = itest_now_ms() - start;
    assert_int_equal(kill(pid, SIGCONT), 0);
    grp_assert_done_once(&rec, 2, "PING with a stopped server");
    grp_assert_status(&rec, 0, ARC_ERR_TIMEOUT);
    grp_assert_status(&rec, 1, ARC_OK);
    assert_true(rec.pong[1]);
    if (rec.at_ms[0] - start < 290 || took > 2000)
        fail_msg("the stopped server's member timed out after %lld ms (done after %lld), "
                 "not about 300",
                 (long long)(rec.at_ms[0] - start), (long long)took);
    assert_true(rec.at_ms[1] <= rec.at_ms[0]);

    itest_run_for(t, 100); /* the late PONG comes, and is dropped */
    assert_int_equal(arc_member_state(a), ARC_STATE_READY);
    assert_int_equal(arc_member_failure(a), ARC_OK);
    arc_member *const just_a[] = {a};
    fo = grp_fan_to(&rec, false);
    fo.members = just_a;
    fo.nmembers = 1;
    assert_int_equal(arc_group_fanout(g, &fo, "PING"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, rec.done > 0);
    grp_assert_done_once(&rec, 1, "PING after SIGCONT");
    grp_assert_status(&rec, 0, ARC_OK);
    assert_true(rec.pong[0]);
    assert_int_equal(arc_group_count(g, ARC_STATE_READY), 2);
    arc_group_free(g);
}

/* A fan-out's timeout holds for a member still waiting its turn: its
 * context is not attached yet, so the group's own timer expires its
 * command (it used to time out only when its turn came, here 1500 ms later
 * when the member ahead of it gave up its connect). */
static void group_fanout_timeout_while_waiting(void **state)
{
    itest *t = *state;
    static grp_silent s;
    grp_silent_full(&s);
    arc_options mo = itest_options(t);
    mo.connect_timeout_ms = 1500;
    arc_group *g = arc_group_new(&(arc_group_options){.max_connecting = 1, .member_options = &mo});
    assert_non_null(g);
    assert_non_null(arc_group_add(g, "127.0.0.1", s.port, grp_id(0))); /* hangs */
    assert_non_null(arc_group_add(g, mo.host, mo.port, grp_id(1)));    /* waits behind it */
    grp_attach(t, g);
    static grp_fan rec;
    arc_fanout_options fo = grp_fan_to(&rec, false);
    fo.timeout_ms = 200;
    int64_t start = itest_now_ms();
    assert_int_equal(arc_group_fanout(g, &fo, "PING"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, rec.done > 0);
    grp_assert_done_once(&rec, 2, "PING with 200 ms behind a hanging connect");
    grp_assert_status(&rec, 0, ARC_ERR_TIMEOUT);
    grp_assert_status(&rec, 1, ARC_ERR_TIMEOUT);
    for (int i = 0; i < 2; i++)
        if (rec.at_ms[i] - start > 700)
            fail_msg("member %d: its 200 ms fan-out timeout came after %lld ms", i,
                     (long long)(rec.at_ms[i] - start));
    arc_group_free(g);
    grp_silent_close(&s);
}

const struct CMUnitTest itest_fanout_scenarios[] = {
    cmocka_unit_test(group_fanout_timeout_while_waiting),
    cmocka_unit_test(group_table_changed_from_callbacks),
    cmocka_unit_test(group_freed_from_member_callback),
    cmocka_unit_test(group_fanout_completes_once),
    cmocka_unit_test(group_fanout_subset_none_refused),
    cmocka_unit_test(group_fanout_timeout_stopped_server),
};
const size_t itest_fanout_scenario_count =
    sizeof itest_fanout_scenarios / sizeof itest_fanout_scenarios[0];
