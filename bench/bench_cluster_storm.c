/* bench_cluster_storm.c: what a redirect storm costs. bench_cluster's load
 * (SET of a 16-byte value over keys of every slot in mixed order, so that
 * every master has its share of the window; DEPTH in flight; the poll
 * loop) runs through the cluster client against a cluster of three
 * masters with a replica each, made by the test harness
 * (test/support/cluster.h), its successful replies counted every 10 ms;
 * after a second of that, a thread of its own changes the cluster:
 *
 *   bench_cluster_storm EVENT [DEPTH [TRACE]]
 *     none      nothing: the control, what noise alone makes of the figures
 *     migrate   a quarter of the commands go to keys of one hot slot (1,000
 *               keys behind one hash tag) on master 0, and that slot moves
 *               to master 1 as redis-cli's reshard moves it: IMPORTING,
 *               MIGRATING, MIGRATE key by key (ASK for the keys gone), then
 *               SETSLOT NODE (MOVED for the commands on their way)
 *     failover  CLUSTER FAILOVER on master 0's replica
 *     kill      SIGKILL to master 0; its replica takes over after about
 *               twice the node timeout (the harness's, 1 s)
 *   bench_cluster_storm serve MASTERS
 *     a cluster of MASTERS masters and no replicas for bench_cluster: prints
 *     node 0's port, then runs until SIGTERM or SIGINT
 *
 * Prints one line:
 *   event,base_ops_s,dip,recover_ms,settle_ms,change_ms,lost_ms,failed,
 *   moved,ask,tryagain,clusterdown,maps
 * base_ops_s  the baseline, over the second before the event
 * dip         the lowest 10 ms sample over the baseline, from the event
 *             until recovery (and in its first 100 ms at least)
 * recover_ms  from the event until throughput is back to >= 90% of the
 *             baseline over 100 ms (10 samples); -1: not within the run
 * settle_ms   from the event until the harness saw the cluster whole again
 * change_ms   when ownership changed (migrate: the SETSLOT NODE step,
 *             after the keys moved; 0 for the others)
 * lost_ms     the throughput missing until recovery, in ms of baseline
 * failed      commands called back with a failure or an error reply
 * moved...    the MOVED, ASK, TRYAGAIN and CLUSTERDOWN replies the nodes
 *             sent (INFO errorstats, reset after the warm-up; a killed
 *             node's are lost with it)
 * maps        the slot maps the client put in use
 * TRACE, when given, gets one line per sample: ms since the event, ops/s.
 * What failed, by status, goes to stderr.
 *
 * The harness is not thread-safe: the main thread uses it only while the
 * event thread does not run. Its nodes die with the thread that started
 * them, which is the main thread, alive until the end. */
#define _GNU_SOURCE
#include <arc/adapters/poll.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "cluster.h"
#include "slot_keys.h"

#define SAMPLE_S 0.010
#define MAX_SAMPLES 12000 /* 120 s of samples; the run is far shorter */
#define WARM_S 0.5
#define BASE_S 1.0
#define AFTER_S 2.0    /* of load after the event thread is done */
#define EVENT_MAX_S 60 /* the harness's own waits end well before */
#define DRAIN_MAX_S 20
#define RECOVERED 0.9 /* of the baseline, */
#define STABLE 10     /* over this many samples */
#define HOT_KEYS 1000
#define HOT_EVERY 4 /* migrate: one command in 4 goes to the hot slot */
#define STATUSES 64 /* more than arc_status has */

enum { EV_NONE, EV_MIGRATE, EV_FAILOVER, EV_KILL };
static const char *const event_names[] = {"none", "migrate", "failover", "kill"};

/* ---- the load ---- */

static const char value[] = "0123456789abcdef";
static arc_cluster *cl;
static arc_poll_loop *loop;
static bool issuing = true, counting;
static long issued, completed, ok, refused, maps, n_plain, n_hot;
static long by_status[STATUSES], error_replies;
static char first_error[160];
static char keys[BENCH_SLOTS][BENCH_KEY_MAX];
static char hot_keys[HOT_KEYS][BENCH_KEY_MAX];
static bool hot;

static void issue(void);

static void on_reply(arc_cluster *c, arc_reply *r, int status, void *pd)
{
    (void)pd;
    completed++;
    if (status == ARC_OK && r->type != ARC_REPLY_ERROR) {
        ok++;
    } else if (counting) {
        if (status != ARC_OK)
            by_status[status >= 0 && status < STATUSES ? status : 0]++;
        else
            error_replies++;
        if (first_error[0] == '\0')
            snprintf(first_error, sizeof first_error, "%s: %s",
                     status != ARC_OK ? arc_status_name(status) : "error reply",
                     status != ARC_OK ? arc_cluster_error(c) : r->str);
    }
    issue();
}

static void on_event(arc_cluster *c, int event, arc_member *node, void *data)
{
    (void)c;
    (void)node;
    (void)data;
    if (event == ARC_CLUSTER_TOPOLOGY && counting)
        maps++;
}

static void issue(void)
{
    if (!issuing)
        return;
    const char *key;
    if (hot && issued % HOT_EVERY == 0)
        key = hot_keys[n_hot++ % HOT_KEYS];
    else
        key = keys[n_plain++ % BENCH_SLOTS];
    issued++;
    /* A refusal calls nothing back: the window is one command smaller. */
    if (arc_cluster_command(cl, on_reply, NULL, "SET %s %s", key, value) != ARC_OK)
        refused++;
}

/* ---- samples ---- */

typedef struct sample {
    double t;
    long ok;
} sample;

static sample samples[MAX_SAMPLES];
static int nsamples;
static bool sampling;
static double next_sample;

static void take_sample(void)
{
    double t = bench_now_s();
    if (!sampling || t < next_sample || nsamples == MAX_SAMPLES)
        return;
    samples[nsamples++] = (sample){t, ok};
    /* A late sample moves the grid rather than making up the ones missed. */
    next_sample = next_sample + SAMPLE_S > t ? next_sample + SAMPLE_S : t + SAMPLE_S;
}

/* Runs the loop until `until` or until *flag is set. The poll waits 1 ms
 * at most, so that samples are taken on time while every command waits. */
static void drive(double until, atomic_int *flag)
{
    while (bench_now_s() < until && !(flag != NULL && atomic_load(flag))) {
        arc_poll_loop_run_once(loop, 1);
        take_sample();
    }
}

/* ---- the event, on its own thread ---- */

typedef struct storm {
    test_cluster *c;
    int event, slot, replica;
    double t_start, t_change, t_settled;
    int rc;
    atomic_int finished;
} storm;

static void *run_event(void *arg)
{
    storm *s = arg;
    s->t_start = s->t_change = bench_now_s();
    switch (s->event) {
    case EV_MIGRATE:
        s->rc = test_cluster_migration_begin(s->c, s->slot, 1);
        if (s->rc == 0)
            s->rc = test_cluster_migrate_keys(s->c, s->slot, -1) < 0 ? -1 : 0;
        s->t_change = bench_now_s();
        if (s->rc == 0)
            s->rc = test_cluster_migration_end(s->c, s->slot);
        break;
    case EV_FAILOVER: s->rc = test_cluster_failover(s->c, s->replica); break;
    case EV_KILL:
        s->rc = test_cluster_kill(s->c, 0);
        if (s->rc == 0)
            s->rc = test_cluster_wait_ok(s->c, 30000);
        break;
    default: s->rc = 0;
    }
    s->t_settled = bench_now_s();
    atomic_store(&s->finished, 1);
    return NULL;
}

/* ---- what the nodes counted ---- */

static const char *const error_names[] = {"MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN"};
#define NERRORS (sizeof error_names / sizeof error_names[0])

static void for_each_up(test_cluster *c, const char *command)
{
    for (int i = 0; i < test_cluster_size(c); i++) {
        if (test_cluster_is_up(c, i) == 1)
            arc_reply_free(test_cluster_command(c, i, command));
    }
}

/* Sums "errorstat_<NAME>:count=N" over the running nodes. */
static void error_stats(test_cluster *c, long *count)
{
    for (size_t e = 0; e < NERRORS; e++)
        count[e] = 0;
    for (int i = 0; i < test_cluster_size(c); i++) {
        if (test_cluster_is_up(c, i) != 1)
            continue;
        arc_reply *r = test_cluster_command(c, i, "INFO errorstats");
        if (r == NULL || (r->type != ARC_REPLY_STRING && r->type != ARC_REPLY_VERB)) {
            arc_reply_free(r);
            continue;
        }
        for (size_t e = 0; e < NERRORS; e++) {
            char field[48];
            snprintf(field, sizeof field, "errorstat_%s:count=", error_names[e]);
            const char *at = strstr(r->str, field);
            if (at != NULL)
                count[e] += atol(at + strlen(field));
        }
        arc_reply_free(r);
    }
}

/* ---- the figures ---- */

typedef struct result {
    double base, dip, recover_ms, lost_ms;
} result;

/* Sample i is the interval (samples[i - 1].t, samples[i].t]. */
static double rate(int i)
{
    return (double)(samples[i].ok - samples[i - 1].ok) / (samples[i].t - samples[i - 1].t);
}

static result figures(double t_event, FILE *trace)
{
    result r = {0, 0, -1, 0};
    int e = 1;
    while (e < nsamples && samples[e].t <= t_event)
        e++;
    if (e >= nsamples)
        return r;
    /* The baseline: from the first sample to the last one before the event. */
    r.base = (double)(samples[e - 1].ok - samples[0].ok) / (samples[e - 1].t - samples[0].t);
    /* Recovered: the first sample from which the next 100 ms together run
     * at 90% of the baseline. Over 100 ms rather than in each sample: on a
     * shared machine one 10 ms sample in four falls below 90% with no
     * event at all (the "none" runs). */
    int back = -1;
    for (int i = e; back < 0 && i + STABLE <= nsamples; i++) {
        int last = i + STABLE - 1;
        double mean =
            (double)(samples[last].ok - samples[i - 1].ok) / (samples[last].t - samples[i - 1].t);
        if (mean >= RECOVERED * r.base)
            back = i;
    }
    int end = back >= 0 ? back : nsamples;
    /* The dip looks at 100 ms at least, so that an event that costs
     * nothing shows the same noise as the control. */
    int dip_end = end > e + STABLE ? end : e + STABLE < nsamples ? e + STABLE : nsamples;
    r.dip = rate(e) / r.base;
    for (int i = e; i < dip_end; i++)
        if (rate(i) / r.base < r.dip)
            r.dip = rate(i) / r.base;
    for (int i = e; i < end; i++) {
        double v = rate(i);
        if (v < r.base)
            r.lost_ms += (r.base - v) * (samples[i].t - samples[i - 1].t) / r.base * 1e3;
    }
    if (back >= 0) {
        double from = samples[back - 1].t - t_event;
        r.recover_ms = from > 0 ? from * 1e3 : 0;
    }
    for (int i = 1; trace != NULL && i < nsamples; i++)
        fprintf(trace, "%.1f,%.0f\n", (samples[i].t - t_event) * 1e3, rate(i));
    return r;
}

/* ---- the cluster for bench_cluster ---- */

static int serve(int masters)
{
    test_cluster_options o = {.masters = masters, .replicas = TEST_CLUSTER_NO_REPLICAS};
    test_cluster *c = test_cluster_start(&o);
    if (c == NULL)
        return 1;
    /* Blocked only now: the nodes would inherit the mask, and a node that
     * ignores SIGTERM makes the harness wait 5 s before its SIGKILL. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    printf("%d\n", test_cluster_port(c, 0));
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    test_cluster_stop(c);
    return 0;
}

/* ---- the run ---- */

/* A hash tag whose slot master 0 serves, for the hot keys. */
static int pick_hot_slot(test_cluster *c)
{
    for (int t = 0; t < 100; t++) {
        char tag[16];
        snprintf(tag, sizeof tag, "h%d", t);
        int slot = (int)arc_cluster_key_slot(tag, strlen(tag));
        if (test_cluster_master_for_slot(c, slot) == 0) {
            for (int k = 0; k < HOT_KEYS; k++)
                snprintf(hot_keys[k], sizeof hot_keys[k], "{%s}:%d", tag, k);
            return slot;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "serve") == 0)
        return serve(atoi(argv[2]));
    int event = -1;
    for (int e = 0; argc >= 2 && e < (int)(sizeof event_names / sizeof event_names[0]); e++)
        if (strcmp(argv[1], event_names[e]) == 0)
            event = e;
    long depth = argc >= 3 ? atol(argv[2]) : 256;
    if (event < 0 || argc > 4 || depth <= 0) {
        fprintf(stderr, "usage: bench_cluster_storm none|migrate|failover|kill [DEPTH [TRACE]]\n"
                        "       bench_cluster_storm serve MASTERS\n");
        return 2;
    }
    FILE *trace = NULL;
    if (argc == 4 && (trace = fopen(argv[3], "w")) == NULL) {
        perror(argv[3]);
        return 2;
    }
    bench_slot_keys(keys);
    bench_mix_keys(keys);

    test_cluster_options co = {.masters = 3, .replicas = 1};
    test_cluster *c = test_cluster_start(&co);
    if (c == NULL)
        return 1;
    storm s = {.c = c, .event = event, .slot = -1, .replica = -1};
    if (event == EV_MIGRATE) {
        hot = true;
        if ((s.slot = pick_hot_slot(c)) < 0)
            return 1;
    }
    if (event == EV_FAILOVER && (s.replica = test_cluster_replica_of(c, 0)) < 0)
        return 1;

    loop = arc_poll_loop_new();
    arc_cluster_seed seed = {"127.0.0.1", test_cluster_port(c, 0)};
    arc_cluster_options o = {0};
    o.seeds = &seed;
    o.nseeds = 1;
    o.on_event = on_event;
    cl = arc_cluster_new(&o);
    if (loop == NULL || cl == NULL || arc_cluster_attach(cl, arc_poll_attach_loop, loop) != ARC_OK)
        return 1;
    for (long i = 0; i < depth; i++)
        issue();
    drive(bench_now_s() + WARM_S, NULL); /* connections, the COMMAND table */

    for_each_up(c, "CONFIG RESETSTAT");
    counting = sampling = true;
    next_sample = bench_now_s();
    take_sample();
    drive(bench_now_s() + BASE_S, NULL);
    pthread_t th;
    if (pthread_create(&th, NULL, run_event, &s) != 0)
        return 1;
    /* The event's time is the thread's own, taken as it starts acting;
     * until then the baseline simply goes on. */
    drive(bench_now_s() + EVENT_MAX_S, &s.finished);
    drive(bench_now_s() + AFTER_S, NULL);
    sampling = false;
    issuing = false;
    double stop = bench_now_s() + DRAIN_MAX_S;
    while (completed < issued - refused && bench_now_s() < stop)
        arc_poll_loop_run_once(loop, 10);
    counting = false;
    pthread_join(th, NULL);

    long errs[NERRORS];
    error_stats(c, errs);
    result r = figures(s.t_start, trace);
    long failed = error_replies;
    for (int i = 0; i < STATUSES; i++)
        failed += by_status[i];
    printf("%s,%.0f,%.3f,%.0f,%.0f,%.0f,%.1f,%ld,%ld,%ld,%ld,%ld,%ld\n", event_names[event], r.base,
           r.dip, r.recover_ms, (s.t_settled - s.t_start) * 1e3, (s.t_change - s.t_start) * 1e3,
           r.lost_ms, failed, errs[0], errs[1], errs[2], errs[3], maps);
    if (failed > 0 || refused > 0) {
        fprintf(stderr, "%s: %ld failed:", event_names[event], failed);
        for (int i = 0; i < STATUSES; i++)
            if (by_status[i] > 0)
                fprintf(stderr, " %s %ld", arc_status_name(i), by_status[i]);
        if (error_replies > 0)
            fprintf(stderr, " error replies %ld", error_replies);
        fprintf(stderr, "; %ld refused; the first: %s\n", refused, first_error);
    }
    if (s.rc != 0)
        fprintf(stderr, "%s: the harness's event failed\n", event_names[event]);
    if (trace != NULL)
        fclose(trace);
    arc_cluster_free(cl);
    arc_poll_loop_free(loop);
    test_cluster_stop(c);
    return s.rc != 0;
}
