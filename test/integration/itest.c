/* itest.c (tests): the harness behind the integration scenarios. */
#define _POSIX_C_SOURCE 200809L
#include "itest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* The scenario lists, one per file: scenarios.c (the core paths),
 * scenarios_link.c (the link: deadlines, cancels, resolution, addresses),
 * scenarios_contract.c (the callback contract's corners). */
extern const struct CMUnitTest itest_scenarios[];
extern const size_t itest_scenario_count;
extern const struct CMUnitTest itest_link_scenarios[];
extern const size_t itest_link_scenario_count;
extern const struct CMUnitTest itest_contract_scenarios[];
extern const size_t itest_contract_scenario_count;

static const itest_driver *driver;
static test_redis *shared_redis;

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

arc_options itest_options(const itest *t)
{
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = test_redis_host(t->redis);
    o.port = test_redis_port(t->redis);
    o.connect_timeout_ms = 5000;
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
    t->loop = driver->loop_new();
    if (t->loop == NULL) {
        free(t);
        return -1;
    }
    /* Each scenario starts from an empty server. */
    arc_reply *r = test_redis_command(shared_redis, "FLUSHALL");
    arc_reply_free(r);
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

int itest_main(const itest_driver *drv)
{
    driver = drv;
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
    int rc = _cmocka_run_group_tests(drv->name, tests, total, group_setup, group_teardown);
    free(tests);
    return rc;
}
