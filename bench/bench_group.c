/* bench_group.c: what a group costs over hand-written contexts. One PING to
 * each of N servers (N connections to one local server), from one loop:
 *
 *   bench_group fanout IMPL LOOP HOST PORT N
 *     IMPL  group    an arc_group, max_connecting N, one fan-out
 *           group64  the same with the default max_connecting (64)
 *           arc      N arc contexts made and driven by hand
 *           hiredis  N hiredis async contexts (LOOP must be libevent)
 *     LOOP  poll or libevent
 *   Prints: fanout,IMPL,LOOP,N,cold_ms,cold_cpu_us_per_member,
 *           warm_ms,warm_cpu_us_per_member
 *   cold: from making the first connection to the last reply (connects,
 *   handshakes, one PING each); warm: a second PING to every member over
 *   the connections made. CPU is the process's user + system time
 *   (getrusage).
 *
 *   bench_group idle HOST PORT N
 *     N members of a group and N plain contexts, each answered one PING,
 *     then idle past the output trim; the heap bytes arc holds for them
 *     (an allocator that counts live bytes).
 *   Prints: idle,group,N,bytes_per_member  and  idle,arc,N,bytes_per_context
 */
#define _GNU_SOURCE
#include <arc/adapters/libevent.h>
#include <arc/adapters/poll.h>

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_util.h"

static double now_ms(void)
{
    return bench_now_s() * 1e3;
}

static double cpu_us(void)
{
    return bench_cpu_s() * 1e6;
}

static void raise_nofile(int n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)n + 64 ? rl.rlim_max : (rlim_t)n + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int answered, failed;

/* ---- the loops ---- */

typedef struct loop {
    const char *name;
    arc_poll_loop *poll;
    struct event_base *base;
} loop;

static void loop_run_until(loop *l, int want)
{
    while (answered + failed < want) {
        if (l->poll)
            arc_poll_loop_run_once(l->poll, 100);
        else
            event_base_loop(l->base, EVLOOP_ONCE);
    }
}

static void *loop_object(loop *l)
{
    return l->poll ? (void *)l->poll : (void *)l->base;
}

static arc_attach_fn *loop_attach(loop *l)
{
    return l->poll ? arc_poll_attach_loop : arc_libevent_attach_loop;
}

/* ---- group ---- */

static void on_member(arc_group *g, arc_member *m, arc_reply *r, int status, void *pd)
{
    (void)g;
    (void)m;
    (void)pd;
    if (r != NULL && status == ARC_OK)
        answered++;
    else
        failed++;
}

static void group_ping(arc_group *g)
{
    arc_fanout_options fo;
    memset(&fo, 0, sizeof fo);
    fo.on_reply = on_member;
    if (arc_group_fanout(g, &fo, "PING") != ARC_OK) {
        fprintf(stderr, "fan-out refused\n");
        exit(1);
    }
}

/* ---- plain arc contexts ---- */

static void on_reply(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    (void)pd;
    if (r != NULL && status == ARC_OK)
        answered++;
    else
        failed++;
}

/* ---- hiredis ---- */

static void on_hiredis(redisAsyncContext *ac, void *r, void *pd)
{
    (void)ac;
    (void)pd;
    if (r != NULL)
        answered++;
    else
        failed++;
}

static void report(const char *impl, const char *lname, int n, double cold_ms, double cold_cpu,
                   double warm_ms, double warm_cpu)
{
    if (failed > 0)
        fprintf(stderr, "%s: %d of %d failed\n", impl, failed, 2 * n);
    printf("fanout,%s,%s,%d,%.2f,%.3f,%.2f,%.3f\n", impl, lname, n, cold_ms, cold_cpu / n,
           warm_ms, warm_cpu / n);
}

static int fanout(const char *impl, const char *lname, const char *host, int port, int n)
{
    loop l = {lname, NULL, NULL};
    if (strcmp(lname, "poll") == 0)
        l.poll = arc_poll_loop_new();
    else if (strcmp(lname, "libevent") == 0)
        l.base = event_base_new();
    else
        return 2;
    raise_nofile(n);
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = host;
    o.port = port;
    double t0 = now_ms(), c0 = cpu_us(), t1 = 0, c1 = 0;

    if (strncmp(impl, "group", 5) == 0) {
        arc_group_options go;
        memset(&go, 0, sizeof go);
        go.member_options = &o;
        go.max_connecting = strcmp(impl, "group") == 0 ? (unsigned)n : 0;
        arc_group *g = arc_group_new(&go);
        for (int i = 0; i < n; i++)
            arc_group_add(g, host, port, NULL);
        arc_group_attach(g, loop_attach(&l), loop_object(&l));
        group_ping(g);
        loop_run_until(&l, n);
        t1 = now_ms();
        c1 = cpu_us();
        group_ping(g);
        loop_run_until(&l, 2 * n);
        arc_group_free(g);
    } else if (strcmp(impl, "arc") == 0) {
        arc_context **cs = calloc(n > 0 ? (size_t)n : 1, sizeof *cs);
        for (int i = 0; i < n; i++) {
            cs[i] = arc_connect(&o);
            loop_attach(&l)(cs[i], loop_object(&l));
            arc_command(cs[i], on_reply, NULL, "PING");
        }
        loop_run_until(&l, n);
        t1 = now_ms();
        c1 = cpu_us();
        for (int i = 0; i < n; i++)
            arc_command(cs[i], on_reply, NULL, "PING");
        loop_run_until(&l, 2 * n);
        for (int i = 0; i < n; i++)
            arc_free(cs[i]);
        free(cs);
    } else if (strcmp(impl, "hiredis") == 0 && l.base != NULL) {
        redisAsyncContext **as = calloc(n > 0 ? (size_t)n : 1, sizeof *as);
        for (int i = 0; i < n; i++) {
            as[i] = redisAsyncConnect(host, port);
            if (as[i] == NULL || as[i]->err) {
                fprintf(stderr, "hiredis connect failed\n");
                return 1;
            }
            redisLibeventAttach(as[i], l.base);
            redisAsyncCommand(as[i], on_hiredis, NULL, "PING");
        }
        loop_run_until(&l, n);
        t1 = now_ms();
        c1 = cpu_us();
        for (int i = 0; i < n; i++)
            redisAsyncCommand(as[i], on_hiredis, NULL, "PING");
        loop_run_until(&l, 2 * n);
        for (int i = 0; i < n; i++)
            redisAsyncFree(as[i]);
        free(as);
    } else {
        return 2;
    }
    double t2 = now_ms(), c2 = cpu_us();
    report(impl, lname, n, t1 - t0, c1 - c0, t2 - t1, c2 - c1);
    if (l.poll)
        arc_poll_loop_free(l.poll);
    else
        event_base_free(l.base);
    return failed > 0;
}

/* ---- idle cost ---- */


static void run_past_trim(arc_poll_loop *l)
{
    /* The output buffers are trimmed after a second idle (core/io.c). */
    double end = now_ms() + 1500;
    while (now_ms() < end)
        arc_poll_loop_run_once(l, 100);
}

static int idle(const char *host, int port, int n)
{
    raise_nofile(n); /* the group goes before the plain contexts come */
    bench_counter gk = {0}, ck = {0};
    arc_allocator ga = {bench_counting, &gk}, ca = {bench_counting, &ck};
    arc_poll_loop *l = arc_poll_loop_new();

    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = host;
    o.port = port;
    o.allocator = &ga;
    arc_group_options go;
    memset(&go, 0, sizeof go);
    go.member_options = &o;
    go.allocator = &ga;
    go.max_connecting = (unsigned)n;
    arc_group *g = arc_group_new(&go);
    for (int i = 0; i < n; i++)
        arc_group_add(g, host, port, NULL);
    arc_group_attach(g, arc_poll_attach_loop, l);
    group_ping(g);
    while (answered + failed < n)
        arc_poll_loop_run_once(l, 100);
    run_past_trim(l);
    printf("idle,group,%d,%zu\n", n, gk.live / (size_t)n);
    arc_group_free(g);

    o.allocator = &ca;
    arc_context **cs = calloc(n > 0 ? (size_t)n : 1, sizeof *cs);
    for (int i = 0; i < n; i++) {
        cs[i] = arc_connect(&o);
        arc_poll_attach(cs[i], l);
        arc_command(cs[i], on_reply, NULL, "PING");
    }
    while (answered + failed < 2 * n)
        arc_poll_loop_run_once(l, 100);
    run_past_trim(l);
    printf("idle,arc,%d,%zu\n", n, ck.live / (size_t)n);
    for (int i = 0; i < n; i++)
        arc_free(cs[i]);
    free(cs);
    arc_poll_loop_free(l);
    if (failed > 0)
        fprintf(stderr, "idle: %d failed\n", failed);
    return failed > 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[argc - 1]) : 0;
    if (n <= 0 || n > 1000000) {
        fprintf(stderr, "N must be 1 to 1000000\n");
        return 2;
    }
    if (argc == 7 && strcmp(argv[1], "fanout") == 0)
        return fanout(argv[2], argv[3], argv[4], atoi(argv[5]), atoi(argv[6]));
    if (argc == 5 && strcmp(argv[1], "idle") == 0)
        return idle(argv[2], atoi(argv[3]), atoi(argv[4]));
    fprintf(stderr, "usage: bench_group fanout IMPL LOOP HOST PORT N\n"
                    "       bench_group idle HOST PORT N\n");
    return 2;
}
