/* cluster.h (tests): a throwaway Redis Cluster per test. */
#ifndef ARC_TEST_CLUSTER_H
#define ARC_TEST_CLUSTER_H

#include "redis_server.h"

#include <arc/reply.h>

/* A Redis Cluster of test_redis nodes (see redis_server.h) on loopback:
 * each node has its own temporary directory with its own nodes.conf, free
 * ports for clients and for the cluster bus, no persistence, dies with the
 * test and is stopped at exit if the test forgot. The cluster is made with
 * `redis-cli --cluster create`; redis-cli is $ARC_REDIS_CLI when set and not
 * empty, else "redis-cli" from $PATH (Debian's redis-tools, which
 * redis-server depends on).
 *
 * Nodes are numbered 0 .. test_cluster_size() - 1. At the start nodes 0 ..
 * masters - 1 are the masters, holding the slots in that order (node 0 the
 * first range); which replica follows which master is redis-cli's choice,
 * for test_cluster_replica_of() to say. Failovers change roles; a node keeps
 * its number, ports and id for the cluster's life, restarts included.
 *
 * Every call that waits does so by polling the nodes' own reports (CLUSTER
 * INFO, CLUSTER NODES, ROLE, INFO replication), never by sleeping for a
 * guessed time, and on failure prints what it was waiting for and the tail
 * of the nodes' logs on stderr. Not thread-safe. */
typedef struct test_cluster test_cluster;

#define TEST_CLUSTER_NO_REPLICAS (-1)

typedef struct test_cluster_options {
    int masters;          /* 3 to 8; 0: 3 (redis-cli wants 3 at least) */
    int replicas;         /* replicas per master, 1 or 2; 0: 1;
                             TEST_CLUSTER_NO_REPLICAS: none */
    long node_timeout_ms; /* cluster-node-timeout, 100 to 60000; 0: 1000.
                             A replica takes over about twice this after its
                             master dies. */
    /* TLS, as test_redis_options' `tls`: each node also listens for TLS on
     * test_cluster_tls_port(), with tls-cluster and tls-replication on, so
     * the bus and replication use TLS too. The plain port stays: a client
     * on it is told plain ports (CLUSTER SLOTS, MOVED, ASK), a TLS client
     * TLS ports; CLUSTER SHARDS gives both ("port", "tls-port") to
     * either. */
    int tls;
    const char *const *extra_args; /* for every node, as in
                                      test_redis_options; NULL: none */
} test_cluster_options;

/* Starts the nodes, creates the cluster and waits (30 s at most; about
 * 2.5 s is usual: a master reports cluster_state:ok no sooner than 2 s
 * after it started) until test_cluster_wait_ok() holds, every node's
 * CLUSTER SLOTS lists every replica (which takes a FLUSHALL on each master,
 * see settle() in cluster.c) and `redis-cli --cluster check` passes. `opt` may be NULL
 * (the defaults); nothing in it is kept. Returns NULL on failure, with the
 * reason and the tails of the nodes' logs on stderr. Free with
 * test_cluster_stop(). */
test_cluster *test_cluster_start(const test_cluster_options *opt);

/* The number of nodes: masters * (1 + replicas). */
int test_cluster_size(const test_cluster *c);

/* Node i (0 <= i < size); NULL for another i. Borrowed, valid until
 * test_cluster_stop(); the test may SIGSTOP it or send it commands but must
 * not stop or restart it other than through this header. */
test_redis *test_cluster_node(test_cluster *c, int i);

/* Node i's ports on 127.0.0.1 (TLS: 0 without `tls`) and its 40-character
 * node id, NUL-terminated and valid until test_cluster_stop(); -1 or NULL
 * for a bad i. */
int test_cluster_port(const test_cluster *c, int i);
int test_cluster_tls_port(const test_cluster *c, int i);
const char *test_cluster_node_id(const test_cluster *c, int i);

/* The node whose plain or TLS port is `port` (e.g. from a MOVED), or -1. */
int test_cluster_node_by_port(const test_cluster *c, int port);

/* Whether node i runs (not killed by test_cluster_kill(), or restarted
 * since): 1 or 0; -1 for a bad i. */
int test_cluster_is_up(const test_cluster *c, int i);

/* The hash slot of `key` (a NUL-terminated string), from CLUSTER KEYSLOT on
 * a running node; -1 with the reason on stderr. */
int test_cluster_key_slot(test_cluster *c, const char *key);

/* The node that serves `slot` (0 to 16383) now, as the first running node
 * sees it in CLUSTER NODES; a slot in migration is still its source's.
 * -1, with the reason on stderr, when no running node answers or the slot
 * is unassigned there. */
int test_cluster_master_for_slot(test_cluster *c, int slot);

/* A running replica of master `m`, as the first running node sees it (the
 * lowest-numbered when there are several); -1 when there is none or m is
 * not a master. */
int test_cluster_replica_of(test_cluster *c, int m);

/* Runs one command on node i's blocking admin connection, exactly as
 * test_redis_command() (same reply ownership and NULL cases; a MOVED is an
 * error reply like any other); NULL too for a bad i. */
arc_reply *test_cluster_command(test_cluster *c, int i, const char *fmt, ...);

/* Live slot migration, done the way redis-cli does it:
 *
 * begin: CLUSTER SETSLOT slot IMPORTING on `to` (a running master), then
 * MIGRATING on the master that serves the slot. From then on the source
 * answers ASK for the slot's keys it no longer has. At most 16 migrations
 * may be open at once, one per slot.
 *
 * migrate_keys: moves up to `count` of the slot's keys still on the source
 * (CLUSTER GETKEYSINSLOT, then one MIGRATE each, without REPLACE: a key
 * that exists on both sides is an error, as in redis-cli); count < 0: all.
 * Returns how many it moved, or -1.
 *
 * end: moves the keys left, then CLUSTER SETSLOT slot NODE to-id on `to`,
 * on the source, then on every other running master, and waits (10 s at
 * most) until every running node agrees that `to` serves the slot and
 * test_cluster_wait_ok() holds.
 *
 * move_slot is begin then end: the whole migration. begin, end and move
 * return 0, or -1 with the reason on stderr; after a failed step the slot
 * may be left open (see CLUSTER SETSLOT STABLE). */
int test_cluster_migration_begin(test_cluster *c, int slot, int to);
int test_cluster_migrate_keys(test_cluster *c, int slot, int count);
int test_cluster_migration_end(test_cluster *c, int slot);
int test_cluster_move_slot(test_cluster *c, int slot, int to);

/* CLUSTER FAILOVER on replica r (a graceful failover: its master pauses
 * its clients until r has caught up), then waits (15 s at most; 0.2 to
 * 0.5 s) until r is a master with its old master as its replica and
 * test_cluster_wait_ok() holds (so the old master is in sync again and
 * another failover may follow at once). 0, or -1 with the reason on stderr (r not a running
 * replica included). */
int test_cluster_failover(test_cluster *c, int r);

/* SIGKILL to node i, and waits until the process is gone (its pid stays
 * reserved until test_cluster_restart() or stop). Returns at once after
 * that: the cluster notices within about twice the node timeout, then
 * test_cluster_wait_ok() tells when a replica has taken over. 0, or -1 for
 * a bad i or a node already down. */
int test_cluster_kill(test_cluster *c, int i);

/* Starts node i again (killed or not) on the same ports with the same
 * nodes.conf, so with the same id, but no data; returns once it answers
 * PING. The cluster then makes a master that lost its slots a replica of
 * the node that took them; test_cluster_wait_ok() tells when that is done
 * and the node has synced (about 0.1 s here).
 * 0, or -1 with the reason on stderr. */
int test_cluster_restart(test_cluster *c, int i);

/* Waits up to `ms` until every running node reports cluster_state:ok and
 * knows every node, sees all 16384 slots served by running masters and no
 * running node as failed, all running nodes agree on which node serves
 * each slot and on which master each running replica follows, and every
 * running replica reports its replication link up (so a failover to it may
 * follow). 0, or -1 with the first flaw found and the nodes' log tails on
 * stderr. */
int test_cluster_wait_ok(test_cluster *c, long ms);

/* Stops every node, removes their directories and frees `c`. NULL is
 * ignored. */
void test_cluster_stop(test_cluster *c);

#endif
