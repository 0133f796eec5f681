/* test_double.c: arc__parse_double against strtod, bit for bit: the edges
 * of binary64 by hand, then millions of texts in the shapes servers print
 * and in shapes nobody prints, and the texts it must refuse. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "numbers.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64: a fixed seed, so that a failure is found again by rerunning;
 * ARC_DOUBLE_SEED picks another sequence. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned below(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static size_t compared;

static uint64_t bits_of(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static double from_bits(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

/* The reader reads a double line with arc__double_prefix over the bytes
 * that follow it, CRLF and the next reply included: it must take the text
 * whole or not at all, and give what arc__parse_double gives. */
static void prefix_agrees(const char *s, double want)
{
    static const char *const after[] = {"\r\n,3.14\r\n", "\r\n:12345678\r\n", "\r", ""};
    size_t n = strlen(s);
    for (size_t a = 0; a < sizeof after / sizeof after[0]; a++) {
        char line[256];
        int len = snprintf(line, sizeof line, "%s%s", s, after[a]);
        double got = 12345.0;
        size_t k = arc__double_prefix(line, (size_t)len, &got);
        if (k == 0) {
            if (got != 12345.0)
                fail_msg("\"%s\": prefix refused it but wrote its value", s);
            continue;
        }
        if (k != n)
            fail_msg("\"%s\" + \"%s\": prefix took %zu bytes, not %zu", s, after[a], k, n);
        if (bits_of(got) != bits_of(want))
            fail_msg("\"%s\": prefix gave %a, parse %a", s, got, want);
    }
}

/* One text that must parse, to exactly strtod's double (NaN: any NaN, and
 * the same sign). The test runs in the C locale, so strtod reads '.'. */
static void same_as_strtod(const char *s)
{
    size_t n = strlen(s);
    double got = 12345.0;
    if (!arc__parse_double(s, n, &got))
        fail_msg("refused \"%s\"", s);
    char *end;
    double want = strtod(s, &end);
    if (*end != '\0')
        fail_msg("test bug: strtod stopped inside \"%s\"", s);
    compared++;
    if (isnan(want) && isnan(got) && signbit(want) == signbit(got))
        return;
    if (bits_of(got) != bits_of(want))
        fail_msg("\"%s\": got %a (0x%016" PRIx64 "), strtod %a (0x%016" PRIx64 ")", s, got,
                 bits_of(got), want, bits_of(want));
    prefix_agrees(s, got);
}

static void parses_to(const char *s, double want)
{
    same_as_strtod(s);
    double got;
    assert_true(arc__parse_double(s, strlen(s), &got));
    if (bits_of(got) != bits_of(want))
        fail_msg("\"%s\": got %a, want %a", s, got, want);
}

static void edges(void **state)
{
    (void)state;
    parses_to("0", 0.0);
    parses_to("-0", -0.0);
    parses_to("-0.0", -0.0);
    parses_to("+0", 0.0);
    parses_to("0e999999999999", 0.0);
    parses_to("-0.000e-5", -0.0);
    parses_to("1", 1.0);
    parses_to("0.1", 0.1);
    parses_to("3.14", 3.14);
    parses_to("3.1400000000000001", 3.14);
    parses_to("1e308", 1e308);
    parses_to("1.7976931348623157e308", DBL_MAX);
    /* Halfway from DBL_MAX to 2^1024 is 1.797693134862315807...e308: below
     * it rounds down to DBL_MAX, above it overflows to infinity. */
    parses_to("1.7976931348623158e308", DBL_MAX);
    parses_to("1.7976931348623159e308", INFINITY);
    parses_to("1e400", INFINITY);
    parses_to("-1e400", -INFINITY);
    parses_to("2.2250738585072014e-308", DBL_MIN);
    parses_to("2.2250738585072011e-308", from_bits(0x000fffffffffffffull));
    parses_to("5e-324", from_bits(1));
    parses_to("4.9e-324", from_bits(1));
    parses_to("4.9406564584124654e-324", from_bits(1));
    /* Half the smallest subnormal is 2.47032822920623272088...e-324: just
     * below it rounds to zero, just above it up to the subnormal. */
    parses_to("2.4703282292062327e-324", 0.0);
    parses_to("2.4703282292062328e-324", from_bits(1));
    parses_to("1e-400", 0.0);
    parses_to("-1e-400", -0.0);
    parses_to("123456789012345678", 123456789012345678.0);
    parses_to("9007199254740992", 9007199254740992.0);
    /* 2^53 + 1 is a tie between 2^53 and 2^53 + 2: even is 2^53. */
    parses_to("9007199254740993", 9007199254740992.0);
    parses_to("9007199254740995", 9007199254740996.0);
    parses_to("18446744073709551615", 18446744073709551616.0);
    parses_to("9999999999999999999", 1e19);
    parses_to("1E+5", 1e5);
    parses_to("1e-5", 1e-5);
    parses_to("-2e10", -2e10);
    parses_to("0.000000000000000000000000000001", 1e-30);
    parses_to("123456789012345678901234567890", 123456789012345678901234567890.0);
    parses_to("3.141592653589793238462643383279502884197", 3.141592653589793);
    parses_to("0.30000000000000000000000000000000000000001", 0.3);
    parses_to("1.00000000000000000000000000000000000000000", 1.0);
    parses_to("000000000000000000000000000000000000000001", 1.0);
    parses_to("inf", INFINITY);
    parses_to("+inf", INFINITY);
    parses_to("-inf", -INFINITY);
    parses_to("INF", INFINITY);
    same_as_strtod("nan");
    same_as_strtod("-nan");
    same_as_strtod("NaN");
    same_as_strtod("nan(123)");
}

static void refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "+", "-", ".", ".5", "1.", "-.5", "1e", "1e+", "1e-", "e5", "1.5x", "abc",
        " 1", "1 ", "0x10", "0x1p3", "infinity", "-infinity", "in", "na", "nanx", "nan(",
        "nan(1 2)", "1.5e5.5", "--1", "+-1", "1..5", "1e5e5", "1,5", "inf ", "1e+-5",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double d = 42.0;
        if (arc__parse_double(bad[i], strlen(bad[i]), &d))
            fail_msg("took \"%s\" as %a", bad[i], d);
        assert_true(d == 42.0);
        assert_false(arc__valid_double(bad[i], strlen(bad[i])));
    }
    /* The length is the caller's: bytes after n are not read, and a NUL
     * inside is just a byte that is not part of a double. */
    double d;
    assert_true(arc__parse_double("1.5x", 3, &d) && d == 1.5);
    assert_false(arc__parse_double("1\0", 2, &d));
    char big[ARC__DOUBLE_MAX + 2];
    memset(big, '1', sizeof big);
    assert_true(arc__parse_double(big, ARC__DOUBLE_MAX, &d));
    assert_false(arc__parse_double(big, ARC__DOUBLE_MAX + 1, &d));
    /* The same bound where the digits fit the fast path (from fuzz_double:
     * leading zeros are not significant, and were taken past it). */
    memset(big, '0', sizeof big);
    big[ARC__DOUBLE_MAX] = '1';
    assert_false(arc__parse_double(big, ARC__DOUBLE_MAX + 1, &d));
    assert_true(arc__parse_double(big + 1, ARC__DOUBLE_MAX, &d) && d == 1.0);
}

/* Every byte value at every place of texts whose digits come eight at a
 * time: the parser must take exactly what the grammar takes (a ':' or a
 * '/' beside the digits is the first thing a digit test gets wrong), and
 * what it takes must read as strtod reads it. */
static void one_byte_changed(void **state)
{
    (void)state;
    static const char *const base[] = {
        "1234567890123456", "1.2345678901234567", "12345678.12345678e10", "0.0000000012345678",
    };
    for (size_t t = 0; t < sizeof base / sizeof base[0]; t++) {
        char s[32];
        size_t n = strlen(base[t]);
        for (size_t at = 0; at < n; at++) {
            for (int b = 1; b < 256; b++) {
                memcpy(s, base[t], n + 1);
                s[at] = (char)b;
                double d;
                bool took = arc__parse_double(s, n, &d);
                if (took != arc__valid_double(s, n))
                    fail_msg("\"%s\" with 0x%02x at %zu: %s", base[t], b, at,
                             took ? "taken against the grammar" : "refused against the grammar");
                if (took)
                    same_as_strtod(s);
            }
        }
    }
}

/* Only p[0, n) is read: digits just past n must not join the number. */
static void bounded_by_length(void **state)
{
    (void)state;
    static const char *const base[] = {
        "123456789012345678901234567", "0.12345678901234567890123", "-9.87654321098765432e-5",
    };
    for (size_t t = 0; t < sizeof base / sizeof base[0]; t++) {
        size_t len = strlen(base[t]);
        for (size_t n = 1; n <= len; n++) {
            char s[32];
            memcpy(s, base[t], n);
            s[n] = '\0';
            double d;
            bool took = arc__parse_double(base[t], n, &d);
            if (took != arc__valid_double(s, n))
                fail_msg("\"%s\" cut at %zu: the grammar disagrees", base[t], n);
            if (!took)
                continue;
            same_as_strtod(s);
            double want = strtod(s, NULL);
            if (bits_of(d) != bits_of(want))
                fail_msg("\"%s\" cut at %zu: got %a, strtod %a", base[t], n, d, want);
        }
    }
}

/* How many random texts in all: ~5 million, or a few hundred thousand under
 * valgrind, which is some fifty times slower. */
static size_t budget(void)
{
    return getenv("ARC_UNDER_VALGRIND") ? 200000 : 5000000;
}

static double random_finite(void)
{
    for (;;) {
        double d = from_bits(rnd());
        if (isfinite(d))
            return d;
    }
}

/* What %.17g / %.15g / %.6g make of doubles over the whole range, the way
 * servers before Redis 7.2 wrote them (%.17g) and the way people do. */
static void printed_doubles(void **state)
{
    (void)state;
    size_t n = budget() / 20; /* the most expensive to print and to read */
    char s[64];
    for (size_t i = 0; i < n; i++) {
        double d = random_finite();
        snprintf(s, sizeof s, "%.17g", d);
        same_as_strtod(s);
        if (i % 4 == 0) {
            snprintf(s, sizeof s, "%.15g", d);
            same_as_strtod(s);
            snprintf(s, sizeof s, "%.6g", d);
            same_as_strtod(s);
        }
    }
}

/* Scores and values as they are stored: small magnitudes, few decimals,
 * near the subnormal and overflow edges, and a double's neighbours. */
static void server_shapes(void **state)
{
    (void)state;
    size_t n = budget() / 20;
    char s[64];
    for (size_t i = 0; i < n; i++) {
        double d;
        switch (i % 5) {
        case 0: d = (double)(int64_t)(rnd() % 2000001) / 100.0 - 10000.0; break;
        /* A 53-bit integer times 2^-113 .. 2^6 (an exact power of two: no
         * libm in the test). */
        case 1: d = (double)(rnd() >> 11) * from_bits((uint64_t)(1023 - 113 + below(120)) << 52); break;
        /* %a-like ranges: a random 52-bit fraction at the exponents where
         * doubles stop being normal, and where they stop being finite. */
        case 2: d = from_bits((rnd() & 0x800fffffffffffffull) | ((uint64_t)below(4) << 52)); break;
        case 3: d = from_bits((rnd() & 0x800fffffffffffffull) | ((uint64_t)(2043 + below(4)) << 52)); break;
        /* The neighbours of a double differ in the last bit of its
         * pattern, where %.17g needs all of its digits. */
        default: d = from_bits(bits_of(random_finite()) ^ 1); break;
        }
        if (!isfinite(d))
            continue;
        snprintf(s, sizeof s, i % 3 ? "%.17g" : "%.16g", d);
        same_as_strtod(s);
        snprintf(s, sizeof s, "%.*g", 1 + (int)below(17), d);
        same_as_strtod(s);
    }
}

/* The exact ties between two doubles that fit 19 digits: an odd 54-bit
 * number shifted left (an integer), or divided by 2, 4 or 8 (1 to 3
 * decimals), with neighbours one unit of the last digit away. Round to
 * even is only tested where the text is exactly halfway. */
static void ties(void **state)
{
    (void)state;
    size_t n = budget() / 4;
    char s[64];
    for (size_t i = 0; i < n; i++) {
        uint64_t odd = (rnd() >> 10) | (1ull << 53) | 1;
        unsigned j = below(4);
        if (i % 2 == 0) {
            uint64_t t = odd << below(11); /* below 2^64 */
            uint64_t delta = below(3);
            snprintf(s, sizeof s, "%" PRIu64, t - 1 + delta);
            same_as_strtod(s);
        } else {
            /* odd / 2^j = odd * 5^j / 10^j */
            uint64_t t = odd;
            for (unsigned k = 0; k < j; k++)
                t *= 5;
            uint64_t p10 = 1;
            for (unsigned k = 0; k < j; k++)
                p10 *= 10;
            if (j == 0)
                snprintf(s, sizeof s, "%" PRIu64, t);
            else
                snprintf(s, sizeof s, "%" PRIu64 ".%0*" PRIu64, t / p10, (int)j, t % p10);
            same_as_strtod(s);
            snprintf(s, sizeof s, "%" PRIu64 "e-%u", t + 1 - below(3), j);
            same_as_strtod(s);
        }
    }
}

/* Texts made digit by digit: signs, leading zeros, 1 to 40 digits around
 * the point, exponents from the fast path's few to far past binary64. */
static void digit_strings(void **state)
{
    (void)state;
    size_t n = budget() / 2;
    char s[ARC__DOUBLE_MAX + 1];
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        unsigned shape = below(16);
        if (below(3) == 0)
            s[k++] = below(2) ? '-' : '+';
        if (below(6) == 0)
            for (unsigned z = below(5); z > 0; z--)
                s[k++] = '0';
        /* Mostly what fits 19 digits, sometimes up to 40. */
        unsigned digits = shape == 0 ? 1 + below(40) : 1 + below(19);
        unsigned point = below(digits + 1);
        for (unsigned d = 0; d < digits; d++) {
            if (d == point && d > 0)
                s[k++] = '.';
            s[k++] = (char)('0' + below(10));
        }
        if (point == 0 && below(2)) {
            s[k++] = '.';
            for (unsigned d = below(3); d > 0; d--)
                s[k++] = '0';
            s[k++] = (char)('0' + below(10));
        }
        if (shape >= 4) {
            int e = shape < 15 ? (int)below(61) - 30 : (int)below(800) - 400;
            /* By hand: snprintf would take more time than the parse. */
            s[k++] = below(2) ? 'e' : 'E';
            if (e < 0 || below(2))
                s[k++] = e < 0 ? '-' : '+';
            unsigned a = (unsigned)(e < 0 ? -e : e);
            if (a >= 100)
                s[k++] = (char)('0' + a / 100);
            if (a >= 10)
                s[k++] = (char)('0' + a / 10 % 10);
            s[k++] = (char)('0' + a % 10);
        }
        s[k] = '\0';
        same_as_strtod(s);
    }
}

static void count_is_enough(void **state)
{
    (void)state;
    printf("# %zu texts compared with strtod\n", compared);
    assert_true(compared >= budget());
}

int main(void)
{
    const char *seed = getenv("ARC_DOUBLE_SEED");
    rng_state = seed ? strtoull(seed, NULL, 0) : 17;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(edges),
        cmocka_unit_test(refused),
        cmocka_unit_test(one_byte_changed),
        cmocka_unit_test(bounded_by_length),
        cmocka_unit_test(printed_doubles),
        cmocka_unit_test(server_shapes),
        cmocka_unit_test(ties),
        cmocka_unit_test(digit_strings),
        cmocka_unit_test(count_is_enough),
    };
    return cmocka_run_group_tests_name("double", tests, NULL, NULL);
}
