/* itest.c (tests): the harness behind the integration scenarios. */
#define _POSIX_C_SOURCE 200809L
#include "itest.h"

#include "cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#ifdef ARC_ITEST_TLS
#include <arc/tls.h>

#include "tls_certs.h"
#endif

/* The scenario lists, one per file: scenarios.c (the core paths),
 * scenarios_link.c (the link: deadlines, cancels, resolution, addresses),
 * scenarios_contract.c (the callback contract's corners). */
extern const struct CMUnitTest itest_scenarios[];
extern const size_t itest_scenario_count;
extern const struct CMUnitTest itest_link_scenarios[];
extern const size_t itest_link_scenario_count;
extern const struct CMUnitTest itest_contract_scenarios[];
extern const size_t itest_contract_scenario_count;
/* scenarios_reconnect.c: the reconnect policy (arc_options.reconnect). */
extern const struct CMUnitTest itest_reconnect_scenarios[];
extern const size_t itest_reconnect_scenario_count;
/* scenarios_recovery.c: the ready check, -READONLY, tracking, the health
 * check, retry. */
extern const struct CMUnitTest itest_recovery_scenarios[];
extern const size_t itest_recovery_scenario_count;
/* scenarios_sentinel.c: Sentinel as the address source. */
extern const struct CMUnitTest itest_sentinel_scenarios[];
extern const size_t itest_sentinel_scenario_count;
/* scenarios_faults.c: faults from arc-faultproxy under load, reconnect on. */
extern const struct CMUnitTest itest_fault_scenarios[];
extern const size_t itest_fault_scenario_count;
/* scenarios_group.c: groups (<arc/group.h>), their table and limits;
 * scenarios_fanout.c: fan-outs at their corners. */
extern const struct CMUnitTest itest_group_scenarios[];
extern const size_t itest_group_scenario_count;
extern const struct CMUnitTest itest_fanout_scenarios[];
extern const size_t itest_fanout_scenario_count;

/* scenarios_cluster.c: the cluster client, in a group of its own;
 * scenarios_cluster_fake.c: against scripted fake nodes, in the same group
 * (they need no real cluster, only its loop). */
extern const struct CMUnitTest itest_cluster_scenarios[];
extern const size_t itest_cluster_scenario_count;
extern const struct CMUnitTest itest_cluster_fake_scenarios[];
extern const size_t itest_cluster_fake_scenario_count;
#ifdef ARC_ITEST_TLS
/* scenarios_cluster_tls.c: the cluster client over TLS, against a TLS
 * cluster of its own group. */
extern const struct CMUnitTest itest_cluster_tls_scenarios[];
extern const size_t itest_cluster_tls_scenario_count;
#endif

static const itest_driver *driver;
static test_redis *shared_redis;
static test_cluster *shared_cluster; /* the cluster group's */
static struct arc_tls *shared_tls, *shared_tls_as_localhost; /* the TLS group's */

int64_t itest_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void itest_run_for(itest *t, long ms)
{
    int64_t end = itest_now_ms() + ms;
    while (itest_now_ms() < end)
        t->drv->run_once(t->loop, 10);
}

bool itest_tls(const itest *t)
{
    return t->tls != NULL;
}

int itest_port_of(const itest *t, const test_redis *s)
{
    return itest_tls(t) ? test_redis_tls_port(s) : test_redis_port(s);
}

int itest_port(const itest *t)
{
    return itest_port_of(t, t->redis);
}

#ifdef ARC_ITEST_TLS
const arc_transport_kind *itest_transport_as_localhost(const itest *t)
{
    return arc_tls_transport(t->tls_as_localhost);
}
#else
const arc_transport_kind *itest_transport_as_localhost(const itest *t)
{
    (void)t;
    return NULL;
}
#endif

arc_options itest_options(const itest *t)
{
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = test_redis_host(t->redis);
    o.port = itest_port(t);
    o.connect_timeout_ms = 5000;
#ifdef ARC_ITEST_TLS
    if (itest_tls(t)) {
        o.host = "localhost"; /* the name the server's certificate has */
        o.transport = arc_tls_transport(t->tls);
    }
#endif
    return o;
}

arc_context *itest_connect(itest *t, const arc_options *opt)
{
    arc_context *c = arc_connect(opt);
    assert_non_null(c);
    assert_int_equal(t->drv->attach(t->loop, c), ARC_OK);
    return c;
}

void itest_rec_cb(arc_context *c, arc_reply *r, int status, void *privdata)
{
    itest_rec *rec = privdata;
    rec->calls++;
    rec->status = status;
    if (r == NULL)
        rec->nulls++;
    else if (rec->nreplies < ITEST_MAX_REPLIES)
        rec->replies[rec->nreplies++] = arc_reply_dup(r, NULL);
    if (rec->then)
        rec->then(c, r, status, rec);
}

void itest_rec_clear(itest_rec *rec)
{
    for (size_t i = 0; i < rec->nreplies; i++)
        arc_reply_free(rec->replies[i]);
    memset(rec, 0, sizeof *rec);
}

const arc_reply *itest_last(const itest_rec *rec)
{
    if (rec->nreplies == 0)
        fail_msg("no reply recorded (calls %d, nulls %d, status %s)", rec->calls, rec->nulls,
                 arc_status_name(rec->status));
    return rec->replies[rec->nreplies - 1];
}

void itest_assert_str(const arc_reply *r, int type, const char *s)
{
    assert_non_null(r);
    assert_int_equal(r->type, type);
    assert_int_equal(r->len, strlen(s));
    assert_memory_equal(r->str, s, r->len);
}

void itest_assert_null_once(const itest_rec *rec, int status, const char *what)
{
    if (rec->calls != 1 || rec->nulls != 1 || rec->status != status)
        fail_msg("%s%sexpected one call with NULL and %s; got %d calls, %d NULL, last %s",
                 what ? what : "", what ? ": " : "", arc_status_name(status), rec->calls,
                 rec->nulls, arc_status_name(rec->status));
}

bool itest_kind_is(const arc_reply *r, const char *kind)
{
    return r != NULL && (r->type == ARC_REPLY_ARRAY || r->type == ARC_REPLY_PUSH) &&
           r->elements > 0 && r->element[0]->len == strlen(kind) &&
           memcmp(r->element[0]->str, kind, r->element[0]->len) == 0;
}

int itest_count_kind(const itest_rec *rec, const char *kind)
{
    int n = 0;
    for (size_t i = 0; i < rec->nreplies; i++)
        n += itest_kind_is(rec->replies[i], kind);
    return n;
}

void itest_on_connect(arc_context *c, int status, void *data)
{
    (void)c;
    itest_conn *k = data;
    k->connects++;
    k->connect_status = status;
}

void itest_on_disconnect(arc_context *c, int status, void *data)
{
    (void)c;
    itest_conn *k = data;
    k->disconnects++;
    k->disconnect_status = status;
}

void itest_on_state(arc_context *c, arc_state prev, arc_state now, void *data)
{
    (void)c;
    (void)prev;
    itest_conn *k = data;
    k->state_changes++;
    k->last_state = now;
}

static int test_setup(void **state)
{
    itest *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -1;
    t->drv = driver;
    t->redis = shared_redis;
    t->tls = shared_tls;
    t->tls_as_localhost = shared_tls_as_localhost;
    t->cluster = shared_cluster;
    t->loop = driver->loop_new();
    if (t->loop == NULL) {
        free(t);
        return -1;
    }
    /* Each scenario starts from an empty server (the cluster scenarios
     * flush their nodes themselves). */
    if (shared_redis != NULL) {
        arc_reply *r = test_redis_command(shared_redis, "FLUSHALL");
        arc_reply_free(r);
    }
    *state = t;
    return 0;
}

static int test_teardown(void **state)
{
    itest *t = *state;
    t->drv->loop_free(t->loop);
    free(t);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    shared_redis = test_redis_start(NULL);
    return shared_redis ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    test_redis_stop(shared_redis);
    shared_redis = NULL;
    return 0;
}

#ifdef ARC_ITEST_TLS
static struct arc_tls *tls_new(const char *ca_file, const char *server_name)
{
    arc_tls_options o = {0};
    o.ca_file = ca_file;
    o.server_name = server_name;
    char err[256];
    arc_tls *tls = arc_tls_new(&o, err, sizeof err);
    if (tls == NULL)
        fprintf(stderr, "itest: arc_tls_new: %s\n", err);
    return tls;
}

static int tls_group_teardown(void **state)
{
    group_teardown(state);
    /* After every context: each scenario freed its own. */
    arc_tls_free(shared_tls);
    arc_tls_free(shared_tls_as_localhost);
    shared_tls = shared_tls_as_localhost = NULL;
    return 0;
}

/* The shared server with a TLS port too (the admin connection stays on
 * its unix socket), and one TLS configuration for the whole group. */
static int tls_group_setup(void **state)
{
    const test_tls_files *f = test_tls_files_get();
    if (f == NULL)
        return -1;
    shared_tls = tls_new(f->ca_cert, NULL);
    shared_tls_as_localhost = tls_new(f->ca_cert, "localhost");
    shared_redis = test_redis_start(&(test_redis_options){.tls = 1});
    if (shared_tls == NULL || shared_tls_as_localhost == NULL || shared_redis == NULL) {
        tls_group_teardown(state);
        return -1;
    }
    return 0;
}
#endif

/* The cluster group: one cluster for all its scenarios, node timeout
 * 500 ms so that a killed master's replica takes over in about a second. */
static int cluster_group_setup(void **state)
{
    (void)state;
    test_cluster_options o = {0};
    o.node_timeout_ms = 500;
    shared_cluster = test_cluster_start(&o);
    return shared_cluster ? 0 : -1;
}

static int cluster_group_teardown(void **state)
{
    (void)state;
    test_cluster_stop(shared_cluster);
    shared_cluster = NULL;
    return 0;
}

#ifdef ARC_ITEST_TLS
static int cluster_tls_group_teardown(void **state)
{
    cluster_group_teardown(state);
    arc_tls_free(shared_tls); /* after every context: each scenario freed its own */
    shared_tls = NULL;
    return 0;
}

/* The cluster-tls group: one TLS cluster (clients, bus and replication
 * over TLS) and one configuration trusting the harness CA, which every
 * node's certificate names 127.0.0.1 for; the node timeout as in the
 * plain cluster group. */
static int cluster_tls_group_setup(void **state)
{
    const test_tls_files *f = test_tls_files_get();
    if (f == NULL)
        return -1;
    shared_tls = tls_new(f->ca_cert, NULL);
    test_cluster_options o = {0};
    o.node_timeout_ms = 500;
    o.tls = 1;
    shared_cluster = test_cluster_start(&o);
    if (shared_tls == NULL || shared_cluster == NULL) {
        cluster_tls_group_teardown(state);
        return -1;
    }
    return 0;
}
#endif

/* A group of `lists` (each run with test_setup and test_teardown). */
static int run_lists(const char *name, const struct CMUnitTest *const *lists, const size_t *counts,
                     size_t nlists, CMFixtureFunction setup, CMFixtureFunction teardown)
{
    size_t total = 0;
    for (size_t l = 0; l < nlists; l++)
        total += counts[l];
    struct CMUnitTest *tests = calloc(total ? total : 1, sizeof *tests);
    if (tests == NULL)
        return 1;
    size_t n = 0;
    for (size_t l = 0; l < nlists; l++) {
        for (size_t i = 0; i < counts[l]; i++) {
            tests[n] = lists[l][i];
            tests[n].setup_func = test_setup;
            tests[n].teardown_func = test_teardown;
            n++;
        }
    }
    int rc = _cmocka_run_group_tests(name, tests, n, setup, teardown);
    free(tests);
    return rc;
}

static int run_group(const char *name, struct CMUnitTest *tests, size_t n, bool tls)
{
    if (!tls)
        return _cmocka_run_group_tests(name, tests, n, group_setup, group_teardown);
#ifdef ARC_ITEST_TLS
    return _cmocka_run_group_tests(name, tests, n, tls_group_setup, tls_group_teardown);
#else
    fprintf(stderr, "itest: %s: built without libarc-tls\n", name);
    return 1;
#endif
}

int itest_main(const itest_driver *drv, int argc, char **argv)
{
    driver = drv;
    bool plain = argc < 2, tls = argc < 2, cluster = false, cluster_tls = false;
#ifndef ARC_ITEST_TLS
    tls = false; /* no TLS group without libarc-tls */
#endif
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "plain") == 0) {
            plain = true;
        } else if (strcmp(argv[i], "tls") == 0) {
            tls = true;
        } else if (strcmp(argv[i], "cluster") == 0) {
            cluster = true;
        } else if (strcmp(argv[i], "cluster-tls") == 0) {
            cluster_tls = true;
        } else {
            fprintf(stderr, "usage: %s [plain] [tls] [cluster] [cluster-tls]\n", argv[0]);
            return 2;
        }
    }
    /* A thousand contexts need more descriptors than the usual 1024; the
     * server started below inherits the raised limit too. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 8192) {
        rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    const struct {
        const struct CMUnitTest *list;
        size_t n;
    } lists[] = {
        {itest_scenarios, itest_scenario_count},
        {itest_link_scenarios, itest_link_scenario_count},
        {itest_contract_scenarios, itest_contract_scenario_count},
        {itest_reconnect_scenarios, itest_reconnect_scenario_count},
        {itest_recovery_scenarios, itest_recovery_scenario_count},
        {itest_sentinel_scenarios, itest_sentinel_scenario_count},
        {itest_fault_scenarios, itest_fault_scenario_count},
        {itest_group_scenarios, itest_group_scenario_count},
        {itest_fanout_scenarios, itest_fanout_scenario_count},
    };
    size_t total = 0;
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
        total += lists[l].n;
    struct CMUnitTest *tests = calloc(total, sizeof *tests);
    if (tests == NULL)
        return 1;
    size_t n = 0;
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        for (size_t i = 0; i < lists[l].n; i++) {
            tests[n] = lists[l].list[i];
            tests[n].setup_func = test_setup;
            tests[n].teardown_func = test_teardown;
            n++;
        }
    }
    /* One group per run of the binary as meson runs it (its TAP parser
     * takes one plan per process); both, one after the other, by hand. */
    char tls_name[64];
    snprintf(tls_name, sizeof tls_name, "%s-tls", drv->name);
    int rc = 0;
    if (plain)
        rc |= run_group(drv->name, tests, total, false);
    if (tls)
        rc |= run_group(tls_name, tests, total, true);
    free(tests);
    if (cluster) {
        const struct CMUnitTest *const cl[] = {itest_cluster_scenarios,
                                               itest_cluster_fake_scenarios};
        const size_t cn[] = {itest_cluster_scenario_count, itest_cluster_fake_scenario_count};
        char cluster_name[64];
        snprintf(cluster_name, sizeof cluster_name, "%s-cluster", drv->name);
        rc |= run_lists(cluster_name, cl, cn, 2, cluster_group_setup, cluster_group_teardown);
    }
    if (cluster_tls) {
        char cluster_tls_name[64];
        snprintf(cluster_tls_name, sizeof cluster_tls_name, "%s-cluster-tls", drv->name);
#ifdef ARC_ITEST_TLS
        const struct CMUnitTest *const tl[] = {itest_cluster_tls_scenarios};
        const size_t tn[] = {itest_cluster_tls_scenario_count};
        rc |= run_lists(cluster_tls_name, tl, tn, 1, cluster_tls_group_setup,
                        cluster_tls_group_teardown);
#else
        fprintf(stderr, "itest: %s: built without libarc-tls\n", cluster_tls_name);
        rc |= 1;
#endif
    }
    return rc;
}

arc_reply *itest_admin(itest *t, const char *fmt, const char *arg)
{
    arc_reply *r = test_redis_command(t->redis, fmt, arg);
    assert_non_null(r);
    return r;
}

long long itest_admin_int(itest *t, const char *fmt, const char *arg)
{
    arc_reply *r = itest_admin(t, fmt, arg);
    assert_int_equal(r->type, ARC_REPLY_INTEGER);
    long long v = r->integer;
    arc_reply_free(r);
    return v;
}

long long itest_wait_blocked(itest *t, long long n)
{
    int64_t end = itest_now_ms() + 10000;
    long long blocked = 0;
    while (blocked < n && itest_now_ms() < end) {
        itest_run_for(t, 10);
        arc_reply *r = itest_admin(t, "INFO %s", "clients");
        const char *at = r->str != NULL ? strstr(r->str, "blocked_clients:") : NULL;
        blocked = at != NULL ? strtoll(at + 16, NULL, 10) : 0;
        arc_reply_free(r);
    }
    return blocked;
}

void itest_admin_ok(itest *t, const char *fmt, const char *arg)
{
    arc_reply *r = itest_admin(t, fmt, arg);
    if (r->type != ARC_REPLY_STATUS)
        fail_msg("%s: %.*s", fmt, (int)r->len, r->str ? r->str : "");
    arc_reply_free(r);
}

long long itest_client_id(itest *t, arc_context *c)
{
    static itest_rec id;
    id = (itest_rec){0};
    assert_int_equal(arc_command(c, itest_rec_cb, &id, "CLIENT ID"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, id.calls == 1);
    long long v = itest_last(&id)->integer;
    itest_rec_clear(&id);
    return v;
}

void itest_kill_client(itest *t, long long id)
{
    char text[32];
    snprintf(text, sizeof text, "%lld", id);
    assert_int_equal(itest_admin_int(t, "CLIENT KILL ID %s", text), 1);
}
