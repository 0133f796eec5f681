/* test_blocking.c: which commands wait on the server and for how long, as
 * the connection-wide command timeout must count it: where each command
 * keeps its timeout, its unit, for ever, saturation, and what is not a
 * timeout at all. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cmdview.h"

#include <arc/format.h>

#include <stdbool.h>

#define MAX_WAIT (UINT32_MAX - 1u)

/* Encodes the command (arc_format's rules: split on spaces, %s spliced)
 * and asks arc__blocking_wait about it, the name walked off first. */
static bool vwait_of(uint32_t *ms, const char *fmt, va_list ap)
{
    arc_buffer *b = arc_buffer_new(0, NULL);
    assert_non_null(b);
    assert_int_equal(arc_vformat(b, fmt, ap), ARC_OK);
    arc_cmdview args;
    const char *name = NULL;
    size_t len = 0;
    assert_true(arc__cmdview_begin(&args, arc_buffer_data(b), arc_buffer_len(b)));
    assert_true(arc__cmdview_next(&args, &name, &len));
    *ms = 0xdeadbeefu;
    bool waits = arc__blocking_wait(name, len, &args, ms);
    arc_buffer_free(b);
    return waits;
}

/* The command waits, for `want` ms. */
static void waits(uint32_t want, const char *fmt, ...)
{
    uint32_t ms;
    va_list ap;
    va_start(ap, fmt);
    bool w = vwait_of(&ms, fmt, ap);
    va_end(ap);
    if (!w)
        fail_msg("'%s' should block for %u ms, but does not block", fmt, (unsigned)want);
    if (ms != want)
        fail_msg("'%s' should block for %u ms, not %u", fmt, (unsigned)want, (unsigned)ms);
}

/* The command does not wait (or its timeout is not one). */
static void no_wait(const char *fmt, ...)
{
    uint32_t ms;
    va_list ap;
    va_start(ap, fmt);
    bool w = vwait_of(&ms, fmt, ap);
    va_end(ap);
    if (w)
        fail_msg("'%s' should not block, but blocks for %u ms", fmt, (unsigned)ms);
}

static void lists_and_sorted_sets_take_seconds_last(void **state)
{
    (void)state;
    waits(5000, "BLPOP k1 k2 5");
    waits(250, "BLPOP k 0.25");
    waits(7000, "BRPOP k1 k2 k3 7");
    waits(2000, "BRPOPLPUSH src dst 2");
    waits(1500, "BLMOVE src dst LEFT RIGHT 1.5");
    waits(1, "BZPOPMIN z 0.001");
    waits(3100, "BZPOPMAX z1 z2 3.1");
    /* Past the millisecond the digits do not count. */
    waits(1234, "BLPOP k 1.2345");
    /* The timeout is the last argument even when a key looks like one. */
    waits(4000, "BLPOP 9 4");
}

static void multi_pops_take_the_timeout_first(void **state)
{
    (void)state;
    /* A last argument of 5 (the COUNT) would give 5000. */
    waits(2000, "BLMPOP 2 2 k1 k2 LEFT COUNT 5");
    waits(500, "BZMPOP 0.5 1 z MIN");
    waits(0, "BZMPOP 0 1 z MAX COUNT 9");
}

static void streams_take_block_among_the_options(void **state)
{
    (void)state;
    waits(250, "XREAD COUNT 10 BLOCK 250 STREAMS s 0");
    waits(1500, "XREADGROUP GROUP g c BLOCK 1500 STREAMS s >");
    waits(40, "XREADGROUP GROUP g c COUNT 1 BLOCK 40 NOACK STREAMS s1 s2 > >");
    /* No BLOCK: it answers at once. */
    no_wait("XREAD COUNT 1 STREAMS s 0");
    no_wait("XREADGROUP GROUP g c STREAMS s >");
    /* After STREAMS come keys and ids: a key named "block" is no option. */
    no_wait("XREAD STREAMS block 5");
    no_wait("XREAD COUNT 2 STREAMS block other 7 8");
    /* The option's value is not a decimal of seconds. */
    no_wait("XREAD BLOCK 1.5 STREAMS s 0");
    /* BLOCK without its value. */
    no_wait("XREAD BLOCK");
}

static void wait_takes_milliseconds_last(void **state)
{
    (void)state;
    waits(100, "WAIT 1 100");
    waits(250, "WAITAOF 1 0 250");
    no_wait("WAIT 1 0.5");
}

/* 0 means for ever: the command blocks, with 0 ms. */
static void zero_waits_for_ever(void **state)
{
    (void)state;
    waits(0, "BLPOP k 0");
    waits(0, "BRPOP k 0.0");
    waits(0, "BLMPOP 0 1 k LEFT");
    waits(0, "XREAD BLOCK 0 STREAMS s $");
    waits(0, "WAIT 2 0");
    waits(0, "WAITAOF 0 1 0");
}

static void names_and_options_ignore_case(void **state)
{
    (void)state;
    waits(1000, "blpop k 1");
    waits(1000, "BlPoP k 1");
    waits(2000, "bzMpOp 2 1 z MIN");
    waits(30, "xread count 1 block 30 streams s 0");
    waits(30, "XrEaDgRoUp GROUP g c bLoCk 30 StReAmS s >");
    no_wait("xread streams BLOCK 5");
    waits(9, "wait 0 9");
}

/* A wait longer than the counter holds is as long as it can be. */
static void huge_values_saturate(void **state)
{
    (void)state;
    waits(4294967293u, "BLPOP k 4294967.293");
    waits(MAX_WAIT, "BLPOP k 4294967.294");
    waits(MAX_WAIT, "BLPOP k 4294967.295");
    waits(MAX_WAIT, "BLPOP k 4294968");
    waits(MAX_WAIT, "BLPOP k 99999999999");
    waits(MAX_WAIT, "BZMPOP 184467440737095516160000 1 z MIN");
    waits(4294967293u, "WAIT 1 4294967293");
    waits(MAX_WAIT, "WAIT 1 4294967294");
    waits(MAX_WAIT, "WAIT 1 4294967295");
    waits(MAX_WAIT, "WAIT 1 99999999999999999999999");
    waits(MAX_WAIT, "XREAD BLOCK 18446744073709551617 STREAMS s 0");
}

/* A timeout that is not a plain non-negative decimal is the server's to
 * refuse; nothing waits on it. */
static void malformed_timeouts_do_not_block(void **state)
{
    (void)state;
    no_wait("BLPOP k abc");
    no_wait("BLPOP k -1");
    no_wait("BLPOP k 1e3");
    no_wait("BLPOP k %s", "");
    no_wait("BLPOP k 1.5e0");
    no_wait("BLPOP k 1x");
    no_wait("BLPOP k +1");
    no_wait("BLPOP k %s", " 1");
    no_wait("BLMPOP -1 1 k LEFT");
    no_wait("BLMPOP abc 1 k LEFT");
    no_wait("XREAD BLOCK -1 STREAMS s 0");
    no_wait("XREAD BLOCK %s STREAMS s 0", "");
    no_wait("XREAD BLOCK 1e3 STREAMS s 0");
    no_wait("WAIT 1 abc");
    no_wait("WAIT 1 -1");
    no_wait("WAITAOF 1 0 %s", "");
    /* No arguments at all: nothing to wait on. */
    no_wait("BLPOP");
    no_wait("BLMPOP");
    no_wait("WAIT");
}

static void other_commands_do_not_block(void **state)
{
    (void)state;
    no_wait("GET k");
    no_wait("SET k 1");
    no_wait("BLAH 1");
    no_wait("LPOP k 1");
    no_wait("XRANGE s - + COUNT 1");
    no_wait("XADD s * f 1");
    /* Near misses of the names. */
    no_wait("BLPOPX k 1");
    no_wait("BLPO k 1");
    no_wait("BZPOP k 1");
    no_wait("WAITS 1 1");
    no_wait("XREADG BLOCK 1 STREAMS s 0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lists_and_sorted_sets_take_seconds_last),
        cmocka_unit_test(multi_pops_take_the_timeout_first),
        cmocka_unit_test(streams_take_block_among_the_options),
        cmocka_unit_test(wait_takes_milliseconds_last),
        cmocka_unit_test(zero_waits_for_ever),
        cmocka_unit_test(names_and_options_ignore_case),
        cmocka_unit_test(huge_values_saturate),
        cmocka_unit_test(malformed_timeouts_do_not_block),
        cmocka_unit_test(other_commands_do_not_block),
    };
    return cmocka_run_group_tests_name("blocking", tests, NULL, NULL);
}
