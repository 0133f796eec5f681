/* test_status.c: status names and texts (every status status.h declares),
 * the version, the allocator. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arc/arc.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The header the enumerators are read from: the test's one argument (meson
 * passes core/include/arc/status.h), so that a status appended later is
 * checked without editing this file. */
static const char *status_header;

typedef struct enumerator {
    char name[64];
    long value;
} enumerator;

/* Up to 256 statuses, a bound no real header comes near. */
static enumerator statuses[256];
static size_t status_count;

/* Skips white space and C comments from *p; false on an unclosed comment. */
static bool skip_blank(const char **p)
{
    for (;;) {
        while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
            (*p)++;
        if ((*p)[0] == '/' && (*p)[1] == '*') {
            const char *end = strstr(*p + 2, "*/");
            if (end == NULL)
                return false;
            *p = end + 2;
        } else if ((*p)[0] == '/' && (*p)[1] == '/') {
            while (**p != '\0' && **p != '\n')
                (*p)++;
        } else {
            return true;
        }
    }
}

static bool is_ident(char ch)
{
    return ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
           (ch >= '0' && ch <= '9');
}

/* Reads the body of `enum arc_status { ... }` in `text`: each enumerator's
 * name and value (an explicit integer, or one more than the previous one,
 * as C counts). On a form it does not understand it names the spot in
 * `why` and returns false, so the test fails instead of checking less. */
static bool parse_statuses(const char *text, const char **why)
{
    const char *p = strstr(text, "enum arc_status");
    if (p == NULL || (p = strchr(p, '{')) == NULL) {
        *why = "no 'enum arc_status {'";
        return false;
    }
    p++;
    long next = 0;
    status_count = 0;
    for (;;) {
        if (!skip_blank(&p)) {
            *why = "an unclosed comment";
            return false;
        }
        if (*p == '}') {
            *why = "an empty enum";
            return status_count > 0;
        }
        size_t len = 0;
        while (is_ident(p[len]))
            len++;
        if (len == 0 || len >= sizeof statuses[0].name || status_count == 256) {
            *why = p;
            return false;
        }
        enumerator *e = &statuses[status_count++];
        memcpy(e->name, p, len);
        e->name[len] = '\0';
        p += len;
        if (!skip_blank(&p)) {
            *why = "an unclosed comment";
            return false;
        }
        if (*p == '=') {
            p++;
            char *end;
            errno = 0;
            e->value = strtol(p, &end, 0);
            if (end == p || errno != 0) {
                *why = p;
                return false;
            }
            p = end;
            if (!skip_blank(&p)) {
                *why = "an unclosed comment";
                return false;
            }
        } else {
            e->value = next;
        }
        next = e->value + 1;
        if (*p == ',')
            p++;
        else if (*p != '}') {
            *why = p;
            return false;
        }
    }
}

/* Loads the header named on the command line and parses it. */
static void read_statuses(void)
{
    static char text[64 * 1024];
    if (status_header == NULL) {
        fail_msg("usage: test_status PATH/TO/arc/status.h");
        return;
    }
    FILE *f = fopen(status_header, "r");
    if (f == NULL) {
        fail_msg("cannot open %s: %s", status_header, strerror(errno));
        return;
    }
    size_t n = fread(text, 1, sizeof text - 1, f);
    bool whole = feof(f) && !ferror(f);
    fclose(f);
    if (!whole) {
        fail_msg("%s: read error, or larger than %zu bytes", status_header, sizeof text - 1);
        return;
    }
    text[n] = '\0';
    const char *why = NULL;
    if (!parse_statuses(text, &why))
        fail_msg("%s: cannot read the arc_status enum at: %.40s", status_header, why);
}

/* Every enumerator of arc_status, read from status.h: its name is what
 * arc_status_name() gives for its value, and it has a real description. */
static void every_status_named(void **state)
{
    (void)state;
    read_statuses();
    /* The reading agrees with the compiler where this file knows the
     * answer: the first status and the last one it was written with. */
    assert_string_equal(statuses[0].name, "ARC_OK");
    assert_int_equal(statuses[0].value, ARC_OK);
    bool saw_freed = false;
    long max = 0;
    for (size_t i = 0; i < status_count; i++) {
        const enumerator *e = &statuses[i];
        if (strcmp(e->name, "ARC_ERR_FREED") == 0) {
            assert_int_equal(e->value, ARC_ERR_FREED);
            saw_freed = true;
        }
        assert_true(strcmp(e->name, "ARC_OK") == 0 || strncmp(e->name, "ARC_ERR_", 8) == 0);
        assert_true(e->value >= 0 && e->value < 1000);
        const char *name = arc_status_name((int)e->value);
        if (strcmp(name, e->name) != 0)
            fail_msg("%s (%ld): arc_status_name() gives %s", e->name, e->value, name);
        const char *text = arc_strerror((int)e->value);
        if (strlen(text) == 0 || strcmp(text, "unknown status") == 0)
            fail_msg("%s (%ld): arc_strerror() gives \"%s\"", e->name, e->value, text);
        for (size_t j = 0; j < i; j++) /* one value, one name */
            assert_int_not_equal(statuses[j].value, e->value);
        if (e->value > max)
            max = e->value;
    }
    assert_true(saw_freed);
    /* No name for a value the enum does not have: gaps and past the end. */
    for (long v = 0; v <= max + 1; v++) {
        bool listed = false;
        for (size_t i = 0; i < status_count; i++)
            listed = listed || statuses[i].value == v;
        if (!listed) {
            assert_string_equal(arc_status_name((int)v), "ARC_ERR_UNKNOWN");
            assert_string_equal(arc_strerror((int)v), "unknown status");
        }
    }
    assert_string_equal(arc_strerror(-1), "unknown status");
    assert_string_equal(arc_strerror(999), "unknown status");
    assert_string_equal(arc_status_name(-1), "ARC_ERR_UNKNOWN");
    assert_string_equal(arc_status_name(999), "ARC_ERR_UNKNOWN");
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

int main(int argc, char **argv)
{
    status_header = argc > 1 ? argv[1] : NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_status_named),
        cmocka_unit_test(version_matches),
        cmocka_unit_test(default_allocator),
        cmocka_unit_test(state_names),
    };
    return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
