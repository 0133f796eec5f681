/* bench_cluster.c: what routing costs. SET of a 16-byte value, DEPTH in
 * flight, over keys of every slot, through the cluster client against a
 * cluster, or through one context against one standalone node:
 *
 *   bench_cluster cluster HOST PORT DEPTH COUNT [ORDER]   HOST:PORT is a seed
 *   bench_cluster single  HOST PORT DEPTH COUNT [ORDER]
 *
 * ORDER is the order of the keys (slot_keys.h): `slot` (the default), one
 * slot after the other, so that the window sits on one master at a time,
 * or `mixed`, shuffled, so that it is spread over every master.
 *
 * Prints: <mode>,<order>,<depth>,<ops per s>,<client CPU us per op>,
 * <recv per op>,<send per op>,<poll per op> (CPU from getrusage, user +
 * system; all after a warm-up of COUNT/10). bench/run.sh cluster runs
 * `single` at DEPTH and at DEPTH / masters too: a window spread over one
 * connection per master carries about DEPTH / masters on each, so each
 * read and write moves fewer commands than one connection at DEPTH does.
 *
 * The syscalls are counted by defining recv, send and poll here, each a
 * counter in front of the kernel's own call: libarc is a shared library,
 * so its calls bind to these before the C library's, and the poll loop's
 * header calls this poll. In steady state the client makes no other
 * syscall (strace -c -f on a run shows recvfrom, sendto and poll only,
 * beyond connecting and exiting). Counting in the process rather than
 * under strace keeps the timing as it is: strace slows the client enough
 * that more replies gather per read, which would undercount the reads. */
#define _GNU_SOURCE
/* A fortified build declares recv as an inline wrapper, which the
 * definition below would collide with. */
#undef _FORTIFY_SOURCE
#include <arc/adapters/poll.h>

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "slot_keys.h"

/* ---- syscall counting ---- */

static long n_recv, n_send, n_poll;

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    n_recv++;
    return (ssize_t)syscall(SYS_recvfrom, fd, buf, len, flags, NULL, NULL);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    n_send++;
    return (ssize_t)syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    n_poll++;
#ifdef SYS_poll
    return (int)syscall(SYS_poll, fds, nfds, timeout);
#else /* aarch64 and the other newer ports have ppoll only */
    struct timespec ts = {timeout / 1000, (long)(timeout % 1000) * 1000000L};
    return (int)syscall(SYS_ppoll, fds, nfds, timeout < 0 ? NULL : &ts, NULL, 0);
#endif
}

/* ---- the load ---- */

static const char value[] = "0123456789abcdef";
static long issued, done, failed, target;
static arc_cluster *cl;
static arc_context *ctx;
static char keys[BENCH_SLOTS][BENCH_KEY_MAX];

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
    const char *key = keys[issued % BENCH_SLOTS];
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
    const char *order = argc == 7 ? argv[6] : "slot";
    bool mixed = strcmp(order, "mixed") == 0;
    if ((argc != 6 && argc != 7) || (!mixed && strcmp(order, "slot") != 0)) {
        fprintf(stderr, "usage: bench_cluster cluster|single HOST PORT DEPTH COUNT [slot|mixed]\n");
        return 2;
    }
    const char *mode = argv[1], *host = argv[2];
    int port = atoi(argv[3]);
    long depth = atol(argv[4]), count = atol(argv[5]);
    if (depth <= 0 || count <= 0)
        return 2;
    bench_slot_keys(keys);
    if (mixed)
        bench_mix_keys(keys);
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
    n_recv = n_send = n_poll = 0;
    double t0 = bench_now_s(), c0 = bench_cpu_s();
    run(loop, depth, count);
    double t1 = bench_now_s(), c1 = bench_cpu_s();
    double per = 1.0 / (double)count;
    printf("%s,%s,%ld,%.0f,%.3f,%.4f,%.4f,%.4f\n", mode, order, depth, (double)count / (t1 - t0),
           (c1 - c0) * 1e6 * per, (double)n_recv * per, (double)n_send * per, (double)n_poll * per);
    if (failed > 0)
        fprintf(stderr, "%ld commands failed\n", failed);
    arc_cluster_free(cl);
    arc_free(ctx);
    arc_poll_loop_free(loop);
    return failed > 0;
}
