/* bench_idle.c: what an idle connection costs. N contexts on one poll loop
 * each send one command to a server (the null server: +OK to everything)
 * and get its reply; then they sit idle. The heap bytes arc holds for them
 * (an allocator that counts live bytes, given to every context and to the
 * loop) are read right after the replies and again once the idle trim has
 * run, with the process's RSS beside them.
 *
 *   bench_idle PORT [N]      N defaults to 10000
 *
 * Prints one line per phase:
 *   idle,<phase>,<contexts>,<arc heap bytes per context>,<rss KiB per context>
 */
#define _GNU_SOURCE
#include <arc/adapters/poll.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_util.h"


static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * 4;
}

static int answered;

static void on_reply(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    (void)pd;
    if (r != NULL && status == ARC_OK)
        answered++;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_idle PORT [N]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    int n = argc > 2 ? atoi(argv[2]) : 10000;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)n + 64 ? rl.rlim_max : (rlim_t)n + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    bench_counter k = {0};
    arc_allocator a = {bench_counting, &k};
    arc_poll_loop *loop = arc_poll_loop_new_with(&a);
    arc_context **cs = calloc((size_t)n, sizeof *cs);
    if (loop == NULL || cs == NULL)
        return 1;
    long rss0 = rss_kib();
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = "127.0.0.1";
    o.port = port;
    o.allocator = &a;
    o.connect_timeout_ms = 10000;
    for (int i = 0; i < n; i++) {
        cs[i] = arc_connect(&o);
        if (cs[i] == NULL || arc_poll_attach(cs[i], loop) != ARC_OK ||
            arc_command(cs[i], on_reply, NULL, "SET key:%d value", i) != ARC_OK) {
            fprintf(stderr, "bench_idle: context %d failed\n", i);
            return 1;
        }
    }
    int64_t end = arc_now_ms() + 30000;
    while (answered < n && arc_now_ms() < end)
        arc_poll_loop_run_once(loop, 10);
    if (answered < n) {
        fprintf(stderr, "bench_idle: only %d of %d answered\n", answered, n);
        return 1;
    }
    printf("idle,after-reply,%d,%zu,%.1f\n", n, k.live / (size_t)n,
           (double)(rss_kib() - rss0) / n);
    /* The trim comes after a second with nothing due. */
    end = arc_now_ms() + 1500;
    while (arc_now_ms() < end)
        arc_poll_loop_run_once(loop, 50);
    printf("idle,after-trim,%d,%zu,%.1f\n", n, k.live / (size_t)n,
           (double)(rss_kib() - rss0) / n);
    for (int i = 0; i < n; i++)
        arc_free(cs[i]);
    arc_poll_loop_free(loop);
    free(cs);
    return k.live == 0 ? 0 : 1;
}
