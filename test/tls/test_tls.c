/* test_tls.c: libarc-tls against TLS redis-servers the harness starts:
 * whom a context trusts (trust.c) and peers that fail (faults.c). Each case
 * ends with a state and status, a message a person can act on, and every
 * callback called exactly once. The poll loop is enough here: the
 * integration scenarios run over TLS on every loop (the <loop>-tls groups). */
#define _GNU_SOURCE
#include "tls_probe.h"

#include <stdlib.h>

static int setup(void **state)
{
    (void)state;
    probe_loop = arc_poll_loop_new();
    return probe_loop != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    arc_poll_loop_free(probe_loop);
    probe_loop = NULL;
    return 0;
}

/* The shared server: TLS, and 127.0.0.2 besides 127.0.0.1 (ip_address). */
static int group_setup(void **state)
{
    (void)state;
    static const char *const bind_two[] = {"--bind", "127.0.0.1", "127.0.0.2", NULL};
    if (test_tls_files_get() == NULL)
        return -1;
    shared_server = test_redis_start(&(test_redis_options){.tls = 1, .extra_args = bind_two});
    return shared_server != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    test_redis_stop(shared_server);
    shared_server = NULL;
    return 0;
}

int main(void)
{
    const struct {
        const struct CMUnitTest *list;
        size_t n;
    } lists[] = {
        {tls_trust_tests, tls_trust_test_count},
        {tls_fault_tests, tls_fault_test_count},
    };
    size_t total = tls_trust_test_count + tls_fault_test_count, n = 0;
    struct CMUnitTest *tests = calloc(total, sizeof *tests);
    if (tests == NULL)
        return 1;
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        for (size_t i = 0; i < lists[l].n; i++) {
            tests[n] = lists[l].list[i];
            tests[n].setup_func = setup;
            tests[n].teardown_func = teardown;
            n++;
        }
    }
    int rc = _cmocka_run_group_tests("tls", tests, total, group_setup, group_teardown);
    free(tests);
    return rc;
}
