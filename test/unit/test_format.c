/* test_format.c: command encoding, byte for byte, and the buffer left as it
 * was after every error. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "failing_alloc.h"

#include <arc/arc.h>

#include <stdlib.h>
#include <string.h>

static arc_buffer *buf;

/* A fresh buffer per test, so that a failure cannot leak into the next. */
static int setup(void **state)
{
    (void)state;
    buf = arc_buffer_new(0, NULL);
    return buf ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    arc_buffer_free(buf);
    buf = NULL;
    return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static void expect_bytes(const char *want, size_t n)
{
    if (arc_buffer_len(buf) != n || memcmp(arc_buffer_data(buf), want, n) != 0)
        fail_msg("got %zu bytes '%.*s', want '%.*s'", arc_buffer_len(buf),
                 (int)arc_buffer_len(buf), arc_buffer_data(buf), (int)n, want);
    arc_buffer_clear(buf);
}

#define EXPECT(lit) expect_bytes(lit, sizeof(lit) - 1)

static void argv_basic(void **state)
{
    (void)state;
    const char *argv[] = {"SET", "key", "value"};
    assert_int_equal(arc_format_argv(buf, 3, argv, NULL), ARC_OK);
    EXPECT("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
}

static void argv_binary_and_empty(void **state)
{
    (void)state;
    const char *argv[] = {"SET", "k\0y", ""};
    size_t lens[] = {3, 3, 0};
    assert_int_equal(arc_format_argv(buf, 3, argv, lens), ARC_OK);
    EXPECT("*3\r\n$3\r\nSET\r\n$3\r\nk\0y\r\n$0\r\n\r\n");
}

static void argv_large(void **state)
{
    (void)state;
    size_t n = 100000;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'x', n);
    const char *argv[] = {"SET", big};
    size_t lens[] = {3, n};
    assert_int_equal(arc_format_argv(buf, 2, argv, lens), ARC_OK);
    const char *out = arc_buffer_data(buf);
    assert_memory_equal(out, "*2\r\n$3\r\nSET\r\n$100000\r\n", 22);
    assert_int_equal(arc_buffer_len(buf), 22 + n + 2);
    assert_memory_equal(out + 22, big, n);
    assert_memory_equal(out + 22 + n, "\r\n", 2);
    arc_buffer_clear(buf);
    free(big);
}

/* The argv encoder sizes a command two ways: by a bound, when the room for
 * it is already there, or exactly, when it is not (a buffer at its limit).
 * Both must write the same bytes, and the exact one must fit a buffer whose
 * limit is the command's size to the byte. */
static void argv_sized_either_way(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 9, 10, 99, 100, 999, 1000, 65536};
    char *arg = malloc(65536);
    assert_non_null(arg);
    memset(arg, 'a', 65536);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const char *argv[] = {"SET", "k", arg};
        size_t lens[] = {3, 1, sizes[i]};
        /* Room made first (and left there by the clear): the bound fits. */
        arc_buffer *roomy = arc_buffer_new(0, NULL);
        assert_non_null(roomy);
        assert_int_equal(arc_buffer_append(roomy, arg, 65536), ARC_OK);
        assert_int_equal(arc_buffer_append(roomy, arg, 1024), ARC_OK);
        arc_buffer_clear(roomy);
        assert_int_equal(arc_format_argv(roomy, 3, argv, lens), ARC_OK);
        size_t n = arc_buffer_len(roomy);
        arc_buffer *exact = arc_buffer_new(n, NULL);
        assert_non_null(exact);
        assert_int_equal(arc_format_argv(exact, 3, argv, lens), ARC_OK);
        assert_int_equal(arc_buffer_len(exact), n);
        assert_memory_equal(arc_buffer_data(exact), arc_buffer_data(roomy), n);
        arc_buffer *short_by_one = arc_buffer_new(n - 1, NULL);
        assert_non_null(short_by_one);
        assert_int_equal(arc_format_argv(short_by_one, 3, argv, lens), ARC_ERR_LIMIT);
        assert_int_equal(arc_buffer_len(short_by_one), 0);
        arc_buffer_free(roomy);
        arc_buffer_free(exact);
        arc_buffer_free(short_by_one);
    }
    free(arg);
}

static void argv_bad(void **state)
{
    (void)state;
    const char *argv[] = {"GET", NULL};
    assert_int_equal(arc_format_argv(buf, 0, argv, NULL), ARC_ERR_INVALID);
    assert_int_equal(arc_format_argv(buf, -1, argv, NULL), ARC_ERR_INVALID);
    assert_int_equal(arc_format_argv(buf, 2, argv, NULL), ARC_ERR_INVALID);
    assert_int_equal(arc_format_argv(buf, 1, NULL, NULL), ARC_ERR_INVALID);
    assert_int_equal(arc_format_argv(NULL, 1, argv, NULL), ARC_ERR_INVALID);
    assert_int_equal(arc_buffer_len(buf), 0);
}

static void printf_strings(void **state)
{
    (void)state;
    assert_int_equal(arc_format(buf, "SET %s %s", "key", "a value"), ARC_OK);
    EXPECT("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$7\r\na value\r\n");
    assert_int_equal(arc_format(buf, "SET %b %b", "k\0", (size_t)2, "v v", (size_t)3), ARC_OK);
    EXPECT("*3\r\n$3\r\nSET\r\n$2\r\nk\0\r\n$3\r\nv v\r\n");
    assert_int_equal(arc_format(buf, "SET key:%s:x %b", "7", "", (size_t)0), ARC_OK);
    EXPECT("*3\r\n$3\r\nSET\r\n$7\r\nkey:7:x\r\n$0\r\n\r\n");
}

static void printf_concatenation_and_spaces(void **state)
{
    (void)state;
    /* A NULL %s is refused. (A missing argument cannot be detected: reading
     * it is undefined behaviour, which an unoptimized build showed.) */
    assert_int_equal(arc_format(buf, "  GET   a%sb  ", (const char *)NULL), ARC_ERR_INVALID);
    arc_buffer_clear(buf);
    assert_int_equal(arc_format(buf, "  GET   a%sc  ", "b"), ARC_OK);
    EXPECT("*2\r\n$3\r\nGET\r\n$3\r\nabc\r\n");
    assert_int_equal(arc_format(buf, "%s%s", "", ""), ARC_OK); /* empty, but an argument */
    EXPECT("*1\r\n$0\r\n\r\n");
    assert_int_equal(arc_format(buf, "ECHO 100%%"), ARC_OK);
    EXPECT("*2\r\n$4\r\nECHO\r\n$4\r\n100%\r\n");
}

static void printf_integers(void **state)
{
    (void)state;
    assert_int_equal(arc_format(buf, "X %d %i %u", -12, 34, 56u), ARC_OK);
    EXPECT("*4\r\n$1\r\nX\r\n$3\r\n-12\r\n$2\r\n34\r\n$2\r\n56\r\n");
    assert_int_equal(arc_format(buf, "X %lld %llu %ld %lu", -9223372036854775807LL - 1,
                                18446744073709551615ULL, -1L, 2UL),
                     ARC_OK);
    EXPECT("*5\r\n$1\r\nX\r\n$20\r\n-9223372036854775808\r\n$20\r\n18446744073709551615\r\n"
           "$2\r\n-1\r\n$1\r\n2\r\n");
    assert_int_equal(arc_format(buf, "X %hhd %hd %zu %jd %td", (signed char)-3, (short)-4,
                                (size_t)5, (intmax_t)-6, (ptrdiff_t)7),
                     ARC_OK);
    EXPECT("*6\r\n$1\r\nX\r\n$2\r\n-3\r\n$2\r\n-4\r\n$1\r\n5\r\n$2\r\n-6\r\n$1\r\n7\r\n");
    assert_int_equal(arc_format(buf, "X %x %X %o %c", 255u, 255u, 8u, 'q'), ARC_OK);
    EXPECT("*5\r\n$1\r\nX\r\n$2\r\nff\r\n$2\r\nFF\r\n$2\r\n10\r\n$1\r\nq\r\n");
    assert_int_equal(arc_format(buf, "X %05d %-3d| %+d %*d %.3d", 42, 7, 5, 4, 9, 1), ARC_OK);
    EXPECT("*6\r\n$1\r\nX\r\n$5\r\n00042\r\n$4\r\n7  |\r\n$2\r\n+5\r\n$4\r\n   9\r\n$3\r\n001\r\n");
}

static void printf_doubles(void **state)
{
    (void)state;
    assert_int_equal(arc_format(buf, "X %f %.2f %g %e", 1.5, 2.345, 0.25, 1000.0), ARC_OK);
    EXPECT("*5\r\n$1\r\nX\r\n$8\r\n1.500000\r\n$4\r\n2.35\r\n$4\r\n0.25\r\n$12\r\n1.000000e+03\r\n");
    assert_int_equal(arc_format(buf, "X %Lg", (long double)3.5), ARC_OK);
    EXPECT("*2\r\n$1\r\nX\r\n$3\r\n3.5\r\n");
}

static void printf_bad(void **state)
{
    (void)state;
    assert_int_equal(arc_format(buf, "SET x 1"), ARC_OK);
    size_t before = arc_buffer_len(buf);
    static const char *bad[] = {"", "   ", "GET %", "GET %q", "GET %p", "GET %n", "GET %-s",
                                "GET %5b", "GET %Ld", "GET %lls"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (arc_format(buf, bad[i], "x", (size_t)1) != ARC_ERR_INVALID)
            fail_msg("'%s' was accepted", bad[i]);
        assert_int_equal(arc_buffer_len(buf), before); /* untouched */
    }
    assert_int_equal(arc_format(buf, "GET %s", (const char *)NULL), ARC_ERR_INVALID);
    assert_int_equal(arc_format(buf, "GET %b", (const void *)NULL, (size_t)3), ARC_ERR_INVALID);
    assert_int_equal(arc_format(buf, "GET %b", (const void *)NULL, (size_t)0), ARC_OK);
    assert_int_equal(arc_format(NULL, "GET x"), ARC_ERR_INVALID);
    assert_int_equal(arc_format(buf, NULL), ARC_ERR_INVALID);
    arc_buffer_clear(buf);
}

static void limit_leaves_buffer(void **state)
{
    (void)state;
    /* SET k v takes 27 bytes, GET k 20: a maximum of 47 takes both, to
     * the byte, and nothing more. */
    arc_buffer *small = arc_buffer_new(47, NULL);
    const char *argv[] = {"SET", "k", "v"};
    assert_int_equal(arc_format_argv(small, 3, argv, NULL), ARC_OK);
    assert_int_equal(arc_buffer_len(small), 27);
    assert_int_equal(arc_format_argv(small, 3, argv, NULL), ARC_ERR_LIMIT);
    assert_int_equal(arc_format(small, "SET k v"), ARC_ERR_LIMIT);
    assert_int_equal(arc_buffer_len(small), 27);
    assert_int_equal(arc_format(small, "GET k"), ARC_OK);
    assert_int_equal(arc_buffer_len(small), 47);
    assert_int_equal(arc_format(small, "X"), ARC_ERR_LIMIT);
    arc_buffer_free(small);
}


static void nomem_leaves_buffer(void **state)
{
    (void)state;
    for (long fail = 1; fail < 10; fail++) {
        failing_alloc f = {0, fail, 0, 0};
        arc_allocator a = {failing_realloc, &f};
        arc_buffer *b = arc_buffer_new(0, &a);
        if (b != NULL) {
            char big[600];
            memset(big, 'z', sizeof big);
            int rc = arc_format(b, "SET %b", big, sizeof big);
            assert_true(rc == ARC_OK || rc == ARC_ERR_NOMEM);
            if (rc == ARC_ERR_NOMEM)
                assert_int_equal(arc_buffer_len(b), 0);
            else
                assert_int_equal(arc_buffer_len(b), 4 + 9 + 6 + 600 + 2);
            arc_buffer_free(b);
        }
        assert_int_equal(f.live, 0);
    }
}

static void raw_valid(void **state)
{
    (void)state;
    size_t count = 0;
    const char two[] = "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$3\r\na\0b\r\n";
    assert_int_equal(arc_format_check(two, sizeof two - 1, &count), ARC_OK);
    assert_int_equal(count, 2);
    assert_int_equal(arc_format_raw(buf, two, sizeof two - 1, &count), ARC_OK);
    expect_bytes(two, sizeof two - 1);
    assert_int_equal(arc_format_check(two, sizeof two - 1, NULL), ARC_OK);
}

static void raw_invalid(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",          "+OK\r\n",        "*0\r\n",           "*-1\r\n",
        "*1\r\n:1\r\n", "*1\r\n$-1\r\n", "*1\r\n$3\r\nabc",  "*1\r\n$3\r\nabcX\n",
        "*1\r\n$3\r\nabc\r\nX", "*1\n$3\r\nabc\r\n", "*a\r\n", "*1\r\n$\r\n\r\n",
        "*1\r\n$99999999999999999999999\r\n", "*1\r\n$+1\r\na\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (arc_format_check(bad[i], strlen(bad[i]), NULL) != ARC_ERR_INVALID)
            fail_msg("'%s' was accepted", bad[i]);
        assert_int_equal(arc_format_raw(buf, bad[i], strlen(bad[i]), NULL), ARC_ERR_INVALID);
        assert_int_equal(arc_buffer_len(buf), 0);
    }
    /* Every truncation of a valid command is invalid. */
    const char ok[] = "*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n";
    for (size_t n = 1; n < sizeof ok - 1; n++)
        assert_int_equal(arc_format_check(ok, n, NULL), ARC_ERR_INVALID);
    assert_int_equal(arc_format_check(NULL, 3, NULL), ARC_ERR_INVALID);
}

/* What the encoder writes, the validator accepts. */
static void encoder_output_validates(void **state)
{
    (void)state;
    assert_int_equal(arc_format(buf, "HSET h %s %d %b", "f", 12, "\r\n", (size_t)2), ARC_OK);
    size_t count = 0;
    assert_int_equal(arc_format_check(arc_buffer_data(buf), arc_buffer_len(buf), &count), ARC_OK);
    assert_int_equal(count, 1);
    arc_buffer_clear(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(argv_basic),
        T(argv_binary_and_empty),
        T(argv_large),
        T(argv_sized_either_way),
        T(argv_bad),
        T(printf_strings),
        T(printf_concatenation_and_spaces),
        T(printf_integers),
        T(printf_doubles),
        T(printf_bad),
        T(limit_leaves_buffer),
        T(nomem_leaves_buffer),
        T(raw_valid),
        T(raw_invalid),
        T(encoder_output_validates),
    };
    return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
