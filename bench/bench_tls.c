/* bench_tls.c: arc over TLS beside arc over plain TCP, on the poll loop.
 *
 *   bench_tls ops HOST PORT CAFILE TLS DEPTH COUNT
 *       TLS 0 or 1. Keeps DEPTH SET commands (16-byte value) in flight for
 *       COUNT commands after COUNT/10 of warm-up. Prints
 *       "ops_per_s,cpu_us_per_op".
 *   bench_tls handshake HOST PORT CAFILE N
 *       N connections, each up to READY and freed: once with a new
 *       configuration each time (a full handshake), once sharing one (the
 *       second and later resume). Prints "full_ms,resumed_ms,resumed_share"
 *       (medians; the share of connections that did resume).
 *   bench_tls idle HOST PORT CAFILE N
 *       N TLS connections, one command each, then idle past the trim.
 *       Prints "heap_bytes_per_idle_connection" (glibc's mallinfo2: arc's
 *       and OpenSSL's allocations both). */
#define _GNU_SOURCE
#include <arc/adapters/poll.h>
#include <arc/tls.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

typedef struct run {
    arc_context *c;
    long issued, done, warm, total;
    double t0, c0;
    int failed;
} run;

static void issue(run *R);

static void on_reply(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    (void)status;
    run *R = pd;
    if (r == NULL) {
        R->failed = 1;
        return;
    }
    R->done++;
    if (R->done == R->warm) {
        R->t0 = now_s();
        R->c0 = cpu_s();
    }
    issue(R);
}

static void issue(run *R)
{
    if (R->issued < R->warm + R->total) {
        R->issued++;
        if (arc_command(R->c, on_reply, R, "SET bench:key 0123456789abcdef") != ARC_OK)
            R->failed = 1;
    }
}

static arc_tls *make_tls(const char *cafile)
{
    arc_tls_options t;
    memset(&t, 0, sizeof t);
    t.ca_file = cafile;
    char err[256];
    arc_tls *tls = arc_tls_new(&t, err, sizeof err);
    if (tls == NULL)
        fprintf(stderr, "bench_tls: %s\n", err);
    return tls;
}

static arc_context *open_ctx(arc_poll_loop *loop, const char *host, int port, arc_tls *tls)
{
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = host;
    o.port = port;
    o.connect_timeout_ms = 10000;
    o.transport = tls ? arc_tls_transport(tls) : NULL;
    arc_context *c = arc_connect(&o);
    if (c != NULL && arc_poll_attach(c, loop) != ARC_OK) {
        arc_free(c);
        c = NULL;
    }
    return c;
}

static int mode_ops(char **argv)
{
    const char *host = argv[0];
    int port = atoi(argv[1]);
    arc_tls *tls = atoi(argv[3]) ? make_tls(argv[2]) : NULL;
    long depth = atol(argv[4]), count = atol(argv[5]);
    arc_poll_loop *loop = arc_poll_loop_new();
    run R;
    memset(&R, 0, sizeof R);
    R.warm = count / 10;
    R.total = count;
    R.c = open_ctx(loop, host, port, tls);
    if (R.c == NULL || (atoi(argv[3]) && tls == NULL))
        return 1;
    for (long i = 0; i < depth; i++)
        issue(&R);
    while (R.done < R.warm + R.total && !R.failed)
        arc_poll_loop_run_once(loop, 100);
    double t = now_s() - R.t0, c = cpu_s() - R.c0;
    if (R.failed) {
        fprintf(stderr, "bench_tls: %s\n", arc_context_error(R.c));
        return 1;
    }
    printf("%.0f,%.3f\n", R.total / t, c * 1e6 / R.total);
    arc_free(R.c);
    arc_poll_loop_free(loop);
    arc_tls_free(tls);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One connection up to READY: its time in ms, -1 on failure. */
static double connect_once(arc_poll_loop *loop, const char *host, int port, arc_tls *tls,
                           int *resumed)
{
    double t0 = now_s();
    arc_context *c = open_ctx(loop, host, port, tls);
    if (c == NULL)
        return -1;
    while (arc_context_state(c) == ARC_STATE_CONNECTING)
        arc_poll_loop_run_once(loop, 100);
    double ms = (now_s() - t0) * 1000;
    bool ok = arc_context_state(c) == ARC_STATE_READY;
    if (!ok)
        fprintf(stderr, "bench_tls: %s\n", arc_context_error(c));
    *resumed += arc_tls_resumed(c);
    /* One command, so that the session ticket (TLS 1.3 sends it after the
     * handshake) has arrived before the connection goes. */
    arc_command(c, NULL, NULL, "PING");
    for (int i = 0; i < 50 && arc_context_pending(c) > 0; i++)
        arc_poll_loop_run_once(loop, 10);
    arc_free(c);
    return ok ? ms : -1;
}

static int mode_handshake(char **argv)
{
    const char *host = argv[0];
    int port = atoi(argv[1]);
    int n = atoi(argv[3]);
    arc_poll_loop *loop = arc_poll_loop_new();
    double *full = calloc((size_t)n, sizeof *full), *res = calloc((size_t)n, sizeof *res);
    int resumed = 0, dummy = 0;
    for (int i = 0; i < n; i++) {
        arc_tls *tls = make_tls(argv[2]);
        full[i] = connect_once(loop, host, port, tls, &dummy);
        arc_tls_free(tls);
        if (full[i] < 0)
            return 1;
    }
    arc_tls *shared = make_tls(argv[2]);
    double first = connect_once(loop, host, port, shared, &dummy);
    if (first < 0)
        return 1;
    for (int i = 0; i < n; i++) {
        res[i] = connect_once(loop, host, port, shared, &resumed);
        if (res[i] < 0)
            return 1;
    }
    qsort(full, (size_t)n, sizeof *full, cmp_double);
    qsort(res, (size_t)n, sizeof *res, cmp_double);
    printf("%.3f,%.3f,%.2f\n", full[n / 2], res[n / 2], (double)resumed / n);
    arc_tls_free(shared);
    arc_poll_loop_free(loop);
    free(full);
    free(res);
    return 0;
}

static int answered;

static void count_reply(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    (void)pd;
    if (r != NULL && status == ARC_OK)
        answered++;
}

static int mode_idle(char **argv)
{
    const char *host = argv[0];
    int port = atoi(argv[1]);
    int n = atoi(argv[3]);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)n + 64 ? rl.rlim_max : (rlim_t)n + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    arc_tls *tls = make_tls(argv[2]);
    arc_poll_loop *loop = arc_poll_loop_new();
    arc_context **cs = calloc((size_t)n, sizeof *cs);
    if (tls == NULL || cs == NULL)
        return 1;
    size_t base = mallinfo2().uordblks;
    for (int i = 0; i < n; i++) {
        cs[i] = open_ctx(loop, host, port, tls);
        if (cs[i] == NULL || arc_command(cs[i], count_reply, NULL, "PING") != ARC_OK)
            return 1;
    }
    double end = now_s() + 60;
    while (answered < n && now_s() < end)
        arc_poll_loop_run_once(loop, 10);
    if (answered < n) {
        fprintf(stderr, "bench_tls: only %d of %d answered\n", answered, n);
        return 1;
    }
    end = now_s() + 1.5; /* past the idle trim */
    while (now_s() < end)
        arc_poll_loop_run_once(loop, 50);
    size_t used = mallinfo2().uordblks;
    printf("%zu\n", used > base ? (used - base) / (size_t)n : 0);
    for (int i = 0; i < n; i++)
        arc_free(cs[i]);
    arc_poll_loop_free(loop);
    arc_tls_free(tls);
    free(cs);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 8 && strcmp(argv[1], "ops") == 0)
        return mode_ops(argv + 2);
    if (argc == 6 && strcmp(argv[1], "handshake") == 0)
        return mode_handshake(argv + 2);
    if (argc == 6 && strcmp(argv[1], "idle") == 0)
        return mode_idle(argv + 2);
    fprintf(stderr, "usage: bench_tls ops HOST PORT CAFILE TLS DEPTH COUNT\n"
                    "       bench_tls handshake HOST PORT CAFILE N\n"
                    "       bench_tls idle HOST PORT CAFILE N\n");
    return 2;
}
