/* test_slot.c: pins the key to slot map: the CRC16 check values, slots a
 * Redis 7.0 server gave for the same keys (CLUSTER KEYSLOT), and every
 * hash tag rule of the cluster specification. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "slot.h"

#include <string.h>

#define KEY(s) (s), sizeof(s) - 1

static void crc16_is_xmodem(void **state)
{
    (void)state;
    /* The standard check value of CRC-16/XMODEM, and the one the cluster
     * specification quotes. */
    assert_int_equal(arc__crc16(KEY("123456789")), 0x31C3);
    assert_int_equal(arc__crc16(KEY("A")), 0x58E5);
    assert_int_equal(arc__crc16("", 0), 0);
    assert_int_equal(arc__crc16(NULL, 0), 0);
    /* Bytes above 0x7f are unsigned, not sign-extended. */
    assert_int_not_equal(arc__crc16(KEY("\xff")), arc__crc16(KEY("\x7f")));
}

/* Slots a Redis 7.0.15 server in cluster mode answered to CLUSTER KEYSLOT,
 * including keys with NUL and 0xff bytes and stray braces. */
static const struct {
    const char *key;
    size_t len;
    unsigned slot;
} known[] = {
    {KEY("foo"), 12182},
    {KEY("bar"), 5061},
    {KEY("123456789"), 12739},
    {KEY(""), 0},
    {KEY("{user1000}.following"), 3443},
    {KEY("foo{}{bar}"), 8363},
    {KEY("foo{{bar}}zap"), 4015},
    {KEY("foo{bar}{zap}"), 5061},
    {KEY("x\xff" "1{b001}"), 4856},
    {KEY("}{b{{}"), 11860},
    {KEY("{\xff" "by0ab}0"), 2488},
    {KEY("x\0{\xff" "a}\xff" "y{\xff" "a"), 16248},
    {KEY("\xff" "x1bx\xff" "y{y}\xff\xff"), 12222},
    {KEY("1b\xff{z}}ax}x\xff"), 8157},
    {KEY("x}{}b"), 15936},
    {KEY("x{}"), 2608},
    {KEY("}b{xa{}x"), 1614},
    {KEY("b{1{b}"), 10962},
    {KEY("{z1ab"), 7629},
    {KEY("a\xff{"), 8280},
    {KEY("}\0" "1\xff" "zy\0" "0\0"), 12036},
};

static void slots_match_a_real_server(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        unsigned got = arc__key_slot(known[i].key, known[i].len);
        if (got != known[i].slot)
            fail_msg("key %zu: slot %u, the server said %u", i, got, known[i].slot);
    }
}

static unsigned slot_of(const char *s)
{
    return arc__key_slot(s, strlen(s));
}

static void a_tag_is_what_is_hashed(void **state)
{
    (void)state;
    assert_int_equal(slot_of("{user1000}.following"), slot_of("user1000"));
    assert_int_equal(slot_of("{user1000}.followers"), slot_of("user1000"));
    assert_int_equal(slot_of("a{user1000}"), slot_of("user1000"));
    /* The first '}' after the first '{' ends the tag. */
    assert_int_equal(slot_of("foo{bar}{zap}"), slot_of("bar"));
    assert_int_equal(slot_of("foo{{bar}}zap"), slot_of("{bar"));
    assert_int_equal(slot_of("x{a}b}"), slot_of("a"));
    /* A '}' before the first '{' does not count. */
    assert_int_equal(slot_of("}x{ab}"), slot_of("ab"));
}

static void no_tag_hashes_the_whole_key(void **state)
{
    (void)state;
    /* "{}": an empty tag is no tag, and the search stops there. */
    assert_int_equal(slot_of("foo{}{bar}"), arc__crc16(KEY("foo{}{bar}")) % ARC_SLOTS);
    assert_int_equal(slot_of("{}"), arc__crc16(KEY("{}")) % ARC_SLOTS);
    /* No '}' after the '{'. */
    assert_int_equal(slot_of("foo{bar"), arc__crc16(KEY("foo{bar")) % ARC_SLOTS);
    assert_int_equal(slot_of("{"), arc__crc16(KEY("{")) % ARC_SLOTS);
    assert_int_equal(slot_of("foo}bar{"), arc__crc16(KEY("foo}bar{")) % ARC_SLOTS);
    assert_int_equal(slot_of("plain"), arc__crc16(KEY("plain")) % ARC_SLOTS);
}

static void keys_may_hold_any_byte(void **state)
{
    (void)state;
    /* The length is what counts, not a NUL: "a\0b" is not "a". */
    assert_int_not_equal(arc__key_slot(KEY("a\0b")), arc__key_slot(KEY("a")));
    assert_int_equal(arc__key_slot(KEY("{\0}x")), arc__key_slot(KEY("\0")));
    /* Every slot is in range, whatever the key (a slot-sized walk). */
    char key[3] = {0};
    for (unsigned i = 0; i < 65536; i++) {
        key[0] = (char)(i & 0xff);
        key[1] = (char)(i >> 8);
        key[2] = (char)(i * 7);
        assert_true(arc__key_slot(key, sizeof key) < ARC_SLOTS);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc16_is_xmodem),
        cmocka_unit_test(slots_match_a_real_server),
        cmocka_unit_test(a_tag_is_what_is_hashed),
        cmocka_unit_test(no_tag_hashes_the_whole_key),
        cmocka_unit_test(keys_may_hold_any_byte),
    };
    return cmocka_run_group_tests_name("slot", tests, NULL, NULL);
}
