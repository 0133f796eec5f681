/* itest_cluster.h (tests): what the cluster scenarios of
 * scenarios_cluster_tls.c (the TLS cluster) and scenarios_cluster_fake.c
 * (scripted fake nodes) share: recorders for commands and events, and a
 * cluster client opened on the scenario's loop; scenarios_cluster.c uses
 * the recorders too. */
#ifndef ARC_TEST_ITEST_CLUSTER_H
#define ARC_TEST_ITEST_CLUSTER_H

#include "itest.h"

#include <arc/cluster.h>

/* One command's callback: how often, the last status, a copy of the last
 * reply, arc_cluster_error() during the last call. */
typedef struct icl_rec {
    int calls;
    int status;
    arc_reply *reply;
    char error[320];
} icl_rec;

void icl_rec_cb(arc_cluster *cl, arc_reply *r, int status, void *privdata);
void icl_rec_clear(icl_rec *k);

/* on_event's counts. For ARC_CLUSTER_DISCOVERY_FAILED, arc_cluster_error()
 * of the last; for ARC_CLUSTER_NODE_REMOVED, the member's failure status
 * and message of the last that had one (why its connection ended). */
typedef struct icl_events {
    int topology, added, removed, discovery_failed;
    char last_error[320];
    int removed_failure;
    char removed_error[320];
    int watch_port;  /* when not 0: connections made to this node count */
    int watch_added;
} icl_events;

void icl_on_event(arc_cluster *cl, int event, arc_member *node, void *data);

/* The port of a member's name ("host:port", "[v6]:port"); -1 without one. */
int icl_member_port(const arc_member *m);

/* A cluster client on `o` (on_event and data set to `ev` when not NULL),
 * attached to the scenario's loop; fails the test when it cannot be. */
arc_cluster *icl_open(itest *t, arc_cluster_options o, icl_events *ev);

/* One command (printf form) through the cluster, run to its callback
 * (10 s at most). */
void icl_do(itest *t, arc_cluster *cl, icl_rec *k, const char *fmt, ...);

/* The node number serving `key`'s slot now, from the harness. */
int icl_owner_of(itest *t, const char *key);
/* A running master other than node `except` (fails the test when none). */
int icl_other_master(itest *t, int except);
/* DBSIZE on every master through one fan-out with its replies kept: the
 * sum; fails the test unless `masters` replied, each with an integer. */
long long icl_masters_dbsize(itest *t, arc_cluster *cl, size_t masters);
/* FLUSHALL on every running node (replicas refuse; their masters' flush
 * reaches them). */
void icl_flush_all(itest *t);

#endif
