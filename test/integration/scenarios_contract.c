/* scenarios_contract.c (tests): the corners of the callback contract in
 * arc/context.h, each pinned on every loop (see itest.c for the lists). */
#define _GNU_SOURCE
#include "itest.h"

#include "fake_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

/* Every context callback counted, and each state change in order, with
 * the calls two reply recorders had at that moment. */
enum { WATCH_MAX = 32 };
typedef struct watch {
    int connects, connect_status, connect_ok;
    int disconnects, disconnect_status;
    int nstates;
    arc_state state[WATCH_MAX];
    int probe_calls[WATCH_MAX][2];
    const itest_rec *probe[2];
    bool free_on_ready;
    int data_frees;
} watch;

static void watch_connect(arc_context *c, int status, void *data)
{
    (void)c;
    watch *w = data;
    w->connects++;
    w->connect_status = status;
    if (status == ARC_OK)
        w->connect_ok++;
}

static void watch_disconnect(arc_context *c, int status, void *data)
{
    (void)c;
    watch *w = data;
    w->disconnects++;
    w->disconnect_status = status;
}

static void watch_state(arc_context *c, arc_state prev, arc_state now, void *data)
{
    (void)prev;
    watch *w = data;
    if (w->nstates < WATCH_MAX) {
        w->state[w->nstates] = now;
        for (int i = 0; i < 2; i++)
            w->probe_calls[w->nstates][i] = w->probe[i] ? w->probe[i]->calls : -1;
    }
    w->nstates++;
    if (w->free_on_ready && now == ARC_STATE_READY)
        arc_free(c);
}

static void watch_data_free(void *data)
{
    watch *w = data;
    w->data_frees++;
}

static int watch_count(const watch *w, arc_state s)
{
    int n = 0;
    for (int i = 0; i < w->nstates && i < WATCH_MAX; i++)
        n += w->state[i] == s;
    return n;
}

static arc_options watched(const itest *t, watch *w, int resp)
{
    arc_options o = itest_options(t);
    o.resp = resp;
    o.on_connect = watch_connect;
    o.on_disconnect = watch_disconnect;
    o.on_state = watch_state;
    o.data = w;
    return o;
}

/* Connects and waits for READY. */
static arc_context *ready(itest *t, watch *w, const arc_options *o)
{
    arc_context *c = itest_connect(t, o);
    ITEST_RUN_UNTIL(t, 5000, w->connects == 1);
    assert_int_equal(w->connect_status, ARC_OK);
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);
    return c;
}

/* An admin command whose reply is an integer; returns it. */

/* Subscribers of `ch` on the server, by PUBSUB NUMSUB. */
static long long numsub(itest *t, const char *ch)
{
    arc_reply *r = test_redis_command(t->redis, "PUBSUB NUMSUB %s", ch);
    assert_non_null(r);
    assert_int_equal(r->type, ARC_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    long long v = r->element[1]->integer;
    arc_reply_free(r);
    return v;
}

/* A recorder hook: the context's state at each call. */
typedef struct seen_states {
    int n;
    arc_state at[ITEST_MAX_REPLIES];
} seen_states;

static void note_state(arc_context *c, arc_reply *r, int status, itest_rec *rec)
{
    (void)r;
    (void)status;
    seen_states *s = rec->user;
    if (s->n < ITEST_MAX_REPLIES)
        s->at[s->n++] = arc_context_state(c);
}

/* ---- 1: arc_free from on_state(READY) ---- */

/* The context becomes READY and is freed inside that state change: the
 * teardown ends it, so on_connect gets ARC_ERR_FREED (arc_free's contract)
 * and never ARC_OK on the freed context; a queued command gets
 * ARC_ERR_FREED; data_free runs once. */
static void free_in_on_state_ready(void **state)
{
    itest *t = *state;
    static const struct {
        int resp;
        const char *name; /* a RESP2 handshake when set */
    } cases[] = {{2, NULL}, {2, "arc-free-in-state"}, {3, NULL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        watch w = {0};
        w.free_on_ready = true;
        arc_options o = watched(t, &w, cases[i].resp);
        o.client_name = cases[i].name;
        o.data_free = watch_data_free;
        arc_context *c = itest_connect(t, &o);
        itest_rec ping = {0};
        assert_int_equal(arc_command(c, itest_rec_cb, &ping, "PING"), ARC_OK);
        ITEST_RUN_UNTIL(t, 5000, w.data_frees == 1);
        itest_run_for(t, 30);
        assert_int_equal(watch_count(&w, ARC_STATE_READY), 1);
        assert_int_equal(w.connect_ok, 0);
        assert_int_equal(w.connects, 1);
        assert_int_equal(w.connect_status, ARC_ERR_FREED);
        assert_int_equal(w.disconnects, 0);
        assert_int_equal(ping.calls, 1);
        assert_int_equal(ping.nulls, 1);
        assert_int_equal(ping.status, ARC_ERR_FREED);
        assert_int_equal(w.data_frees, 1);
    }
}

/* ---- 2: a name held by another callback or privdata ---- */

static int other_fn_calls;

static void other_fn(arc_context *c, arc_reply *r, int status, void *privdata)
{
    other_fn_calls++;
    itest_rec_cb(c, r, status, privdata);
}

static void duplicate_subscribe(void **state)
{
    itest *t = *state;
    for (int resp = 2; resp <= 3; resp++) {
        watch w = {0};
        arc_options o = watched(t, &w, resp);
        arc_context *c = ready(t, &w, &o);
        itest_rec a = {0}, b = {0}, unsub = {0};
        other_fn_calls = 0;
        assert_int_equal(arc_command(c, itest_rec_cb, &a, "SUBSCRIBE ch"), ARC_OK);
        /* Before the confirmation: another privdata, another callback. */
        assert_int_equal(arc_command(c, itest_rec_cb, &b, "SUBSCRIBE ch"), ARC_ERR_DUPLICATE);
        assert_int_equal(arc_command(c, other_fn, &a, "SUBSCRIBE ch"), ARC_ERR_DUPLICATE);
        /* The same pair is sent and confirmed again. */
        assert_int_equal(arc_command(c, itest_rec_cb, &a, "SUBSCRIBE ch"), ARC_OK);
        ITEST_RUN_UNTIL(t, 5000, a.calls == 2);
        assert_int_equal(itest_count_kind(&a, "subscribe"), 2);
        assert_int_equal(arc_context_state(c), ARC_STATE_SUBSCRIBED);
        /* After it: still refused, the whole command (x is not taken). */
        assert_int_equal(arc_command(c, other_fn, &b, "SUBSCRIBE ch"), ARC_ERR_DUPLICATE);
        assert_int_equal(arc_command(c, itest_rec_cb, &b, "SUBSCRIBE x ch"),
                         ARC_ERR_DUPLICATE);
        assert_int_equal(arc_command(c, itest_rec_cb, &a, "SUBSCRIBE ch"), ARC_OK);
        ITEST_RUN_UNTIL(t, 5000, a.calls == 3);
        assert_int_equal(itest_count_kind(&a, "subscribe"), 3);
        assert_int_equal(numsub(t, "x"), 0);
        assert_int_equal(itest_admin_int(t, "PUBLISH ch %s", "m1"), 1);
        ITEST_RUN_UNTIL(t, 5000, a.calls == 4);
        assert_int_equal(itest_count_kind(&a, "message"), 1);
        assert_int_equal(a.nulls, 0);
        assert_int_equal(arc_command(c, itest_rec_cb, &unsub, "UNSUBSCRIBE ch"), ARC_OK);
        ITEST_RUN_UNTIL(t, 5000, unsub.calls == 1);
        itest_run_for(t, 20);
        /* One unsubscribe confirmation, then the one final NULL. */
        assert_int_equal(a.calls, 6);
        assert_int_equal(itest_count_kind(&a, "unsubscribe"), 1);
        assert_int_equal(a.nulls, 1);
        assert_int_equal(a.nreplies, 5); /* the NULL was the last call */
        assert_int_equal(a.status, ARC_OK);
        assert_int_equal(arc_context_state(c), ARC_STATE_READY);
        arc_free(c);
        assert_int_equal(a.calls, 6);
        assert_int_equal(b.calls, 0);
        assert_int_equal(other_fn_calls, 0);
        assert_int_equal(w.connects, 1);
        assert_int_equal(w.disconnects, 1);
        assert_int_equal(w.disconnect_status, ARC_ERR_FREED);
        itest_rec_clear(&a);
        itest_rec_clear(&b);
        itest_rec_clear(&unsub);
    }
}

/* ---- 3: one final NULL per subscribe command, however it ends ---- */

/* The callback's privdata is a heap object it frees on the NULL call, as
 * the contract invites. Its counts live in the scenario's log, reached
 * through this pointer, so that a call after the free is counted without
 * touching the freed object. */
typedef struct sub_log {
    int calls, subs, unsubs, messages, others, nulls, null_call, status;
    int after_free;
    const void *freed;
} sub_log;

static sub_log *the_log;

enum { OWNED_MAGIC = 0x5ab5c1be };
typedef struct owned {
    int magic;
} owned;

static void owned_cb(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)c;
    sub_log *log = the_log;
    log->calls++;
    if (privdata == log->freed) {
        log->after_free++;
        return;
    }
    owned *o = privdata;
    assert_int_equal(o->magic, OWNED_MAGIC); /* valgrind: never after the free */
    if (r != NULL) {
        log->subs += itest_kind_is(r, "subscribe");
        log->unsubs += itest_kind_is(r, "unsubscribe");
        log->messages += itest_kind_is(r, "message");
        log->others += !itest_kind_is(r, "subscribe") && !itest_kind_is(r, "unsubscribe") &&
                       !itest_kind_is(r, "message");
        return;
    }
    log->nulls++;
    log->null_call = log->calls;
    log->status = status;
    log->freed = o;
    o->magic = 0;
    free(o);
}

enum end_how { END_UNSUBSCRIBE, END_DISCONNECT, END_FREE, END_KILL };

static void one_final_null_run(itest *t, int resp, enum end_how how)
{
    watch w = {0};
    sub_log log = {0};
    the_log = &log;
    arc_options o = watched(t, &w, resp);
    arc_context *c = ready(t, &w, &o);
    itest_rec id = {0}, unsub = {0};
    assert_int_equal(arc_command(c, itest_rec_cb, &id, "CLIENT ID"), ARC_OK);
    owned *pd = malloc(sizeof *pd);
    assert_non_null(pd);
    pd->magic = OWNED_MAGIC;
    assert_int_equal(arc_command(c, owned_cb, pd, "SUBSCRIBE a b c"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, log.subs == 3);
    assert_int_equal(arc_context_state(c), ARC_STATE_SUBSCRIBED);
    assert_int_equal(itest_admin_int(t, "PUBLISH b %s", "mb"), 1);
    ITEST_RUN_UNTIL(t, 5000, log.messages == 1);
    int expect_calls = 5, expect_status = ARC_OK, expect_disconnect = ARC_ERR_FREED;
    switch (how) {
    case END_UNSUBSCRIBE:
        assert_int_equal(arc_command(c, itest_rec_cb, &unsub, "UNSUBSCRIBE a b c"), ARC_OK);
        ITEST_RUN_UNTIL(t, 5000, unsub.calls == 1);
        assert_true(itest_kind_is(itest_last(&unsub), "unsubscribe"));
        expect_calls = 8;
        assert_int_equal(log.unsubs, 3);
        assert_int_equal(arc_context_state(c), ARC_STATE_READY);
        break;
    case END_DISCONNECT:
        arc_disconnect(c);
        ITEST_RUN_UNTIL(t, 5000, w.disconnects == 1);
        expect_disconnect = ARC_OK;
        assert_int_equal(arc_context_state(c), ARC_STATE_CLOSED);
        break;
    case END_FREE:
        arc_free(c);
        c = NULL;
        expect_status = ARC_ERR_FREED;
        break;
    case END_KILL: {
        arc_reply *r = test_redis_command(t->redis, "CLIENT KILL ID %lld",
                                          itest_last(&id)->integer);
        assert_non_null(r);
        assert_int_equal(r->type, ARC_REPLY_INTEGER);
        assert_int_equal(r->integer, 1); /* killed: our context alone */
        arc_reply_free(r);
        ITEST_RUN_UNTIL(t, 5000, w.disconnects == 1);
        expect_status = ARC_ERR_EOF;
        expect_disconnect = ARC_ERR_EOF;
        assert_int_equal(arc_context_state(c), ARC_STATE_FAILED);
        break;
    }
    }
    itest_run_for(t, 20);
    if (log.nulls != 1 || log.after_free != 0 || log.null_call != log.calls)
        fail_msg("RESP%d, end %d: %d NULL calls, %d after the free, NULL at call %d of %d",
                 resp, (int)how, log.nulls, log.after_free, log.null_call, log.calls);
    assert_int_equal(log.status, expect_status);
    assert_int_equal(log.calls, expect_calls);
    assert_int_equal(log.subs, 3);
    assert_int_equal(log.messages, 1);
    assert_int_equal(log.others, 0);
    arc_free(c);
    itest_run_for(t, 10);
    assert_int_equal(log.calls, expect_calls);
    assert_int_equal(w.connects, 1);
    assert_int_equal(w.disconnects, 1);
    assert_int_equal(w.disconnect_status, expect_disconnect);
    if (how == END_UNSUBSCRIBE)
        assert_int_equal(unsub.calls, 1);
    the_log = NULL;
    itest_rec_clear(&id);
    itest_rec_clear(&unsub);
}

static void one_final_null_per_subscribe(void **state)
{
    itest *t = *state;
    for (int resp = 2; resp <= 3; resp++)
        for (int how = END_UNSUBSCRIBE; how <= END_KILL; how++)
            one_final_null_run(t, resp, (enum end_how)how);
}

/* ---- 4: RESP2, an unsubscribe with nothing subscribed ---- */

static void resp2_unsubscribe_nothing_then_command(void **state)
{
    itest *t = *state;
    static const char *const unsubs[] = {"UNSUBSCRIBE", "PUNSUBSCRIBE", "UNSUBSCRIBE nosuch",
                                         "SUNSUBSCRIBE"};
    static const char *const kinds[] = {"unsubscribe", "punsubscribe", "unsubscribe",
                                        "sunsubscribe"};
    enum { N = sizeof unsubs / sizeof unsubs[0] };
    watch w = {0};
    arc_options o = watched(t, &w, 2);
    arc_context *c = ready(t, &w, &o);
    int states_when_ready = w.nstates;
    itest_rec set = {0}, u[N], g[N];
    memset(u, 0, sizeof u);
    memset(g, 0, sizeof g);
    assert_int_equal(arc_command(c, itest_rec_cb, &set, "SET x v"), ARC_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(arc_command(c, itest_rec_cb, &u[i], unsubs[i]), ARC_OK);
        assert_int_equal(arc_context_state(c), ARC_STATE_READY);
        /* Queued before the unsubscribe's reply: not subscribed mode. */
        assert_int_equal(arc_command(c, itest_rec_cb, &g[i], "GET x"), ARC_OK);
    }
    ITEST_RUN_UNTIL(t, 5000, g[N - 1].calls == 1);
    itest_run_for(t, 20);
    assert_int_equal(set.calls, 1);
    for (int i = 0; i < N; i++) {
        assert_int_equal(u[i].calls, 1);
        if (!itest_kind_is(itest_last(&u[i]), kinds[i]))
            fail_msg("%s: its callback did not get its confirmation", unsubs[i]);
        assert_int_equal(g[i].calls, 1);
        itest_assert_str(itest_last(&g[i]), ARC_REPLY_STRING, "v");
        itest_rec_clear(&u[i]);
        itest_rec_clear(&g[i]);
    }
    assert_int_equal(w.nstates, states_when_ready);
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);
    arc_free(c);
    assert_int_equal(w.disconnects, 1);
    itest_rec_clear(&set);
}

/* ---- 5: SUBSCRIBED from the first confirmation; MONITOR ends CLOSED ---- */

static void subscribed_from_first_confirmation(void **state)
{
    itest *t = *state;
    for (int resp = 2; resp <= 3; resp++) {
        watch w = {0};
        itest_rec sleep = {0}, sub = {0}, unsub = {0};
        seen_states seen = {0};
        sub.then = note_state;
        sub.user = &seen;
        w.probe[0] = &sleep;
        w.probe[1] = &sub;
        arc_options o = watched(t, &w, resp);
        arc_context *c = ready(t, &w, &o);
        int first = w.nstates;
        /* A slow server: the SUBSCRIBE is written long before it is
         * confirmed. */
        assert_int_equal(arc_command(c, itest_rec_cb, &sleep, "DEBUG SLEEP 0.2"), ARC_OK);
        assert_int_equal(arc_command(c, itest_rec_cb, &sub, "SUBSCRIBE ch"), ARC_OK);
        assert_int_equal(arc_context_state(c), ARC_STATE_READY);
        int64_t end = itest_now_ms() + 5000;
        while (sub.calls == 0 && itest_now_ms() < end) {
            t->drv->run_once(t->loop, 10);
            /* Never SUBSCRIBED before the confirmation is delivered, and
             * SUBSCRIBED by the end of the dispatch that delivered it. */
            if (sub.calls == 0)
                assert_int_equal(arc_context_state(c), ARC_STATE_READY);
            else
                assert_int_equal(arc_context_state(c), ARC_STATE_SUBSCRIBED);
        }
        assert_int_equal(sub.calls, 1);
        assert_true(itest_kind_is(itest_last(&sub), "subscribe"));
        assert_int_equal(w.nstates, first + 1);
        assert_int_equal(w.state[first], ARC_STATE_SUBSCRIBED);
        assert_int_equal(w.probe_calls[first][0], 1); /* after DEBUG SLEEP's reply */
        assert_true(w.probe_calls[first][1] <= 1);   /* with the confirmation */
        assert_int_equal(arc_command(c, itest_rec_cb, &unsub, "UNSUBSCRIBE ch"), ARC_OK);
        ITEST_RUN_UNTIL(t, 5000, unsub.calls == 1);
        assert_int_equal(arc_context_state(c), ARC_STATE_READY);
        assert_int_equal(sub.nulls, 1);
        arc_free(c);
        itest_rec_clear(&sleep);
        itest_rec_clear(&sub);
        itest_rec_clear(&unsub);
    }
    /* MONITOR's final NULL sees the context already CLOSED. */
    for (int freeing = 0; freeing <= 1; freeing++) {
        watch w = {0};
        itest_rec mon = {0};
        seen_states seen = {0};
        mon.then = note_state;
        mon.user = &seen;
        arc_options o = watched(t, &w, 2);
        arc_context *c = ready(t, &w, &o);
        assert_int_equal(arc_command(c, itest_rec_cb, &mon, "MONITOR"), ARC_OK);
        ITEST_RUN_UNTIL(t, 5000, mon.calls == 1);
        assert_int_equal(arc_context_state(c), ARC_STATE_MONITORING);
        if (freeing) {
            arc_free(c);
        } else {
            arc_disconnect(c);
            ITEST_RUN_UNTIL(t, 5000, w.disconnects == 1);
            assert_int_equal(arc_context_state(c), ARC_STATE_CLOSED);
        }
        itest_run_for(t, 20);
        assert_int_equal(mon.nulls, 1);
        assert_int_equal(mon.calls, (int)mon.nreplies + 1); /* the NULL once */
        assert_int_equal(mon.status, freeing ? ARC_ERR_FREED : ARC_OK);
        if (seen.at[seen.n - 1] != ARC_STATE_CLOSED)
            fail_msg("MONITOR's final NULL (%s) saw %s, not CLOSED",
                     freeing ? "arc_free" : "arc_disconnect",
                     arc_state_name(seen.at[seen.n - 1]));
        if (!freeing)
            arc_free(c);
        assert_int_equal(w.disconnects, 1);
        assert_int_equal(w.disconnect_status, freeing ? ARC_ERR_FREED : ARC_OK);
        itest_rec_clear(&mon);
    }
}

/* ---- 6: HELLO cannot switch the protocol ---- */

/* The value after "proto" in a HELLO reply (a map, or a flat array). */
static long long hello_proto(const arc_reply *r)
{
    assert_non_null(r);
    assert_true(r->type == ARC_REPLY_MAP || r->type == ARC_REPLY_ARRAY);
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->len == 5 && memcmp(r->element[i]->str, "proto", 5) == 0)
            return r->element[i + 1]->integer;
    fail_msg("no proto in the HELLO reply");
    return -1;
}

static void hello_switch_refused(void **state)
{
    itest *t = *state;
    for (int resp = 2; resp <= 3; resp++) {
        const char *other = resp == 2 ? "3" : "2";
        const char *same = resp == 2 ? "2" : "3";
        watch w = {0};
        arc_options o = watched(t, &w, resp);
        arc_context *c = ready(t, &w, &o);
        itest_rec refused = {0}, hello = {0}, info = {0};
        assert_int_equal(arc_command(c, itest_rec_cb, &refused, "HELLO %s", other),
                         ARC_ERR_INVALID);
        assert_int_equal(arc_command(c, itest_rec_cb, &refused, "hello %s SETNAME x", other),
                         ARC_ERR_INVALID);
        const char *argv[] = {"Hello", other};
        assert_int_equal(arc_command_argv(c, itest_rec_cb, &refused, 2, argv, NULL),
                         ARC_ERR_INVALID);
        char raw[32];
        int n = snprintf(raw, sizeof raw, "*2\r\n$5\r\nHELLO\r\n$1\r\n%s\r\n", other);
        assert_int_equal(arc_command_formatted(c, itest_rec_cb, &refused, raw, (size_t)n),
                         ARC_ERR_INVALID);
        assert_int_equal(arc_command(c, itest_rec_cb, &info, "CLIENT INFO"), ARC_OK);
        assert_int_equal(arc_command(c, itest_rec_cb, &hello, "HELLO %s", same), ARC_OK);
        ITEST_RUN_UNTIL(t, 5000, hello.calls == 1);
        itest_run_for(t, 20);
        assert_int_equal(refused.calls, 0);
        assert_int_equal(info.calls, 1);
        char want[16];
        snprintf(want, sizeof want, " resp=%d", resp);
        const arc_reply *ci = itest_last(&info);
        const char *at = strstr(ci->str, want);
        if (at == NULL || (at[7] >= '0' && at[7] <= '9'))
            fail_msg("the server speaks another protocol: %s", ci->str);
        assert_int_equal(hello.nulls, 0);
        assert_int_equal(hello_proto(itest_last(&hello)), resp);
        assert_int_equal(arc_context_resp(c), resp);
        assert_int_equal(arc_context_state(c), ARC_STATE_READY);
        arc_free(c);
        assert_int_equal(w.disconnects, 1);
        itest_rec_clear(&refused);
        itest_rec_clear(&hello);
        itest_rec_clear(&info);
    }
}

/* ---- 7: a server error before any command (maxclients) ---- */

static void error_with_nothing_pending(void **state)
{
    itest *t = *state;
    static const char *const scripts[] = {
        /* RESP2, no handshake: nothing is pending when the error comes. */
        "ACCEPT\nSEND \"-ERR max number of clients reached\\r\\n\"\nCLOSE\n",
        /* RESP3: the error answers HELLO. */
        "ACCEPT\nEXPECT_COMMAND 1\nSEND \"-ERR max number of clients reached\\r\\n\"\n"
        "CLOSE\n",
    };
    for (int i = 0; i < 2; i++) {
        fake_server *f = fake_start(scripts[i]);
        assert_non_null(f);
        watch w = {0};
        arc_options o = watched(t, &w, i == 0 ? 2 : 3);
        o.transport = NULL; /* the scripted server speaks plain RESP */
        o.host = "127.0.0.1";
        o.port = fake_port(f);
        arc_context *c = itest_connect(t, &o);
        ITEST_RUN_UNTIL(t, 5000, arc_context_state(c) == ARC_STATE_FAILED);
        itest_run_for(t, 20);
        assert_int_equal(fake_finish(f, 5000), 0);
        if (strstr(arc_context_error(c), "max number of clients reached") == NULL)
            fail_msg("RESP%d: the error says \"%s\" (%s)", i == 0 ? 2 : 3,
                     arc_context_error(c), arc_status_name(arc_context_failure(c)));
        assert_int_not_equal(arc_context_failure(c), ARC_OK);
        assert_int_equal(w.connects, 1);
        if (w.connect_status == ARC_OK) {
            assert_int_equal(w.disconnects, 1);
            assert_int_equal(w.disconnect_status, arc_context_failure(c));
        } else {
            assert_int_equal(w.connect_status, arc_context_failure(c));
            assert_int_equal(w.disconnects, 0);
        }
        if (i == 1)
            assert_int_equal(w.connect_status, ARC_ERR_HANDSHAKE);
        arc_free(c);
        assert_int_equal(w.connects + w.disconnects, w.connect_status == ARC_OK ? 2 : 1);
    }
}

/* ---- 8: pre-encoded commands ---- */

static void formatted_commands(void **state)
{
    itest *t = *state;
    static const char set_kv[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
    static const char get_k[] = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
    static const char *const bad[] = {
        "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n", /* two commands */
        "*2\r\n$3\r\nGET\r\n",                                /* cut short */
        "GET k\r\n",                                           /* inline */
        "*1\r\n$4\r\nGET\r\n",                                 /* wrong length */
        "*2\r\n$3\r\nGET\r\n$1\r\nk\r\nX",                     /* trailing byte */
        "*0\r\n",                                              /* no name */
        "*1\r\n:1\r\n",                                        /* not a bulk string */
        "",                                                    /* nothing */
    };
    enum { NBAD = sizeof bad / sizeof bad[0] };
    watch w = {0};
    arc_options o = watched(t, &w, 2);
    arc_context *c = ready(t, &w, &o);
    itest_rec set = {0}, get = {0}, refused = {0}, cancelled = {0}, get2 = {0}, ping = {0};
    assert_int_equal(arc_command_formatted(c, itest_rec_cb, &set, set_kv, sizeof set_kv - 1),
                     ARC_OK);
    for (int i = 0; i < NBAD; i++) {
        if (arc_command_formatted(c, itest_rec_cb, &refused, bad[i], strlen(bad[i])) !=
            ARC_ERR_INVALID)
            fail_msg("bad input %d was not refused with ARC_ERR_INVALID", i);
        arc_command_options none = {0};
        if (arc_command_formatted_with(c, &none, itest_rec_cb, &refused, bad[i],
                                       strlen(bad[i])) != ARC_ERR_INVALID)
            fail_msg("bad input %d (_with) was not refused with ARC_ERR_INVALID", i);
    }
    assert_int_equal(arc_command_formatted(c, itest_rec_cb, &refused, NULL, 10),
                     ARC_ERR_INVALID);
    assert_int_equal(arc_command_formatted_with(c, NULL, itest_rec_cb, &refused, NULL, 0),
                     ARC_ERR_INVALID);
    assert_int_equal(arc_command_formatted(c, itest_rec_cb, &get, get_k, sizeof get_k - 1),
                     ARC_OK);
    /* With an id, then cancelled: NULL now, the reply dropped later. */
    uint64_t id = 0, id2 = 0;
    arc_command_options with = {.id = &id};
    assert_int_equal(arc_command_formatted_with(c, &with, itest_rec_cb, &cancelled, get_k,
                                                sizeof get_k - 1),
                     ARC_OK);
    assert_true(id != 0);
    with.id = &id2;
    assert_int_equal(
        arc_command_formatted_with(c, &with, itest_rec_cb, &get2, get_k, sizeof get_k - 1),
        ARC_OK);
    assert_true(id2 != 0 && id2 != id);
    assert_int_equal(arc_cancel(c, id), ARC_OK);
    assert_int_equal(cancelled.calls, 1);
    assert_int_equal(cancelled.nulls, 1);
    assert_int_equal(cancelled.status, ARC_ERR_CANCELLED);
    assert_int_equal(arc_cancel(c, id), ARC_ERR_INVALID);
    assert_int_equal(arc_command(c, itest_rec_cb, &ping, "PING"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, ping.calls == 1);
    itest_run_for(t, 20);
    assert_int_equal(set.calls, 1);
    itest_assert_str(itest_last(&set), ARC_REPLY_STATUS, "OK");
    assert_int_equal(get.calls, 1);
    itest_assert_str(itest_last(&get), ARC_REPLY_STRING, "v");
    assert_int_equal(cancelled.calls, 1);
    assert_int_equal(get2.calls, 1);
    itest_assert_str(itest_last(&get2), ARC_REPLY_STRING, "v");
    itest_assert_str(itest_last(&ping), ARC_REPLY_STATUS, "PONG");
    assert_int_equal(arc_cancel(c, id2), ARC_ERR_INVALID); /* answered */
    assert_int_equal(refused.calls, 0);
    arc_free(c);
    assert_int_equal(refused.calls + cancelled.calls + get.calls + get2.calls, 3);
    assert_int_equal(w.disconnects, 1);
    itest_rec_clear(&set);
    itest_rec_clear(&get);
    itest_rec_clear(&cancelled);
    itest_rec_clear(&get2);
    itest_rec_clear(&ping);
}

/* ---- 9: a timed-out SUBSCRIBE still subscribes ---- */

static void timed_out_subscribe_keeps_effect(void **state)
{
    itest *t = *state;
    for (int resp = 2; resp <= 3; resp++) {
        watch w = {0};
        arc_options o = watched(t, &w, resp);
        arc_context *c = ready(t, &w, &o);
        int first = w.nstates;
        itest_rec sleep = {0}, sub = {0}, ping = {0}, unsub = {0};
        assert_int_equal(arc_command(c, itest_rec_cb, &sleep, "DEBUG SLEEP 0.2"), ARC_OK);
        arc_command_options quick = {.timeout_ms = 1};
        assert_int_equal(arc_command_with(c, &quick, itest_rec_cb, &sub, "SUBSCRIBE ch"),
                         ARC_OK);
        ITEST_RUN_UNTIL(t, 5000, sub.calls == 1);
        assert_int_equal(sub.nulls, 1);
        assert_int_equal(sub.status, ARC_ERR_TIMEOUT);
        assert_int_equal(sleep.calls, 0); /* on its own timer, not on a reply */
        /* The server subscribes all the same. */
        ITEST_RUN_UNTIL(t, 5000, arc_context_state(c) == ARC_STATE_SUBSCRIBED);
        assert_int_equal(sleep.calls, 1);
        assert_int_equal(numsub(t, "ch"), 1);
        itest_rec get = {0};
        if (resp == 2) /* subscribed mode is the server's, callback or not */
            assert_int_equal(arc_command(c, itest_rec_cb, &get, "GET x"), ARC_ERR_SUBSCRIBED);
        assert_int_equal(itest_admin_int(t, "PUBLISH ch %s", "dropped"), 1);
        assert_int_equal(arc_command(c, itest_rec_cb, &ping, "PING"), ARC_OK);
        ITEST_RUN_UNTIL(t, 5000, ping.calls == 1);
        assert_int_equal(sub.calls, 1);
        assert_int_equal(arc_command(c, itest_rec_cb, &unsub, "UNSUBSCRIBE ch"), ARC_OK);
        ITEST_RUN_UNTIL(t, 5000, unsub.calls == 1);
        assert_true(itest_kind_is(itest_last(&unsub), "unsubscribe"));
        assert_int_equal(arc_context_state(c), ARC_STATE_READY);
        assert_int_equal(numsub(t, "ch"), 0);
        assert_int_equal(w.nstates, first + 2);
        assert_int_equal(w.state[first], ARC_STATE_SUBSCRIBED);
        assert_int_equal(w.state[first + 1], ARC_STATE_READY);
        arc_free(c);
        assert_int_equal(sub.calls, 1);
        assert_int_equal(unsub.calls, 1);
        assert_int_equal(ping.calls, 1);
        assert_int_equal(get.calls, 0);
        assert_int_equal(w.disconnects, 1);
        itest_rec_clear(&sleep);
        itest_rec_clear(&sub);
        itest_rec_clear(&ping);
        itest_rec_clear(&unsub);
    }
}

const struct CMUnitTest itest_contract_scenarios[] = {
    cmocka_unit_test(free_in_on_state_ready),
    cmocka_unit_test(duplicate_subscribe),
    cmocka_unit_test(one_final_null_per_subscribe),
    cmocka_unit_test(resp2_unsubscribe_nothing_then_command),
    cmocka_unit_test(subscribed_from_first_confirmation),
    cmocka_unit_test(hello_switch_refused),
    cmocka_unit_test(error_with_nothing_pending),
    cmocka_unit_test(formatted_commands),
    cmocka_unit_test(timed_out_subscribe_keeps_effect),
};
const size_t itest_contract_scenario_count =
    sizeof itest_contract_scenarios / sizeof itest_contract_scenarios[0];
