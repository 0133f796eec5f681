/* cluster_private.h (tests): what cluster.c shares with cluster_migrate.c. */
#ifndef ARC_TEST_CLUSTER_PRIVATE_H
#define ARC_TEST_CLUSTER_PRIVATE_H

#include "cluster.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TCLUSTER_SLOTS 16384
#define TCLUSTER_MAX_NODES 24 /* 8 masters with 2 replicas each */
#define TCLUSTER_ID_LEN 40
#define TCLUSTER_MAX_MIGRATIONS 16

/* One node's CLUSTER NODES, by our node numbers. */
typedef struct tcluster_view {
    bool known[TCLUSTER_MAX_NODES];
    bool failed[TCLUSTER_MAX_NODES]; /* flagged "fail" (agreed, not just "fail?") */
    int master_of[TCLUSTER_MAX_NODES]; /* -1: a master; else whom it follows */
    int16_t owner[TCLUSTER_SLOTS];     /* -1: unassigned */
} tcluster_view;

typedef struct tcluster_migration {
    int slot, from, to;
} tcluster_migration;

struct test_cluster {
    int n, masters, replicas; /* replicas: per master, at the start */
    bool tls;
    test_redis *node[TCLUSTER_MAX_NODES];
    bool up[TCLUSTER_MAX_NODES];
    char id[TCLUSTER_MAX_NODES][TCLUSTER_ID_LEN + 1];
    tcluster_migration migration[TCLUSTER_MAX_MIGRATIONS];
    int migrations;
    /* Two views on the heap (32 KB each): the first running node's, and
     * another to compare with it or to answer a question. */
    tcluster_view *ref, *other;
    test_cluster *next; /* the list that the atexit handler walks */
};

/* cluster_view.c */
bool tcluster__is_status(const arc_reply *r, const char *text);
void tcluster__print_logs(const test_cluster *c);

/* Whether the answer to `command` (a literal: CLUSTER INFO or INFO
 * replication) on node i holds `line` and, when not NULL, `line2`. */
bool tcluster__info_has(test_cluster *c, int i, const char *command, const char *line,
                        const char *line2);

/* The first running node, or -1. */
int tcluster__first_up(const test_cluster *c);

/* Node o's CLUSTER NODES into v. 0, or -1 with `what` set. */
int tcluster__read_view(test_cluster *c, int o, tcluster_view *v, char *what, size_t cap);

/* Whether the cluster is whole now (see test_cluster_wait_ok); when not,
 * `what` says why. The view of the first running node ends in c->ref. */
bool tcluster__whole(test_cluster *c, char *what, size_t cap);

/* Waits up to ms until the cluster is whole (test_cluster_wait_ok) and,
 * with slot >= 0, node `owner` serves it. 0, or -1 after saying on stderr
 * what `doing` was waiting for. */
int tcluster__wait(test_cluster *c, long ms, int slot, int owner, const char *doing);

/* cluster_cli.c: redis-cli --cluster create of all c's nodes with
 * c->replicas replicas each, and --cluster check on node 0 (slots covered,
 * nodes agreeing, no open slot). 0, or -1 with redis-cli's output (and for
 * create the nodes' logs) on stderr. */
int tcluster__cli_create(test_cluster *c);
int tcluster__cli_check(test_cluster *c);

#endif
