/* bench_cluster.c: what routing costs. SET of a 16-byte value, DEPTH in
 * flight, over keys of every slot, through the cluster client against a
 * cluster, or through one context against one standalone node:
 *
 *   bench_cluster cluster HOST PORT DEPTH COUNT   HOST:PORT is a seed
 *   bench_cluster single  HOST PORT DEPTH COUNT
 *
 * Prints: <mode>,<depth>,<ops per s>,<client CPU us per op>
 * (getrusage, user + system, after a warm-up of COUNT/10). */
#define _GNU_SOURCE
#include <arc/adapters/poll.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_util.h"

static const char value[] = "0123456789abcdef";
static long issued, done, failed, target;
static arc_cluster *cl;
static arc_context *ctx;
static char keys[16384][24];

static void issue(void);

static void on_cluster(arc_cluster *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    (void)pd;
    done++;
    if (status != ARC_OK || r->type == ARC_REPLY_ERROR)
        failed++;
    issue();
}

static void on_context(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    (void)pd;
    done++;
    if (status != ARC_OK || r->type == ARC_REPLY_ERROR)
        failed++;
    issue();
}

static void issue(void)
{
    if (issued >= target)
        return;
    const char *key = keys[issued % 16384];
    issued++;
    if (cl != NULL)
        arc_cluster_command(cl, on_cluster, NULL, "SET %s %s", key, value);
    else
        arc_command(ctx, on_context, NULL, "SET %s %s", key, value);
}

static void run(arc_poll_loop *loop, long depth, long count)
{
    target = issued + count;
    for (long i = 0; i < depth && issued < target; i++)
        issue();
    while (done < target)
        arc_poll_loop_run_once(loop, 100);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bench_cluster cluster|single HOST PORT DEPTH COUNT\n");
        return 2;
    }
    const char *mode = argv[1], *host = argv[2];
    int port = atoi(argv[3]);
    long depth = atol(argv[4]), count = atol(argv[5]);
    if (depth <= 0 || count <= 0)
        return 2;
    /* One key per slot, so that the load covers every slot. */
    int found = 0;
    for (long i = 0; found < 16384; i++) {
        char k[24];
        snprintf(k, sizeof k, "k%ld", i);
        unsigned s = arc_cluster_key_slot(k, strlen(k));
        if (keys[s][0] == '\0') {
            memcpy(keys[s], k, sizeof k);
            found++;
        }
    }
    arc_poll_loop *loop = arc_poll_loop_new();
    arc_cluster_seed seed = {host, port};
    if (strcmp(mode, "cluster") == 0) {
        arc_cluster_options o = {0};
        o.seeds = &seed;
        o.nseeds = 1;
        cl = arc_cluster_new(&o);
        if (cl == NULL || arc_cluster_attach(cl, arc_poll_attach_loop, loop) != ARC_OK)
            return 1;
    } else {
        arc_options o = {0};
        o.host = host;
        o.port = port;
        ctx = arc_connect(&o);
        if (ctx == NULL || arc_poll_attach(ctx, loop) != ARC_OK)
            return 1;
    }
    run(loop, depth, count / 10 > 0 ? count / 10 : 1); /* warm-up, connects */
    double t0 = bench_now_s(), c0 = bench_cpu_s();
    run(loop, depth, count);
    double t1 = bench_now_s(), c1 = bench_cpu_s();
    printf("%s,%ld,%.0f,%.3f\n", mode, depth, (double)count / (t1 - t0),
           (c1 - c0) * 1e6 / (double)count);
    if (failed > 0)
        fprintf(stderr, "%ld commands failed\n", failed);
    arc_cluster_free(cl);
    arc_free(ctx);
    arc_poll_loop_free(loop);
    return failed > 0;
}
