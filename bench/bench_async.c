/* bench_async.c: arc and hiredis as async clients over one connection, on
 * the same event loop, keeping `depth` SET commands (16-byte value) in
 * flight; plus a raw blocking client that gives the floor. One measurement
 * per process, so that CPU time and peak RSS are the measurement's own.
 *
 *   bench_async run IMPL LOOP HOST PORT DEPTH COUNT
 *       IMPL arc|hiredis, LOOP poll|libevent|libev|libuv|glib. Prints
 *       "ops_per_s,cpu_us_per_op,heap_calls_per_op,sys_us_per_op" for
 *       COUNT commands after COUNT/10 of warm-up (the CPU is user and
 *       system time; the last field is the system part of it).
 *   bench_async raw HOST PORT DEPTH COUNT
 *       Pre-formatted commands, DEPTH per write, blocking socket. Prints
 *       "ops_per_s,cpu_us_per_op,0,sys_us_per_op".
 *   bench_async rss IMPL HOST PORT COUNT
 *       Queues COUNT commands before the loop runs, then runs it until all
 *       are answered. Prints "peak_rss_kib_over_baseline".
 *
 * Heap calls are counted by defining malloc, calloc, realloc and free in
 * this program: the dynamic linker then routes every library's calls (arc,
 * hiredis, the event loops) through them to the C library's own. */
#define _GNU_SOURCE
/* libev first: libevent's headers define EV_READ and EV_WRITE as macros
 * with other values, which would turn the libev adapters' masks invalid. */
#include <arc/adapters/libev.h>
/* The peer (hiredis unless compiled with -DBENCH_PEER_...): peer_async.h. */
#include "peer_async.h"

#include "bench_util.h"

#include <arc/adapters/glib.h>
#include <arc/adapters/libevent.h>
#include <arc/adapters/libuv.h>
#include <arc/adapters/poll.h>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- heap call counting ---- */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static unsigned long heap_calls;

void *malloc(size_t n)
{
    heap_calls++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    heap_calls++;
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    heap_calls++;
    return __libc_realloc(p, n);
}

void free(void *p)
{
    if (p != NULL)
        heap_calls++;
    __libc_free(p);
}

/* ---- measurement ---- */

static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t fl = strlen(field);
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, fl) == 0 && line[fl] == ':')
            v = atol(line + fl + 1);
    if (f != NULL)
        fclose(f);
    return v;
}

enum impl { ARC, HIREDIS };
enum loop_kind { POLL, LIBEVENT, LIBEV, LIBUV, GLIB };
static const char *const loop_names[] = {"poll", "libevent", "libev", "libuv", "glib"};

typedef struct run {
    enum impl impl;
    enum loop_kind kind;
    long depth, warm, total; /* total = warm + measured */
    long issued, done;
    int finished, failed;
    double t0, c0, s0; /* at the warm-up's end: clock, CPU, system time */
    unsigned long h0;
    /* the loop */
    arc_poll_loop *poll;
    struct event_base *evbase;
    struct ev_loop *ev;
    uv_loop_t uv;
    GMainContext *gctx;
    /* the client */
    arc_context *ac;
    redisAsyncContext *hc;
    int hpoll_read, hpoll_write; /* hiredis on poll(2): the interest it asked for */
} run;

static const char *argv3[] = {"SET", "bench:key", "0123456789abcdef"};
static const size_t lens3[] = {3, 9, 16};

static void stop_loop(run *R)
{
    R->finished = 1;
    switch (R->kind) {
    case LIBEVENT: event_base_loopbreak(R->evbase); break;
    case LIBEV: ev_break(R->ev, EVBREAK_ALL); break;
    case LIBUV: uv_stop(&R->uv); break;
    default: break;
    }
}

static void send_one(run *R);

/* Where the measurement starts. Out of line: once per run, and inlined it
 * would make the per-reply callback below bigger than the compiler inlines
 * (the instr figures count this program's instructions too). */
__attribute__((noinline)) static void mark_warm(run *R)
{
    R->t0 = bench_now_s();
    R->c0 = bench_cpu_s();
    R->s0 = bench_sys_s();
    R->h0 = heap_calls;
}

/* One reply came: mark the warm-up's end, keep the window full. */
static void completed(run *R, int ok)
{
    if (!ok) {
        R->failed = 1;
        stop_loop(R);
        return;
    }
    if (++R->done == R->warm)
        mark_warm(R);
    if (R->issued < R->total)
        send_one(R);
    else if (R->done == R->total)
        stop_loop(R);
}

static void arc_cb(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    completed(pd, status == ARC_OK && r->type == ARC_REPLY_STATUS);
}

static void hiredis_cb(redisAsyncContext *c, void *r, void *pd)
{
    (void)c;
    redisReply *reply = r;
    completed(pd, reply != NULL && reply->type == REDIS_REPLY_STATUS);
}

static void send_one(run *R)
{
    int rc;
    if (R->impl == ARC)
        rc = arc_command_argv(R->ac, arc_cb, R, 3, argv3, lens3) == ARC_OK ? 0 : -1;
    else
        rc = redisAsyncCommandArgv(R->hc, hiredis_cb, R, 3, argv3, lens3) == REDIS_OK ? 0 : -1;
    if (rc != 0) {
        fprintf(stderr, "command refused\n");
        R->failed = 1;
        stop_loop(R);
        return;
    }
    R->issued++;
}

/* hiredis 0.14 has no poll(2) adapter: this is the smallest one. */
static void hp_add_read(void *d) { ((run *)d)->hpoll_read = 1; }
static void hp_del_read(void *d) { ((run *)d)->hpoll_read = 0; }
static void hp_add_write(void *d) { ((run *)d)->hpoll_write = 1; }
static void hp_del_write(void *d) { ((run *)d)->hpoll_write = 0; }
static void hp_cleanup(void *d) { ((run *)d)->hpoll_read = ((run *)d)->hpoll_write = 0; }

static void hiredis_poll_once(run *R)
{
    struct pollfd p = {.fd = R->hc->c.fd,
                       .events = (short)((R->hpoll_read ? POLLIN : 0) |
                                         (R->hpoll_write ? POLLOUT : 0))};
    if (poll(&p, 1, 1000) <= 0)
        return;
    if (p.revents & (POLLIN | POLLHUP | POLLERR))
        redisAsyncHandleRead(R->hc);
    if (!R->finished && (p.revents & POLLOUT))
        redisAsyncHandleWrite(R->hc);
}

static int parse_loop(const char *s)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(s, loop_names[i]) == 0)
            return i;
    return -1;
}

static int setup(run *R, const char *host, int port, size_t max_output)
{
    switch (R->kind) {
    case POLL: R->poll = arc_poll_loop_new(); break;
    case LIBEVENT: R->evbase = event_base_new(); break;
    case LIBEV: R->ev = ev_loop_new(EVFLAG_AUTO); break;
    case LIBUV: uv_loop_init(&R->uv); break;
    case GLIB: R->gctx = g_main_context_new(); break;
    }
    if (R->impl == ARC) {
        arc_options o;
        memset(&o, 0, sizeof o);
        o.host = host;
        o.port = port;
        o.max_output = max_output;
        R->ac = arc_connect(&o);
        if (R->ac == NULL)
            return -1;
        int rc = ARC_OK;
        switch (R->kind) {
        case POLL: rc = arc_poll_attach(R->ac, R->poll); break;
        case LIBEVENT: rc = arc_libevent_attach(R->ac, R->evbase); break;
        case LIBEV: rc = arc_libev_attach(R->ac, R->ev); break;
        case LIBUV: rc = arc_libuv_attach(R->ac, &R->uv); break;
        case GLIB: rc = arc_glib_attach(R->ac, R->gctx); break;
        }
        return rc == ARC_OK ? 0 : -1;
    }
    R->hc = redisAsyncConnect(host, port);
    if (R->hc == NULL || R->hc->err)
        return -1;
    int rc = REDIS_OK;
    switch (R->kind) {
    case POLL:
        R->hc->ev.data = R;
        R->hc->ev.addRead = hp_add_read;
        R->hc->ev.delRead = hp_del_read;
        R->hc->ev.addWrite = hp_add_write;
        R->hc->ev.delWrite = hp_del_write;
        R->hc->ev.cleanup = hp_cleanup;
        break;
    case LIBEVENT: rc = redisLibeventAttach(R->hc, R->evbase); break;
    case LIBEV: rc = redisLibevAttach(R->ev, R->hc); break;
    case LIBUV: rc = redisLibuvAttach(R->hc, &R->uv); break;
    case GLIB: {
        GSource *src = redis_source_new(R->hc);
        g_source_attach(src, R->gctx);
        g_source_unref(src);
        break;
    }
    }
    return rc == REDIS_OK ? 0 : -1;
}

static void run_loop(run *R)
{
    switch (R->kind) {
    case POLL:
        while (!R->finished) {
            if (R->impl == ARC)
                arc_poll_loop_run_once(R->poll, 1000);
            else
                hiredis_poll_once(R);
        }
        break;
    case LIBEVENT: event_base_dispatch(R->evbase); break;
    case LIBEV: ev_run(R->ev, 0); break;
    case LIBUV: uv_run(&R->uv, UV_RUN_DEFAULT); break;
    case GLIB:
        while (!R->finished)
            g_main_context_iteration(R->gctx, TRUE);
        break;
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_async run arc|hiredis LOOP HOST PORT DEPTH COUNT\n"
                    "       bench_async raw HOST PORT DEPTH COUNT\n"
                    "       bench_async rss arc|hiredis HOST PORT COUNT\n");
    return 2;
}

static int parse_impl(const char *s)
{
    return strcmp(s, "arc") == 0 ? ARC : strcmp(s, "hiredis") == 0 ? HIREDIS : -1;
}

static int mode_run(char **argv)
{
    static run R;
    int impl = parse_impl(argv[0]), kind = parse_loop(argv[1]);
    if (impl < 0 || kind < 0)
        return usage();
    R.impl = (enum impl)impl;
    R.kind = (enum loop_kind)kind;
    R.depth = atol(argv[4]);
    long count = atol(argv[5]);
    R.warm = count / 10 > R.depth ? count / 10 : R.depth;
    R.total = R.warm + count;
    if (R.depth < 1 || count < 1 || setup(&R, argv[2], atoi(argv[3]), 0) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    for (long i = 0; i < R.depth && R.issued < R.total; i++)
        send_one(&R);
    run_loop(&R);
    if (R.failed || R.done != R.total) {
        fprintf(stderr, "run failed after %ld replies\n", R.done);
        return 1;
    }
    double t = bench_now_s() - R.t0, c = bench_cpu_s() - R.c0, sy = bench_sys_s() - R.s0;
    unsigned long h = heap_calls - R.h0;
    printf("%.0f,%.3f,%.2f,%.3f\n", (double)count / t, c * 1e6 / (double)count,
           (double)h / (double)count, sy * 1e6 / (double)count);
    return 0;
}

static int hiredis_up;

static void hiredis_connected(BENCH_PEER_CONNECT_CONST redisAsyncContext *c, int status)
{
    (void)c;
    hiredis_up = status == REDIS_OK;
}

static int mode_rss(char **argv)
{
    static run R;
    int impl = parse_impl(argv[0]);
    if (impl < 0)
        return usage();
    R.impl = (enum impl)impl;
    R.kind = POLL;
    long count = atol(argv[3]);
    R.depth = count;
    R.warm = 1;
    R.total = count;
    /* Room for every command: the point is what holding them costs. */
    if (count < 1 || setup(&R, argv[1], atoi(argv[2]), (size_t)1 << 30) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    /* Connected first, so that both clients can send as they queue. */
    if (R.impl == ARC) {
        for (int i = 0; i < 100 && arc_context_state(R.ac) != ARC_STATE_READY; i++)
            arc_poll_loop_run_once(R.poll, 100);
    } else {
        redisAsyncSetConnectCallback(R.hc, hiredis_connected);
        for (int i = 0; i < 100 && !hiredis_up; i++)
            hiredis_poll_once(&R);
    }
    long base = status_kib("VmRSS");
    for (long i = 0; i < count; i++)
        send_one(&R);
    run_loop(&R);
    if (R.failed || R.done != R.total) {
        fprintf(stderr, "run failed after %ld replies\n", R.done);
        return 1;
    }
    printf("%ld\n", status_kib("VmHWM") - base);
    return 0;
}

static int mode_raw(char **argv)
{
    long depth = atol(argv[2]), count = atol(argv[3]);
    if (depth < 1 || count < 1)
        return usage();
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(argv[0], argv[1], &hints, &ai) != 0)
        return 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        perror("connect");
        return 1;
    }
    freeaddrinfo(ai);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char one_cmd[128];
    int cl = snprintf(one_cmd, sizeof one_cmd, "*3\r\n$3\r\nSET\r\n$9\r\nbench:key\r\n$16\r\n%s\r\n",
                      argv3[2]);
    size_t blen = (size_t)cl * (size_t)depth, rlen = 5 * (size_t)depth;
    char *batch = __libc_malloc(blen), *in = __libc_malloc(rlen);
    for (long i = 0; i < depth; i++)
        memcpy(batch + (size_t)i * (size_t)cl, one_cmd, (size_t)cl);
    long warm = count / 10, total = warm + count, done = 0;
    long d0 = 0;
    double t0 = 0, c0 = 0, s0 = 0;
    while (done < total) {
        if (done >= warm && t0 == 0) {
            t0 = bench_now_s();
            c0 = bench_cpu_s();
            s0 = bench_sys_s();
            d0 = done;
        }
        for (size_t off = 0; off < blen;) {
            ssize_t w = write(fd, batch + off, blen - off);
            if (w <= 0)
                return 1;
            off += (size_t)w;
        }
        for (size_t got = 0; got < rlen;) {
            ssize_t r = read(fd, in + got, rlen - got);
            if (r <= 0)
                return 1;
            got += (size_t)r;
        }
        if (in[0] != '+')
            return 1;
        done += depth;
    }
    double t = bench_now_s() - t0, c = bench_cpu_s() - c0, sy = bench_sys_s() - s0;
    long measured = done - d0;
    printf("%.0f,%.3f,0,%.3f\n", (double)measured / t, c * 1e6 / (double)measured,
           sy * 1e6 / (double)measured);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 8 && strcmp(argv[1], "run") == 0)
        return mode_run(argv + 2);
    if (argc == 6 && strcmp(argv[1], "raw") == 0)
        return mode_raw(argv + 2);
    if (argc == 6 && strcmp(argv[1], "rss") == 0)
        return mode_rss(argv + 2);
    return usage();
}
