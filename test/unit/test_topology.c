/* test_topology.c: pins the CLUSTER SHARDS and CLUSTER SLOTS parsers: the
 * shapes Redis sends (RESP2 and RESP3, replies captured from Redis 7.0),
 * unknown endpoints, IPv6 and host names, empty shards, each node once,
 * every malformed shape with the message that names it, and every
 * allocation failing in turn.
 *
 * Fixtures are written in the notation of resp_notation.h, and each is
 * read once as RESP2 and once as RESP3. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "topology.h"

#include "failing_alloc.h"
#include "resp_notation.h"

#include <arc/reader.h>
#include <arc/status.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Running the parsers. */

enum which { SHARDS, SLOTS };

typedef int parse_fn(arc_topology *, const arc_reply *, const char *, const arc_allocator *,
                     char *, size_t);

static parse_fn *const parsers[] = {arc__topology_from_shards, arc__topology_from_slots};

/* A topology left empty: what every failure leaves. */
static void assert_empty(const arc_topology *t)
{
    assert_int_equal(t->nnodes, 0);
    assert_null(t->nodes);
    assert_int_equal(t->covered, 0);
    for (size_t s = 0; s < ARC_SLOTS; s++)
        if (t->slot_master[s] != ARC_TOPO_NONE)
            fail_msg("slot %zu has master %u in an empty topology", s, t->slot_master[s]);
}

/* Parses, expecting ARC_OK, and checks the invariants every topology
 * keeps: each slot's owner is a master, each replica's master is one,
 * `covered` counts the owned slots, and find() gives each node back. */
static void parse_ok(arc_topology *t, enum which w, const char *notation, int resp,
                     const char *from)
{
    arc_reply *r = reply_of(notation, resp);
    char err[256] = "untouched";
    int rc = parsers[w](t, r, from, NULL, err, sizeof err);
    arc_reply_free(r);
    if (rc != ARC_OK)
        fail_msg("RESP%d: %s (%s)", resp, arc_status_name(rc), err);
    assert_string_equal(err, "");
    size_t covered = 0;
    for (size_t s = 0; s < ARC_SLOTS; s++) {
        uint16_t m = t->slot_master[s];
        if (m == ARC_TOPO_NONE)
            continue;
        covered++;
        assert_true(m < t->nnodes);
        assert_true(t->nodes[m].master);
    }
    assert_int_equal(covered, t->covered);
    for (size_t k = 0; k < t->nnodes; k++) {
        const arc_topo_node *n = &t->nodes[k];
        assert_non_null(n->id);
        assert_non_null(n->host);
        assert_true(n->port >= 1 && n->port <= 65535);
        if (n->master) {
            assert_int_equal(n->master_index, ARC_TOPO_NONE);
        } else {
            assert_true(n->master_index < t->nnodes);
            assert_true(t->nodes[n->master_index].master);
        }
        assert_int_equal(arc__topology_find(t, n->host, n->port), k);
    }
}

/* The node at host:port, which must be there. */
static const arc_topo_node *node(const arc_topology *t, const char *host, int port)
{
    uint16_t k = arc__topology_find(t, host, port);
    if (k == ARC_TOPO_NONE)
        fail_msg("no node %s:%d", host, port);
    return &t->nodes[k];
}

static void assert_owner(const arc_topology *t, unsigned slot, const char *host, int port)
{
    uint16_t m = t->slot_master[slot];
    if (host == NULL) {
        if (m != ARC_TOPO_NONE)
            fail_msg("slot %u is served by %s:%d, expected nobody", slot, t->nodes[m].host,
                     t->nodes[m].port);
        return;
    }
    if (m == ARC_TOPO_NONE)
        fail_msg("slot %u is served by nobody, expected %s:%d", slot, host, port);
    if (strcmp(t->nodes[m].host, host) != 0 || t->nodes[m].port != port)
        fail_msg("slot %u is served by %s:%d, expected %s:%d", slot, t->nodes[m].host,
                 t->nodes[m].port, host, port);
}

static void assert_replica_of(const arc_topology *t, const char *host, int port,
                              const char *mhost, int mport)
{
    const arc_topo_node *n = node(t, host, port);
    assert_false(n->master);
    assert_int_equal(n->master_index, arc__topology_find(t, mhost, mport));
}

/* ------------------------------------------------------------------------ */
/* CLUSTER SHARDS */

#define ID_A "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"
#define ID_B "'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'"
#define ID_C "'cccccccccccccccccccccccccccccccccccccccc'"

static const char three_shards[] =
    "[ { 'slots' [ :0 :5460 ] 'nodes' ["
    "    { 'id' " ID_A " 'port' :7000 'ip' '10.0.0.1' 'endpoint' '10.0.0.1'"
    "      'role' 'master' 'replication-offset' :72156 'health' 'online' }"
    "    { 'id' " ID_B " 'port' :7003 'ip' '10.0.0.4' 'endpoint' '10.0.0.4'"
    "      'role' 'replica' 'replication-offset' :72156 'health' 'online' } ] }"
    "  { 'slots' [ :5461 :10922 ] 'nodes' ["
    "    { 'id' " ID_C " 'port' :7004 'tls-port' :8004 'ip' '10.0.0.5' 'endpoint' '10.0.0.5'"
    "      'role' 'replica' 'replication-offset' :1 'health' 'loading' }"
    "    { 'id' '' 'port' :7001 'ip' '10.0.0.2' 'endpoint' '10.0.0.2'"
    "      'role' 'master' 'replication-offset' :2 'health' 'online' } ] }"
    "  { 'slots' [ :10923 :11000 :11001 :16383 ] 'nodes' ["
    "    { 'port' :7002 'ip' '10.0.0.3' 'endpoint' '10.0.0.3' 'role' 'master'"
    "      'health' 'failed' }"
    "    { 'port' :7005 'endpoint' '10.0.0.6' 'role' 'replica' 'health' 'online' }"
    "    { 'port' :7006 'endpoint' '10.0.0.7' 'role' 'replica' 'health' 'failed' } ] } ]";

static void shards_three_masters_with_replicas(void **state)
{
    (void)state;
    for (int resp = 2; resp <= 3; resp++) {
        arc_topology t;
        parse_ok(&t, SHARDS, three_shards, resp, "seed.example");
        assert_int_equal(t.nnodes, 7);
        assert_int_equal(t.covered, ARC_SLOTS);
        assert_owner(&t, 0, "10.0.0.1", 7000);
        assert_owner(&t, 5460, "10.0.0.1", 7000);
        assert_owner(&t, 5461, "10.0.0.2", 7001);
        assert_owner(&t, 10922, "10.0.0.2", 7001);
        assert_owner(&t, 10923, "10.0.0.3", 7002);
        assert_owner(&t, 11000, "10.0.0.3", 7002);
        assert_owner(&t, 11001, "10.0.0.3", 7002);
        assert_owner(&t, 16383, "10.0.0.3", 7002);
        /* A master listed after its replica is still known as the master. */
        assert_replica_of(&t, "10.0.0.4", 7003, "10.0.0.1", 7000);
        assert_replica_of(&t, "10.0.0.5", 7004, "10.0.0.2", 7001);
        assert_replica_of(&t, "10.0.0.6", 7005, "10.0.0.3", 7002);
        assert_replica_of(&t, "10.0.0.7", 7006, "10.0.0.3", 7002);
        const arc_topo_node *a = node(&t, "10.0.0.1", 7000);
        assert_true(a->master);
        assert_string_equal(a->id, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_int_equal(a->tls_port, 0);
        assert_true(a->healthy);
        const arc_topo_node *c = node(&t, "10.0.0.5", 7004);
        assert_string_equal(c->id, "cccccccccccccccccccccccccccccccccccccccc");
        assert_int_equal(c->tls_port, 8004);
        assert_false(c->healthy); /* "loading" */
        assert_string_equal(node(&t, "10.0.0.2", 7001)->id, "");
        assert_string_equal(node(&t, "10.0.0.3", 7002)->id, ""); /* no "id" at all */
        assert_false(node(&t, "10.0.0.3", 7002)->healthy);
        assert_false(node(&t, "10.0.0.7", 7006)->healthy);
        assert_true(node(&t, "10.0.0.6", 7005)->healthy);
        arc__topology_free(&t);
        assert_empty(&t);
        arc__topology_free(&t); /* twice is harmless */
    }
}

/* As Redis 7.0.15 sent it (RESP2): host names as the preferred endpoint,
 * a master with no slots, and two ranges with a slot missing between. */
static const char real_shards_resp2[] =
    "*2\r\n*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n*16\r\n$2\r\nid\r\n"
    "$40\r\n0a3926cb7cc847681eee231ebb3d8f754bfbe1fb\r\n$4\r\nport\r\n:47393\r\n"
    "$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$18\r\nnode-47393.example\r\n"
    "$8\r\nhostname\r\n$18\r\nnode-47393.example\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
    "*4\r\n$5\r\nslots\r\n*4\r\n:0\r\n:5000\r\n:5002\r\n:7999\r\n$5\r\nnodes\r\n*2\r\n"
    "*16\r\n$2\r\nid\r\n$40\r\n31678ed96642310651eedc0e0659b9839db5e6a8\r\n$4\r\nport\r\n"
    ":47392\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$18\r\nnode-47392.example\r\n"
    "$8\r\nhostname\r\n$18\r\nnode-47392.example\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$18\r\nreplication-offset\r\n:11382\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
    "*16\r\n$2\r\nid\r\n$40\r\nc7bf40e6fafd3faf992e1d3e11b99cb264cf7a8b\r\n$4\r\nport\r\n"
    ":47394\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$18\r\nnode-47394.example\r\n"
    "$8\r\nhostname\r\n$18\r\nnode-47394.example\r\n$4\r\nrole\r\n$7\r\nreplica\r\n"
    "$18\r\nreplication-offset\r\n:11382\r\n$6\r\nhealth\r\n$6\r\nonline\r\n";

static void shards_as_redis_sent_them(void **state)
{
    (void)state;
    arc_reply *r = from_resp(real_shards_resp2, sizeof real_shards_resp2 - 1);
    arc_topology t;
    char err[128];
    assert_int_equal(arc__topology_from_shards(&t, r, "127.0.0.1", NULL, err, sizeof err), ARC_OK);
    arc_reply_free(r);
    assert_int_equal(t.nnodes, 3);
    assert_int_equal(t.covered, 5001 + 2998);
    assert_owner(&t, 0, "node-47392.example", 47392);
    assert_owner(&t, 5000, "node-47392.example", 47392);
    assert_owner(&t, 5001, NULL, 0);
    assert_owner(&t, 7999, "node-47392.example", 47392);
    assert_owner(&t, 8000, NULL, 0);
    assert_true(node(&t, "node-47393.example", 47393)->master);
    assert_replica_of(&t, "node-47394.example", 47394, "node-47392.example", 47392);
    assert_string_equal(node(&t, "node-47394.example", 47394)->id,
                        "c7bf40e6fafd3faf992e1d3e11b99cb264cf7a8b");
    arc__topology_free(&t);
}

static void shards_unknown_endpoints_use_the_address_asked(void **state)
{
    (void)state;
    /* "?" (unknown-endpoint), "" (a node that does not know its address,
     * as a lone node answers), no endpoint at all, and a null one. */
    static const char f[] =
        "[ { 'slots' [ :0 :99 ] 'nodes' [ { 'port' :7000 'endpoint' '?' 'role' 'master' } ] }"
        "  { 'slots' [ :100 :199 ] 'nodes' [ { 'port' :7001 'endpoint' '' 'ip' '' 'role' 'master' } ] }"
        "  { 'slots' [ :200 :299 ] 'nodes' [ { 'port' :7002 'role' 'master' } ] }"
        "  { 'slots' [ :300 :399 ] 'nodes' [ { 'port' :7003 'endpoint' _ 'role' 'master' } ] } ]";
    for (int resp = 2; resp <= 3; resp++) {
        arc_topology t;
        parse_ok(&t, SHARDS, f, resp, "seed.example");
        assert_int_equal(t.nnodes, 4);
        assert_owner(&t, 0, "seed.example", 7000);
        assert_owner(&t, 100, "seed.example", 7001);
        assert_owner(&t, 200, "seed.example", 7002);
        assert_owner(&t, 399, "seed.example", 7003);
        assert_int_equal(t.covered, 400);
        arc__topology_free(&t);
    }
}

static void shards_ipv6_and_host_names(void **state)
{
    (void)state;
    static const char f[] =
        "[ { 'slots' [ :0 :8191 ] 'nodes' ["
        "    { 'port' :6379 'ip' '::1' 'endpoint' '2001:db8::7' 'role' 'master' }"
        "    { 'port' :6379 'ip' 'fe80::1' 'endpoint' 'fe80::1%eth0' 'role' 'replica' } ] }"
        "  { 'slots' [ :8192 :16383 ] 'nodes' ["
        "    { 'port' :6380 'endpoint' 'redis-1.cache.internal' 'hostname' 'redis-1.cache.internal'"
        "      'role' 'master' } ] } ]";
    for (int resp = 2; resp <= 3; resp++) {
        arc_topology t;
        parse_ok(&t, SHARDS, f, resp, NULL);
        assert_owner(&t, 0, "2001:db8::7", 6379);
        assert_owner(&t, 16383, "redis-1.cache.internal", 6380);
        assert_replica_of(&t, "fe80::1%eth0", 6379, "2001:db8::7", 6379);
        /* Host names are compared as given, case and all. */
        assert_int_equal(arc__topology_find(&t, "REDIS-1.cache.internal", 6380), ARC_TOPO_NONE);
        assert_int_equal(arc__topology_find(&t, "2001:db8::7", 6380), ARC_TOPO_NONE);
        assert_int_equal(arc__topology_find(&t, NULL, 6379), ARC_TOPO_NONE);
        arc__topology_free(&t);
    }
}

static void shards_empty_and_slotless(void **state)
{
    (void)state;
    /* A shard with neither slots nor nodes, one whose master and replica
     * serve nothing (a new node, or one emptied by resharding), and no
     * shards at all. */
    static const char f[] =
        "[ { 'slots' [ ] 'nodes' [ ] }"
        "  { 'slots' [ ] 'nodes' [ { 'port' :7000 'endpoint' 'a' 'role' 'master' }"
        "                          { 'port' :7001 'endpoint' 'b' 'role' 'replica' } ] }"
        "  { 'slots' [ :42 :42 ] 'nodes' [ { 'port' :7002 'endpoint' 'c' 'role' 'master' } ] } ]";
    for (int resp = 2; resp <= 3; resp++) {
        arc_topology t;
        parse_ok(&t, SHARDS, f, resp, NULL);
        assert_int_equal(t.nnodes, 3);
        assert_int_equal(t.covered, 1);
        assert_owner(&t, 41, NULL, 0);
        assert_owner(&t, 42, "c", 7002);
        assert_owner(&t, 43, NULL, 0);
        assert_true(node(&t, "a", 7000)->master);
        assert_replica_of(&t, "b", 7001, "a", 7000);
        arc__topology_free(&t);
        parse_ok(&t, SHARDS, "[ ]", resp, NULL);
        assert_empty(&t);
        arc__topology_free(&t);
    }
}

static void shards_skip_what_they_do_not_know(void **state)
{
    (void)state;
    /* Fields a newer server may add, at every level and of every type. */
    static const char f[] =
        "[ { 'shard-id' 'xyz' 'slots' [ :0 :16383 ] 'weight' ,1.5"
        "    'nodes' [ { 'availability-zone' { 'a' [ :1 ] } 'port' :7000 'endpoint' 'a'"
        "                'role' 'master' 'future' _ 'flags' < +x > } ] 'more' [ [ ] ] } ]";
    for (int resp = 2; resp <= 3; resp++) {
        arc_topology t;
        parse_ok(&t, SHARDS, f, resp, NULL);
        assert_int_equal(t.nnodes, 1);
        assert_int_equal(t.covered, ARC_SLOTS);
        arc__topology_free(&t);
    }
}

static void shards_tls_only_node_is_reached_on_its_tls_port(void **state)
{
    (void)state;
    /* With tls-cluster and port 0, Redis leaves "port" out. */
    static const char f[] = "[ { 'slots' [ :0 :1 ] 'nodes' [ { 'tls-port' :6390 'endpoint' 'a'"
                            "  'role' 'master' } ] } ]";
    arc_topology t;
    parse_ok(&t, SHARDS, f, 3, NULL);
    assert_int_equal(t.nodes[0].port, 6390);
    assert_int_equal(t.nodes[0].tls_port, 6390);
    arc__topology_free(&t);
}

static const char listed_twice[] =
    "[ { 'slots' [ :0 :9 ] 'nodes' [ { 'port' :7000 'endpoint' 'a' 'role' 'master'"
    "    'health' 'failed' } { 'port' :7001 'endpoint' 'b' 'role' 'replica' } ] }"
    "  { 'slots' [ :10 :19 ] 'nodes' [ { 'id' " ID_A " 'port' :7000 'tls-port' :8000"
    "    'endpoint' 'a' 'role' 'master' 'health' 'online' }"
    "    { 'port' :7001 'endpoint' 'b' 'role' 'replica' } ] } ]";

static void shards_a_node_listed_twice_is_one_node(void **state)
{
    (void)state;
    /* The same master in two shards (the second with its id and a TLS
     * port, and healthy where the first said failed): one node, whose
     * slots are the union, and what each listing gives is kept. */
    for (int resp = 2; resp <= 3; resp++) {
        arc_topology t;
        parse_ok(&t, SHARDS, listed_twice, resp, NULL);
        assert_int_equal(t.nnodes, 2);
        assert_int_equal(t.covered, 20);
        assert_owner(&t, 0, "a", 7000);
        assert_owner(&t, 19, "a", 7000);
        const arc_topo_node *a = node(&t, "a", 7000);
        assert_string_equal(a->id, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_int_equal(a->tls_port, 8000);
        assert_true(a->healthy);
        assert_replica_of(&t, "b", 7001, "a", 7000);
        arc__topology_free(&t);
    }
}

/* ------------------------------------------------------------------------ */
/* CLUSTER SLOTS */

static const char slots_full[] =
    "[ [ :0 :5460 [ '10.0.0.1' :7000 " ID_A " { 'hostname' 'n1' 'ip' '10.0.0.1' } ]"
    "              [ '10.0.0.4' :7003 " ID_B " { } ] ]"
    "  [ :5461 :10922 [ '10.0.0.2' :7001 " ID_C " ] [ '10.0.0.5' :7004 ] [ '10.0.0.6' :7005 _ ] ]"
    "  [ :10923 :11999 [ '10.0.0.3' :7002 ] ]"
    "  [ :12000 :16383 [ '10.0.0.3' :7002 'extra-id' { } 'a newer field' :1 ] ] ]";

static void slots_with_and_without_ids_and_metadata(void **state)
{
    (void)state;
    for (int resp = 2; resp <= 3; resp++) {
        arc_topology t;
        parse_ok(&t, SLOTS, slots_full, resp, "seed");
        assert_int_equal(t.nnodes, 6);
        assert_int_equal(t.covered, ARC_SLOTS);
        assert_owner(&t, 0, "10.0.0.1", 7000);
        assert_owner(&t, 5461, "10.0.0.2", 7001);
        assert_owner(&t, 11999, "10.0.0.3", 7002);
        assert_owner(&t, 12000, "10.0.0.3", 7002);
        assert_replica_of(&t, "10.0.0.4", 7003, "10.0.0.1", 7000);
        assert_replica_of(&t, "10.0.0.5", 7004, "10.0.0.2", 7001);
        assert_replica_of(&t, "10.0.0.6", 7005, "10.0.0.2", 7001);
        assert_string_equal(node(&t, "10.0.0.1", 7000)->id,
                            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_string_equal(node(&t, "10.0.0.5", 7004)->id, "");
        assert_string_equal(node(&t, "10.0.0.6", 7005)->id, "");
        /* Listed first without an id and then with one: the id is kept. */
        assert_string_equal(node(&t, "10.0.0.3", 7002)->id, "extra-id");
        for (size_t k = 0; k < t.nnodes; k++) {
            assert_true(t.nodes[k].healthy);
            assert_int_equal(t.nodes[k].tls_port, 0);
        }
        arc__topology_free(&t);
    }
}

static void slots_repeat_a_master_for_each_range(void **state)
{
    (void)state;
    /* Redis lists a master and its replicas again for every range. */
    static const char f[] =
        "[ [ :0 :10 [ 'a' :1 ] [ 'b' :2 ] ] [ :20 :30 [ 'a' :1 ] [ 'b' :2 ] ]"
        "  [ :11 :19 [ 'c' :3 ] ] [ :31 :31 [ 'a' :1 ] ] ]";
    for (int resp = 2; resp <= 3; resp++) {
        arc_topology t;
        parse_ok(&t, SLOTS, f, resp, NULL);
        assert_int_equal(t.nnodes, 3);
        assert_int_equal(t.covered, 32);
        assert_owner(&t, 31, "a", 1);
        assert_owner(&t, 15, "c", 3);
        assert_owner(&t, 32, NULL, 0);
        assert_replica_of(&t, "b", 2, "a", 1);
        arc__topology_free(&t);
    }
}

static void slots_unknown_hosts_ipv6_and_names(void **state)
{
    (void)state;
    static const char f[] = "[ [ :0 :0 [ _ :7000 ] [ '' :7001 ] [ '?' :7002 ] ]"
                            "  [ :1 :1 [ '::1' :7003 ] [ 'r.example' :7004 ] ] ]";
    for (int resp = 2; resp <= 3; resp++) {
        arc_topology t;
        parse_ok(&t, SLOTS, f, resp, "192.0.2.1");
        assert_owner(&t, 0, "192.0.2.1", 7000);
        assert_replica_of(&t, "192.0.2.1", 7001, "192.0.2.1", 7000);
        assert_replica_of(&t, "192.0.2.1", 7002, "192.0.2.1", 7000);
        assert_owner(&t, 1, "::1", 7003);
        assert_replica_of(&t, "r.example", 7004, "::1", 7003);
        arc__topology_free(&t);
    }
}

/* As Redis 7.0.15 sent it (RESP3): the metadata is a map with "ip". */
static const char real_slots_resp3[] =
    "*2\r\n*4\r\n:0\r\n:5000\r\n*4\r\n$18\r\nnode-47392.example\r\n:47392\r\n"
    "$40\r\n31678ed96642310651eedc0e0659b9839db5e6a8\r\n%1\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n"
    "*4\r\n$18\r\nnode-47394.example\r\n:47394\r\n$40\r\nc7bf40e6fafd3faf992e1d3e11b99cb264cf7a8b\r\n"
    "%1\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n*4\r\n:5002\r\n:7999\r\n*4\r\n$18\r\nnode-47392.example\r\n"
    ":47392\r\n$40\r\n31678ed96642310651eedc0e0659b9839db5e6a8\r\n%1\r\n$2\r\nip\r\n"
    "$9\r\n127.0.0.1\r\n*4\r\n$18\r\nnode-47394.example\r\n:47394\r\n"
    "$40\r\nc7bf40e6fafd3faf992e1d3e11b99cb264cf7a8b\r\n%1\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n";

static void slots_as_redis_sent_them(void **state)
{
    (void)state;
    arc_reply *r = from_resp(real_slots_resp3, sizeof real_slots_resp3 - 1);
    arc_topology t;
    char err[128];
    assert_int_equal(arc__topology_from_slots(&t, r, "127.0.0.1", NULL, err, sizeof err), ARC_OK);
    arc_reply_free(r);
    assert_int_equal(t.nnodes, 2);
    assert_int_equal(t.covered, 7999);
    assert_owner(&t, 5001, NULL, 0);
    assert_owner(&t, 5002, "node-47392.example", 47392);
    assert_replica_of(&t, "node-47394.example", 47394, "node-47392.example", 47392);
    arc__topology_free(&t);
}

static void both_parsers_use_the_given_allocator(void **state)
{
    (void)state;
    failing_alloc fa = {0};
    arc_allocator a = failing_allocator(&fa);
    for (int w = SHARDS; w <= SLOTS; w++) {
        arc_reply *r = reply_of(w == SHARDS ? three_shards : slots_full, 3);
        arc_topology t;
        char err[128];
        assert_int_equal(parsers[w](&t, r, "x", &a, err, sizeof err), ARC_OK);
        assert_true(fa.live > 0);
        arc__topology_free(&t);
        assert_int_equal(fa.live, 0);
        arc_reply_free(r);
    }
}

/* ------------------------------------------------------------------------ */
/* Malformed replies: each refused with ARC_ERR_PROTOCOL, a message naming
 * what and where, and the topology left empty. */

enum { BOTH, ONLY2, ONLY3 };

typedef struct bad {
    const char *name;
    enum which parser;
    int protocols;
    const char *notation; /* NULL: `raw` holds RESP bytes */
    const char *raw;
    const char *message; /* a part of the message */
} bad;

#define NODE0 "{ 'port' :7000 'endpoint' 'a' 'role' 'master' }"
#define SHARD(slots, node) "[ { 'slots' [ " slots " ] 'nodes' [ " node " ] } ]"
#define ENTRY(node) "[ [ :0 :1 " node " ] ]"

static const bad bads[] = {
    /* CLUSTER SHARDS */
    {"shards: an error reply", SHARDS, BOTH, NULL,
     "-ERR unknown subcommand 'shards'. Try CLUSTER HELP.\r\n",
     "CLUSTER SHARDS: the server answered: ERR unknown subcommand 'shards'"},
    {"shards: an integer", SHARDS, BOTH, ":1", NULL, "CLUSTER SHARDS: the reply is a integer"},
    {"shards: a status", SHARDS, BOTH, "+OK", NULL, "not an array"},
    {"shards: a null", SHARDS, BOTH, "_", NULL, "not an array"},
    {"shards: a map", SHARDS, ONLY3, "{ 'slots' [ ] }", NULL, "the reply is a map, not an array"},
    {"shards: a set", SHARDS, ONLY3, "< >", NULL, "the reply is a set"},
    {"shards: a shard that is an integer", SHARDS, BOTH, "[ :1 ]", NULL,
     "shard 0: the shard is a integer, not a map"},
    {"shards: a shard of odd length", SHARDS, ONLY2, "[ [ 'slots' ] ]", NULL,
     "shard 0: the shard is a array, not a map"},
    {"shards: a shard key that is an integer", SHARDS, BOTH, "[ { :1 [ ] } ]", NULL,
     "shard 0: a key is a integer"},
    {"shards: no slots", SHARDS, BOTH, "[ { 'nodes' [ ] } ]", NULL, "shard 0: no \"slots\""},
    {"shards: no nodes", SHARDS, BOTH, "[ { 'slots' [ ] } ]", NULL, "shard 0: no \"nodes\""},
    {"shards: slots twice", SHARDS, BOTH, "[ { 'slots' [ ] 'slots' [ ] 'nodes' [ ] } ]", NULL,
     "shard 0: \"slots\" is given twice"},
    {"shards: slots not an array", SHARDS, BOTH, "[ { 'slots' :5 'nodes' [ ] } ]", NULL,
     "shard 0: \"slots\" is a integer, not an array"},
    {"shards: nodes a map", SHARDS, ONLY3, "[ { 'slots' [ ] 'nodes' { } } ]", NULL,
     "\"nodes\" is a map, not an array"},
    {"shards: an odd number of slot bounds", SHARDS, BOTH, SHARD(":0 :5 :7", NODE0), NULL,
     "shard 0: \"slots\" has 3 elements, not start and end pairs"},
    {"shards: a slot bound that is a string", SHARDS, BOTH, SHARD("'0' :5", NODE0), NULL,
     "shard 0: a slot range bound is a string, not an integer"},
    {"shards: a range past 16383", SHARDS, BOTH,
     "[ { 'slots' [ ] 'nodes' [ ] } { 'slots' [ ] 'nodes' [ ] } { 'slots' [ :16000 :16390 ]"
     "  'nodes' [ " NODE0 " ] } ]",
     NULL, "shard 2: slot range 16000-16390 is out of 0..16383"},
    {"shards: a negative slot", SHARDS, BOTH, SHARD(":-1 :5", NODE0), NULL,
     "shard 0: slot range -1-5 is out of 0..16383"},
    {"shards: a reversed range", SHARDS, BOTH, SHARD(":9 :5", NODE0), NULL,
     "shard 0: slot range 9-5 ends before it starts"},
    {"shards: two masters for one slot", SHARDS, BOTH,
     "[ { 'slots' [ :0 :100 ] 'nodes' [ " NODE0 " ] }"
     "  { 'slots' [ :100 :200 ] 'nodes' [ { 'port' :7001 'endpoint' 'b' 'role' 'master' } ] } ]",
     NULL, "shard 1: slot 100 is served by both a:7000 and b:7001"},
    {"shards: a slot listed twice", SHARDS, BOTH, SHARD(":0 :10 :10 :12", NODE0), NULL,
     "shard 0: slot 10 is listed twice for a:7000"},
    {"shards: slots and no node", SHARDS, BOTH, SHARD(":0 :10", ""), NULL,
     "shard 0: slots but no master to serve them"},
    {"shards: a replica and no master", SHARDS, BOTH,
     SHARD("", "{ 'port' :7001 'endpoint' 'b' 'role' 'replica' }"), NULL,
     "shard 0: 1 replica and no master"},
    {"shards: two masters in a shard", SHARDS, BOTH,
     SHARD(":0 :1", NODE0 " { 'port' :7001 'endpoint' 'b' 'role' 'master' }"), NULL,
     "shard 0: two masters (nodes 0 and 1)"},
    {"shards: a node that is a string", SHARDS, BOTH, SHARD(":0 :1", "'a'"), NULL,
     "shard 0 node 0: the node is a string, not a map"},
    {"shards: a node key that is an integer", SHARDS, BOTH, SHARD(":0 :1", "{ :1 :2 }"), NULL,
     "shard 0 node 0: a key is a integer"},
    {"shards: no role", SHARDS, BOTH, SHARD(":0 :1", "{ 'port' :7000 'endpoint' 'a' }"), NULL,
     "shard 0 node 0: no \"role\""},
    {"shards: an unknown role", SHARDS, BOTH,
     SHARD(":0 :1", "{ 'port' :7000 'endpoint' 'a' 'role' 'arbiter' }"), NULL,
     "shard 0 node 0: role \"arbiter\" is neither master nor replica"},
    {"shards: a role that is an integer", SHARDS, BOTH,
     SHARD(":0 :1", "{ 'port' :7000 'endpoint' 'a' 'role' :1 }"), NULL,
     "\"role\" is a integer, not a string"},
    {"shards: no port", SHARDS, BOTH, SHARD(":0 :1", "{ 'endpoint' 'a' 'role' 'master' }"),
     NULL, "shard 0 node 0: no \"port\""},
    {"shards: port 0", SHARDS, BOTH, SHARD(":0 :1", "{ 'port' :0 'endpoint' 'a' 'role' 'master' }"),
     NULL, "shard 0 node 0: \"port\" 0 is out of 1..65535"},
    {"shards: port 65536", SHARDS, BOTH,
     SHARD(":0 :1", "{ 'port' :65536 'endpoint' 'a' 'role' 'master' }"), NULL,
     "\"port\" 65536 is out of 1..65535"},
    {"shards: a negative port", SHARDS, BOTH,
     SHARD(":0 :1", "{ 'port' :-7000 'endpoint' 'a' 'role' 'master' }"), NULL,
     "\"port\" -7000 is out of 1..65535"},
    {"shards: a port that is a string", SHARDS, BOTH,
     SHARD(":0 :1", "{ 'port' '7000' 'endpoint' 'a' 'role' 'master' }"), NULL,
     "\"port\" is a string, not an integer"},
    {"shards: a tls-port out of range", SHARDS, BOTH,
     SHARD(":0 :1", "{ 'port' :1 'tls-port' :99999 'endpoint' 'a' 'role' 'master' }"), NULL,
     "\"tls-port\" 99999 is out of 1..65535"},
    {"shards: an id that is an integer", SHARDS, BOTH,
     SHARD(":0 :1", "{ 'id' :5 'port' :1 'endpoint' 'a' 'role' 'master' }"), NULL,
     "\"id\" is a integer, not a string"},
    {"shards: an id with a NUL", SHARDS, BOTH,
     SHARD(":0 :1", "{ 'id' 'ab\\0cd' 'port' :1 'endpoint' 'a' 'role' 'master' }"), NULL,
     "\"id\" holds a NUL byte"},
    {"shards: an endpoint that is an integer", SHARDS, BOTH,
     SHARD(":0 :1", "{ 'port' :1 'endpoint' :10 'role' 'master' }"), NULL,
     "\"endpoint\" is a integer, not a string"},
    {"shards: an endpoint with a NUL", SHARDS, BOTH,
     SHARD(":0 :1", "{ 'port' :1 'endpoint' 'a\\0.evil' 'role' 'master' }"), NULL,
     "\"endpoint\" holds a NUL byte"},
    {"shards: an ip that is an array", SHARDS, BOTH,
     SHARD(":0 :1", "{ 'port' :1 'endpoint' 'a' 'ip' [ ] 'role' 'master' }"), NULL,
     "\"ip\" is a array, not a string"},
    {"shards: a hostname that is an integer", SHARDS, BOTH,
     SHARD(":0 :1", "{ 'port' :1 'endpoint' 'a' 'hostname' :3 'role' 'master' }"), NULL,
     "\"hostname\" is a integer, not a string"},
    {"shards: an offset that is a string", SHARDS, BOTH,
     SHARD(":0 :1", "{ 'port' :1 'endpoint' 'a' 'role' 'master' 'replication-offset' 'x' }"),
     NULL, "\"replication-offset\" is a string, not an integer"},
    {"shards: a health that is an integer", SHARDS, BOTH,
     SHARD(":0 :1", "{ 'port' :1 'endpoint' 'a' 'role' 'master' 'health' :1 }"), NULL,
     "\"health\" is a integer, not a string"},
    {"shards: an unknown endpoint and nowhere to go", SHARDS, BOTH,
     SHARD(":0 :1", "{ 'port' :1 'endpoint' '?' 'role' 'master' }"), NULL,
     "shard 0 node 0: the endpoint is unknown and no address to use instead"},
    {"shards: a master that is a replica elsewhere", SHARDS, BOTH,
     "[ { 'slots' [ ] 'nodes' [ " NODE0 " ] }"
     "  { 'slots' [ ] 'nodes' [ { 'port' :7001 'endpoint' 'b' 'role' 'master' }"
     "                          { 'port' :7000 'endpoint' 'a' 'role' 'replica' } ] } ]",
     NULL, "shard 1 node 1: node a:7000 is a replica here and a master earlier in the reply"},
    {"shards: a replica of two masters", SHARDS, BOTH,
     "[ { 'slots' [ ] 'nodes' [ " NODE0 " { 'port' :7009 'endpoint' '::1' 'role' 'replica' } ] }"
     "  { 'slots' [ ] 'nodes' [ { 'port' :7001 'endpoint' 'b' 'role' 'master' }"
     "                          { 'port' :7009 'endpoint' '::1' 'role' 'replica' } ] } ]",
     NULL, "shard 1 node 1: node [::1]:7009 is a replica of b:7001 here and of a:7000 earlier"},
    /* CLUSTER SLOTS */
    {"slots: an error reply", SLOTS, BOTH, NULL, "-ERR This instance has cluster support disabled\r\n",
     "CLUSTER SLOTS: the server answered: ERR This instance has cluster support disabled"},
    {"slots: a string", SLOTS, BOTH, "'x'", NULL, "CLUSTER SLOTS: the reply is a string"},
    {"slots: a map", SLOTS, ONLY3, "{ }", NULL, "CLUSTER SLOTS: the reply is a map"},
    {"slots: an entry that is an integer", SLOTS, BOTH, "[ :1 ]", NULL,
     "slots entry 0: the entry is a integer, not an array"},
    {"slots: an entry that is a set", SLOTS, ONLY3, "[ < :0 :1 [ 'a' :1 ] > ]", NULL,
     "slots entry 0: the entry is a set"},
    {"slots: an entry with no master", SLOTS, BOTH, "[ [ :0 :1 ] ]", NULL,
     "slots entry 0: the entry has 2 elements, not start, end and a master"},
    {"slots: a bound that is a double", SLOTS, ONLY3, "[ [ ,0 :1 [ 'a' :1 ] ] ]", NULL,
     "slots entry 0: a slot range bound is a double"},
    {"slots: a range past the end", SLOTS, BOTH,
     "[ [ :0 :1 [ 'a' :1 ] ] [ :16384 :16384 [ 'a' :1 ] ] ]", NULL,
     "slots entry 1: slot range 16384-16384 is out of 0..16383"},
    {"slots: a reversed range", SLOTS, BOTH, "[ [ :5 :4 [ 'a' :1 ] ] ]", NULL,
     "slots entry 0: slot range 5-4 ends before it starts"},
    {"slots: a master that is a string", SLOTS, BOTH, ENTRY("'a'"), NULL,
     "slots entry 0 master: the node is a string, not an array"},
    {"slots: a master without a port", SLOTS, BOTH, ENTRY("[ 'a' ]"), NULL,
     "slots entry 0 master: the node has 1 elements, not host and port"},
    {"slots: a host that is an integer", SLOTS, BOTH, ENTRY("[ :1 :1 ]"), NULL,
     "slots entry 0 master: the host is a integer, not a string"},
    {"slots: a host with a NUL", SLOTS, BOTH, ENTRY("[ 'a\\0b' :1 ]"), NULL,
     "slots entry 0 master: the host holds a NUL byte"},
    {"slots: a port that is a string", SLOTS, BOTH, ENTRY("[ 'a' '1' ]"), NULL,
     "slots entry 0 master: the port is a string, not an integer"},
    {"slots: port 0", SLOTS, BOTH, ENTRY("[ 'a' :0 ]"), NULL,
     "slots entry 0 master: port 0 is out of 1..65535"},
    {"slots: a replica port out of range", SLOTS, BOTH, "[ [ :0 :1 [ 'a' :1 ] [ 'b' :70000 ] ] ]",
     NULL, "slots entry 0 replica 0: port 70000 is out of 1..65535"},
    {"slots: an id that is an integer", SLOTS, BOTH, ENTRY("[ 'a' :1 :1 ]"), NULL,
     "slots entry 0 master: the id is a integer, not a string"},
    {"slots: metadata that is an integer", SLOTS, BOTH, ENTRY("[ 'a' :1 'id' :1 ]"), NULL,
     "slots entry 0 master: the metadata is a integer, not a map"},
    {"slots: metadata of odd length", SLOTS, ONLY2, ENTRY("[ 'a' :1 'id' [ 'ip' ] ]"), NULL,
     "the metadata is a array, not a map"},
    {"slots: a metadata key that is an integer", SLOTS, BOTH, ENTRY("[ 'a' :1 'id' { :1 'x' } ]"),
     NULL, "slots entry 0 master: a metadata key is a integer, not a string"},
    {"slots: two masters for one slot", SLOTS, BOTH,
     "[ [ :0 :10 [ 'a' :1 ] ] [ :10 :20 [ 'b' :2 ] ] ]", NULL,
     "slots entry 1: slot 10 is served by both a:1 and b:2"},
    {"slots: a range listed twice", SLOTS, BOTH, "[ [ :0 :10 [ 'a' :1 ] ] [ :0 :10 [ 'a' :1 ] ] ]",
     NULL, "slots entry 1: slot 0 is listed twice for a:1"},
    {"slots: a replica that is a master elsewhere", SLOTS, BOTH,
     "[ [ :0 :10 [ 'a' :1 ] ] [ :11 :20 [ 'b' :2 ] [ 'a' :1 ] ] ]", NULL,
     "slots entry 1 replica 0: node a:1 is a replica here and a master earlier in the reply"},
    {"slots: a master that was a replica", SLOTS, BOTH,
     "[ [ :0 :10 [ 'a' :1 ] [ 'b' :2 ] ] [ :11 :20 [ 'b' :2 ] ] ]", NULL,
     "slots entry 1 master: node b:2 is a master here and a replica earlier in the reply"},
    {"slots: a replica of itself", SLOTS, BOTH, "[ [ :0 :10 [ 'a' :1 ] [ 'a' :1 ] ] ]", NULL,
     "node a:1 is a replica here and a master earlier"},
    {"slots: an unknown host and nowhere to go", SLOTS, BOTH, ENTRY("[ '?' :1 ]"), NULL,
     "slots entry 0 master: the endpoint is unknown"},
};

#define N_BAD (sizeof bads / sizeof bads[0])

static void refused(const bad *b, int resp)
{
    arc_reply *r = b->notation != NULL ? reply_of(b->notation, resp)
                                       : from_resp(b->raw, strlen(b->raw));
    arc_topology t;
    char err[256];
    memset(err, 'x', sizeof err);
    int rc = parsers[b->parser](&t, r, NULL, NULL, err, sizeof err);
    if (rc != ARC_ERR_PROTOCOL)
        fail_msg("RESP%d: %s, expected ARC_ERR_PROTOCOL", resp, arc_status_name(rc));
    assert_non_null(memchr(err, '\0', sizeof err));
    if (strstr(err, b->message) == NULL)
        fail_msg("RESP%d: the message is '%s', expected it to hold '%s'", resp, err, b->message);
    assert_empty(&t);
    arc__topology_free(&t);
    /* A small buffer still gets a terminated (cut) message, and none at
     * all is allowed. */
    char tiny[8];
    assert_int_equal(parsers[b->parser](&t, r, NULL, NULL, tiny, sizeof tiny), ARC_ERR_PROTOCOL);
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
    arc__topology_free(&t);
    assert_int_equal(parsers[b->parser](&t, r, NULL, NULL, NULL, 0), ARC_ERR_PROTOCOL);
    arc__topology_free(&t);
    arc_reply_free(r);
}

static void test_bad(void **state)
{
    const bad *b = *state;
    if (b->protocols != ONLY3)
        refused(b, 2);
    if (b->protocols != ONLY2)
        refused(b, 3);
}

static void no_reply_is_refused(void **state)
{
    (void)state;
    arc_topology t;
    char err[64];
    assert_int_equal(arc__topology_from_shards(&t, NULL, "h", NULL, err, sizeof err),
                     ARC_ERR_PROTOCOL);
    assert_string_equal(err, "CLUSTER SHARDS: no reply");
    assert_empty(&t);
    assert_int_equal(arc__topology_from_slots(&t, NULL, "h", NULL, err, sizeof err),
                     ARC_ERR_PROTOCOL);
    assert_string_equal(err, "CLUSTER SLOTS: no reply");
}

static void too_many_nodes_are_refused(void **state)
{
    (void)state;
    /* One master and 65534 replicas: one node more than an index can name. */
    resp_text t = {0};
    const size_t replicas = 65534;
    resp_putf(&t, "*1\r\n*%zu\r\n:0\r\n:0\r\n*2\r\n$1\r\nm\r\n:1\r\n", replicas + 3);
    for (size_t i = 0; i < replicas; i++)
        resp_putf(&t, "*2\r\n$6\r\nr%05zu\r\n:1\r\n", i);
    arc_reply *r = from_resp(t.p, t.len);
    free(t.p);
    arc_topology topo;
    char err[128];
    assert_int_equal(arc__topology_from_slots(&topo, r, NULL, NULL, err, sizeof err),
                     ARC_ERR_PROTOCOL);
    assert_string_equal(err, "slots entry 0 replica 65533: more than 65534 nodes");
    assert_empty(&topo);
    /* One fewer fits. */
    r->element[0]->elements--;
    assert_int_equal(arc__topology_from_slots(&topo, r, NULL, NULL, err, sizeof err), ARC_OK);
    assert_int_equal(topo.nnodes, 65534);
    assert_int_equal(arc__topology_find(&topo, "r65532", 1), 65533);
    arc__topology_free(&topo);
    r->element[0]->elements++;
    arc_reply_free(r);
}

/* ------------------------------------------------------------------------ */
/* Every allocation fails in turn: each run is ARC_ERR_NOMEM with the
 * topology empty and nothing left allocated, until one succeeds. */

static void sweep(enum which w, const char *notation, int resp)
{
    arc_reply *r = reply_of(notation, resp);
    for (long fail_at = 1;; fail_at++) {
        failing_alloc fa = {0, fail_at, 0, 0};
        arc_allocator a = failing_allocator(&fa);
        arc_topology t;
        char err[128];
        int rc = parsers[w](&t, r, "from", &a, err, sizeof err);
        if (fa.failed == 0) {
            assert_int_equal(rc, ARC_OK);
            assert_true(fail_at > 3);
            arc__topology_free(&t);
            assert_int_equal(fa.live, 0);
            break;
        }
        if (rc != ARC_ERR_NOMEM)
            fail_msg("allocation %ld failed: %s (%s)", fail_at, arc_status_name(rc), err);
        assert_string_equal(err, "out of memory");
        assert_int_equal(fa.live, 0);
        assert_empty(&t);
        arc__topology_free(&t);
    }
    arc_reply_free(r);
}

static void allocation_failures_leave_nothing(void **state)
{
    (void)state;
    /* Enough nodes that nodes[] and the index grow more than once. */
    static const char many[] =
        "[ [ :0 :0 [ 'a' :1 'i' ] [ 'b' :1 ] [ 'c' :1 ] [ 'd' :1 ] [ 'e' :1 ] [ 'f' :1 ] ]"
        "  [ :1 :1 [ 'g' :1 ] [ 'h' :1 ] [ 'i' :1 ] [ 'j' :1 ] [ 'k' :1 ] [ 'l' :1 ] ]"
        "  [ :2 :2 [ 'a' :1 'later-id' ] [ 'm' :1 ] [ 'n' :1 ] [ 'o' :1 ] [ 'p' :1 ] ] ]";
    for (int resp = 2; resp <= 3; resp++) {
        sweep(SHARDS, three_shards, resp);
        sweep(SHARDS, listed_twice, resp);
        sweep(SLOTS, slots_full, resp);
        sweep(SLOTS, many, resp);
    }
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(shards_three_masters_with_replicas),
        cmocka_unit_test(shards_as_redis_sent_them),
        cmocka_unit_test(shards_unknown_endpoints_use_the_address_asked),
        cmocka_unit_test(shards_ipv6_and_host_names),
        cmocka_unit_test(shards_empty_and_slotless),
        cmocka_unit_test(shards_skip_what_they_do_not_know),
        cmocka_unit_test(shards_tls_only_node_is_reached_on_its_tls_port),
        cmocka_unit_test(shards_a_node_listed_twice_is_one_node),
        cmocka_unit_test(slots_with_and_without_ids_and_metadata),
        cmocka_unit_test(slots_repeat_a_master_for_each_range),
        cmocka_unit_test(slots_unknown_hosts_ipv6_and_names),
        cmocka_unit_test(slots_as_redis_sent_them),
        cmocka_unit_test(both_parsers_use_the_given_allocator),
        cmocka_unit_test(no_reply_is_refused),
        cmocka_unit_test(too_many_nodes_are_refused),
        cmocka_unit_test(allocation_failures_leave_nothing),
    };
    enum { NFIXED = sizeof fixed / sizeof fixed[0] };
    /* Each malformed reply is a test case of its own, so that the TAP
     * output names the one that broke. */
    static struct CMUnitTest tests[NFIXED + N_BAD];
    static char names[N_BAD][96];
    for (size_t i = 0; i < NFIXED; i++)
        tests[i] = fixed[i];
    for (size_t i = 0; i < N_BAD; i++) {
        snprintf(names[i], sizeof names[i], "malformed %s", bads[i].name);
        tests[NFIXED + i] = (struct CMUnitTest){names[i], test_bad, NULL, NULL, (void *)&bads[i]};
    }
    return _cmocka_run_group_tests("topology", tests, NFIXED + N_BAD, NULL, NULL);
}
