/* soak.c (tests): long runs that must leave memory and descriptors flat.
 *
 * One program, built once per event loop (SOAK_LOOP_LIBUV=1: libuv, else the
 * poll adapter). It starts its own redis-server, then:
 *
 *   commands  one context keeps --depth SET/GET/INCR commands in flight
 *             until --commands callbacks have come; every reply is checked
 *             (order, type, content) and every --sample commands the RSS
 *             and the number of open descriptors are recorded;
 *   cycles    --cycles times: connect, wait for READY, queue a batch, have
 *             the server drop the connection (CLIENT KILL, or a restart of
 *             the server every 100th cycle), check that every callback came
 *             exactly once and on_disconnect once, free, start over;
 *   restarts  one context with a reconnect policy keeps --depth INCRs in
 *             flight and holds a subscription of each kind (SUBSCRIBE,
 *             PSUBSCRIBE, SSUBSCRIBE); --restarts times the server is
 *             killed (SIGKILL) and started again on the same port; the
 *             context must come back with its subscriptions (a message of
 *             each kind published after each restart reaches the original
 *             callback), every command callback must come once (a reply,
 *             ARC_ERR_UNANSWERED or ARC_ERR_NOT_SENT) and each server run's
 *             counter must lie between its replies and its replies plus
 *             its unanswered commands.
 *
 * A phase given 0 (--commands 0, --cycles 0, --restarts 0) is not run.
 * Output is TAP (plan first), the samples as "# sample ...", "# cycle ..."
 * and "# restart ..." lines. meson runs a short version (suite soak);
 * tools/soak.sh runs the defaults on a release build.
 *
 *   soak_poll [--commands N] [--cycles N] [--restarts N] [--sample N]
 *             [--depth N] [--cycle-sample N] [--restart-sample N]
 */
#define _POSIX_C_SOURCE 200809L /* opendir; uv.h needs POSIX types under -std=c11 */

#if SOAK_LOOP_LIBUV
#include <arc/adapters/libuv.h>
#define SOAK_LOOP_NAME "libuv"
#else
#include <arc/adapters/poll.h>
#define SOAK_LOOP_NAME "poll"
#endif

#include "redis_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Address and UB sanitizers keep freed memory in quarantine and shadow it:
 * RSS then grows by design, so the RSS checks are skipped there (as under
 * valgrind, which the meson setup announces with ARC_UNDER_VALGRIND). Leaks
 * are those tools' own business. */
#if defined(__SANITIZE_ADDRESS__)
#define SOAK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SOAK_ASAN 1
#endif
#endif
#ifndef SOAK_ASAN
#define SOAK_ASAN 0
#endif

#define CONNECT_TIMEOUT_MS 5000
#define WAIT_MS 10000  /* one wait of a cycle (ready, replies, disconnect) */
#define STALL_MS 30000 /* the commands phase without a single callback */
#define MAX_DIAG 10    /* diagnostics printed per kind of failure */

/* ---- the event loop: the same five calls over either adapter ---- */

#if SOAK_LOOP_LIBUV
typedef struct soak_loop {
    uv_loop_t uv;
    uv_timer_t bound; /* wakes uv_run when nothing else does */
} soak_loop;

static soak_loop *loop_new(void)
{
    soak_loop *l = malloc(sizeof *l);
    if (l == NULL || uv_loop_init(&l->uv) != 0) {
        free(l);
        return NULL;
    }
    uv_timer_init(&l->uv, &l->bound);
    return l;
}

static void on_bound(uv_timer_t *t)
{
    (void)t;
}

static void loop_run_once(soak_loop *l, long max_wait_ms)
{
    uv_update_time(&l->uv);
    uv_timer_start(&l->bound, on_bound, (uint64_t)max_wait_ms, 0);
    uv_run(&l->uv, UV_RUN_ONCE);
    uv_timer_stop(&l->bound);
}

static int loop_attach(soak_loop *l, arc_context *c)
{
    return arc_libuv_attach(c, &l->uv);
}

/* Every context is freed by now; their handles finish closing here. 0, or
 * -1 when a handle was left open. */
static int loop_free(soak_loop *l)
{
    uv_close((uv_handle_t *)&l->bound, NULL);
    uv_run(&l->uv, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&l->uv);
    if (rc != 0)
        printf("# uv_loop_close: %s (a handle was left open)\n", uv_strerror(rc));
    free(l);
    return rc == 0 ? 0 : -1;
}
#else
typedef struct soak_loop {
    arc_poll_loop *poll;
} soak_loop;

static soak_loop *loop_new(void)
{
    soak_loop *l = malloc(sizeof *l);
    if (l == NULL)
        return NULL;
    l->poll = arc_poll_loop_new();
    if (l->poll == NULL) {
        free(l);
        return NULL;
    }
    return l;
}

static void loop_run_once(soak_loop *l, long max_wait_ms)
{
    if (arc_poll_loop_run_once(l->poll, max_wait_ms) < 0)
        printf("# arc_poll_loop_run_once: %s\n", strerror(errno));
}

static int loop_attach(soak_loop *l, arc_context *c)
{
    return arc_poll_attach(c, l->poll);
}

/* 0, or -1 when a context was still attached. */
static int loop_free(soak_loop *l)
{
    size_t left = arc_poll_loop_count(l->poll);
    if (left != 0)
        printf("# %zu context(s) still attached to the poll loop\n", left);
    arc_poll_loop_free(l->poll);
    free(l);
    return left == 0 ? 0 : -1;
}
#endif

#define RUN_UNTIL(loop, ms, cond, held)                                                \
    do {                                                                               \
        int64_t end_ = arc_now_ms() + (ms);                                            \
        while (!(cond) && arc_now_ms() < end_)                                         \
            loop_run_once((loop), 10);                                                 \
        (held) = (cond);                                                               \
    } while (0)

/* ---- what the process holds: RSS and descriptors ---- */

typedef struct sample {
    unsigned long long at; /* commands done, or cycles done */
    long rss_kib;
    int fds;
} sample;

typedef struct series {
    sample *v;
    size_t n, cap;
} series;

/* VmRSS from /proc/self/status, in KiB; -1 when unreadable. */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

/* Entries of /proc/self/fd, less the one the listing itself holds; -1 when
 * unreadable. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

/* Room for every sample is made up front, so recording one allocates
 * nothing that could itself look like growth. */
static int series_init(series *s, size_t cap)
{
    s->n = 0;
    s->cap = cap;
    s->v = calloc(cap, sizeof *s->v);
    return s->v ? 0 : -1;
}

static const sample *series_add(series *s, unsigned long long at)
{
    if (s->n == s->cap)
        return NULL;
    sample *x = &s->v[s->n++];
    x->at = at;
    x->rss_kib = rss_kib();
    x->fds = open_fds();
    return x;
}

static const sample *series_last(const series *s)
{
    return s->n ? &s->v[s->n - 1] : NULL;
}

/* ---- TAP ---- */

static int tap_count;
static int tap_failed;

static void tap(bool ok, const char *name)
{
    tap_count++;
    if (!ok)
        tap_failed++;
    printf("%sok %d - %s\n", ok ? "" : "not ", tap_count, name);
    fflush(stdout);
}

/* RSS means nothing under AddressSanitizer or valgrind: both keep freed
 * memory in quarantine, so it grows by design. There the RSS checks are not
 * run at all (the plan has two lines fewer) and leaks are left to the tools,
 * which fail the run on one. */
static bool rss_measured(void)
{
    return !SOAK_ASAN && getenv("ARC_UNDER_VALGRIND") == NULL;
}

/* The RSS rule. The first sample interval pays one-time costs: the reader's
 * and the output buffer's growth to their working size, malloc's arenas and
 * trim threshold settling, libuv's structures, stdio buffers. So the
 * baseline is the second sample (the first after this warm-up; the first
 * when there are fewer than three). The last sample may exceed it by 10% or
 * 2 MiB, whichever is larger: allocator noise (fragmentation, when free
 * memory goes back to the system) stays within that, while a leak of one
 * small allocation per command (16 bytes x 10^7 = 160 MB at the defaults)
 * or of a context per cycle (kilobytes x 1000) is far beyond it. Smaller
 * leaks per cycle are valgrind's and LeakSanitizer's to find (the same
 * test runs under both). */
static void check_rss(const char *name, const series *s)
{
    if (!rss_measured())
        return;
    if (s->n == 0) {
        printf("# %s: no samples were taken\n", name);
        tap(false, name);
        return;
    }
    const sample *base = s->n >= 3 ? &s->v[1] : &s->v[0];
    const sample *last = series_last(s);
    long limit = base->rss_kib + base->rss_kib / 10;
    if (limit < base->rss_kib + 2048)
        limit = base->rss_kib + 2048;
    bool ok = base->rss_kib > 0 && last->rss_kib > 0 && last->rss_kib <= limit;
    printf("# %s: baseline %ld KiB (sample at %llu), last %ld KiB (at %llu), limit %ld KiB\n",
           name, base->rss_kib, base->at, last->rss_kib, last->at, limit);
    tap(ok, name);
}

static void check_fds(const char *name, const series *s)
{
    if (s->n == 0) {
        printf("# %s: no samples were taken\n", name);
        tap(false, name);
        return;
    }
    const sample *first = &s->v[0], *last = series_last(s);
    bool ok = first->fds >= 0 && first->fds == last->fds;
    printf("# %s: first %d (at %llu), last %d (at %llu)\n", name, first->fds, first->at,
           last->fds, last->at);
    tap(ok, name);
}

/* ---- phase 1: commands ---- */

#define VALUE "soak-value-16byt" /* 16 bytes */
#define VALUE_LEN 16
#define KEYS 1000
#define SLOT_FREE UINT64_MAX

enum { CMD_SET, CMD_GET, CMD_INCR, CMD_KINDS };

typedef struct cmd_phase {
    unsigned long long target;  /* --commands */
    unsigned long long sample_every;
    unsigned long long sent;    /* accepted by arc_command */
    unsigned long long done;    /* first calls of an accepted command */
    unsigned long long next;    /* the sequence number the next call should carry */
    uint64_t *ring;             /* slot seq % ring_size: the seq in flight, or SLOT_FREE */
    size_t ring_size;
    unsigned long long strays;  /* a call for a command not in flight (twice, or unknown) */
    unsigned long long misorder;
    unsigned long long bad;     /* an error, or a reply of the wrong type or content */
    unsigned long long gets_nil, gets_value;
    long long last_incr;
    int refused;                /* arc_command's error once it refused; 0 before */
    int connect_status;
    int connects;
    series *samples;
} cmd_phase;

static void diag_cmd(cmd_phase *p, unsigned long long seq, const char *what,
                     const arc_reply *r, int status)
{
    if (p->bad + p->strays + p->misorder > MAX_DIAG)
        return;
    printf("# command %llu: %s (status %s, reply %s", seq, what, arc_status_name(status),
           r ? arc_reply_type_name(r->type) : "NULL");
    if (r && r->str)
        printf(" \"%.*s\"", (int)(r->len > 60 ? 60 : r->len), r->str);
    if (r && r->type == ARC_REPLY_INTEGER)
        printf(" %lld", r->integer);
    printf(")\n");
}

static void on_cmd_reply(arc_context *c, arc_reply *r, int status, void *privdata);

/* Issues command number p->sent. */
static void cmd_issue(arc_context *c, cmd_phase *p)
{
    uint64_t seq = p->sent;
    size_t slot = (size_t)(seq % p->ring_size);
    if (p->ring[slot] != SLOT_FREE) {
        /* The command that had this slot, ring_size commands ago, never got
         * its call although later ones did: an order violation. */
        p->misorder++;
        diag_cmd(p, p->ring[slot], "no call yet, its slot is needed again", NULL, ARC_OK);
    }
    void *priv = (void *)(uintptr_t)seq;
    unsigned key = (unsigned)((seq / CMD_KINDS) % KEYS);
    int rc;
    switch (seq % CMD_KINDS) {
    case CMD_SET:
        rc = arc_command(c, on_cmd_reply, priv, "SET soak:k%u %b", key, VALUE,
                         (size_t)VALUE_LEN);
        break;
    case CMD_GET:
        /* Half the key space ahead of the SETs: nil at first, then values. */
        rc = arc_command(c, on_cmd_reply, priv, "GET soak:k%u", (key + KEYS / 2) % KEYS);
        break;
    default:
        rc = arc_command(c, on_cmd_reply, priv, "INCR soak:counter");
        break;
    }
    if (rc != ARC_OK) {
        p->refused = rc;
        printf("# command %llu refused: %s\n", (unsigned long long)seq, arc_status_name(rc));
        return;
    }
    p->ring[slot] = seq;
    p->sent++;
}

static bool cmd_reply_ok(cmd_phase *p, uint64_t seq, const arc_reply *r, int status)
{
    if (status != ARC_OK || r == NULL)
        return false;
    switch (seq % CMD_KINDS) {
    case CMD_SET:
        return r->type == ARC_REPLY_STATUS && r->len == 2 && memcmp(r->str, "OK", 2) == 0;
    case CMD_GET:
        if (r->type == ARC_REPLY_NIL) {
            p->gets_nil++;
            return true;
        }
        p->gets_value++;
        return r->type == ARC_REPLY_STRING && r->len == VALUE_LEN &&
               memcmp(r->str, VALUE, VALUE_LEN) == 0;
    default:
        /* One connection, in order, from an empty database: 1, 2, 3, ... */
        if (r->type != ARC_REPLY_INTEGER || r->integer != p->last_incr + 1)
            return false;
        p->last_incr = r->integer;
        return true;
    }
}

static void on_cmd_reply(arc_context *c, arc_reply *r, int status, void *privdata)
{
    cmd_phase *p = arc_context_data(c);
    uint64_t seq = (uint64_t)(uintptr_t)privdata;
    size_t slot = (size_t)(seq % p->ring_size);
    if (p->ring[slot] != seq) {
        p->strays++;
        diag_cmd(p, seq, "called but not in flight (a second call?)", r, status);
        return;
    }
    p->ring[slot] = SLOT_FREE;
    if (seq != p->next) {
        p->misorder++;
        diag_cmd(p, seq, "called out of order", r, status);
    }
    p->next = seq + 1;
    p->done++;
    if (!cmd_reply_ok(p, seq, r, status)) {
        p->bad++;
        diag_cmd(p, seq, "unexpected reply", r, status);
    }
    if (p->done % p->sample_every == 0) {
        const sample *x = series_add(p->samples, p->done);
        if (x != NULL) {
            printf("# sample commands=%llu rss_kib=%ld fds=%d\n", x->at, x->rss_kib, x->fds);
            fflush(stdout);
        }
    }
    /* One call in, one command out: the depth stays where it was. */
    if (p->sent < p->target && !p->refused)
        cmd_issue(c, p);
}

static void on_cmd_connect(arc_context *c, int status, void *data)
{
    (void)c;
    cmd_phase *p = data;
    p->connects++;
    p->connect_status = status;
    if (status != ARC_OK)
        printf("# commands: connect failed: %s (%s)\n", arc_status_name(status),
               arc_context_error(c));
}

typedef struct soak_args {
    unsigned long long commands, cycles, restarts, sample, depth, cycle_sample, restart_sample;
} soak_args;

static void phase_commands(soak_loop *loop, test_redis *srv, const soak_args *a)
{
    series samples;
    cmd_phase p;
    memset(&p, 0, sizeof p);
    p.target = a->commands;
    p.sample_every = a->sample;
    p.samples = &samples;
    p.ring_size = (size_t)a->depth * 2;
    p.ring = malloc(p.ring_size * sizeof *p.ring);
    if (p.ring == NULL || series_init(&samples, (size_t)(a->commands / a->sample) + 2) != 0) {
        printf("Bail out! out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < p.ring_size; i++)
        p.ring[i] = SLOT_FREE;

    /* An empty database: GETs start nil, INCR starts at 1. */
    arc_reply_free(test_redis_command(srv, "FLUSHALL"));

    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = test_redis_host(srv);
    o.port = test_redis_port(srv);
    o.connect_timeout_ms = CONNECT_TIMEOUT_MS;
    o.on_connect = on_cmd_connect;
    o.data = &p;
    arc_context *c = arc_connect(&o);
    if (c == NULL || loop_attach(loop, c) != ARC_OK) {
        printf("Bail out! cannot connect or attach\n");
        exit(1);
    }
    int64_t start = arc_now_ms();
    /* Queued before READY: they go out after the connect. */
    while (p.sent < p.target && p.sent < a->depth && !p.refused)
        cmd_issue(c, &p);

    unsigned long long seen = 0;
    int64_t progress = start;
    bool stalled = false;
    while (p.done < p.sent || (p.sent < p.target && !p.refused)) {
        loop_run_once(loop, 100);
        int64_t now = arc_now_ms();
        if (p.done != seen) {
            seen = p.done;
            progress = now;
        } else if (now - progress > STALL_MS) {
            stalled = true;
            printf("# commands: no callback for %d ms; %llu sent, %llu done, state %s, "
                   "pending %zu\n", STALL_MS, p.sent, p.done,
                   arc_state_name(arc_context_state(c)), arc_context_pending(c));
            break;
        }
    }
    int64_t took = arc_now_ms() - start;
    /* A last sample where the interval does not divide the count, with the
     * context still open, as at every other sample. */
    const sample *last = series_last(&samples);
    if (last == NULL || last->at != p.done) {
        const sample *x = series_add(&samples, p.done);
        if (x != NULL)
            printf("# sample commands=%llu rss_kib=%ld fds=%d\n", x->at, x->rss_kib, x->fds);
    }
    printf("# commands: %llu in %.2f s (%.0f/s), depth %llu; GET nil %llu, value %llu; "
           "INCR reached %lld; state %s\n", p.done, (double)took / 1000.0,
           took > 0 ? (double)p.done * 1000.0 / (double)took : 0.0, a->depth, p.gets_nil,
           p.gets_value, p.last_incr, arc_state_name(arc_context_state(c)));

    unsigned long long before_free = p.done + p.strays;
    arc_free(c);
    loop_run_once(loop, 0);
    unsigned long long after_free = p.done + p.strays - before_free;
    if (after_free)
        printf("# commands: %llu call(s) after arc_free with nothing pending\n", after_free);

    bool once = !stalled && p.done == p.target && p.sent == p.target && p.strays == 0 &&
                p.misorder == 0 && after_free == 0 && p.connects == 1;
    if (!once)
        printf("# commands: target %llu, sent %llu, done %llu, strays %llu, misorder %llu, "
               "connects %d, refused %s\n", p.target, p.sent, p.done, p.strays, p.misorder,
               p.connects, arc_status_name(p.refused));
    tap(once, "commands: every callback called exactly once, in order");
    if (p.bad)
        printf("# commands: %llu bad replies\n", p.bad);
    tap(p.bad == 0 && p.connect_status == ARC_OK, "commands: every reply as expected");

    check_rss("commands: RSS flat", &samples);
    check_fds("commands: descriptors flat", &samples);
    free(samples.v);
    free(p.ring);
}

/* ---- phase 2: connect, kill, free, again ---- */

#define BATCH 100
#define BLOCK_AT 50 /* a BLPOP that never returns: the rest stay pending */
#define KILL_ATTEMPTS 500 /* 2 ms apart */

typedef struct cycle {
    unsigned long long index;
    int connects, connect_status;
    int disconnects, disconnect_status;
    int accepted;
    int calls;   /* first calls */
    int strays;  /* second calls, or for no command of this batch */
    int misorder;
    int ok;      /* replies (status ARC_OK) */
    int failed;  /* NULL with an error status */
    int bad;     /* anything else: a wrong reply, OK without one, ... */
    int next;
    unsigned char called[BATCH];
} cycle;

typedef struct cycle_totals {
    unsigned long long accepted, calls, strays, misorder, ok, failed, bad;
    unsigned long long connect_failures, disconnect_wrong, kills_missed, timeouts;
    unsigned long long restarts, after_free, kill_retries;
    unsigned long long disconnect_by_status[ARC_ERR_FREED + 2]; /* the last: others */
    unsigned long long diags;
} cycle_totals;

static cycle_totals totals;

static void diag_cycle(const cycle *cy, const char *what)
{
    if (totals.diags++ >= MAX_DIAG)
        return;
    printf("# cycle %llu: %s (accepted %d, calls %d, strays %d, ok %d, failed %d, bad %d, "
           "connects %d %s, disconnects %d %s)\n", cy->index, what, cy->accepted, cy->calls,
           cy->strays, cy->ok, cy->failed, cy->bad, cy->connects,
           arc_status_name(cy->connect_status), cy->disconnects,
           arc_status_name(cy->disconnect_status));
}

static void on_cycle_reply(arc_context *c, arc_reply *r, int status, void *privdata)
{
    cycle *cy = arc_context_data(c);
    size_t j = (size_t)(uintptr_t)privdata;
    if (j >= BATCH || cy->called[j]) {
        cy->strays++;
        return;
    }
    cy->called[j] = 1;
    cy->calls++;
    if ((int)j != cy->next)
        cy->misorder++;
    cy->next = (int)j + 1;
    if (status != ARC_OK) {
        if (r == NULL)
            cy->failed++;
        else
            cy->bad++;
        return;
    }
    bool good = false;
    if (r != NULL) {
        if (j == BLOCK_AT)
            good = false; /* nothing ever pushes to soak:never */
        else if (j % CMD_KINDS == CMD_SET)
            good = r->type == ARC_REPLY_STATUS && r->len == 2 && memcmp(r->str, "OK", 2) == 0;
        else if (j % CMD_KINDS == CMD_GET)
            good = r->type == ARC_REPLY_NIL ||
                   (r->type == ARC_REPLY_STRING && r->len == VALUE_LEN);
        else
            good = r->type == ARC_REPLY_INTEGER;
    }
    if (good)
        cy->ok++;
    else
        cy->bad++;
}

static void on_cycle_connect(arc_context *c, int status, void *data)
{
    (void)c;
    cycle *cy = data;
    cy->connects++;
    cy->connect_status = status;
}

static void on_cycle_disconnect(arc_context *c, int status, void *data)
{
    (void)c;
    cycle *cy = data;
    cy->disconnects++;
    cy->disconnect_status = status;
}

static int cycle_queue(arc_context *c, cycle *cy)
{
    for (size_t j = 0; j < BATCH; j++) {
        void *priv = (void *)(uintptr_t)j;
        int rc;
        if (j == BLOCK_AT)
            rc = arc_command(c, on_cycle_reply, priv, "BLPOP soak:never 0");
        else if (j % CMD_KINDS == CMD_SET)
            rc = arc_command(c, on_cycle_reply, priv, "SET soak:c%u %b", (unsigned)j, VALUE,
                             (size_t)VALUE_LEN);
        else if (j % CMD_KINDS == CMD_GET)
            rc = arc_command(c, on_cycle_reply, priv, "GET soak:c%u", (unsigned)(j - 1));
        else
            rc = arc_command(c, on_cycle_reply, priv, "INCR soak:cycles");
        if (rc != ARC_OK)
            return rc;
        cy->accepted++;
    }
    return ARC_OK;
}

/* The cycles that restart the server instead of CLIENT KILL: every 100th,
 * and in a run of fewer than 100 the middle one, so that the short version
 * covers it too. */
static bool restart_cycle(unsigned long long i, unsigned long long cycles)
{
    if (cycles < 100)
        return i == cycles / 2;
    return (i + 1) % 100 == 0;
}

/* CLIENT KILL TYPE normal (the admin connection itself is skipped). A
 * RESP2 context without a handshake is READY as soon as its connect()
 * completes, which can be before redis-server has accept()ed it: then the
 * kill finds nobody and is tried again a little later. True once a client
 * was killed. */
static bool kill_client(test_redis *srv)
{
    for (int attempt = 0; attempt < KILL_ATTEMPTS; attempt++) {
        arc_reply *r = test_redis_command(srv, "CLIENT KILL TYPE normal");
        bool killed = r != NULL && r->type == ARC_REPLY_INTEGER && r->integer >= 1;
        arc_reply_free(r);
        if (killed) {
            if (attempt > 0)
                totals.kill_retries++;
            return true;
        }
        struct timespec ts = {0, 2 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void one_cycle(soak_loop *loop, test_redis *srv, const soak_args *a, cycle *cy,
                      unsigned long long i)
{
    memset(cy, 0, sizeof *cy);
    cy->index = i;
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = test_redis_host(srv);
    o.port = test_redis_port(srv);
    o.connect_timeout_ms = CONNECT_TIMEOUT_MS;
    o.resp = (i / 2) % 2 ? 3 : 2; /* every other pair: the HELLO handshake too */
    o.on_connect = on_cycle_connect;
    o.on_disconnect = on_cycle_disconnect;
    o.data = cy;
    arc_context *c = arc_connect(&o);
    if (c == NULL || loop_attach(loop, c) != ARC_OK) {
        printf("Bail out! cannot connect or attach (cycle %llu)\n", i);
        exit(1);
    }
    bool held;
    RUN_UNTIL(loop, WAIT_MS, cy->connects > 0, held);
    if (!held || cy->connect_status != ARC_OK) {
        totals.connect_failures++;
        diag_cycle(cy, held ? "connect failed" : "no on_connect in time");
        arc_free(c);
        loop_run_once(loop, 0);
        return;
    }

    int rc = cycle_queue(c, cy);
    if (rc != ARC_OK) {
        totals.bad++;
        printf("# cycle %llu: command %d refused: %s\n", i, cy->accepted, arc_status_name(rc));
    }
    /* Even cycles: the server drops the connection before the loop ever
     * ran, the batch still in arc's output (a write to a dead socket).
     * Odd cycles: once the commands ahead of the BLPOP are answered, with
     * the BLPOP and all behind it pending. */
    if (i % 2 == 1) {
        RUN_UNTIL(loop, WAIT_MS, cy->calls >= BLOCK_AT, held);
        if (!held)
            diag_cycle(cy, "the commands ahead of the BLPOP got no reply in time");
        if (cy->ok < BLOCK_AT) {
            totals.bad++;
            diag_cycle(cy, "a command ahead of the BLPOP got no good reply");
        }
    }
    if (restart_cycle(i, a->cycles)) {
        totals.restarts++;
        if (test_redis_restart(srv) != 0) {
            printf("Bail out! redis-server did not restart (cycle %llu)\n", i);
            exit(1);
        }
    } else if (!kill_client(srv)) {
        totals.kills_missed++;
        diag_cycle(cy, "CLIENT KILL killed nobody");
    }
    RUN_UNTIL(loop, WAIT_MS, cy->disconnects > 0 && cy->calls >= cy->accepted, held);
    if (!held) {
        totals.timeouts++;
        diag_cycle(cy, "no disconnect, or callbacks missing, in time");
    }
    int strays_before_free = cy->strays, calls_before_free = cy->calls;
    int disconnects_before_free = cy->disconnects;
    arc_free(c);
    loop_run_once(loop, 0);
    if (held && (cy->calls != calls_before_free || cy->strays != strays_before_free ||
                 cy->disconnects != disconnects_before_free)) {
        totals.after_free++;
        diag_cycle(cy, "calls after arc_free with nothing pending");
    }
    if (cy->calls != cy->accepted || cy->strays || cy->misorder)
        diag_cycle(cy, "callbacks not called exactly once, in order");
    if (cy->connects != 1 || cy->disconnects != 1 || cy->disconnect_status == ARC_OK) {
        totals.disconnect_wrong++;
        diag_cycle(cy, "on_connect / on_disconnect not once each, or a clean disconnect");
    }
    if (cy->bad)
        diag_cycle(cy, "bad replies");
    if (cy->disconnects > 0) {
        int st = cy->disconnect_status;
        totals.disconnect_by_status[st >= 0 && st <= ARC_ERR_FREED ? st : ARC_ERR_FREED + 1]++;
    }
    totals.accepted += (unsigned long long)cy->accepted;
    totals.calls += (unsigned long long)cy->calls;
    totals.strays += (unsigned long long)cy->strays;
    totals.misorder += (unsigned long long)cy->misorder;
    totals.ok += (unsigned long long)cy->ok;
    totals.failed += (unsigned long long)cy->failed;
    totals.bad += (unsigned long long)cy->bad;
}

static void phase_cycles(soak_loop *loop, test_redis *srv, const soak_args *a)
{
    series samples;
    unsigned long long every = a->cycle_sample;
    if (series_init(&samples, (size_t)(a->cycles / every) + 2) != 0) {
        printf("Bail out! out of memory\n");
        exit(1);
    }
    cycle cy;
    int64_t start = arc_now_ms();
    for (unsigned long long i = 0; i < a->cycles; i++) {
        one_cycle(loop, srv, a, &cy, i);
        if ((i + 1) % every == 0 || i + 1 == a->cycles) {
            /* The admin connection is closed by a restart and opened again
             * by the next command: open it now, so that every sample counts
             * it. */
            arc_reply_free(test_redis_command(srv, "PING"));
            const sample *x = series_add(&samples, i + 1);
            if (x != NULL) {
                printf("# cycle n=%llu rss_kib=%ld fds=%d\n", x->at, x->rss_kib, x->fds);
                fflush(stdout);
            }
        }
    }
    int64_t took = arc_now_ms() - start;
    printf("# cycles: %llu in %.2f s, %llu restart(s); %llu commands: %llu replies, "
           "%llu failed with the connection; %llu kill(s) retried before the server "
           "had accepted the client\n", a->cycles, (double)took / 1000.0, totals.restarts,
           totals.accepted, totals.ok, totals.failed, totals.kill_retries);

    printf("# cycles: on_disconnect statuses:");
    for (int st = 0; st <= ARC_ERR_FREED + 1; st++)
        if (totals.disconnect_by_status[st])
            printf(" %s %llu", st <= ARC_ERR_FREED ? arc_status_name(st) : "other",
                   totals.disconnect_by_status[st]);
    printf("\n");
    bool once = totals.calls == totals.accepted && totals.accepted == a->cycles * BATCH &&
                totals.strays == 0 && totals.misorder == 0 && totals.after_free == 0 &&
                totals.timeouts == 0 && totals.connect_failures == 0;
    if (!once)
        printf("# cycles: accepted %llu, calls %llu, strays %llu, misorder %llu, "
               "after free %llu, timeouts %llu, connect failures %llu\n", totals.accepted,
               totals.calls, totals.strays, totals.misorder, totals.after_free, totals.timeouts,
               totals.connect_failures);
    tap(once, "cycles: every callback called exactly once, in order");
    if (totals.bad || totals.kills_missed || totals.disconnect_wrong)
        printf("# cycles: bad replies %llu, kills that missed %llu, wrong connect/disconnect "
               "calls %llu\n", totals.bad, totals.kills_missed, totals.disconnect_wrong);
    tap(totals.bad == 0 && totals.kills_missed == 0 && totals.disconnect_wrong == 0,
        "cycles: on_connect and on_disconnect once each, every reply as expected");

    check_rss("cycles: RSS flat", &samples);
    check_fds("cycles: descriptors flat", &samples);
    free(samples.v);
}

/* ---- phase 3: server restarts under load, one reconnecting context ---- */

#define RS_KEY "soak:restarts"
#define RS_CHANNEL "soak:chan"
#define RS_PATTERN "soak:pat.*"
#define RS_PCHANNEL "soak:pat.x"  /* a channel the pattern matches */
#define RS_SHARD "soak:shard"
#define RS_LOAD 500               /* replies on each new link before the next kill */
#define RS_HOLD_MS 2000           /* for the killed server's listener to go */

enum { SUB_CHANNEL, SUB_PATTERN, SUB_SHARD, SUB_KINDS };

struct rs_phase;

typedef struct sub_track {
    const char *confirm; /* "subscribe", "psubscribe", "ssubscribe" */
    const char *message; /* "message", "pmessage", "smessage" */
    unsigned long long confirms, messages, bad;
    unsigned long long nulls, nulls_early; /* early: before arc_free */
    int null_status;
    struct rs_phase *p;
} sub_track;

typedef struct rs_phase {
    uint64_t *ring; /* slot seq % ring_size: the seq in flight, or SLOT_FREE */
    size_t ring_size;
    unsigned long long issued, calls, next, strays, misorder;
    unsigned long long ok, unanswered, not_sent, other, bad_values;
    /* The link in progress (one per server run: the server keeps no data,
     * so its counter starts at 0 on each) and the one before it. */
    unsigned long long link_ok, link_unanswered;
    long long link_last;
    unsigned long long prev_ok, prev_unanswered;
    unsigned long long connects, connect_failures, disconnects;
    int refused;
    bool stop; /* no more commands: the last ones drain */
    bool freeing;
    char expect[32]; /* the payload of the messages now due */
    sub_track subs[SUB_KINDS];
} rs_phase;

static unsigned long long rs_diags;

#define RS_DIAG(...)                                                                   \
    do {                                                                               \
        if (rs_diags++ < MAX_DIAG)                                                     \
            printf("# restarts: " __VA_ARGS__);                                        \
    } while (0)

static void on_rs_reply(arc_context *c, arc_reply *r, int status, void *privdata);

static void rs_issue(arc_context *c, rs_phase *p)
{
    uint64_t seq = p->issued;
    size_t slot = (size_t)(seq % p->ring_size);
    if (p->ring[slot] != SLOT_FREE) {
        p->misorder++;
        RS_DIAG("command %llu got no call yet, its slot is needed again\n",
                (unsigned long long)p->ring[slot]);
    }
    int rc = arc_command(c, on_rs_reply, (void *)(uintptr_t)seq, "INCR " RS_KEY);
    if (rc != ARC_OK) {
        p->refused = rc;
        RS_DIAG("command %llu refused: %s (state %s)\n", (unsigned long long)seq,
                arc_status_name(rc), arc_state_name(arc_context_state(c)));
        return;
    }
    p->ring[slot] = seq;
    p->issued++;
}

static void on_rs_reply(arc_context *c, arc_reply *r, int status, void *privdata)
{
    rs_phase *p = arc_context_data(c);
    uint64_t seq = (uint64_t)(uintptr_t)privdata;
    size_t slot = (size_t)(seq % p->ring_size);
    if (p->ring[slot] != seq) {
        p->strays++;
        RS_DIAG("command %llu called but not in flight (a second call?), %s\n",
                (unsigned long long)seq, arc_status_name(status));
        return;
    }
    p->ring[slot] = SLOT_FREE;
    if (seq != p->next) {
        p->misorder++;
        RS_DIAG("command %llu called out of order (%llu due)\n", (unsigned long long)seq,
                p->next);
    }
    p->next = seq + 1;
    p->calls++;
    if (status == ARC_OK && r != NULL && r->type == ARC_REPLY_INTEGER) {
        p->ok++;
        p->link_ok++;
        /* One connection per server run, in order, from 0. */
        if (r->integer != p->link_last + 1) {
            p->bad_values++;
            RS_DIAG("INCR answered %lld after %lld on link %llu\n", r->integer, p->link_last,
                    p->connects);
        }
        p->link_last = r->integer;
    } else if (status == ARC_ERR_UNANSWERED && r == NULL) {
        p->unanswered++;
        p->link_unanswered++;
    } else if (status == ARC_ERR_NOT_SENT && r == NULL) {
        p->not_sent++;
    } else {
        p->other++;
        RS_DIAG("command %llu: status %s, reply %s\n", (unsigned long long)seq,
                arc_status_name(status), r ? arc_reply_type_name(r->type) : "NULL");
    }
    /* One call in, one command out: the depth holds, through the outages
     * too (commands issued while down wait for the next link). */
    if (!p->stop && !p->refused)
        rs_issue(c, p);
}

static bool word_is(const arc_reply *r, const char *w)
{
    size_t n = strlen(w);
    return r != NULL && r->str != NULL && r->len == n && memcmp(r->str, w, n) == 0;
}

static void on_rs_sub(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)c;
    sub_track *s = privdata;
    if (r == NULL) {
        s->nulls++;
        s->null_status = status;
        if (!s->p->freeing) {
            s->nulls_early++;
            RS_DIAG("%s: final NULL (%s) while the context lives on\n", s->confirm,
                    arc_status_name(status));
        }
        return;
    }
    if ((r->type != ARC_REPLY_PUSH && r->type != ARC_REPLY_ARRAY) || r->elements < 3) {
        s->bad++;
        RS_DIAG("%s: a reply of type %s\n", s->confirm, arc_reply_type_name(r->type));
        return;
    }
    if (word_is(r->element[0], s->confirm)) {
        s->confirms++;
    } else if (word_is(r->element[0], s->message) &&
               word_is(r->element[r->elements - 1], s->p->expect)) {
        s->messages++;
    } else {
        s->bad++;
        const arc_reply *last = r->element[r->elements - 1];
        RS_DIAG("%s: unexpected \"%.*s\" ... \"%.*s\" (expected %s)\n", s->confirm,
                (int)(r->element[0]->len > 20 ? 20 : r->element[0]->len),
                r->element[0]->str ? r->element[0]->str : "",
                (int)(last->str && last->len < 40 ? last->len : 0), last->str ? last->str : "",
                s->p->expect);
    }
}

static void on_rs_connect(arc_context *c, int status, void *data)
{
    (void)c;
    rs_phase *p = data;
    if (status != ARC_OK) {
        p->connect_failures++;
        RS_DIAG("connect failed: %s (%s)\n", arc_status_name(status), arc_context_error(c));
        return;
    }
    /* A new link, a new server run: the one before is complete (its
     * unanswered commands were settled when it was lost). */
    p->connects++;
    p->prev_ok = p->link_ok;
    p->prev_unanswered = p->link_unanswered;
    p->link_ok = 0;
    p->link_unanswered = 0;
    p->link_last = 0;
}

static void on_rs_disconnect(arc_context *c, int status, void *data)
{
    (void)c;
    (void)status;
    rs_phase *p = data;
    p->disconnects++;
}

/* While the killed server is down, its port is bound by a socket that does
 * not listen: a connect is refused as if nobody were there, and no connect
 * of the context's can be given the port as its own source port (a TCP
 * self-connect, which would read the commands back as replies). One
 * attempt in some ten thousand would otherwise hit it when the port is in
 * the ephemeral range, which a thousand restarts with a few attempts each
 * would reach. SO_REUSEADDR: past the old server's TIME_WAITs. -1 when it
 * could not be bound in time. */
static int hold_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int64_t end = arc_now_ms() + RS_HOLD_MS;
    /* The killed process's listener goes when the kernel has reaped it. */
    while (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (errno != EADDRINUSE || arc_now_ms() >= end) {
            close(fd);
            return -1;
        }
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    return fd;
}

/* The server's counter with writes paused, so that no INCR of the context
 * runs between this read and the kill; -1 when unreadable. */
static long long paused_counter(test_redis *srv)
{
    arc_reply *r = test_redis_command(srv, "CLIENT PAUSE 60000 WRITE");
    bool paused = r != NULL && r->type == ARC_REPLY_STATUS;
    arc_reply_free(r);
    if (!paused)
        return -1;
    r = test_redis_command(srv, "GET " RS_KEY);
    long long v = -1;
    if (r != NULL && r->type == ARC_REPLY_NIL)
        v = 0;
    else if (r != NULL && r->type == ARC_REPLY_STRING && r->str != NULL)
        v = strtoll(r->str, NULL, 10);
    arc_reply_free(r);
    return v;
}

static bool rs_back(const rs_phase *p, arc_context *c, unsigned long long links)
{
    for (int k = 0; k < SUB_KINDS; k++)
        if (p->subs[k].confirms < links)
            return false;
    return p->connects >= links && arc_context_state(c) == ARC_STATE_SUBSCRIBED;
}

static bool rs_delivered(const rs_phase *p, unsigned long long n)
{
    for (int k = 0; k < SUB_KINDS; k++)
        if (p->subs[k].messages < n)
            return false;
    return true;
}

/* Publishes one message of each kind; true when each had one receiver. */
static bool rs_publish(test_redis *srv, const char *payload)
{
    static const char *const fmt[SUB_KINDS] = {"PUBLISH " RS_CHANNEL " %s",
                                                 "PUBLISH " RS_PCHANNEL " %s",
                                                 "SPUBLISH " RS_SHARD " %s"};
    bool ok = true;
    for (int k = 0; k < SUB_KINDS; k++) {
        arc_reply *r = test_redis_command(srv, fmt[k], payload);
        if (r == NULL || r->type != ARC_REPLY_INTEGER || r->integer != 1) {
            RS_DIAG("%s: %s\n", fmt[k], r == NULL ? "no reply"
                                        : r->type == ARC_REPLY_INTEGER ? "not one receiver"
                                                                       : "an error");
            ok = false;
        }
        arc_reply_free(r);
    }
    return ok;
}

static void phase_restarts(soak_loop *loop, test_redis *srv, const soak_args *a)
{
    series samples;
    unsigned long long every = a->restart_sample;
    rs_phase p;
    memset(&p, 0, sizeof p);
    p.ring_size = (size_t)a->depth * 2;
    p.ring = malloc(p.ring_size * sizeof *p.ring);
    if (p.ring == NULL || series_init(&samples, (size_t)(a->restarts / every) + 2) != 0) {
        printf("Bail out! out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < p.ring_size; i++)
        p.ring[i] = SLOT_FREE;
    static const char *const confirm[SUB_KINDS] = {"subscribe", "psubscribe", "ssubscribe"};
    static const char *const message[SUB_KINDS] = {"message", "pmessage", "smessage"};
    for (int k = 0; k < SUB_KINDS; k++)
        p.subs[k] = (sub_track){.confirm = confirm[k], .message = message[k], .p = &p};
    arc_reply_free(test_redis_command(srv, "DEL " RS_KEY));

    /* Small waits: the server is back within tens of ms, and a thousand
     * restarts should not spend most of their time waiting. */
    arc_reconnect rc;
    memset(&rc, 0, sizeof rc);
    rc.initial_delay_ms = 10;
    rc.max_delay_ms = 100;
    rc.max_attempts = 0;
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = test_redis_host(srv);
    o.port = test_redis_port(srv);
    o.connect_timeout_ms = CONNECT_TIMEOUT_MS;
    o.resp = 3; /* commands and subscriptions on one connection */
    o.reconnect = &rc;
    o.on_connect = on_rs_connect;
    o.on_disconnect = on_rs_disconnect;
    o.data = &p;
    arc_context *c = arc_connect(&o);
    if (c == NULL || loop_attach(loop, c) != ARC_OK) {
        printf("Bail out! cannot connect or attach (restarts)\n");
        exit(1);
    }
    if (arc_command(c, on_rs_sub, &p.subs[SUB_CHANNEL], "SUBSCRIBE " RS_CHANNEL) != ARC_OK ||
        arc_command(c, on_rs_sub, &p.subs[SUB_PATTERN], "PSUBSCRIBE " RS_PATTERN) != ARC_OK ||
        arc_command(c, on_rs_sub, &p.subs[SUB_SHARD], "SSUBSCRIBE " RS_SHARD) != ARC_OK) {
        printf("Bail out! a subscribe command was refused\n");
        exit(1);
    }
    while (p.issued < a->depth && !p.refused)
        rs_issue(c, &p);

    bool held;
    bool lost = false; /* the context did not come back: the rest is moot */
    unsigned long long counter_bad = 0, counter_unread = 0, counter_checked = 0;
    unsigned long long publish_bad = 0, kills = 0;
    RUN_UNTIL(loop, WAIT_MS, rs_back(&p, c, 1), held);
    if (!held) {
        lost = true;
        RS_DIAG("not subscribed within %d ms at the start (state %s: %s)\n", WAIT_MS,
                arc_state_name(arc_context_state(c)), arc_context_error(c));
    }
    int64_t start = arc_now_ms();
    int64_t down_ms = 0; /* kill to the new server answering, summed */
    for (unsigned long long i = 0; i < a->restarts && !lost; i++) {
        /* Under load: the new link answers a few hundred INCRs first. */
        RUN_UNTIL(loop, WAIT_MS, p.link_ok >= RS_LOAD || p.refused, held);
        if (!held || p.refused) {
            lost = true;
            RS_DIAG("restart %llu: only %llu replies on the link within %d ms (state %s)\n",
                    i, p.link_ok, WAIT_MS, arc_state_name(arc_context_state(c)));
            break;
        }
        /* Every other run is read with writes paused, so that its counter
         * can be checked; the others are killed in the middle of the
         * traffic, the server executing INCRs and its replies on the way. */
        long long counter = -2; /* not read */
        if (i % 2 == 0) {
            counter = paused_counter(srv);
        } else {
            /* A moment for the server to run what was just written: its
             * replies are on their way when it dies. */
            struct timespec ts = {0, 1000000L};
            nanosleep(&ts, NULL);
        }
        int pid = test_redis_pid(srv);
        int64_t t0 = arc_now_ms();
        if (pid <= 0 || kill((pid_t)pid, SIGKILL) != 0) {
            printf("Bail out! cannot kill redis-server (restart %llu)\n", i);
            exit(1);
        }
        kills++;
        int hold = hold_port(test_redis_port(srv));
        if (hold < 0)
            RS_DIAG("restart %llu: the port could not be held\n", i);
        /* Runs the loop a little while down: the link's loss and the first
         * refused attempts happen against the dead server. */
        loop_run_once(loop, 5);
        if (hold >= 0)
            close(hold);
        if (test_redis_restart(srv) != 0) {
            printf("Bail out! redis-server did not restart (restart %llu)\n", i);
            exit(1);
        }
        down_ms += arc_now_ms() - t0;
        RUN_UNTIL(loop, WAIT_MS, rs_back(&p, c, i + 2), held);
        if (!held) {
            lost = true;
            RS_DIAG("restart %llu: not back within %d ms (state %s, %u attempts: %s)\n", i,
                    WAIT_MS, arc_state_name(arc_context_state(c)), arc_context_reconnects(c),
                    arc_context_error(c));
            break;
        }
        /* The killed run, complete now: what ran lies between what was
         * answered and what may have run. */
        if (counter == -1) {
            counter_unread++;
        } else if (counter == -2) {
            /* not read: killed under way */
        } else if ((unsigned long long)counter < p.prev_ok ||
                   (unsigned long long)counter > p.prev_ok + p.prev_unanswered) {
            counter_checked++;
            counter_bad++;
            RS_DIAG("restart %llu: the server counted %lld, %llu replies, %llu unanswered\n",
                    i, counter, p.prev_ok, p.prev_unanswered);
        } else {
            counter_checked++;
        }
        snprintf(p.expect, sizeof p.expect, "after-%llu", i + 1);
        if (!rs_publish(srv, p.expect))
            publish_bad++;
        RUN_UNTIL(loop, WAIT_MS, rs_delivered(&p, i + 1), held);
        if (!held) {
            lost = true;
            RS_DIAG("restart %llu: a message did not arrive within %d ms (%llu %llu %llu)\n",
                    i, WAIT_MS, p.subs[0].messages, p.subs[1].messages, p.subs[2].messages);
            break;
        }
        if ((i + 1) % every == 0 || i + 1 == a->restarts) {
            const sample *x = series_add(&samples, i + 1);
            if (x != NULL) {
                printf("# restart n=%llu rss_kib=%ld fds=%d commands=%llu\n", x->at,
                       x->rss_kib, x->fds, p.calls);
                fflush(stdout);
            }
        }
    }
    int64_t took = arc_now_ms() - start;

    /* The last run: stop issuing, let the commands in flight drain, and
     * the counter equals the replies. */
    p.stop = true;
    RUN_UNTIL(loop, WAIT_MS, p.calls == p.issued, held);
    if (!lost) {
        long long counter = paused_counter(srv);
        if (counter < 0)
            counter_unread++;
        else if (counter_checked++, (unsigned long long)counter != p.link_ok) {
            counter_bad++;
            RS_DIAG("last run: the server counted %lld, %llu replies\n", counter, p.link_ok);
        }
        arc_reply_free(test_redis_command(srv, "CLIENT UNPAUSE"));
    }
    printf("# restarts: %llu in %.2f s (%.1f/s), down %.0f ms each on average; %llu "
           "commands: %llu replies, %llu unanswered, %llu not sent; %llu links; state %s\n", kills, (double)took / 1000.0,
           took > 0 ? (double)kills * 1000.0 / (double)took : 0.0,
           kills ? (double)down_ms / (double)kills : 0.0, p.issued, p.ok, p.unanswered,
           p.not_sent, p.connects, arc_state_name(arc_context_state(c)));

    unsigned long long before_free = p.calls + p.strays;
    unsigned long long disconnects = p.disconnects; /* arc_free tells one more */
    p.freeing = true;
    arc_free(c);
    loop_run_once(loop, 0);
    unsigned long long after_free = p.calls + p.strays - before_free;

    bool once = !lost && held && p.calls == p.issued &&
                p.ok + p.unanswered + p.not_sent == p.issued && p.other == 0 &&
                p.strays == 0 && p.misorder == 0 && after_free == 0 && !p.refused;
    if (!once)
        printf("# restarts: issued %llu, calls %llu, replies %llu + unanswered %llu + not "
               "sent %llu, other %llu, strays %llu, misorder %llu, after free %llu, refused "
               "%s%s\n", p.issued, p.calls, p.ok, p.unanswered, p.not_sent, p.other, p.strays,
               p.misorder, after_free, arc_status_name(p.refused), lost ? ", lost" : "");
    tap(once, "restarts: every command callback exactly once, in order "
              "(replies + unanswered + not sent = issued)");
    printf("# restarts: %llu server runs' counters checked (the others were killed under "
           "way)\n", counter_checked);
    if (counter_bad || counter_unread || p.bad_values)
        printf("# restarts: counter out of bounds %llu, unreadable %llu; INCR replies not "
               "1, 2, 3, ... per run %llu\n", counter_bad, counter_unread, p.bad_values);
    tap(!lost && counter_bad == 0 && counter_unread == 0 && p.bad_values == 0,
        "restarts: per server run, replies <= counter <= replies + unanswered");
    bool subs_ok = !lost && publish_bad == 0 && p.connect_failures == 0 &&
                   p.connects == kills + 1 && disconnects == kills;
    for (int k = 0; k < SUB_KINDS; k++) {
        const sub_track *s = &p.subs[k];
        if (s->bad || s->nulls_early || s->nulls != 1 || s->messages != kills ||
            s->confirms != kills + 1) {
            subs_ok = false;
            printf("# restarts: %s: confirmations %llu, messages %llu, bad %llu, final NULLs "
                   "%llu (%llu before arc_free, last %s)\n", s->confirm, s->confirms,
                   s->messages, s->bad, s->nulls, s->nulls_early,
                   arc_status_name(s->null_status));
        }
    }
    if (publish_bad || p.connects != kills + 1 || disconnects != kills)
        printf("# restarts: publishes without one receiver %llu; on_connect %llu, "
               "on_disconnect %llu, for %llu kills\n", publish_bad, p.connects, disconnects,
               kills);
    tap(subs_ok, "restarts: back after every restart, every message to the original "
                 "callbacks, no final NULL before arc_free");

    check_rss("restarts: RSS flat", &samples);
    check_fds("restarts: descriptors flat", &samples);
    free(samples.v);
    free(p.ring);
}

/* ---- main ---- */

static void usage(FILE *to)
{
    fprintf(to, "usage: soak_" SOAK_LOOP_NAME " [--commands N] [--cycles N] [--restarts N] "
                "[--sample N] [--depth N] [--cycle-sample N] [--restart-sample N]\n"
                "  --commands N        commands in phase 1 (default 10000000)\n"
                "  --cycles N          connect/kill cycles in phase 2 (default 1000)\n"
                "  --restarts N        server kills and restarts in phase 3 (default 1000)\n"
                "                      (0 skips a phase)\n"
                "  --sample N          sample RSS and descriptors every N commands "
                "(default 1000000)\n"
                "  --depth N           commands kept in flight (default 256)\n"
                "  --cycle-sample N    sample every N cycles (default: 100, or a tenth\n"
                "                      of the cycles when that is fewer)\n"
                "  --restart-sample N  sample every N restarts (default as for cycles)\n");
}

static bool parse_count(const char *s, unsigned long long *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

static int parse_args(int argc, char **argv, soak_args *a)
{
    a->commands = 10000000;
    a->cycles = 1000;
    a->restarts = 1000;
    a->sample = 1000000;
    a->depth = 256;
    a->cycle_sample = 0;
    a->restart_sample = 0;
    for (int i = 1; i < argc; i += 2) {
        unsigned long long *dst = NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(argv[i], "--commands") == 0) {
            dst = &a->commands;
        } else if (strcmp(argv[i], "--cycles") == 0) {
            dst = &a->cycles;
        } else if (strcmp(argv[i], "--sample") == 0) {
            dst = &a->sample;
        } else if (strcmp(argv[i], "--depth") == 0) {
            dst = &a->depth;
        } else if (strcmp(argv[i], "--cycle-sample") == 0) {
            dst = &a->cycle_sample;
        } else if (strcmp(argv[i], "--restarts") == 0) {
            dst = &a->restarts;
        } else if (strcmp(argv[i], "--restart-sample") == 0) {
            dst = &a->restart_sample;
        }
        if (dst == NULL || i + 1 >= argc || !parse_count(argv[i + 1], dst)) {
            fprintf(stderr, "soak: bad argument \"%s\"\n", argv[i]);
            usage(stderr);
            return -1;
        }
    }
    if (a->sample == 0 || a->depth == 0 || a->depth > 1000000) {
        fprintf(stderr, "soak: --sample must be > 0, --depth in 1..1000000\n");
        return -1;
    }
    if (a->cycle_sample == 0) {
        a->cycle_sample = a->cycles / 10 < 100 ? a->cycles / 10 : 100;
        if (a->cycle_sample == 0)
            a->cycle_sample = 1;
    }
    if (a->restart_sample == 0) {
        a->restart_sample = a->restarts / 10 < 100 ? a->restarts / 10 : 100;
        if (a->restart_sample == 0)
            a->restart_sample = 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    soak_args a;
    if (parse_args(argc, argv, &a) != 0)
        return 2;
    /* Per phase run: its own checks (2, 2, 3), descriptors, and RSS where
     * it is measured. */
    int per_rss = rss_measured() ? 1 : 0;
    int plan = (a.commands ? 3 + per_rss : 0) + (a.cycles ? 3 + per_rss : 0) +
               (a.restarts ? 4 + per_rss : 0);
    printf("1..%d\n", plan);
    if (!rss_measured())
        printf("# RSS is not checked under AddressSanitizer or valgrind (see rss_measured)\n");
    printf("# soak loop=%s commands=%llu cycles=%llu restarts=%llu sample=%llu depth=%llu "
           "cycle_sample=%llu restart_sample=%llu%s%s\n", SOAK_LOOP_NAME, a.commands, a.cycles,
           a.restarts, a.sample, a.depth, a.cycle_sample, a.restart_sample,
           SOAK_ASAN ? " asan" : "", getenv("ARC_UNDER_VALGRIND") ? " valgrind" : "");
    fflush(stdout);

    test_redis *srv = test_redis_start(NULL);
    if (srv == NULL) {
        printf("Bail out! redis-server did not start\n");
        return 1;
    }
    soak_loop *loop = loop_new();
    if (loop == NULL) {
        printf("Bail out! no event loop\n");
        test_redis_stop(srv);
        return 1;
    }

    if (a.commands)
        phase_commands(loop, srv, &a);
    if (a.cycles)
        phase_cycles(loop, srv, &a);
    if (a.restarts)
        phase_restarts(loop, srv, &a);

    int leftover = loop_free(loop);
    test_redis_stop(srv);
    printf("# %d of %d checks failed\n", tap_failed, tap_count);
    return tap_failed || leftover ? 1 : 0;
}
