/* cluster.c (tests): starts, fails over and stops a Redis Cluster made of
 * test_redis nodes; cluster_view.c says whether it is whole, cluster_cli.c
 * runs redis-cli for it and cluster_migrate.c moves its slots. */
#define _GNU_SOURCE

#include "cluster_private.h"
#include "spawn_helper.h"
#include "tls_certs.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define START_TIMEOUT_MS 30000
#define FAILOVER_TIMEOUT_MS 15000
#define POLL_MS 20

/* Clusters not stopped yet, as in redis_server.c. */
static test_cluster *live;
static pid_t live_owner;

/* --- start and stop ----------------------------------------------------- */

static void unlink_live(test_cluster *c)
{
    for (test_cluster **p = &live; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
}

static void destroy(test_cluster *c)
{
    unlink_live(c);
    for (int i = 0; i < c->n; i++)
        test_redis_stop(c->node[i]);
    free(c->ref);
    free(c->other);
    free(c);
}

/* Registered after the first node's test_redis_start(), hence run before
 * test_redis's own handler, while the nodes still exist. */
static void stop_all_at_exit(void)
{
    if (getpid() != live_owner)
        return;
    while (live)
        destroy(live);
}

static int check_options(const test_cluster_options *opt, int *masters, int *replicas,
                         long *timeout)
{
    *masters = opt && opt->masters ? opt->masters : 3;
    *replicas = !opt || opt->replicas == 0 ? 1 : opt->replicas;
    if (*replicas == TEST_CLUSTER_NO_REPLICAS)
        *replicas = 0;
    *timeout = opt && opt->node_timeout_ms ? opt->node_timeout_ms : 1000;
    if (*masters < 3 || *masters > 8 || *replicas < 0 || *replicas > 2 || *timeout < 100 ||
        *timeout > 60000) {
        fprintf(stderr, "test_cluster: bad options: %d masters (3 to 8), %d replicas each "
                        "(1 or 2, or none), node timeout %ld ms (100 to 60000)\n",
                *masters, *replicas, *timeout);
        return -1;
    }
    if (opt && opt->tls && !test_tls_files_get()) {
        fprintf(stderr, "test_cluster: TLS asked for, but there are no certificates\n");
        return -1;
    }
    return 0;
}

static test_redis *start_node(const test_cluster_options *opt, long timeout)
{
    char ms[24];
    snprintf(ms, sizeof ms, "%ld", timeout);
    const char *args[64] = {
        "--cluster-node-timeout", ms,
        /* Redis 7.0 holds a diskless full sync back 5 s to batch replicas;
         * here a replica must be in sync before it can take over. */
        "--repl-diskless-sync-delay", "0",
    };
    size_t n = 4;
    if (opt && opt->tls) {
        /* The bus always asks the connecting node for a certificate (Redis
         * ignores tls-auth-clients there), and server_cert is for servers
         * only (serverAuth): each node presents client_cert instead. */
        const test_tls_files *f = test_tls_files_get();
        const char *tls[] = {"--tls-cluster", "yes", "--tls-replication", "yes",
                             "--tls-client-cert-file", f->client_cert,
                             "--tls-client-key-file", f->client_key};
        for (size_t i = 0; i < sizeof tls / sizeof tls[0]; i++)
            args[n++] = tls[i];
    }
    for (size_t i = 0; opt && opt->extra_args && opt->extra_args[i] && n + 1 < 64; i++)
        args[n++] = opt->extra_args[i];
    args[n] = NULL;
    test_redis_options ro = {.cluster = 1, .tls = opt && opt->tls, .extra_args = args};
    return test_redis_start(&ro);
}

/* Whether every range in node i's CLUSTER SLOTS lists all its replicas.
 * Redis leaves out a replica whose replication offset, as the node last
 * heard it, is 0: one that has never received a byte of the stream. */
static bool slots_list_replicas(test_cluster *c, int i)
{
    arc_reply *r = test_redis_command(c->node[i], "CLUSTER SLOTS");
    bool all = r && r->type == ARC_REPLY_ARRAY && r->elements > 0;
    for (size_t k = 0; all && k < r->elements; k++)
        all = r->element[k]->elements == (size_t)(3 + c->replicas);
    arc_reply_free(r);
    return all;
}

/* After the create: the cluster whole (replicas in sync included), masters
 * are nodes 0 .. masters - 1 (redis-cli takes the first nodes of one
 * address as masters), every node lists every replica in CLUSTER SLOTS,
 * then redis-cli's check. */
static int settle(test_cluster *c, long long deadline)
{
    if (tcluster__wait(c, deadline - spawn_now_ms(), -1, -1, "start") != 0)
        return -1;
    for (int j = 0; j < c->n; j++) {
        if ((c->ref->master_of[j] == -1) != (j < c->masters)) {
            fprintf(stderr, "test_cluster: node %d is %s, not what redis-cli used to make it\n",
                    j, c->ref->master_of[j] == -1 ? "a master" : "a replica");
            return -1;
        }
    }
    /* An empty master's stream is empty until its first write or its
     * first replication PING (repl-ping-replica-period, 10 s), so its
     * replicas stay out of CLUSTER SLOTS: a FLUSHALL, which Redis always
     * propagates, gives them an offset, and the bus spreads it. */
    for (int m = 0; c->replicas > 0 && m < c->masters; m++) {
        arc_reply *r = test_redis_command(c->node[m], "FLUSHALL");
        bool ok = tcluster__is_status(r, "OK");
        arc_reply_free(r);
        if (!ok) {
            fprintf(stderr, "test_cluster: FLUSHALL on node %d failed\n", m);
            return -1;
        }
    }
    for (int i = 0; i < c->n; i++) {
        while (!slots_list_replicas(c, i)) {
            if (spawn_now_ms() >= deadline) {
                fprintf(stderr, "test_cluster: node %d's CLUSTER SLOTS lacks replicas\n", i);
                tcluster__print_logs(c);
                return -1;
            }
            spawn_sleep_ms(POLL_MS);
        }
    }
    return tcluster__cli_check(c);
}

test_cluster *test_cluster_start(const test_cluster_options *opt)
{
    int masters, replicas;
    long timeout;
    if (check_options(opt, &masters, &replicas, &timeout) != 0)
        return NULL;
    test_cluster *c = calloc(1, sizeof *c);
    if (c) {
        c->ref = malloc(sizeof *c->ref);
        c->other = malloc(sizeof *c->other);
    }
    if (!c || !c->ref || !c->other) {
        fprintf(stderr, "test_cluster: out of memory\n");
        if (c)
            destroy(c);
        return NULL;
    }
    c->masters = masters;
    c->replicas = replicas;
    c->tls = opt && opt->tls;
    long long deadline = spawn_now_ms() + START_TIMEOUT_MS;

    for (int i = 0; i < masters * (1 + replicas); i++) {
        c->node[i] = start_node(opt, timeout);
        if (!c->node[i]) {
            fprintf(stderr, "test_cluster: node %d did not start\n", i);
            destroy(c);
            return NULL;
        }
        c->n = i + 1;
        c->up[i] = true;
        if (i == 0) {
            if (live_owner != getpid()) {
                live_owner = getpid();
                live = NULL; /* a forked child starts with its own list */
                atexit(stop_all_at_exit);
            }
            c->next = live;
            live = c;
        }
        arc_reply *r = test_redis_command(c->node[i], "CLUSTER MYID");
        bool ok = r && r->type == ARC_REPLY_STRING && r->len == TCLUSTER_ID_LEN;
        if (ok)
            memcpy(c->id[i], r->str, TCLUSTER_ID_LEN + 1);
        arc_reply_free(r);
        if (!ok) {
            fprintf(stderr, "test_cluster: node %d gave no CLUSTER MYID\n", i);
            destroy(c);
            return NULL;
        }
    }
    if (tcluster__cli_create(c) != 0 || settle(c, deadline) != 0) {
        fprintf(stderr, "test_cluster: the cluster did not come up\n");
        destroy(c);
        return NULL;
    }
    return c;
}

void test_cluster_stop(test_cluster *c)
{
    if (c)
        destroy(c);
}

/* --- nodes -------------------------------------------------------------- */

static bool bad_index(const test_cluster *c, int i, const char *fn)
{
    if (i >= 0 && i < c->n)
        return false;
    fprintf(stderr, "test_cluster_%s: no node %d\n", fn, i);
    return true;
}

int test_cluster_size(const test_cluster *c)
{
    return c->n;
}

test_redis *test_cluster_node(test_cluster *c, int i)
{
    return bad_index(c, i, "node") ? NULL : c->node[i];
}

int test_cluster_port(const test_cluster *c, int i)
{
    return bad_index(c, i, "port") ? -1 : test_redis_port(c->node[i]);
}

int test_cluster_tls_port(const test_cluster *c, int i)
{
    return bad_index(c, i, "tls_port") ? -1 : test_redis_tls_port(c->node[i]);
}

const char *test_cluster_node_id(const test_cluster *c, int i)
{
    return bad_index(c, i, "node_id") ? NULL : c->id[i];
}

int test_cluster_node_by_port(const test_cluster *c, int port)
{
    for (int i = 0; port > 0 && i < c->n; i++) {
        if (test_redis_port(c->node[i]) == port || test_redis_tls_port(c->node[i]) == port)
            return i;
    }
    return -1;
}

int test_cluster_is_up(const test_cluster *c, int i)
{
    return bad_index(c, i, "is_up") ? -1 : c->up[i];
}

arc_reply *test_cluster_command(test_cluster *c, int i, const char *fmt, ...)
{
    if (bad_index(c, i, "command"))
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    arc_reply *r = test_redis_vcommand(c->node[i], fmt, ap);
    va_end(ap);
    return r;
}

int test_cluster_key_slot(test_cluster *c, const char *key)
{
    int o = tcluster__first_up(c);
    arc_reply *r = o < 0 ? NULL : test_redis_command(c->node[o], "CLUSTER KEYSLOT %s", key);
    int slot = r && r->type == ARC_REPLY_INTEGER ? (int)r->integer : -1;
    if (slot < 0)
        fprintf(stderr, "test_cluster: no CLUSTER KEYSLOT for \"%s\"\n", key);
    arc_reply_free(r);
    return slot;
}

int test_cluster_master_for_slot(test_cluster *c, int slot)
{
    if (slot < 0 || slot >= TCLUSTER_SLOTS) {
        fprintf(stderr, "test_cluster: no slot %d\n", slot);
        return -1;
    }
    char what[160];
    int o = tcluster__first_up(c);
    if (o < 0 || tcluster__read_view(c, o, c->other, what, sizeof what) != 0) {
        fprintf(stderr, "test_cluster: master_for_slot: %s\n", o < 0 ? "no node runs" : what);
        return -1;
    }
    int m = c->other->owner[slot];
    if (m < 0)
        fprintf(stderr, "test_cluster: node %d has slot %d unassigned\n", o, slot);
    return m;
}

int test_cluster_replica_of(test_cluster *c, int m)
{
    char what[160];
    int o = tcluster__first_up(c);
    if (bad_index(c, m, "replica_of") || o < 0 ||
        tcluster__read_view(c, o, c->other, what, sizeof what) != 0)
        return -1;
    for (int j = 0; j < c->n; j++) {
        if (c->up[j] && c->other->master_of[j] == m)
            return j;
    }
    return -1;
}

/* --- failures ----------------------------------------------------------- */

int test_cluster_failover(test_cluster *c, int r)
{
    if (bad_index(c, r, "failover"))
        return -1;
    long long deadline = spawn_now_ms() + FAILOVER_TIMEOUT_MS;
    char what[160];
    int o = tcluster__first_up(c);
    int m = -1;
    if (c->up[r] && tcluster__read_view(c, o, c->other, what, sizeof what) == 0)
        m = c->other->master_of[r];
    if (m < 0 || !c->up[m]) {
        fprintf(stderr, "test_cluster: failover: node %d is not a running replica of a "
                        "running master\n", r);
        return -1;
    }
    arc_reply *reply = test_redis_command(c->node[r], "CLUSTER FAILOVER");
    bool ok = tcluster__is_status(reply, "OK");
    if (!ok)
        fprintf(stderr, "test_cluster: CLUSTER FAILOVER on node %d answered %s\n", r,
                reply && reply->str ? reply->str : "nothing");
    arc_reply_free(reply);
    if (!ok)
        return -1;
    for (;;) {
        if (tcluster__whole(c, what, sizeof what)) {
            if (c->ref->master_of[r] == -1 && c->ref->master_of[m] == r)
                return 0;
            snprintf(what, sizeof what, "node %d not yet a master with node %d its replica", r,
                     m);
        }
        if (spawn_now_ms() >= deadline)
            break;
        spawn_sleep_ms(POLL_MS);
    }
    fprintf(stderr, "test_cluster: failover to node %d not done within %d ms: %s\n", r,
            FAILOVER_TIMEOUT_MS, what);
    tcluster__print_logs(c);
    return -1;
}

int test_cluster_kill(test_cluster *c, int i)
{
    if (bad_index(c, i, "kill"))
        return -1;
    pid_t pid = (pid_t)test_redis_pid(c->node[i]);
    if (!c->up[i] || pid <= 0) {
        fprintf(stderr, "test_cluster: node %d is already down\n", i);
        return -1;
    }
    if (kill(pid, SIGKILL) != 0) {
        fprintf(stderr, "test_cluster: kill %d: %s\n", (int)pid, strerror(errno));
        return -1;
    }
    /* WNOWAIT leaves the zombie to test_redis, which reaps it on restart
     * or stop; until then its pid cannot go to another process. */
    siginfo_t info;
    while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
    }
    c->up[i] = false;
    return 0;
}

int test_cluster_restart(test_cluster *c, int i)
{
    if (bad_index(c, i, "restart"))
        return -1;
    c->up[i] = false;
    if (test_redis_restart(c->node[i]) != 0)
        return -1;
    c->up[i] = true;
    return 0;
}
