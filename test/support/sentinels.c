/* sentinels.c (tests): starts, checks, fails over and stops a Sentinel
 * deployment made of test_redis processes. */
#define _GNU_SOURCE

#include "sentinels.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NSENTINELS 3
#define QUORUM 2
#define START_TIMEOUT_MS 20000
#define POLL_MS 50
#define NAME_MAX_LEN 64

/* Sentinel's own periods, shortened with SENTINEL DEBUG (Redis 7.0 has no
 * config file directive for them).
 *
 * PUBLISH_PERIOD_MS paces the hello messages through which sentinels find
 * each other and spread a new configuration (default 2000). It also sets
 * how long a sentinel waits, 4 periods, before it turns a replica that
 * claims to be a master back into a replica: with a forced failover only
 * the leader knows that the promotion is wanted, and it only notices the
 * promotion on its next INFO, at most ~1 s later (a period Sentinel keeps
 * fixed), then tells the others with a hello. 4 x 500 ms = 2 s covers those
 * ~1.2 s with about 1 s to spare (measured); at 100 ms a sentinel undid the
 * promotion before the leader's hello arrived and the failover flapped. The same 4 periods are what the
 * old master waits before the sentinels make it a replica, most of a
 * failover's time.
 *
 * INFO_PERIOD_MS paces INFO to masters and replicas (default 10000): how
 * soon a sentinel sees the old master still claiming to be one. */
#define PUBLISH_PERIOD_MS 500
#define INFO_PERIOD_MS 250

struct test_sentinels {
    char *name;
    test_redis *server[2];
    test_redis *sentinel[NSENTINELS];
    test_sentinels *next; /* the list that the atexit handler walks */
};

/* Deployments not stopped yet, as in redis_server.c. */
static test_sentinels *live;
static pid_t live_owner;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The name goes into a config file line and into commands as one word. */
static bool name_ok(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static bool is_status(const arc_reply *r, const char *text)
{
    return r && r->type == ARC_REPLY_STATUS && strcmp(r->str, text) == 0;
}

static bool is_str(const arc_reply *r, const char *text)
{
    return r && (r->type == ARC_REPLY_STRING || r->type == ARC_REPLY_STATUS) &&
           r->len == strlen(text) && memcmp(r->str, text, r->len) == 0;
}

/* The integer in a bulk string or integer reply (Sentinel sends ports both
 * ways); -1 otherwise. */
static long long as_int(const arc_reply *r)
{
    if (!r)
        return -1;
    if (r->type == ARC_REPLY_INTEGER)
        return r->integer;
    if (r->type != ARC_REPLY_STRING || r->len == 0 || r->len > 18)
        return -1;
    long long v = 0;
    for (size_t i = 0; i < r->len; i++) {
        if (r->str[i] < '0' || r->str[i] > '9')
            return -1;
        v = v * 10 + (r->str[i] - '0');
    }
    return v;
}

/* The value of `key` in one entry of SENTINEL REPLICAS / SENTINELS: a flat
 * key-value array in RESP2, a map in RESP3. NULL when absent. */
static const arc_reply *field(const arc_reply *entry, const char *key)
{
    if (!entry || (entry->type != ARC_REPLY_ARRAY && entry->type != ARC_REPLY_MAP))
        return NULL;
    for (size_t i = 0; i + 1 < entry->elements; i += 2) {
        if (is_str(entry->element[i], key))
            return entry->element[i + 1];
    }
    return NULL;
}

/* The port of a [ip, port] reply (GET-MASTER-ADDR-BY-NAME); -1 otherwise. */
static int addr_port(const arc_reply *r)
{
    if (!r || r->type != ARC_REPLY_ARRAY || r->elements != 2)
        return -1;
    return (int)as_int(r->element[1]);
}

static int reported_master(test_sentinels *s, int i)
{
    arc_reply *r = test_sentinels_command(s, i, "SENTINEL GET-MASTER-ADDR-BY-NAME %s", s->name);
    int port = addr_port(r);
    arc_reply_free(r);
    return port;
}

/* Whether sentinel i knows the master at `master_port`, the replica at
 * `replica_port` (connected, not down) and the other sentinels. When not,
 * `what` says what is missing. */
static bool knows_everyone(test_sentinels *s, int i, int master_port, int replica_port,
                           char *what, size_t cap)
{
    int port = reported_master(s, i);
    if (port != master_port) {
        snprintf(what, cap, "it reports master port %d, not %d", port, master_port);
        return false;
    }

    arc_reply *r = test_sentinels_command(s, i, "SENTINEL REPLICAS %s", s->name);
    bool found = false;
    for (size_t k = 0; r && r->type == ARC_REPLY_ARRAY && k < r->elements; k++) {
        const arc_reply *e = r->element[k];
        /* "slave" alone: the link is up and the replica is not down, so
         * that a failover right away can pick it. */
        if (as_int(field(e, "port")) == replica_port && is_str(field(e, "flags"), "slave"))
            found = true;
    }
    arc_reply_free(r);
    if (!found) {
        snprintf(what, cap, "SENTINEL REPLICAS lacks a healthy replica on port %d",
                 replica_port);
        return false;
    }

    r = test_sentinels_command(s, i, "SENTINEL SENTINELS %s", s->name);
    size_t others = r && r->type == ARC_REPLY_ARRAY ? r->elements : 0;
    arc_reply_free(r);
    if (others != NSENTINELS - 1) {
        snprintf(what, cap, "SENTINEL SENTINELS lists %zu others, not %d", others,
                 NSENTINELS - 1);
        return false;
    }
    return true;
}

/* Whether sentinel i has seen, in its last INFO, the server on `port`
 * replicate from `master_port`. */
static bool sees_replica(test_sentinels *s, int i, int port, int master_port)
{
    arc_reply *r = test_sentinels_command(s, i, "SENTINEL REPLICAS %s", s->name);
    bool seen = false;
    for (size_t k = 0; r && r->type == ARC_REPLY_ARRAY && k < r->elements; k++) {
        const arc_reply *e = r->element[k];
        if (as_int(field(e, "port")) == port && is_str(field(e, "role-reported"), "slave") &&
            as_int(field(e, "master-port")) == master_port)
            seen = true;
    }
    arc_reply_free(r);
    return seen;
}

/* "master", "slave of <port>" or why ROLE did not answer, for messages and
 * for test_sentinels_failover's check. A sentinel's REPLICAOF comes with
 * CLIENT KILL TYPE normal, which may cut one ROLE off (test_redis_command
 * then says so on stderr); the caller just asks again. */
static void describe_role(test_redis *server, char *out, size_t cap)
{
    arc_reply *r = test_redis_command(server, "ROLE");
    if (!r || r->type != ARC_REPLY_ARRAY || r->elements < 1)
        snprintf(out, cap, "no ROLE reply");
    else if (is_str(r->element[0], "slave") && r->elements >= 3)
        snprintf(out, cap, "slave of %lld", as_int(r->element[2]));
    else if (r->element[0]->type == ARC_REPLY_STRING)
        snprintf(out, cap, "%.*s", (int)r->element[0]->len, r->element[0]->str);
    else
        snprintf(out, cap, "an odd ROLE reply");
    arc_reply_free(r);
}

static void unlink_live(test_sentinels *s)
{
    for (test_sentinels **p = &live; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
}

/* Sentinels first: with the servers gone first, they would start failing
 * over in their last moments. */
static void destroy(test_sentinels *s)
{
    unlink_live(s);
    for (int i = 0; i < NSENTINELS; i++)
        test_redis_stop(s->sentinel[i]);
    for (int i = 0; i < 2; i++)
        test_redis_stop(s->server[i]);
    free(s->name);
    free(s);
}

/* Registered after the first test_redis_start() of the process, hence run
 * before test_redis's own handler (atexit runs in reverse order), while the
 * servers that this one stops still exist. */
static void stop_all_at_exit(void)
{
    if (getpid() != live_owner)
        return;
    while (live)
        destroy(live);
}

/* A data server. Each may become the master, so each gets what a master
 * needs. */
static test_redis *start_server(void)
{
    /* Redis 7.0 delays a diskless full sync by 5 s to batch replicas; with
     * one replica that is only a wait. */
    static const char *const extra[] = {"--repl-diskless-sync-delay", "0", NULL};
    test_redis_options opt = {.extra_args = extra};
    return test_redis_start(&opt);
}

/* REPLICAOF after the start rather than --replicaof among the extra words,
 * which a restart would repeat: a restarted server comes back as an empty
 * master, as a real one without a config file, and the sentinels decide
 * what it becomes. */
static int start_replication(test_sentinels *s, long long deadline)
{
    arc_reply *r = test_redis_command(s->server[1], "REPLICAOF 127.0.0.1 %d",
                                      test_redis_port(s->server[0]));
    bool ok = is_status(r, "OK");
    arc_reply_free(r);
    if (!ok) {
        fprintf(stderr, "test_sentinels: REPLICAOF failed\n");
        return -1;
    }
    for (;;) {
        r = test_redis_command(s->server[1], "INFO replication");
        bool up = r && r->type == ARC_REPLY_STRING &&
                  strstr(r->str, "master_link_status:up") != NULL;
        arc_reply_free(r);
        if (up)
            return 0;
        if (now_ms() >= deadline) {
            fprintf(stderr, "test_sentinels: the replica never reported "
                            "master_link_status:up\n");
            test_redis_print_log_tail(s->server[1]);
            return -1;
        }
        sleep_ms(POLL_MS);
    }
}

static int start_sentinel(test_sentinels *s, int i, const test_sentinels_options *opt)
{
    long down_after = opt && opt->down_after_ms > 0 ? opt->down_after_ms : 1000;
    long failover_timeout = opt && opt->failover_timeout_ms > 0 ? opt->failover_timeout_ms : 5000;
    char conf[512];
    snprintf(conf, sizeof conf,
             "sentinel resolve-hostnames no\n"
             "sentinel monitor %s 127.0.0.1 %d %d\n"
             "sentinel down-after-milliseconds %s %ld\n"
             "sentinel failover-timeout %s %ld\n",
             s->name, test_redis_port(s->server[0]), QUORUM, s->name, down_after, s->name,
             failover_timeout);
    test_redis_options ropt = {.sentinel_config = conf};
    s->sentinel[i] = test_redis_start(&ropt);
    if (!s->sentinel[i]) {
        fprintf(stderr, "test_sentinels: sentinel %d did not start\n", i);
        return -1;
    }
    arc_reply *r = test_redis_command(s->sentinel[i], "SENTINEL DEBUG publish-period %d info-period %d",
                                      PUBLISH_PERIOD_MS, INFO_PERIOD_MS);
    bool ok = is_status(r, "OK");
    arc_reply_free(r);
    if (!ok) {
        fprintf(stderr, "test_sentinels: sentinel %d refused SENTINEL DEBUG (Redis 7.0 or "
                        "later is needed)\n", i);
        return -1;
    }
    return 0;
}

test_sentinels *test_sentinels_start(const char *name, const test_sentinels_options *opt)
{
    if (!name_ok(name)) {
        fprintf(stderr, "test_sentinels: bad master name \"%s\" (1 to %d of "
                        "[A-Za-z0-9._-])\n", name ? name : "(null)", NAME_MAX_LEN);
        return NULL;
    }
    if (opt && (opt->down_after_ms < 0 || opt->failover_timeout_ms < 0)) {
        fprintf(stderr, "test_sentinels: negative down_after_ms or failover_timeout_ms\n");
        return NULL;
    }
    test_sentinels *s = calloc(1, sizeof *s);
    if (!s || !(s->name = strdup(name))) {
        fprintf(stderr, "test_sentinels: out of memory\n");
        free(s);
        return NULL;
    }
    long long deadline = now_ms() + START_TIMEOUT_MS;

    s->server[0] = start_server();
    if (!s->server[0]) {
        destroy(s);
        return NULL;
    }
    if (live_owner != getpid()) {
        live_owner = getpid();
        live = NULL; /* a forked child starts with its own list */
        atexit(stop_all_at_exit);
    }
    s->next = live;
    live = s;

    s->server[1] = start_server();
    if (!s->server[1] || start_replication(s, deadline) != 0) {
        destroy(s);
        return NULL;
    }
    for (int i = 0; i < NSENTINELS; i++) {
        if (start_sentinel(s, i, opt) != 0) {
            destroy(s);
            return NULL;
        }
    }

    int master_port = test_redis_port(s->server[0]);
    int replica_port = test_redis_port(s->server[1]);
    char what[160];
    for (int i = 0; i < NSENTINELS;) {
        if (knows_everyone(s, i, master_port, replica_port, what, sizeof what)) {
            i++; /* what one sentinel knows it keeps: no need to ask it again */
            continue;
        }
        if (now_ms() >= deadline) {
            fprintf(stderr, "test_sentinels: sentinel %d (port %d) not ready within %d ms: %s\n",
                    i, test_redis_port(s->sentinel[i]), START_TIMEOUT_MS, what);
            test_redis_print_log_tail(s->sentinel[i]);
            destroy(s);
            return NULL;
        }
        sleep_ms(POLL_MS);
    }
    return s;
}

int test_sentinels_count(const test_sentinels *s)
{
    (void)s;
    return NSENTINELS;
}

int test_sentinels_port(const test_sentinels *s, int i)
{
    return i >= 0 && i < NSENTINELS ? test_redis_port(s->sentinel[i]) : -1;
}

int test_sentinels_master_port(const test_sentinels *s)
{
    /* The admin connection is state in the test_redis, not in `s`. */
    int port = reported_master((test_sentinels *)s, 0);
    if (port < 0)
        fprintf(stderr, "test_sentinels: sentinel 0 gave no master address for %s\n", s->name);
    return port;
}

test_redis *test_sentinels_server(test_sentinels *s, int i)
{
    return i >= 0 && i < 2 ? s->server[i] : NULL;
}

arc_reply *test_sentinels_command(test_sentinels *s, int i, const char *fmt, ...)
{
    if (i < 0 || i >= NSENTINELS) {
        fprintf(stderr, "test_sentinels_command: no sentinel %d\n", i);
        return NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    arc_reply *r = test_redis_vcommand(s->sentinel[i], fmt, ap);
    va_end(ap);
    return r;
}

/* Whether the failover to server `to` is complete; `state` says how far it
 * got either way.
 *
 * Complete includes every sentinel having seen the old master as a replica:
 * a sentinel that last saw it claim to be a master, long enough ago, turns
 * it back into a replica the moment it sees that claim again, so a failover
 * back to it started before then was undone by that sentinel within a
 * second (seen in the selftest's early days). */
static bool failover_done(test_sentinels *s, int from, int to, char *state, size_t cap)
{
    int to_port = test_redis_port(s->server[to]);
    int from_port = test_redis_port(s->server[from]);
    bool done = true;
    size_t n = 0;
    for (int i = 0; i < NSENTINELS && n < cap; i++) {
        int port = reported_master(s, i);
        bool seen = port == to_port && sees_replica(s, i, from_port, to_port);
        done = done && seen;
        n += (size_t)snprintf(state + n, cap - n, "sentinel %d says %d%s; ", i, port,
                              port == to_port && !seen ? " (old master not seen as replica)" : "");
    }
    char role_to[64], role_from[64], want_from[64];
    describe_role(s->server[to], role_to, sizeof role_to);
    describe_role(s->server[from], role_from, sizeof role_from);
    snprintf(want_from, sizeof want_from, "slave of %d", to_port);
    done = done && strcmp(role_to, "master") == 0 && strcmp(role_from, want_from) == 0;
    if (n < cap)
        snprintf(state + n, cap - n, "server %d (port %d): %s; server %d (port %d): %s", to,
                 to_port, role_to, from, from_port, role_from);
    return done;
}

int test_sentinels_failover(test_sentinels *s, long timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    int old_port = test_sentinels_master_port(s);
    if (old_port < 0)
        return -1;
    int from = old_port == test_redis_port(s->server[0]) ? 0 : 1;
    if (old_port != test_redis_port(s->server[from])) {
        fprintf(stderr, "test_sentinels: the sentinels report master port %d, neither data "
                        "server's\n", old_port);
        return -1;
    }
    int to = 1 - from;

    for (;;) {
        arc_reply *r = test_sentinels_command(s, 0, "SENTINEL FAILOVER %s", s->name);
        bool ok = is_status(r, "OK");
        /* Sentinel only promotes a replica whose link and INFO are fresh:
         * right after a failover, the new replica is not that yet. */
        bool again = r && r->type == ARC_REPLY_ERROR && strncmp(r->str, "NOGOODSLAVE", 11) == 0;
        if (!ok && (!again || now_ms() >= deadline)) {
            fprintf(stderr, "test_sentinels: SENTINEL FAILOVER answered %s\n",
                    r && r->str ? r->str : "nothing");
            arc_reply_free(r);
            test_redis_print_log_tail(s->sentinel[0]);
            return -1;
        }
        arc_reply_free(r);
        if (ok)
            break;
        sleep_ms(POLL_MS);
    }

    char state[512];
    for (;;) {
        if (failover_done(s, from, to, state, sizeof state))
            return test_redis_port(s->server[to]);
        if (now_ms() >= deadline)
            break;
        sleep_ms(POLL_MS);
    }
    fprintf(stderr, "test_sentinels: failover from port %d not done within %ld ms: %s\n",
            old_port, timeout_ms, state);
    /* Any of them may be the one that went its own way. */
    for (int i = 0; i < NSENTINELS; i++)
        test_redis_print_log_tail(s->sentinel[i]);
    return -1;
}

void test_sentinels_stop(test_sentinels *s)
{
    if (s)
        destroy(s);
}
