/* scenarios_cluster.c (tests): the cluster client (<arc/cluster.h>) on a
 * real Redis Cluster of six nodes (test/support/cluster.h), on every loop:
 * the "<loop>-cluster" group of itest.c, which starts the cluster once and
 * gives each scenario t->cluster. Scenarios leave the cluster as healthy
 * as they found it (every slot served, every node up), though roles and
 * slot owners may have moved: each asks the harness where things are.
 *
 * Every command callback is counted: each must run exactly once, and a
 * command that got no reply must say whether it may have run. */
#define _GNU_SOURCE
#include "itest.h"
#include "itest_cluster.h"

#include <arc/cluster.h>

#include "cluster.h"
#include "fake_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static arc_options node_options;

static arc_cluster *cluster_open(itest *t, const arc_cluster_options *extra, icl_events *ev)
{
    static arc_cluster_seed seeds[2];
    seeds[0] = (arc_cluster_seed){"127.0.0.1", test_cluster_port(t->cluster, 0)};
    seeds[1] = (arc_cluster_seed){"127.0.0.1", test_cluster_port(t->cluster, 1)};
    memset(&node_options, 0, sizeof node_options);
    node_options.connect_timeout_ms = 2000;
    arc_cluster_options o;
    if (extra != NULL)
        o = *extra;
    else
        memset(&o, 0, sizeof o);
    if (o.seeds == NULL) {
        o.seeds = seeds;
        o.nseeds = 2;
    }
    if (o.node_options == NULL)
        o.node_options = &node_options;
    return icl_open(t, o, ev);
}

static arc_cluster *cluster_ready(itest *t, const arc_cluster_options *extra, icl_events *ev)
{
    arc_cluster *cl = cluster_open(t, extra, ev);
    ITEST_RUN_UNTIL(t, 5000, arc_cluster_ready(cl));
    return cl;
}

/* ---- a pipelined load: INCR over many counters, DEPTH in flight ---- */

#define DEPTH 256
#define COUNTERS 64

typedef struct load {
    arc_cluster *cl;
    int total, issued, done;
    int ok, unanswered, other;
    int other_status;
    char other_error[256];
    long long per_counter_ok[COUNTERS];
} load;

static void load_next(load *l);

/* Each INCR's privdata: the load and its counter. */
typedef struct load_slot {
    load *l;
    int counter;
} load_slot;

static load_slot load_slots[DEPTH * 200];

static void on_load_reply(arc_cluster *cl, arc_reply *r, int status, void *privdata)
{
    (void)cl;
    load_slot *s = privdata;
    load *l = s->l;
    l->done++;
    if (status == ARC_OK && r != NULL && r->type == ARC_REPLY_INTEGER) {
        l->ok++;
        l->per_counter_ok[s->counter]++;
    } else if (status == ARC_ERR_UNANSWERED) {
        l->unanswered++;
    } else {
        l->other++;
        l->other_status = status;
        snprintf(l->other_error, sizeof l->other_error, "%s (%s)",
                 r && r->type == ARC_REPLY_ERROR ? r->str : arc_status_name(status),
                 arc_cluster_error(cl));
    }
    load_next(l);
}

static void load_next(load *l)
{
    while (l->issued < l->total && l->issued - l->done < DEPTH) {
        load_slot *s = &load_slots[l->issued];
        s->l = l;
        s->counter = l->issued % COUNTERS;
        char key[32];
        snprintf(key, sizeof key, "cnt:%d", s->counter);
        l->issued++;
        if (arc_cluster_command(l->cl, on_load_reply, s, "INCR %s", key) != ARC_OK)
            fail_msg("INCR refused at %d", l->issued);
    }
}

static void load_start(load *l, arc_cluster *cl, int total)
{
    memset(l, 0, sizeof *l);
    assert_true(total <= (int)(sizeof load_slots / sizeof load_slots[0]));
    l->cl = cl;
    l->total = total;
    load_next(l);
}

/* Each counter on the server lies between the INCRs that surely ran and
 * those that may have. */
static void load_check(itest *t, const load *l)
{
    assert_int_equal(l->done, l->total);
    if (l->other != 0)
        fail_msg("%d INCRs failed otherwise than UNANSWERED, the last %s: %s", l->other,
                 arc_status_name(l->other_status), l->other_error);
    assert_int_equal(l->ok + l->unanswered, l->total);
    long long sum = 0;
    for (int i = 0; i < COUNTERS; i++) {
        char key[32];
        snprintf(key, sizeof key, "cnt:%d", i);
        int n = icl_owner_of(t, key);
        arc_reply *r = test_cluster_command(t->cluster, n, "GET %s", key);
        assert_non_null(r);
        long long v = r->type == ARC_REPLY_STRING ? atoll(r->str) : 0;
        arc_reply_free(r);
        if (v < l->per_counter_ok[i])
            fail_msg("%s is %lld on node %d, below the %lld INCRs that were answered", key, v, n,
                     l->per_counter_ok[i]);
        sum += v;
    }
    if (sum > l->ok + l->unanswered)
        fail_msg("the counters sum to %lld, more than the %d INCRs sent", sum,
                 l->ok + l->unanswered);
}

/* ---- scenarios ---- */

typedef struct kv {
    int calls, good, bad;
    char last_bad[128];
} kv;

static void on_set(arc_cluster *cl, arc_reply *r, int status, void *privdata)
{
    (void)cl;
    kv *k = privdata;
    k->calls++;
    if (status == ARC_OK && r->type == ARC_REPLY_STATUS)
        k->good++;
    else
        k->bad++;
}

typedef struct get_slot {
    kv *k;
    int i;
} get_slot;

static void on_get(arc_cluster *cl, arc_reply *r, int status, void *privdata)
{
    (void)cl;
    get_slot *g = privdata;
    g->k->calls++;
    char want[32];
    snprintf(want, sizeof want, "v%d", g->i);
    if (status == ARC_OK && r->type == ARC_REPLY_STRING && strcmp(r->str, want) == 0) {
        g->k->good++;
    } else {
        g->k->bad++;
        snprintf(g->k->last_bad, sizeof g->k->last_bad, "k:%d: %s", g->i,
                 r ? (r->str ? r->str : arc_reply_type_name(r->type)) : arc_status_name(status));
    }
}

#define KEYS 10000
static get_slot gets[KEYS];

/* 10,000 keys over every master, pipelined; each read back with its value;
 * the masters between them hold all of them; hash tags keep keys together;
 * keyless commands go anywhere; keys of two slots are refused up front. */
static void cluster_routes_by_slot(void **state)
{
    itest *t = *state;
    icl_flush_all(t);
    static icl_events ev;
    memset(&ev, 0, sizeof ev);
    arc_cluster *cl = cluster_ready(t, NULL, &ev);
    assert_int_equal(ev.topology, 1);
    assert_int_equal(arc_group_size(arc_cluster_group(cl)), test_cluster_size(t->cluster));
    /* The table: three masters sharing every slot, three replicas with none. */
    size_t masters = 0, slots = 0;
    for (arc_member *m = arc_group_next(arc_cluster_group(cl), NULL); m != NULL;
         m = arc_group_next(arc_cluster_group(cl), m)) {
        if (arc_cluster_node_is_master(cl, m)) {
            masters++;
            assert_true(arc_cluster_node_slots(cl, m) > 0);
        } else {
            assert_int_equal(arc_cluster_node_slots(cl, m), 0);
        }
        slots += arc_cluster_node_slots(cl, m);
    }
    assert_int_equal(masters, 3);
    assert_int_equal(slots, 16384);
    static kv sets, reads;
    memset(&sets, 0, sizeof sets);
    memset(&reads, 0, sizeof reads);
    for (int i = 0; i < KEYS; i++) {
        char key[32], val[32];
        snprintf(key, sizeof key, "k:%d", i);
        snprintf(val, sizeof val, "v%d", i);
        assert_int_equal(arc_cluster_command(cl, on_set, &sets, "SET %s %s", key, val), ARC_OK);
        if ((i + 1) % DEPTH == 0)
            ITEST_RUN_UNTIL(t, 10000, sets.calls == i + 1);
    }
    ITEST_RUN_UNTIL(t, 10000, sets.calls == KEYS);
    assert_int_equal(sets.good, KEYS);
    for (int i = 0; i < KEYS; i++) {
        char key[32];
        snprintf(key, sizeof key, "k:%d", i);
        gets[i] = (get_slot){&reads, i};
        assert_int_equal(arc_cluster_command(cl, on_get, &gets[i], "GET %s", key), ARC_OK);
        if ((i + 1) % DEPTH == 0)
            ITEST_RUN_UNTIL(t, 10000, reads.calls == i + 1);
    }
    ITEST_RUN_UNTIL(t, 10000, reads.calls == KEYS);
    if (reads.bad != 0)
        fail_msg("%d of %d GETs wrong, the last %s", reads.bad, KEYS, reads.last_bad);
    /* Each key is where the cluster says its slot is: the harness reads a
     * sample back from the owning master itself. */
    for (int i = 0; i < KEYS; i += 97) {
        char key[32], want[32];
        snprintf(key, sizeof key, "k:%d", i);
        snprintf(want, sizeof want, "v%d", i);
        arc_reply *r = test_cluster_command(t->cluster, icl_owner_of(t, key), "GET %s", key);
        assert_non_null(r);
        itest_assert_str(r, ARC_REPLY_STRING, want);
        arc_reply_free(r);
        assert_int_equal(icl_member_port(arc_cluster_slot_master(
                             cl, arc_cluster_key_slot(key, strlen(key)))),
                         test_cluster_port(t->cluster, icl_owner_of(t, key)));
    }
    /* The masters hold them all between them. */
    assert_int_equal(icl_masters_dbsize(t, cl, 3), KEYS);

    /* Hash tags: keys of one tag share a slot, so MSET / MGET of them go. */
    static icl_rec k;
    memset(&k, 0, sizeof k);
    assert_int_equal(arc_cluster_key_slot("{user7}:a", 9), arc_cluster_key_slot("{user7}:b", 9));
    icl_rec_clear(&k);
    assert_int_equal(arc_cluster_command(cl, icl_rec_cb, &k, "MSET {user7}:a 1 {user7}:b 2"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, k.calls == 1);
    itest_assert_str(k.reply, ARC_REPLY_STATUS, "OK");
    icl_do(t, cl, &k, "MGET {user7}:a {user7}:b", NULL, NULL);
    assert_int_equal(k.reply->type, ARC_REPLY_ARRAY);
    assert_int_equal(k.reply->elements, 2);
    itest_assert_str(k.reply->element[1], ARC_REPLY_STRING, "2");
    /* Keyless: any master answers. */
    icl_do(t, cl, &k, "PING", NULL, NULL);
    itest_assert_str(k.reply, ARC_REPLY_STATUS, "PONG");
    /* Two slots: refused before anything is sent, no callback. */
    assert_true(arc_cluster_key_slot("a", 1) != arc_cluster_key_slot("b", 1));
    icl_rec_clear(&k);
    assert_int_equal(arc_cluster_command(cl, icl_rec_cb, &k, "MSET a 1 b 2"), ARC_ERR_CROSSSLOT);
    assert_int_equal(arc_cluster_command(cl, icl_rec_cb, &k, "SUBSCRIBE x"), ARC_ERR_INVALID);
    itest_run_for(t, 20);
    assert_int_equal(k.calls, 0);

    arc_cluster_free(cl);
    assert_int_equal(sets.calls, KEYS);
    assert_int_equal(reads.calls, KEYS);
    icl_rec_clear(&k);
}

/* A slot moved behind the client's back: the next command meets MOVED,
 * goes to the new owner, and the map is right again. */
static void cluster_follows_moved(void **state)
{
    itest *t = *state;
    icl_flush_all(t);
    arc_cluster *cl = cluster_ready(t, NULL, NULL);
    static icl_rec k;
    memset(&k, 0, sizeof k);
    icl_do(t, cl, &k, "SET %s %s", "moving-key", "here");
    itest_assert_str(k.reply, ARC_REPLY_STATUS, "OK");
    int slot = (int)arc_cluster_key_slot("moving-key", 10);
    int from = icl_owner_of(t, "moving-key");
    int to = icl_other_master(t, from);
    assert_int_equal(icl_member_port(arc_cluster_slot_master(cl, (unsigned)slot)),
                     test_cluster_port(t->cluster, from));
    assert_int_equal(test_cluster_move_slot(t->cluster, slot, to), 0);

    icl_do(t, cl, &k, "GET %s", "moving-key", NULL);
    assert_int_equal(k.status, ARC_OK);
    itest_assert_str(k.reply, ARC_REPLY_STRING, "here");
    assert_int_equal(icl_member_port(arc_cluster_slot_master(cl, (unsigned)slot)),
                     test_cluster_port(t->cluster, to));
    /* And back, for the scenarios after. */
    assert_int_equal(test_cluster_move_slot(t->cluster, slot, from), 0);
    icl_do(t, cl, &k, "GET %s", "moving-key", NULL);
    itest_assert_str(k.reply, ARC_REPLY_STRING, "here");
    arc_cluster_free(cl);
    icl_rec_clear(&k);
}

/* During a live migration: keys already moved are served through ASK by
 * the target (the map keeps the source), keys not yet moved by the source;
 * a command needing both sides meets TRYAGAIN and is sent again after a
 * backoff, once the migration ended. */
static void cluster_ask_and_tryagain(void **state)
{
    itest *t = *state;
    icl_flush_all(t);
    arc_cluster *cl = cluster_ready(t, NULL, NULL);
    static icl_rec k;
    memset(&k, 0, sizeof k);
    char key[32], val[16];
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "{mig}:%d", i);
        snprintf(val, sizeof val, "m%d", i);
        icl_do(t, cl, &k, "SET %s %s", key, val);
        itest_assert_str(k.reply, ARC_REPLY_STATUS, "OK");
    }
    int slot = (int)arc_cluster_key_slot("{mig}", 5);
    int from = icl_owner_of(t, "{mig}:0");
    int to = icl_other_master(t, from);
    assert_int_equal(test_cluster_migration_begin(t->cluster, slot, to), 0);
    assert_int_equal(test_cluster_migrate_keys(t->cluster, slot, 10), 10);
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "{mig}:%d", i);
        snprintf(val, sizeof val, "m%d", i);
        icl_do(t, cl, &k, "GET %s", key, NULL);
        if (k.status != ARC_OK || k.reply == NULL || k.reply->type != ARC_REPLY_STRING)
            fail_msg("GET %s during the migration: %s (%s)", key, arc_status_name(k.status),
                     k.error);
        itest_assert_str(k.reply, ARC_REPLY_STRING, val);
    }
    /* ASK changed no map: the source still serves the slot. */
    assert_int_equal(icl_member_port(arc_cluster_slot_master(cl, (unsigned)slot)),
                     test_cluster_port(t->cluster, from));

    /* Which keys moved is the server's choice: find one on each side. */
    int moved = -1, stayed = -1;
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "{mig}:%d", i);
        arc_reply *r = test_cluster_command(t->cluster, from, "EXISTS %s", key);
        assert_non_null(r);
        if (r->integer == 1 && stayed < 0)
            stayed = i;
        if (r->integer == 0 && moved < 0)
            moved = i;
        arc_reply_free(r);
    }
    assert_true(moved >= 0 && stayed >= 0);
    char a[32], b[32];
    snprintf(a, sizeof a, "{mig}:%d", moved);
    snprintf(b, sizeof b, "{mig}:%d", stayed);
    icl_rec_clear(&k);
    assert_int_equal(arc_cluster_command(cl, icl_rec_cb, &k, "MGET %s %s", a, b), ARC_OK);
    itest_run_for(t, 60); /* TRYAGAIN, and a retry or two, meanwhile */
    assert_int_equal(k.calls, 0);
    assert_int_equal(test_cluster_migration_end(t->cluster, slot), 0);
    ITEST_RUN_UNTIL(t, 5000, k.calls == 1);
    if (k.status != ARC_OK || k.reply == NULL || k.reply->type != ARC_REPLY_ARRAY)
        fail_msg("MGET across the migration: %s (%s)", arc_status_name(k.status), k.error);
    assert_int_equal(k.reply->elements, 2);
    snprintf(val, sizeof val, "m%d", moved);
    itest_assert_str(k.reply->element[0], ARC_REPLY_STRING, val);
    snprintf(val, sizeof val, "m%d", stayed);
    itest_assert_str(k.reply->element[1], ARC_REPLY_STRING, val);
    assert_int_equal(test_cluster_move_slot(t->cluster, slot, from), 0);
    arc_cluster_free(cl);
    icl_rec_clear(&k);
}

/* A graceful failover (CLUSTER FAILOVER on a replica) under 256 INCRs in
 * flight: every callback once, every INCR answered or UNANSWERED, the
 * counters between the two, and the map follows the new master. */
static void cluster_failover_under_load(void **state)
{
    itest *t = *state;
    icl_flush_all(t);
    arc_cluster *cl = cluster_ready(t, NULL, NULL);
    static load l;
    load_start(&l, cl, 6000);
    ITEST_RUN_UNTIL(t, 10000, l.done >= 1000);
    int master = icl_owner_of(t, "cnt:0");
    int replica = test_cluster_replica_of(t->cluster, master);
    assert_true(replica >= 0);
    assert_int_equal(test_cluster_failover(t->cluster, replica), 0);
    ITEST_RUN_UNTIL(t, 20000, l.done == l.total);
    load_check(t, &l);
    /* The slot of cnt:0 is the new master's, in the client's map too. */
    static icl_rec k;
    memset(&k, 0, sizeof k);
    icl_do(t, cl, &k, "INCR %s", "cnt:0", NULL);
    assert_int_equal(k.status, ARC_OK);
    assert_int_equal(icl_member_port(arc_cluster_slot_master(
                         cl, arc_cluster_key_slot("cnt:0", 5))),
                     test_cluster_port(t->cluster, replica));
    arc_cluster_free(cl);
    icl_rec_clear(&k);
}

/* A master killed (SIGKILL) under load: commands to it are sent again
 * once a replica took over; those it may have run say UNANSWERED; the
 * node then comes back as a replica. The dead node is connected to again
 * only after a slot map that still lists it, not at every retry of every
 * command that waits for it. */
static void cluster_master_killed(void **state)
{
    itest *t = *state;
    icl_flush_all(t);
    arc_cluster_options o;
    memset(&o, 0, sizeof o);
    o.max_retries = 60; /* the promotion takes about twice the node timeout */
    o.retry_max_delay_ms = 200;
    static icl_events ev;
    memset(&ev, 0, sizeof ev);
    arc_cluster *cl = cluster_ready(t, &o, &ev);
    static load l;
    load_start(&l, cl, 6000);
    ITEST_RUN_UNTIL(t, 10000, l.done >= 1000);
    int victim = icl_owner_of(t, "cnt:1");
    int replica = test_cluster_replica_of(t->cluster, victim);
    ev.watch_port = test_cluster_port(t->cluster, victim);
    int maps_before = ev.topology;
    assert_int_equal(test_cluster_kill(t->cluster, victim), 0);
    ITEST_RUN_UNTIL(t, 30000, l.done == l.total);
    int maps = ev.topology - maps_before;
    fprintf(stderr,
            "cluster_master_killed: after the kill, %d slot maps and %d new connections "
            "to the dead node\n",
            maps, ev.watch_added);
    assert_true(ev.watch_added <= maps);
    ev.watch_port = 0;
    assert_int_equal(test_cluster_wait_ok(t->cluster, 15000), 0);
    load_check(t, &l);
    assert_int_equal(icl_owner_of(t, "cnt:1"), replica);
    assert_int_equal(test_cluster_restart(t->cluster, victim), 0);
    assert_int_equal(test_cluster_wait_ok(t->cluster, 15000), 0);
    arc_cluster_free(cl);
}

/* Replicas serve reads with ARC_READS_PREFER_REPLICA: GETs reach them
 * (their INFO commandstats count them), writes still go to masters. */
static long long gets_on(itest *t, int node)
{
    arc_reply *r = test_cluster_command(t->cluster, node, "INFO commandstats");
    assert_non_null(r);
    long long calls = 0;
    const char *p = r->type == ARC_REPLY_STRING ? strstr(r->str, "cmdstat_get:calls=") : NULL;
    if (p != NULL)
        calls = atoll(p + strlen("cmdstat_get:calls="));
    arc_reply_free(r);
    return calls;
}

static void cluster_replica_reads(void **state)
{
    itest *t = *state;
    icl_flush_all(t);
    arc_cluster_options o;
    memset(&o, 0, sizeof o);
    o.reads = ARC_READS_PREFER_REPLICA;
    arc_cluster *cl = cluster_ready(t, &o, NULL);
    static icl_rec k;
    memset(&k, 0, sizeof k);
    icl_do(t, cl, &k, "SET %s %s", "read-me", "from a replica");
    itest_assert_str(k.reply, ARC_REPLY_STATUS, "OK");
    int master = icl_owner_of(t, "read-me");
    int replica = test_cluster_replica_of(t->cluster, master);
    arc_reply *w = test_cluster_command(t->cluster, master, "WAIT 1 2000");
    arc_reply_free(w);
    /* Wait for the replica's connection (READONLY first) to be up. */
    ITEST_RUN_UNTIL(t, 5000, arc_group_count(arc_cluster_group(cl), ARC_STATE_READY) ==
                                 (size_t)test_cluster_size(t->cluster));
    long long before = gets_on(t, replica), master_before = gets_on(t, master);
    for (int i = 0; i < 20; i++) {
        icl_do(t, cl, &k, "GET %s", "read-me", NULL);
        itest_assert_str(k.reply, ARC_REPLY_STRING, "from a replica");
    }
    assert_int_equal(gets_on(t, replica) - before, 20);
    assert_int_equal(gets_on(t, master) - master_before, 0);
    arc_cluster_free(cl);
    icl_rec_clear(&k);
}

/* No seed answers: the command waiting for a first map is told
 * ARC_ERR_UNROUTED with the reason, and discovery says it failed. */
static void cluster_no_seed(void **state)
{
    itest *t = *state;
    static icl_events ev;
    memset(&ev, 0, sizeof ev);
    static arc_cluster_seed dead[1];
    dead[0] = (arc_cluster_seed){"127.0.0.1", 1}; /* nothing listens on port 1 */
    arc_cluster_options o;
    memset(&o, 0, sizeof o);
    o.seeds = dead;
    o.nseeds = 1;
    arc_cluster *cl = cluster_open(t, &o, &ev);
    static icl_rec k;
    memset(&k, 0, sizeof k);
    assert_int_equal(arc_cluster_command(cl, icl_rec_cb, &k, "GET x"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, k.calls == 1);
    assert_int_equal(k.status, ARC_ERR_UNROUTED);
    assert_null(k.reply);
    if (strstr(k.error, "127.0.0.1:1") == NULL)
        fail_msg("the reason does not name the seed: %s", k.error);
    assert_true(ev.discovery_failed >= 1);
    assert_false(arc_cluster_ready(cl));
    arc_cluster_free(cl);
    icl_rec_clear(&k);
}

/* A node that is not a cluster (a plain fake server): its CLUSTER SHARDS
 * error makes the client try CLUSTER SLOTS, and a malformed answer there
 * fails discovery with a message that says what was wrong. */
static void cluster_bad_slot_map(void **state)
{
    itest *t = *state;
    fake_server *f = fake_start("ACCEPT\n"
                                "EXPECT_COMMAND 1\n"
                                "SEND -ERR unknown subcommand 'SHARDS'\\r\\n\n"
                                "EXPECT_COMMAND 1\n"
                                "SEND *1\\r\\n*3\\r\\n:0\\r\\n:20000\\r\\n*2\\r\\n$9\\r\\n127.0.0.1\\r\\n:7000\\r\\n\n"
                                "DRAIN\n");
    assert_non_null(f);
    static icl_events ev;
    memset(&ev, 0, sizeof ev);
    static arc_cluster_seed seed[1];
    seed[0] = (arc_cluster_seed){"127.0.0.1", fake_port(f)};
    arc_cluster_options o;
    memset(&o, 0, sizeof o);
    o.seeds = seed;
    o.nseeds = 1;
    arc_cluster *cl = cluster_open(t, &o, &ev);
    ITEST_RUN_UNTIL(t, 5000, ev.discovery_failed >= 1);
    if (strstr(ev.last_error, "16383") == NULL && strstr(ev.last_error, "20000") == NULL)
        fail_msg("the message does not say what was wrong: %s", ev.last_error);
    assert_false(arc_cluster_ready(cl));
    arc_cluster_free(cl);
    assert_int_equal(fake_finish(f, 5000), 0);
}

/* A node whose slot map names itself with an unknown endpoint ("?": the
 * address the client reached it on) and which then answers every command
 * with MOVED to itself: the command ends with ARC_ERR_REDIRECTS after
 * max_redirects, and the message gives the last redirect. */
static void cluster_redirect_loop(void **state)
{
    itest *t = *state;
    static const char moved[] = "EXPECT_COMMAND 1\n"
                                "SEND -MOVED 866 127.0.0.1:${PORT}\\r\\n\n";
    char script[2048];
    int n = snprintf(script, sizeof script,
                     "ACCEPT\n"
                     "EXPECT_COMMAND 1\n" /* CLUSTER SHARDS */
                     "SEND *1\\r\\n*4\\r\\n$5\\r\\nslots\\r\\n*2\\r\\n:0\\r\\n:16383\\r\\n"
                     "$5\\r\\nnodes\\r\\n*1\\r\\n*14\\r\\n"
                     "$2\\r\\nid\\r\\n$40\\r\\n0123456789012345678901234567890123456789\\r\\n"
                     "$4\\r\\nport\\r\\n:${PORT}\\r\\n$2\\r\\nip\\r\\n$9\\r\\n127.0.0.1\\r\\n"
                     "$8\\r\\nendpoint\\r\\n$1\\r\\n?\\r\\n$4\\r\\nrole\\r\\n$6\\r\\nmaster\\r\\n"
                     "$18\\r\\nreplication-offset\\r\\n:0\\r\\n"
                     "$6\\r\\nhealth\\r\\n$6\\r\\nonline\\r\\n\n"
                     "EXPECT_COMMAND 1\n" /* COMMAND, for the key table */
                     "SEND -ERR not today\\r\\n\n");
    for (int i = 0; i < 6; i++) /* the first try and five redirects */
        n += snprintf(script + n, sizeof script - (size_t)n, "%s", moved);
    snprintf(script + n, sizeof script - (size_t)n, "DRAIN\n");
    fake_server *f = fake_start(script);
    assert_non_null(f);
    static icl_events ev;
    memset(&ev, 0, sizeof ev);
    static arc_cluster_seed seed[1];
    seed[0] = (arc_cluster_seed){"127.0.0.1", fake_port(f)};
    arc_cluster_options o;
    memset(&o, 0, sizeof o);
    o.seeds = seed;
    o.nseeds = 1;
    o.refresh_min_interval_ms = 60000; /* no refresh between the redirects */
    arc_cluster *cl = cluster_open(t, &o, &ev);
    static icl_rec k;
    memset(&k, 0, sizeof k);
    assert_int_equal(arc_cluster_command(cl, icl_rec_cb, &k, "GET %s", "loop"), ARC_OK);
    ITEST_RUN_UNTIL(t, 10000, k.calls == 1);
    assert_int_equal(k.status, ARC_ERR_REDIRECTS);
    assert_null(k.reply);
    if (strstr(k.error, "MOVED 866") == NULL)
        fail_msg("the message does not give the last redirect: %s", k.error);
    assert_int_equal(ev.topology, 1);
    assert_int_equal(arc_group_size(arc_cluster_group(cl)), 1); /* "?" was the seed itself */
    arc_cluster_free(cl);
    assert_int_equal(k.calls, 1);
    assert_int_equal(fake_finish(f, 5000), 0);
    icl_rec_clear(&k);
}

/* With split_multikey, MSET / MGET / EXISTS / TOUCH / DEL / UNLINK over
 * keys of many slots go as one command per slot: MGET's values come back
 * in the order asked (a missing key nil in its place), the counts are the
 * sums, MSET's reply is OK; without the option they are refused. */
#define SPLIT_KEYS 40

static void cluster_split_multikey(void **state)
{
    itest *t = *state;
    icl_flush_all(t);
    arc_cluster_options o;
    memset(&o, 0, sizeof o);
    o.split_multikey = true;
    arc_cluster *cl = cluster_ready(t, &o, NULL);
    static const char *argv[2 * SPLIT_KEYS + 2];
    static char names[SPLIT_KEYS + 1][16], values[SPLIT_KEYS][16];
    for (int i = 0; i < SPLIT_KEYS; i++) {
        snprintf(names[i], sizeof names[i], "sp:%d", i);
        snprintf(values[i], sizeof values[i], "val-%d", i);
    }
    snprintf(names[SPLIT_KEYS], sizeof names[SPLIT_KEYS], "sp:missing");
    static icl_rec k;
    memset(&k, 0, sizeof k);

    argv[0] = "MSET";
    for (int i = 0; i < SPLIT_KEYS; i++) {
        argv[1 + 2 * i] = names[i];
        argv[2 + 2 * i] = values[i];
    }
    assert_int_equal(arc_cluster_command_argv(cl, icl_rec_cb, &k, 1 + 2 * SPLIT_KEYS, argv, NULL),
                     ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, k.calls == 1);
    itest_assert_str(k.reply, ARC_REPLY_STATUS, "OK");
    for (int i = 0; i < SPLIT_KEYS; i += 7) { /* where the harness says, each */
        arc_reply *r = test_cluster_command(t->cluster, icl_owner_of(t, names[i]), "GET %s", names[i]);
        assert_non_null(r);
        itest_assert_str(r, ARC_REPLY_STRING, values[i]);
        arc_reply_free(r);
    }

    /* MGET in reverse, the missing key in the middle. */
    argv[0] = "MGET";
    int n = 1;
    for (int i = SPLIT_KEYS - 1; i >= 0; i--) {
        argv[n++] = names[i];
        if (i == SPLIT_KEYS / 2)
            argv[n++] = names[SPLIT_KEYS];
    }
    icl_rec_clear(&k);
    assert_int_equal(arc_cluster_command_argv(cl, icl_rec_cb, &k, n, argv, NULL), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, k.calls == 1);
    assert_int_equal(k.status, ARC_OK);
    assert_int_equal(k.reply->type, ARC_REPLY_ARRAY);
    assert_int_equal(k.reply->elements, (size_t)(n - 1));
    for (int e = 1; e < n; e++) {
        const arc_reply *v = k.reply->element[e - 1];
        if (argv[e] == names[SPLIT_KEYS]) {
            assert_int_equal(v->type, ARC_REPLY_NIL);
        } else {
            int i = atoi(argv[e] + 3);
            itest_assert_str(v, ARC_REPLY_STRING, values[i]);
        }
    }

    /* Counts: EXISTS and TOUCH (the missing key counted out), DEL of half,
     * UNLINK of the rest, EXISTS again. */
    static const char *const counted[] = {"EXISTS", "TOUCH"};
    for (int c = 0; c < 2; c++) {
        argv[0] = counted[c];
        for (int i = 0; i <= SPLIT_KEYS; i++)
            argv[1 + i] = names[i];
        icl_rec_clear(&k);
        assert_int_equal(arc_cluster_command_argv(cl, icl_rec_cb, &k, SPLIT_KEYS + 2, argv, NULL),
                         ARC_OK);
        ITEST_RUN_UNTIL(t, 5000, k.calls == 1);
        assert_int_equal(k.reply->type, ARC_REPLY_INTEGER);
        assert_int_equal(k.reply->integer, SPLIT_KEYS);
    }
    argv[0] = "DEL";
    icl_rec_clear(&k);
    assert_int_equal(arc_cluster_command_argv(cl, icl_rec_cb, &k, 1 + SPLIT_KEYS / 2, argv, NULL),
                     ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, k.calls == 1);
    assert_int_equal(k.reply->integer, SPLIT_KEYS / 2);
    argv[0] = "UNLINK";
    icl_rec_clear(&k);
    assert_int_equal(arc_cluster_command_argv(cl, icl_rec_cb, &k, SPLIT_KEYS + 2, argv, NULL), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, k.calls == 1);
    assert_int_equal(k.reply->integer, SPLIT_KEYS - SPLIT_KEYS / 2);
    argv[0] = "EXISTS";
    icl_rec_clear(&k);
    assert_int_equal(arc_cluster_command_argv(cl, icl_rec_cb, &k, SPLIT_KEYS + 2, argv, NULL), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, k.calls == 1);
    assert_int_equal(k.reply->integer, 0);
    arc_cluster_free(cl);

    /* Without the option: refused before sending. */
    cl = cluster_ready(t, NULL, NULL);
    icl_rec_clear(&k);
    assert_int_equal(arc_cluster_command_argv(cl, icl_rec_cb, &k, SPLIT_KEYS + 1, argv, NULL),
                     ARC_ERR_CROSSSLOT);
    itest_run_for(t, 20);
    assert_int_equal(k.calls, 0);
    arc_cluster_free(cl);
    icl_rec_clear(&k);
}

/* ---- pub/sub ---- */

/* What one subscription's callback saw. Messages carry numbers as their
 * payloads; each number is counted, so a message heard twice shows. */
typedef struct subrec {
    int confirms, unsubscribes, messages, errors, finals;
    int final_status;
    unsigned char heard[512];
    char moved_why[256]; /* arc_cluster_error() at the last confirmation */
} subrec;

static void sub_cb(arc_cluster *cl, arc_reply *r, int status, void *privdata)
{
    subrec *s = privdata;
    if (r == NULL) {
        s->finals++;
        s->final_status = status;
        return;
    }
    if (r->type == ARC_REPLY_ERROR) {
        s->errors++;
        return;
    }
    assert_true(r->type == ARC_REPLY_ARRAY || r->type == ARC_REPLY_PUSH);
    assert_true(r->elements >= 3);
    const char *kind = r->element[0]->str;
    if (strstr(kind, "unsubscribe") != NULL) {
        s->unsubscribes++;
    } else if (strstr(kind, "subscribe") != NULL) {
        s->confirms++;
        snprintf(s->moved_why, sizeof s->moved_why, "%s", arc_cluster_error(cl));
    } else {
        const arc_reply *payload = r->element[strcmp(kind, "pmessage") == 0 ? 3 : 2];
        int n = atoi(payload->str);
        assert_true(n >= 0 && n < (int)sizeof s->heard);
        s->heard[n]++;
        assert_int_equal(s->heard[n], 1); /* never twice */
        s->messages++;
    }
}

/* Publishes numbered messages (`*next` on) on `channel` through the
 * cluster until `s` hears one; how many were published before it did.
 * Messages published while a subscription moves are lost, as Redis
 * pub/sub keeps none: so the test publishes until one arrives. */
static int publish_until_heard(itest *t, arc_cluster *cl, const char *cmd, const char *channel,
                               subrec *s, int *next)
{
    int before = s->messages;
    for (int tries = 0; *next < (int)sizeof s->heard; tries++) {
        static icl_rec k;
        char payload[16];
        snprintf(payload, sizeof payload, "%d", (*next)++);
        icl_rec_clear(&k);
        assert_int_equal(arc_cluster_command(cl, icl_rec_cb, &k, "%s %s %s", cmd, channel, payload),
                         ARC_OK);
        ITEST_RUN_UNTIL(t, 20000, k.calls == 1);
        assert_int_equal(k.status, ARC_OK);
        assert_int_equal(k.reply->type, ARC_REPLY_INTEGER);
        icl_rec_clear(&k);
        for (int i = 0; i < 20 && s->messages == before; i++)
            itest_run_for(t, 5);
        if (s->messages > before)
            return tries;
    }
    fail_msg("%s %s was never heard", cmd, channel);
    return -1;
}

static int sub_port(arc_cluster *cl, int kind, const char *name)
{
    arc_member *m = arc_cluster_subscription_node(cl, kind, name, strlen(name));
    return m != NULL ? icl_member_port(m) : -1;
}

/* A shard channel keeps delivering across a migration of its slot (the
 * old owner ends the subscription, or the map moves it) and a failover of
 * its new owner, landing each time on the slot's master; it never ends
 * until unsubscribed, and then exactly once. A subscription made before
 * the slot map waits for it; one ended before it was placed ends on the
 * next tick, never inside the call. */
static void cluster_sharded_pubsub_follows_slot(void **state)
{
    itest *t = *state;
    arc_cluster *cl = cluster_open(t, NULL, NULL);
    static subrec s, early;
    memset(&s, 0, sizeof s);
    memset(&early, 0, sizeof early);
    const char *ch = "news{shard}";
    int slot = (int)arc_cluster_key_slot(ch, strlen(ch));
    assert_int_equal(arc_cluster_subscribe(cl, ARC_CLUSTER_SHARD, ch, strlen(ch), sub_cb, &s),
                     ARC_OK);
    assert_int_equal(arc_cluster_subscribe(cl, ARC_CLUSTER_SHARD, ch, strlen(ch), sub_cb, &s),
                     ARC_ERR_DUPLICATE);
    assert_int_equal(arc_cluster_subscribe(cl, 0, ch, strlen(ch), sub_cb, &s), ARC_ERR_INVALID);
    assert_int_equal(arc_cluster_subscribe(cl, ARC_CLUSTER_CHANNEL, "early", 5, sub_cb, &early),
                     ARC_OK);
    assert_int_equal(arc_cluster_unsubscribe(cl, ARC_CLUSTER_CHANNEL, "early", 5), ARC_OK);
    assert_int_equal(arc_cluster_unsubscribe(cl, ARC_CLUSTER_CHANNEL, "early", 5),
                     ARC_ERR_INVALID);
    assert_int_equal(early.finals, 0);
    ITEST_RUN_UNTIL(t, 5000, early.finals == 1);
    assert_int_equal(early.final_status, ARC_OK);
    assert_int_equal(early.confirms, 0);

    ITEST_RUN_UNTIL(t, 5000, s.confirms == 1);
    int from = test_cluster_master_for_slot(t->cluster, slot);
    assert_int_equal(sub_port(cl, ARC_CLUSTER_SHARD, ch), test_cluster_port(t->cluster, from));
    int next = 0;
    assert_int_equal(publish_until_heard(t, cl, "SPUBLISH", ch, &s, &next), 0);

    /* The slot migrates to another master. */
    int to = icl_other_master(t, from);
    assert_int_equal(test_cluster_move_slot(t->cluster, slot, to), 0);
    publish_until_heard(t, cl, "SPUBLISH", ch, &s, &next);
    ITEST_RUN_UNTIL(t, 10000, sub_port(cl, ARC_CLUSTER_SHARD, ch) ==
                                  test_cluster_port(t->cluster, to));
    assert_int_equal(s.confirms, 2);
    assert_true(s.moved_why[0] != '\0');

    /* Its new master fails over to its replica. */
    int replica = test_cluster_replica_of(t->cluster, to);
    assert_true(replica >= 0);
    assert_int_equal(test_cluster_failover(t->cluster, replica), 0);
    publish_until_heard(t, cl, "SPUBLISH", ch, &s, &next);
    ITEST_RUN_UNTIL(t, 10000, sub_port(cl, ARC_CLUSTER_SHARD, ch) ==
                                  test_cluster_port(t->cluster, replica));
    publish_until_heard(t, cl, "SPUBLISH", ch, &s, &next);
    assert_int_equal(s.finals, 0);
    assert_int_equal(s.errors, 0);
    assert_true(s.confirms >= 3);

    assert_int_equal(arc_cluster_unsubscribe(cl, ARC_CLUSTER_SHARD, ch, strlen(ch)), ARC_OK);
    assert_int_equal(arc_cluster_unsubscribe(cl, ARC_CLUSTER_SHARD, ch, strlen(ch)),
                     ARC_ERR_INVALID);
    ITEST_RUN_UNTIL(t, 5000, s.finals == 1);
    assert_int_equal(s.final_status, ARC_OK);
    assert_int_equal(s.unsubscribes, 1);
    /* The name is free again once its NULL call came. */
    static subrec again;
    memset(&again, 0, sizeof again);
    assert_int_equal(arc_cluster_subscribe(cl, ARC_CLUSTER_SHARD, ch, strlen(ch), sub_cb, &again),
                     ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, again.confirms == 1);
    arc_cluster_free(cl);
    assert_int_equal(s.finals, 1);
    assert_int_equal(again.finals, 1);
    assert_int_equal(again.final_status, ARC_ERR_FREED);
    assert_int_equal(early.finals, 1);
}

/* Channels and patterns live on one node; when that node is killed they
 * move to another, and keep hearing PUBLISH (which the cluster forwards
 * to every node). */
static void cluster_pubsub_node_killed(void **state)
{
    itest *t = *state;
    arc_cluster_options o;
    memset(&o, 0, sizeof o);
    o.max_retries = 60; /* PUBLISH may meet the dead node until the promotion */
    o.retry_max_delay_ms = 200;
    arc_cluster *cl = cluster_ready(t, &o, NULL);
    static subrec chan, pat;
    memset(&chan, 0, sizeof chan);
    memset(&pat, 0, sizeof pat);
    assert_int_equal(
        arc_cluster_subscribe(cl, ARC_CLUSTER_CHANNEL, "alerts", 6, sub_cb, &chan), ARC_OK);
    assert_int_equal(arc_cluster_subscribe(cl, ARC_CLUSTER_PATTERN, "alert*", 6, sub_cb, &pat),
                     ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, chan.confirms == 1 && pat.confirms == 1);
    int home = sub_port(cl, ARC_CLUSTER_CHANNEL, "alerts");
    assert_int_equal(sub_port(cl, ARC_CLUSTER_PATTERN, "alert*"), home);
    int victim = test_cluster_node_by_port(t->cluster, home);
    assert_true(victim >= 0);
    int next = 0;
    publish_until_heard(t, cl, "PUBLISH", "alerts", &chan, &next);
    ITEST_RUN_UNTIL(t, 5000, pat.messages == chan.messages);

    assert_int_equal(test_cluster_kill(t->cluster, victim), 0);
    ITEST_RUN_UNTIL(t, 20000, chan.confirms == 2 && pat.confirms == 2);
    int moved = sub_port(cl, ARC_CLUSTER_CHANNEL, "alerts");
    assert_true(moved > 0 && moved != home);
    assert_int_equal(sub_port(cl, ARC_CLUSTER_PATTERN, "alert*"), moved);
    publish_until_heard(t, cl, "PUBLISH", "alerts", &chan, &next);
    ITEST_RUN_UNTIL(t, 5000, pat.messages == chan.messages);
    assert_int_equal(chan.finals + pat.finals, 0);

    assert_int_equal(test_cluster_wait_ok(t->cluster, 15000), 0);
    assert_int_equal(test_cluster_restart(t->cluster, victim), 0);
    assert_int_equal(test_cluster_wait_ok(t->cluster, 15000), 0);
    assert_int_equal(arc_cluster_unsubscribe(cl, ARC_CLUSTER_CHANNEL, "alerts", 6), ARC_OK);
    assert_int_equal(arc_cluster_unsubscribe(cl, ARC_CLUSTER_PATTERN, "alert*", 6), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, chan.finals == 1 && pat.finals == 1);
    assert_int_equal(chan.final_status, ARC_OK);
    assert_int_equal(pat.final_status, ARC_OK);
    arc_cluster_free(cl);
    assert_int_equal(chan.finals + pat.finals, 2);
}

/* A scripted node serving every slot, for what a real one will not do on
 * demand: a subscription refused (NOPERM: the error reply, then the NULL
 * call), one met with TRYAGAIN (tried again, the caller never sees it),
 * and an unsolicited sunsubscribe (placed again at once, as after a slot
 * migrates away); then unsubscribed. Each subscribe goes on the node's
 * second connection, the one for subscriptions. */
#define SSUB(name) "EXPECT \"*2\\r\\n$10\\r\\nSSUBSCRIBE\\r\\n$1\\r\\n" name "\\r\\n\"\n"
#define SFRAME(kind, klen, name, tail) \
    "SEND \"*3\\r\\n$" klen "\\r\\n" kind "\\r\\n$1\\r\\n" name "\\r\\n" tail "\"\n"

static void cluster_pubsub_scripted(void **state)
{
    itest *t = *state;
    static const char script[] =
        "ACCEPT\n"
        "EXPECT_COMMAND 1\n" /* CLUSTER SHARDS */
        "SEND *1\\r\\n*4\\r\\n$5\\r\\nslots\\r\\n*2\\r\\n:0\\r\\n:16383\\r\\n"
        "$5\\r\\nnodes\\r\\n*1\\r\\n*14\\r\\n"
        "$2\\r\\nid\\r\\n$40\\r\\n0123456789012345678901234567890123456789\\r\\n"
        "$4\\r\\nport\\r\\n:${PORT}\\r\\n$2\\r\\nip\\r\\n$9\\r\\n127.0.0.1\\r\\n"
        "$8\\r\\nendpoint\\r\\n$9\\r\\n127.0.0.1\\r\\n$4\\r\\nrole\\r\\n$6\\r\\nmaster\\r\\n"
        "$18\\r\\nreplication-offset\\r\\n:0\\r\\n"
        "$6\\r\\nhealth\\r\\n$6\\r\\nonline\\r\\n\n"
        "EXPECT_COMMAND 1\n" /* COMMAND */
        "SEND -ERR not today\\r\\n\n"
        "ACCEPT\n" /* the subscriptions' connection */
        SSUB("a") SSUB("b")
        "SEND -NOPERM no access to the 'a' channel\\r\\n\n"
        "SEND -TRYAGAIN not now\\r\\n\n"
        SSUB("b")
        SFRAME("ssubscribe", "10", "b", ":1\\r\\n")
        SFRAME("smessage", "8", "b", "$1\\r\\n7\\r\\n")
        SFRAME("sunsubscribe", "12", "b", ":0\\r\\n")
        SSUB("b")
        SFRAME("ssubscribe", "10", "b", ":1\\r\\n")
        SFRAME("smessage", "8", "b", "$1\\r\\n8\\r\\n")
        "EXPECT \"*2\\r\\n$12\\r\\nSUNSUBSCRIBE\\r\\n$1\\r\\nb\\r\\n\"\n"
        SFRAME("sunsubscribe", "12", "b", ":0\\r\\n")
        "DRAIN\n";
    fake_server *f = fake_start(script);
    assert_non_null(f);
    static arc_cluster_seed seed[1];
    seed[0] = (arc_cluster_seed){"127.0.0.1", fake_port(f)};
    arc_cluster_options o;
    memset(&o, 0, sizeof o);
    o.seeds = seed;
    o.nseeds = 1;
    o.refresh_min_interval_ms = 60000; /* no refresh within the script */
    arc_cluster *cl = cluster_ready(t, &o, NULL);
    static subrec a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    assert_int_equal(arc_cluster_subscribe(cl, ARC_CLUSTER_SHARD, "a", 1, sub_cb, &a), ARC_OK);
    assert_int_equal(arc_cluster_subscribe(cl, ARC_CLUSTER_SHARD, "b", 1, sub_cb, &b), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, a.finals == 1 && b.confirms == 2 && b.messages == 2);
    assert_int_equal(a.errors, 1);
    assert_int_equal(a.final_status, ARC_OK);
    assert_int_equal(a.confirms, 0);
    assert_int_equal(b.errors, 0);
    assert_int_equal(b.heard[7] + b.heard[8], 2);
    if (strstr(b.moved_why, "unasked") == NULL)
        fail_msg("the second confirmation does not say why it moved: %s", b.moved_why);
    assert_int_equal(b.finals, 0);
    assert_int_equal(arc_cluster_unsubscribe(cl, ARC_CLUSTER_SHARD, "b", 1), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, b.finals == 1);
    assert_int_equal(b.final_status, ARC_OK);
    assert_int_equal(b.unsubscribes, 1);
    arc_cluster_free(cl);
    assert_int_equal(a.finals + b.finals, 2);
    assert_int_equal(fake_finish(f, 5000), 0);
}

const struct CMUnitTest itest_cluster_scenarios[] = {
    cmocka_unit_test(cluster_routes_by_slot),
    cmocka_unit_test(cluster_follows_moved),
    cmocka_unit_test(cluster_ask_and_tryagain),
    cmocka_unit_test(cluster_failover_under_load),
    cmocka_unit_test(cluster_master_killed),
    cmocka_unit_test(cluster_replica_reads),
    cmocka_unit_test(cluster_no_seed),
    cmocka_unit_test(cluster_bad_slot_map),
    cmocka_unit_test(cluster_redirect_loop),
    cmocka_unit_test(cluster_split_multikey),
    cmocka_unit_test(cluster_sharded_pubsub_follows_slot),
    cmocka_unit_test(cluster_pubsub_node_killed),
    cmocka_unit_test(cluster_pubsub_scripted),
};
const size_t itest_cluster_scenario_count =
    sizeof itest_cluster_scenarios / sizeof itest_cluster_scenarios[0];
