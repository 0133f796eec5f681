/* test_status.c: status names and texts, the version, the allocator. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arc/arc.h>

#include <stdio.h>
#include <string.h>

static void every_status_named(void **state)
{
    (void)state;
    for (int s = ARC_OK; s <= ARC_ERR_FREED; s++) {
        const char *name = arc_status_name(s);
        assert_true(strncmp(name, "ARC_", 4) == 0);
        assert_true(strlen(arc_strerror(s)) > 0);
        assert_string_not_equal(arc_strerror(s), "unknown status");
        for (int t = ARC_OK; t < s; t++)
            assert_string_not_equal(arc_status_name(t), name);
    }
    assert_string_equal(arc_strerror(-1), "unknown status");
    assert_string_equal(arc_strerror(999), "unknown status");
    assert_string_equal(arc_status_name(999), "ARC_ERR_UNKNOWN");
    assert_int_equal(ARC_OK, 0);
}

static void version_matches(void **state)
{
    (void)state;
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", ARC_VERSION_MAJOR, ARC_VERSION_MINOR,
             ARC_VERSION_PATCH);
    assert_string_equal(arc_version(), want);
}

static void default_allocator(void **state)
{
    (void)state;
    assert_non_null(arc_allocator_default());
    char *p = arc_mem_alloc(NULL, 16);
    assert_non_null(p);
    p = arc_mem_realloc(NULL, p, 64);
    assert_non_null(p);
    arc_mem_free(NULL, p);
    arc_mem_free(NULL, NULL);
    arc_allocator none = {NULL, NULL}; /* a NULL function means the default */
    p = arc_mem_alloc(&none, 8);
    assert_non_null(p);
    arc_mem_free(&none, p);
}

static void state_names(void **state)
{
    (void)state;
    assert_string_equal(arc_state_name(ARC_STATE_HELD), "HELD");
    assert_string_equal(arc_state_name(ARC_STATE_FAILED), "FAILED");
    assert_string_equal(arc_state_name((arc_state)99), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_status_named),
        cmocka_unit_test(version_matches),
        cmocka_unit_test(default_allocator),
        cmocka_unit_test(state_names),
    };
    return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
