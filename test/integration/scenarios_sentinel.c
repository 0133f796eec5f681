/* scenarios_sentinel.c (tests): Redis Sentinel as the address source
 * (arc_options.sentinel). Scripted sentinels (arc-fakeserver) pin down the
 * conversation and its failures; the master they name is the shared real
 * server. Plain TCP throughout: the scripted servers speak no TLS. */
#define _GNU_SOURCE
#include "itest.h"

#include "fake_server.h"
#include "sentinels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASK                                                                                    \
    "*3\\r\\n$8\\r\\nSENTINEL\\r\\n$23\\r\\nGET-MASTER-ADDR-BY-NAME\\r\\n$8\\r\\nmymaster\\r\\n"
#define AUTH "*3\\r\\n$4\\r\\nAUTH\\r\\n$7\\r\\ndefault\\r\\n$2\\r\\npw\\r\\n"
/* The watcher a reconnecting context keeps on a sentinel: its ready check,
 * then the subscription, each answered (script lines). */
#define WATCHER                                                                                \
    "ACCEPT\nEXPECT \"*1\\r\\n$4\\r\\nPING\\r\\n\"\nSEND \"+PONG\\r\\n\"\n"                      \
    "EXPECT \"*2\\r\\n$9\\r\\nSUBSCRIBE\\r\\n$14\\r\\n+switch-master\\r\\n\"\n"                   \
    "SEND \"*3\\r\\n$9\\r\\nsubscribe\\r\\n$14\\r\\n+switch-master\\r\\n:1\\r\\n\"\n"

/* A sentinel's answer naming 127.0.0.1:port, as script text. */
static void answer_for(char *buf, size_t n, int port)
{
    char p[8];
    snprintf(p, sizeof p, "%d", port);
    snprintf(buf, n, "*2\\r\\n$9\\r\\n127.0.0.1\\r\\n$%zu\\r\\n%s\\r\\n", strlen(p), p);
}

static arc_options sentinel_options(const itest *t, arc_sentinel *s, arc_sentinel_addr *addrs,
                                    const fake_server *const *f, size_t n)
{
    arc_options o = itest_options(t);
    o.host = NULL;
    o.port = 0;
    o.transport = NULL;
    for (size_t i = 0; i < n; i++)
        addrs[i] = (arc_sentinel_addr){.host = "127.0.0.1", .port = fake_port(f[i])};
    *s = (arc_sentinel){.master_name = "mymaster", .addrs = addrs, .naddrs = n};
    o.sentinel = s;
    return o;
}

static const arc_reconnect quick = {.initial_delay_ms = 10, .max_delay_ms = 50};

/* A reconnecting context whose one sentinel is `f`, watched by `w`. */
static arc_context *reconnecting(itest *t, fake_server *f, itest_conn *w)
{
    arc_sentinel s;
    arc_sentinel_addr addrs[1];
    arc_options o = sentinel_options(t, &s, addrs, (const fake_server *const *)&f, 1);
    o.reconnect = &quick;
    *w = (itest_conn){0};
    o.on_connect = itest_on_connect;
    o.on_disconnect = itest_on_disconnect;
    o.data = w;
    return itest_connect(t, &o); /* the options are copied */
}

static bool ended(const arc_context *c)
{
    arc_state s = arc_context_state(c);
    return s == ARC_STATE_CLOSED || s == ARC_STATE_FAILED;
}

/* The first sentinel does not know the master; the second names the
 * shared server, which ROLE confirms: the context is ready there, and
 * each sentinel heard AUTH with the sentinel password and the question. */
static void sentinel_names_the_master(void **state)
{
    itest *t = *state;
    char answer[128], script[512];
    answer_for(answer, sizeof answer, test_redis_port(t->redis));
    fake_server *f[2];
    f[0] = fake_start("ACCEPT\nEXPECT \"" AUTH ASK "\"\nSEND \"+OK\\r\\n$-1\\r\\n\"\nDRAIN\n");
    snprintf(script, sizeof script, "ACCEPT\nEXPECT \"" AUTH ASK "\"\nSEND \"+OK\\r\\n%s\"\nDRAIN\n",
             answer);
    f[1] = fake_start(script);
    assert_non_null(f[0]);
    assert_non_null(f[1]);
    arc_sentinel s;
    arc_sentinel_addr addrs[2];
    arc_options o = sentinel_options(t, &s, addrs, (const fake_server *const *)f, 2);
    s.password = "pw";
    static itest_conn w;
    w = (itest_conn){0};
    o.on_connect = itest_on_connect;
    o.on_state = itest_on_state;
    o.data = &w;
    arc_context *c = itest_connect(t, &o);
    static itest_rec set;
    set = (itest_rec){0};
    assert_int_equal(arc_command(c, itest_rec_cb, &set, "SET snt-key v"), ARC_OK);
    ITEST_RUN_UNTIL(t, 10000, w.connects == 1 && set.calls == 1);
    assert_int_equal(w.connect_status, ARC_OK);
    itest_assert_str(itest_last(&set), ARC_REPLY_STATUS, "OK");
    char where[64];
    snprintf(where, sizeof where, "127.0.0.1:%d", test_redis_port(t->redis));
    assert_int_equal(arc_context_attempts(c), 1);
    assert_string_equal(arc_context_attempt(c, 0)->address, where);
    assert_int_equal(fake_finish(f[0], 5000), 0);
    assert_int_equal(fake_finish(f[1], 5000), 0);
    assert_int_equal(itest_admin_int(t, "DEL snt-key", NULL), 1);
    arc_free(c);
    itest_rec_clear(&set);
}

/* No sentinel knows the master: the context fails with ARC_ERR_NOADDR and
 * says so; the command queued meanwhile was never sent. */
static void no_sentinel_knows(void **state)
{
    itest *t = *state;
    fake_server *f[2];
    for (int i = 0; i < 2; i++) {
        f[i] = fake_start("ACCEPT\nEXPECT \"" ASK "\"\nSEND \"*-1\\r\\n\"\nDRAIN\n");
        assert_non_null(f[i]);
    }
    arc_sentinel s;
    arc_sentinel_addr addrs[2];
    arc_options o = sentinel_options(t, &s, addrs, (const fake_server *const *)f, 2);
    arc_context *c = itest_connect(t, &o);
    static itest_rec get;
    get = (itest_rec){0};
    assert_int_equal(arc_command(c, itest_rec_cb, &get, "GET snt-key"), ARC_OK);
    ITEST_RUN_UNTIL(t, 10000, ended(c));
    assert_int_equal(arc_context_state(c), ARC_STATE_FAILED);
    assert_int_equal(arc_context_failure(c), ARC_ERR_NOADDR);
    assert_non_null(strstr(arc_context_error(c), "no sentinel gave the address of master"));
    assert_non_null(strstr(arc_context_error(c), "does not know master 'mymaster'"));
    itest_assert_null_once(&get, ARC_ERR_NOT_SENT, "the command queued");
    for (int i = 0; i < 2; i++)
        assert_int_equal(fake_finish(f[i], 5000), 0);
    arc_free(c);
}

/* The address a sentinel gave is a replica now: ROLE says so, and the
 * context fails with ARC_ERR_READONLY (under a policy: tried again). */
static void role_must_be_master(void **state)
{
    itest *t = *state;
    fake_server *replica = fake_start(
        "ACCEPT\nEXPECT \"*1\\r\\n$4\\r\\nROLE\\r\\n\"\n"
        "SEND \"*5\\r\\n$5\\r\\nslave\\r\\n$9\\r\\n127.0.0.1\\r\\n:6379\\r\\n$9\\r\\nconnected\\r\\n:0\\r\\n\"\n"
        "DRAIN\n");
    assert_non_null(replica);
    char answer[128], script[512];
    answer_for(answer, sizeof answer, fake_port(replica));
    snprintf(script, sizeof script, "ACCEPT\nEXPECT \"" ASK "\"\nSEND \"%s\"\nDRAIN\n", answer);
    fake_server *f[1] = {fake_start(script)};
    assert_non_null(f[0]);
    arc_sentinel s;
    arc_sentinel_addr addrs[1];
    arc_options o = sentinel_options(t, &s, addrs, (const fake_server *const *)f, 1);
    arc_context *c = itest_connect(t, &o);
    ITEST_RUN_UNTIL(t, 10000, ended(c));
    assert_int_equal(arc_context_failure(c), ARC_ERR_READONLY);
    assert_non_null(strstr(arc_context_error(c), "says its role is 'slave'"));
    assert_int_equal(fake_finish(f[0], 5000), 0);
    assert_int_equal(fake_finish(replica, 5000), 0);
    arc_free(c);
}

/* Under a reconnect policy every new link asks again: the second link
 * after a killed connection goes through the sentinel too. */
static void every_link_asks(void **state)
{
    itest *t = *state;
    char answer[128], script[1024];
    answer_for(answer, sizeof answer, test_redis_port(t->redis));
    /* The first link's question, its watcher, the second link's question. */
    snprintf(script, sizeof script,
             "ACCEPT\nEXPECT \"" ASK "\"\nSEND \"%s\"\n"
             WATCHER
             "ACCEPT\nEXPECT \"" ASK "\"\nSEND \"%s\"\nDRAIN\n",
             answer, answer);
    fake_server *f[1] = {fake_start(script)};
    assert_non_null(f[0]);
    static itest_conn w;
    arc_context *c = reconnecting(t, f[0], &w);
    ITEST_RUN_UNTIL(t, 10000, w.connects == 1);
    itest_kill_client(t, itest_client_id(t, c));
    ITEST_RUN_UNTIL(t, 10000, w.connects == 2);
    assert_int_equal(w.disconnects, 1);
    static itest_rec ping;
    ping = (itest_rec){0};
    assert_int_equal(arc_command(c, itest_rec_cb, &ping, "PING"), ARC_OK);
    ITEST_RUN_UNTIL(t, 10000, ping.calls == 1);
    itest_assert_str(itest_last(&ping), ARC_REPLY_STATUS, "PONG");
    arc_free(c);
    assert_int_equal(fake_finish(f[0], 5000), 0);
    itest_rec_clear(&ping);
}

/* The sentinel announces a failover (+switch-master) while the link is
 * fine: the context leaves the old master at once, asks again, and is
 * ready on the new one. */
static void switch_master_moves_at_once(void **state)
{
    itest *t = *state;
    test_redis *m2 = test_redis_start(NULL);
    assert_non_null(m2);
    arc_reply *r = test_redis_command(m2, "SET snt-where m2");
    assert_non_null(r);
    arc_reply_free(r);
    char to_old[128], to_new[128], news[128], message[256], script[2048];
    answer_for(to_old, sizeof to_old, test_redis_port(t->redis));
    answer_for(to_new, sizeof to_new, test_redis_port(m2));
    snprintf(news, sizeof news, "mymaster 127.0.0.1 %d 127.0.0.1 %d", test_redis_port(t->redis),
             test_redis_port(m2));
    snprintf(message, sizeof message,
             "*3\\r\\n$7\\r\\nmessage\\r\\n$14\\r\\n+switch-master\\r\\n$%zu\\r\\n%s\\r\\n",
             strlen(news), news);
    snprintf(script, sizeof script,
             "ACCEPT\nEXPECT \"" ASK "\"\nSEND \"%s\"\n"
             WATCHER "SLEEP 300\n"
             "SEND \"%s\"\n"
             "ACCEPT\nEXPECT \"" ASK "\"\nSEND \"%s\"\nDRAIN\n",
             to_old, message, to_new);
    fake_server *f[1] = {fake_start(script)};
    assert_non_null(f[0]);
    static itest_conn w;
    arc_context *c = reconnecting(t, f[0], &w);
    ITEST_RUN_UNTIL(t, 10000, w.connects == 2);
    assert_int_equal(w.disconnects, 1);
    assert_int_equal(w.disconnect_status, ARC_ERR_READONLY);
    static itest_rec get;
    get = (itest_rec){0};
    assert_int_equal(arc_command(c, itest_rec_cb, &get, "GET snt-where"), ARC_OK);
    ITEST_RUN_UNTIL(t, 10000, get.calls == 1);
    itest_assert_str(itest_last(&get), ARC_REPLY_STRING, "m2");
    arc_free(c);
    assert_int_equal(fake_finish(f[0], 5000), 0);
    itest_rec_clear(&get);
    test_redis_stop(m2);
}

/* ---- a real deployment: a master, a replica, three sentinels ---- */

enum { LOAD_DEPTH = 64 };

typedef struct load {
    arc_context *c;
    bool running;
    long issued, ok, errors, unanswered, not_sent, other;
    long ok_on_new; /* OK replies while the context was on the new master */
    int new_port;
} load;

static int master_port_of(const arc_context *c)
{
    const arc_attempt *a = arc_context_attempt(c, 0);
    const char *colon = a != NULL ? strrchr(a->address, ':') : NULL;
    return colon != NULL ? atoi(colon + 1) : -1;
}

static void load_more(load *l);

static void on_incr(arc_context *c, arc_reply *r, int status, void *privdata)
{
    load *l = privdata;
    if (r != NULL && r->type == ARC_REPLY_ERROR)
        l->errors++; /* -READONLY from the demoted master: it did not run */
    else if (r != NULL) {
        l->ok++;
        l->ok_on_new += master_port_of(c) == l->new_port;
    } else if (status == ARC_ERR_UNANSWERED)
        l->unanswered++;
    else if (status == ARC_ERR_NOT_SENT)
        l->not_sent++;
    else
        l->other++;
    if (l->running)
        load_more(l);
}

static void load_more(load *l)
{
    if (arc_command(l->c, on_incr, l, "INCR snt-counter") == ARC_OK)
        l->issued++;
}

/* SENTINEL FAILOVER while 64 INCRs are in flight and a subscription is
 * held: the same context ends up on the new master (the sentinel's
 * announcement, the demoted master's -READONLY or its closing our link:
 * whichever comes first), every callback runs once, the counter there is
 * no higher than what could have run, and a message published on the new
 * master reaches the original subscription. */
static void failover_under_load(void **state)
{
    itest *t = *state;
    test_sentinels *d = test_sentinels_start("arcmaster", NULL);
    assert_non_null(d);
    int old_port = test_redis_port(test_sentinels_server(d, 0));
    int new_port = test_redis_port(test_sentinels_server(d, 1));
    arc_sentinel_addr addrs[3];
    for (int i = 0; i < 3; i++)
        addrs[i] = (arc_sentinel_addr){.host = "127.0.0.1", .port = test_sentinels_port(d, i)};
    arc_sentinel s = {.master_name = "arcmaster", .addrs = addrs, .naddrs = 3};
    arc_options o = itest_options(t);
    o.host = NULL;
    o.transport = NULL; /* the deployment speaks plain TCP */
    o.sentinel = &s;
    o.reconnect = &quick;
    o.resp = 3;
    static itest_conn w;
    w = (itest_conn){0};
    o.on_connect = itest_on_connect;
    o.on_disconnect = itest_on_disconnect;
    o.data = &w;
    arc_context *c = itest_connect(t, &o);
    ITEST_RUN_UNTIL(t, 10000, w.connects == 1);
    assert_int_equal(master_port_of(c), old_port);

    static itest_rec sub;
    sub = (itest_rec){0};
    assert_int_equal(arc_command(c, itest_rec_cb, &sub, "SUBSCRIBE snt-chan"), ARC_OK);
    ITEST_RUN_UNTIL(t, 10000, sub.calls == 1);
    static load l;
    l = (load){.c = c, .running = true, .new_port = new_port};
    for (int i = 0; i < LOAD_DEPTH; i++)
        load_more(&l);
    ITEST_RUN_UNTIL(t, 10000, l.ok >= 500);

    arc_reply *r = test_sentinels_command(d, 0, "SENTINEL FAILOVER arcmaster");
    assert_non_null(r);
    itest_assert_str(r, ARC_REPLY_STATUS, "OK");
    arc_reply_free(r);
    ITEST_RUN_UNTIL(t, 30000, l.ok_on_new >= 500);
    assert_int_equal(master_port_of(c), new_port);
    assert_true(w.connects >= 2);
    l.running = false;
    ITEST_RUN_UNTIL(t, 10000, l.ok + l.errors + l.unanswered + l.not_sent + l.other == l.issued);
    assert_int_equal(l.other, 0);
    assert_int_equal(arc_context_state(c), ARC_STATE_SUBSCRIBED);

    test_redis *now = test_sentinels_server(d, 1);
    r = test_redis_command(now, "GET snt-counter");
    assert_non_null(r);
    assert_int_equal(r->type, ARC_REPLY_STRING);
    long long counter = strtoll(r->str, NULL, 10);
    arc_reply_free(r);
    if (counter > l.ok + l.unanswered)
        fail_msg("the counter is %lld; %ld replies, %ld unanswered", counter, l.ok, l.unanswered);
    r = test_redis_command(now, "PUBLISH snt-chan after");
    assert_non_null(r);
    assert_int_equal(r->integer, 1);
    arc_reply_free(r);
    ITEST_RUN_UNTIL(t, 10000, itest_count_kind(&sub, "message") == 1);
    assert_int_equal(sub.nulls, 0); /* the subscription was kept throughout */
    arc_free(c);
    assert_int_equal(sub.nulls, 1);
    itest_rec_clear(&sub);
    test_sentinels_stop(d);
}

/* Options that cannot work are said from the loop, like any failure. */
static void sentinel_bad_options(void **state)
{
    itest *t = *state;
    arc_options o = itest_options(t);
    arc_sentinel s = {.master_name = "mymaster"}; /* no addresses */
    o.sentinel = &s;
    arc_context *c = itest_connect(t, &o);
    ITEST_RUN_UNTIL(t, 5000, ended(c));
    assert_int_equal(arc_context_failure(c), ARC_ERR_INVALID);
    assert_non_null(strstr(arc_context_error(c), "no sentinel addresses"));
    arc_free(c);
}

const struct CMUnitTest itest_sentinel_scenarios[] = {
    cmocka_unit_test(sentinel_names_the_master), cmocka_unit_test(no_sentinel_knows),
    cmocka_unit_test(role_must_be_master),       cmocka_unit_test(every_link_asks),
    cmocka_unit_test(switch_master_moves_at_once), cmocka_unit_test(failover_under_load),
    cmocka_unit_test(sentinel_bad_options),
};
const size_t itest_sentinel_scenario_count =
    sizeof itest_sentinel_scenarios / sizeof itest_sentinel_scenarios[0];
