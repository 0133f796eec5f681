/* scenarios_cluster_tls.c (tests): the cluster client (<arc/cluster.h>)
 * over TLS, on a real Redis Cluster of six nodes whose clients, bus and
 * replication all speak TLS (test/support/cluster.h, `tls`), on every
 * loop: the "<loop>-cluster-tls" group of itest.c, which starts that
 * cluster once and gives each scenario t->cluster, and t->tls, a
 * configuration that trusts the harness CA (tls_certs.h).
 *
 * The client is given TLS ports as seeds and TLS in node_options, and
 * must then find every node on its TLS port: the slot map, MOVED after a
 * slot move and the map after a failover name TLS ports to a TLS client.
 * Every scenario checks that each member of the cluster's table is on a
 * node's TLS port and that its connection is TLS. Scenarios leave the
 * cluster as healthy as they found it (roles and slot owners may have
 * moved: each asks the harness where things are).
 *
 * The two ways a map is learnt give TLS ports differently: CLUSTER SHARDS
 * lists both ports of each node ("port" the plain one, "tls-port"),
 * whatever the connection; CLUSTER SLOTS and MOVED give the TLS port to a
 * TLS connection only. So the scenarios on the real cluster run twice:
 * as a client of Redis 7 meets them (SHARDS), and with CLUSTER SHARDS
 * refused by the nodes' ACL, as from a server before 7, so that the
 * client falls back to CLUSTER SLOTS. */
#define _GNU_SOURCE
#include "itest_cluster.h"

#include <arc/tls.h>

#include "cluster.h"
#include "tls_certs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static arc_options node_options;
static arc_cluster_seed seeds[2];
/* What the client learns the map from, for the messages: CLUSTER SHARDS,
 * or CLUSTER SLOTS while the nodes refuse SHARDS (shards_refused()). */
static const char *map_from = "CLUSTER SHARDS";

/* Options for a client of the TLS cluster: seeds on the TLS ports of nodes
 * 0 and 1 (masters at the start, any node later: every node knows the
 * map), every node's connection over TLS with `tls`. */
static arc_cluster_options tls_options(itest *t, arc_tls *tls)
{
    seeds[0] = (arc_cluster_seed){"127.0.0.1", test_cluster_tls_port(t->cluster, 0)};
    seeds[1] = (arc_cluster_seed){"127.0.0.1", test_cluster_tls_port(t->cluster, 1)};
    memset(&node_options, 0, sizeof node_options);
    node_options.connect_timeout_ms = 2000;
    node_options.transport = arc_tls_transport(tls);
    arc_cluster_options o;
    memset(&o, 0, sizeof o);
    o.seeds = seeds;
    o.nseeds = 2;
    o.node_options = &node_options;
    return o;
}

/* Every member of the table is a node of the cluster on its TLS port (a
 * plain port here would be a TLS hello sent to a plaintext server). */
static void assert_on_tls_ports(itest *t, arc_cluster *cl, const char *when)
{
    arc_group *g = arc_cluster_group(cl);
    for (arc_member *m = arc_group_next(g, NULL); m != NULL; m = arc_group_next(g, m)) {
        int port = icl_member_port(m);
        int node = test_cluster_node_by_port(t->cluster, port);
        if (node < 0)
            fail_msg("%s: member %s is no node of the cluster", when, arc_member_name(m));
        if (port != test_cluster_tls_port(t->cluster, node))
            fail_msg("%s (from %s): member %s is node %d's plain port, not its TLS port %d", when,
                     map_from, arc_member_name(m), node, test_cluster_tls_port(t->cluster, node));
    }
}

/* Every member READY, and over TLS: each handshake verified the node's
 * certificate against the CA. */
static void assert_all_ready_over_tls(itest *t, arc_cluster *cl)
{
    arc_group *g = arc_cluster_group(cl);
    size_t n = (size_t)test_cluster_size(t->cluster);
    assert_on_tls_ports(t, cl, "the first map");
    assert_int_equal(arc_group_size(g), n);
    ITEST_RUN_UNTIL(t, 5000, arc_group_count(g, ARC_STATE_READY) == n);
    for (arc_member *m = arc_group_next(g, NULL); m != NULL; m = arc_group_next(g, m)) {
        const char *v = arc_tls_version_of(arc_member_context(m));
        if (v == NULL)
            fail_msg("member %s is READY but not over TLS", arc_member_name(m));
    }
}

static arc_cluster *tls_cluster_ready(itest *t, arc_cluster_options o, icl_events *ev)
{
    arc_cluster *cl = icl_open(t, o, ev);
    ITEST_RUN_UNTIL(t, 5000, arc_cluster_ready(cl));
    assert_all_ready_over_tls(t, cl);
    return cl;
}

/* The node the client's map has as the master of `key`'s slot, which must
 * be on a TLS port. */
static int client_owner_of(itest *t, arc_cluster *cl, const char *key)
{
    arc_member *m = arc_cluster_slot_master(cl, arc_cluster_key_slot(key, strlen(key)));
    assert_non_null(m);
    int port = icl_member_port(m);
    int node = test_cluster_node_by_port(t->cluster, port);
    if (node < 0 || port != test_cluster_tls_port(t->cluster, node))
        fail_msg("the client's master for %s (map from %s) is %s, not a node's TLS port", key,
                 map_from, arc_member_name(m));
    return node;
}

/* Whether the nodes refuse CLUSTER SHARDS to the default user (which the
 * client and the harness both are), on every running node: refused, the
 * client learns the map from CLUSTER SLOTS. */
static void shards_refused(itest *t, bool refused)
{
    for (int i = 0; i < test_cluster_size(t->cluster); i++) {
        if (!test_cluster_is_up(t->cluster, i))
            continue;
        arc_reply *r = test_cluster_command(t->cluster, i, "ACL SETUSER default %s",
                                            refused ? "-cluster|shards" : "+cluster|shards");
        assert_non_null(r);
        if (r->type != ARC_REPLY_STATUS)
            fail_msg("ACL SETUSER on node %d: %s", i, r->str ? r->str : "?");
        arc_reply_free(r);
    }
    map_from = refused ? "CLUSTER SLOTS" : "CLUSTER SHARDS";
}

/* How often the running nodes ran `command` ("cluster|slots"), from their
 * INFO commandstats: which of the two the client asked. */
static long long calls_of(itest *t, const char *command)
{
    char field[64];
    snprintf(field, sizeof field, "cmdstat_%s:calls=", command);
    long long calls = 0;
    for (int i = 0; i < test_cluster_size(t->cluster); i++) {
        if (!test_cluster_is_up(t->cluster, i))
            continue;
        arc_reply *r = test_cluster_command(t->cluster, i, "INFO commandstats");
        assert_non_null(r);
        const char *p = r->type == ARC_REPLY_STRING ? strstr(r->str, field) : NULL;
        if (p != NULL)
            calls += atoll(p + strlen(field));
        arc_reply_free(r);
    }
    return calls;
}

/* Each scenario starts with the keys gone and CLUSTER SHARDS allowed
 * (whatever a failed scenario before it left). */
static void flush_all(itest *t)
{
    icl_flush_all(t);
    shards_refused(t, false);
}

/* ---- keys over every slot ---- */

#define KEYS 2000
#define DEPTH 256

/* Each command's privdata is its key's index; the calls are counted per
 * key, so that a callback run twice or never is seen, not averaged out. */
static struct {
    int index[KEYS];
    unsigned char set_calls[KEYS], get_calls[KEYS];
    int sets, gets, bad;
    char last_bad[160];
} kv;

static void kv_bad(int i, const char *what, const arc_reply *r, int status)
{
    kv.bad++;
    snprintf(kv.last_bad, sizeof kv.last_bad, "%s k:%d: %s", what, i,
             r ? (r->str ? r->str : arc_reply_type_name(r->type)) : arc_status_name(status));
}

static void on_set(arc_cluster *cl, arc_reply *r, int status, void *privdata)
{
    (void)cl;
    int i = *(const int *)privdata;
    kv.set_calls[i]++;
    kv.sets++;
    if (status != ARC_OK || r->type != ARC_REPLY_STATUS || strcmp(r->str, "OK") != 0)
        kv_bad(i, "SET", r, status);
}

static void on_get(arc_cluster *cl, arc_reply *r, int status, void *privdata)
{
    (void)cl;
    int i = *(const int *)privdata;
    kv.get_calls[i]++;
    kv.gets++;
    char want[16];
    snprintf(want, sizeof want, "v%d", i);
    if (status != ARC_OK || r->type != ARC_REPLY_STRING || strcmp(r->str, want) != 0)
        kv_bad(i, "GET", r, status);
}

/* 2,000 keys over every slot, written then read back pipelined over TLS,
 * each callback once with its own value; a sample read from the owning
 * master by the harness; DBSIZE on every master sums to the count. */
static void keys_over_slots(itest *t, bool via_slots)
{
    flush_all(t);
    shards_refused(t, via_slots);
    const char *asked = via_slots ? "cluster|slots" : "cluster|shards";
    long long asked_before = calls_of(t, asked);
    static icl_events ev;
    memset(&ev, 0, sizeof ev);
    arc_cluster *cl = tls_cluster_ready(t, tls_options(t, t->tls), &ev);
    assert_int_equal(ev.topology, 1);
    /* The map came from what the scenario meant it to. */
    assert_true(calls_of(t, asked) > asked_before);
    memset(&kv, 0, sizeof kv);
    for (int i = 0; i < KEYS; i++) {
        char key[16], val[16];
        snprintf(key, sizeof key, "k:%d", i);
        snprintf(val, sizeof val, "v%d", i);
        kv.index[i] = i;
        assert_int_equal(arc_cluster_command(cl, on_set, &kv.index[i], "SET %s %s", key, val),
                         ARC_OK);
        if ((i + 1) % DEPTH == 0)
            ITEST_RUN_UNTIL(t, 10000, kv.sets == i + 1);
    }
    ITEST_RUN_UNTIL(t, 10000, kv.sets == KEYS);
    for (int i = 0; i < KEYS; i++) {
        char key[16];
        snprintf(key, sizeof key, "k:%d", i);
        assert_int_equal(arc_cluster_command(cl, on_get, &kv.index[i], "GET %s", key), ARC_OK);
        if ((i + 1) % DEPTH == 0)
            ITEST_RUN_UNTIL(t, 10000, kv.gets == i + 1);
    }
    ITEST_RUN_UNTIL(t, 10000, kv.gets == KEYS);
    if (kv.bad != 0)
        fail_msg("%d of %d replies wrong, the last %s", kv.bad, 2 * KEYS, kv.last_bad);
    for (int i = 0; i < KEYS; i++)
        if (kv.set_calls[i] != 1 || kv.get_calls[i] != 1)
            fail_msg("k:%d: SET called back %d times, GET %d times", i, kv.set_calls[i],
                     kv.get_calls[i]);
    /* Where the client sent them is where the cluster keeps them. */
    for (int i = 0; i < KEYS; i += 101) {
        char key[16], want[16];
        snprintf(key, sizeof key, "k:%d", i);
        snprintf(want, sizeof want, "v%d", i);
        int owner = icl_owner_of(t, key);
        assert_int_equal(client_owner_of(t, cl, key), owner);
        arc_reply *r = test_cluster_command(t->cluster, owner, "GET %s", key);
        assert_non_null(r);
        itest_assert_str(r, ARC_REPLY_STRING, want);
        arc_reply_free(r);
    }

    assert_int_equal(icl_masters_dbsize(t, cl, 3), KEYS);
    assert_on_tls_ports(t, cl, "after the keys");
    arc_cluster_free(cl);
    assert_int_equal(kv.sets, KEYS);
    assert_int_equal(kv.gets, KEYS);
    shards_refused(t, false);
}

static void cluster_tls_keys(void **state)
{
    keys_over_slots(*state, false);
}

static void cluster_tls_keys_via_slots(void **state)
{
    keys_over_slots(*state, true);
}

/* ---- MOVED ---- */

/* A slot moved behind the client's back: the GET meets MOVED, which a TLS
 * client is told with the new owner's TLS port; the client follows it
 * there over TLS, and its map has the new owner on its TLS port. */
static void follows_moved(itest *t, bool via_slots)
{
    flush_all(t);
    shards_refused(t, via_slots);
    static icl_events ev;
    memset(&ev, 0, sizeof ev);
    arc_cluster *cl = tls_cluster_ready(t, tls_options(t, t->tls), &ev);
    static icl_rec k;
    memset(&k, 0, sizeof k);
    icl_do(t, cl, &k, "SET %s %s", "moving-key", "here");
    itest_assert_str(k.reply, ARC_REPLY_STATUS, "OK");
    int slot = (int)arc_cluster_key_slot("moving-key", 10);
    int from = icl_owner_of(t, "moving-key");
    int to = icl_other_master(t, from);
    assert_int_equal(client_owner_of(t, cl, "moving-key"), from);
    assert_int_equal(test_cluster_move_slot(t->cluster, slot, to), 0);

    icl_do(t, cl, &k, "GET %s", "moving-key");
    if (k.status != ARC_OK || k.reply == NULL)
        fail_msg("GET after the move: %s (%s)", arc_status_name(k.status), k.error);
    itest_assert_str(k.reply, ARC_REPLY_STRING, "here");
    assert_int_equal(client_owner_of(t, cl, "moving-key"), to);
    arc_member *m = arc_cluster_slot_master(cl, (unsigned)slot);
    assert_int_equal(arc_member_state(m), ARC_STATE_READY);
    assert_non_null(arc_tls_version_of(arc_member_context(m)));
    /* The refresh the MOVED asked for comes in too, with TLS ports. */
    ITEST_RUN_UNTIL(t, 5000, ev.topology >= 2);
    assert_on_tls_ports(t, cl, "the map after MOVED");
    assert_int_equal(client_owner_of(t, cl, "moving-key"), to);

    /* And back, for the scenarios after; the client follows again. */
    assert_int_equal(test_cluster_move_slot(t->cluster, slot, from), 0);
    icl_do(t, cl, &k, "GET %s", "moving-key");
    if (k.status != ARC_OK || k.reply == NULL)
        fail_msg("GET after the move back: %s (%s)", arc_status_name(k.status), k.error);
    itest_assert_str(k.reply, ARC_REPLY_STRING, "here");
    assert_int_equal(client_owner_of(t, cl, "moving-key"), from);
    arc_cluster_free(cl);
    icl_rec_clear(&k);
    shards_refused(t, false);
}

static void cluster_tls_moved(void **state)
{
    follows_moved(*state, false);
}

static void cluster_tls_moved_via_slots(void **state)
{
    follows_moved(*state, true);
}

/* ---- a failover under load ---- */

#define LOAD_TOTAL 3000
#define LOAD_DEPTH 128
#define COUNTERS 32

/* INCRs over COUNTERS counters, LOAD_DEPTH in flight, each with a slot of
 * its own that counts its callbacks. */
static struct {
    arc_cluster *cl;
    int issued, done, ok, unanswered, other;
    char other_error[256];
    long long answered[COUNTERS];
    int counter[LOAD_TOTAL];
    unsigned char calls[LOAD_TOTAL];
} load;

static void load_more(void);

static void on_incr(arc_cluster *cl, arc_reply *r, int status, void *privdata)
{
    int i = (int)((const int *)privdata - load.counter);
    load.calls[i]++;
    load.done++;
    if (status == ARC_OK && r->type == ARC_REPLY_INTEGER) {
        load.ok++;
        load.answered[load.counter[i]]++;
    } else if (status == ARC_ERR_UNANSWERED) {
        load.unanswered++; /* it may have run: the counter tells */
    } else {
        load.other++;
        snprintf(load.other_error, sizeof load.other_error, "%s (%s)",
                 r && r->type == ARC_REPLY_ERROR ? r->str : arc_status_name(status),
                 arc_cluster_error(cl));
    }
    load_more();
}

static void load_more(void)
{
    while (load.issued < LOAD_TOTAL && load.issued - load.done < LOAD_DEPTH) {
        int i = load.issued++;
        load.counter[i] = i % COUNTERS;
        char key[16];
        snprintf(key, sizeof key, "tcnt:%d", load.counter[i]);
        if (arc_cluster_command(load.cl, on_incr, &load.counter[i], "INCR %s", key) != ARC_OK)
            fail_msg("INCR %d refused", i);
    }
}

/* A graceful failover (CLUSTER FAILOVER on a replica) under 128 INCRs in
 * flight over TLS: every callback once, each answered or UNANSWERED,
 * every counter between the INCRs answered and those sent, and the map
 * has the new master on its TLS port. */
static void failover_under_load(itest *t, bool via_slots)
{
    flush_all(t);
    shards_refused(t, via_slots);
    arc_cluster *cl = tls_cluster_ready(t, tls_options(t, t->tls), NULL);
    memset(&load, 0, sizeof load);
    load.cl = cl;
    load_more();
    ITEST_RUN_UNTIL(t, 10000, load.done >= 500);
    int master = icl_owner_of(t, "tcnt:0");
    int replica = test_cluster_replica_of(t->cluster, master);
    assert_true(replica >= 0);
    assert_int_equal(test_cluster_failover(t->cluster, replica), 0);
    ITEST_RUN_UNTIL(t, 20000, load.done == LOAD_TOTAL);
    for (int i = 0; i < LOAD_TOTAL; i++)
        if (load.calls[i] != 1)
            fail_msg("INCR %d called back %d times", i, load.calls[i]);
    if (load.other != 0)
        fail_msg("%d INCRs failed otherwise than UNANSWERED, the last: %s", load.other,
                 load.other_error);
    assert_int_equal(load.ok + load.unanswered, LOAD_TOTAL);
    long long sum = 0;
    for (int c = 0; c < COUNTERS; c++) {
        char key[16];
        snprintf(key, sizeof key, "tcnt:%d", c);
        int n = icl_owner_of(t, key);
        arc_reply *r = test_cluster_command(t->cluster, n, "GET %s", key);
        assert_non_null(r);
        long long v = r->type == ARC_REPLY_STRING ? atoll(r->str) : 0;
        arc_reply_free(r);
        if (v < load.answered[c])
            fail_msg("%s is %lld on node %d, below the %lld INCRs answered", key, v, n,
                     load.answered[c]);
        sum += v;
    }
    if (sum > LOAD_TOTAL)
        fail_msg("the counters sum to %lld, more than the %d INCRs sent", sum, LOAD_TOTAL);

    /* The slot of tcnt:0 is the new master's, on its TLS port. */
    static icl_rec k;
    memset(&k, 0, sizeof k);
    icl_do(t, cl, &k, "INCR %s", "tcnt:0");
    assert_int_equal(k.status, ARC_OK);
    assert_int_equal(k.reply->type, ARC_REPLY_INTEGER);
    assert_int_equal(icl_owner_of(t, "tcnt:0"), replica);
    assert_int_equal(client_owner_of(t, cl, "tcnt:0"), replica);
    assert_on_tls_ports(t, cl, "after the failover");
    arc_cluster_free(cl);
    icl_rec_clear(&k);
    shards_refused(t, false);
}

static void cluster_tls_failover_under_load(void **state)
{
    failover_under_load(*state, false);
}

static void cluster_tls_failover_via_slots(void **state)
{
    failover_under_load(*state, true);
}

/* ---- a CA that does not trust the nodes ---- */

/* A client that trusts another CA: every seed's handshake fails
 * (certificate verify failed), discovery says so with the TLS reason, and
 * the command waiting for a first map ends with ARC_ERR_UNROUTED and that
 * reason. The connect timeout is made longer than the wait: the failure
 * must come from the handshakes themselves, not from a timeout. */
static void cluster_tls_wrong_ca(void **state)
{
    itest *t = *state;
    const test_tls_files *files = test_tls_files_get();
    assert_non_null(files);
    arc_tls_options to;
    memset(&to, 0, sizeof to);
    to.ca_file = files->other_ca_cert;
    char err[256];
    arc_tls *wrong = arc_tls_new(&to, err, sizeof err);
    if (wrong == NULL)
        fail_msg("arc_tls_new: %s", err);
    static icl_events ev;
    memset(&ev, 0, sizeof ev);
    arc_cluster_options o = tls_options(t, wrong);
    node_options.connect_timeout_ms = 10000;
    arc_cluster *cl = icl_open(t, o, &ev);
    static icl_rec k;
    memset(&k, 0, sizeof k);
    assert_int_equal(arc_cluster_command(cl, icl_rec_cb, &k, "GET %s", "x"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, k.calls == 1);
    assert_int_equal(k.status, ARC_ERR_UNROUTED);
    assert_null(k.reply);
    if (strstr(k.error, "certificate verify failed") == NULL)
        fail_msg("the command's reason does not give the TLS failure: %s", k.error);
    assert_true(ev.discovery_failed >= 2); /* both seeds were asked */
    if (strstr(ev.last_error, "TLS") == NULL ||
        strstr(ev.last_error, "certificate verify failed") == NULL)
        fail_msg("discovery's reason does not give the TLS failure: %s", ev.last_error);
    /* Each seed's member ended FAILED with ARC_ERR_TLS (its row is read as
     * it leaves the table, which may follow the command's callback). */
    ITEST_RUN_UNTIL(t, 5000, ev.removed >= 2);
    if (ev.removed_failure != ARC_ERR_TLS)
        fail_msg("a seed's connection ended with %s (%s), not ARC_ERR_TLS",
                 arc_status_name(ev.removed_failure), ev.removed_error);
    assert_false(arc_cluster_ready(cl));
    assert_int_equal(ev.topology, 0);
    arc_cluster_free(cl);
    assert_int_equal(k.calls, 1);
    icl_rec_clear(&k);
    arc_tls_free(wrong);
}

const struct CMUnitTest itest_cluster_tls_scenarios[] = {
    cmocka_unit_test(cluster_tls_keys),
    cmocka_unit_test(cluster_tls_moved),
    cmocka_unit_test(cluster_tls_failover_under_load),
    cmocka_unit_test(cluster_tls_keys_via_slots),
    cmocka_unit_test(cluster_tls_moved_via_slots),
    cmocka_unit_test(cluster_tls_failover_via_slots),
    cmocka_unit_test(cluster_tls_wrong_ca),
};
const size_t itest_cluster_tls_scenario_count =
    sizeof itest_cluster_tls_scenarios / sizeof itest_cluster_tls_scenarios[0];
