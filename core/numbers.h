/* numbers.h (internal): parsing the numbers and literals of RESP lines. */
#ifndef ARC_CORE_NUMBERS_H
#define ARC_CORE_NUMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* No <ctype.h>: protocol bytes are ASCII whatever the locale says. */
static inline bool arc__is_digit(char c)
{
    return c >= '0' && c <= '9';
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARC__SWAR_DIGITS 1
/* How many of the eight bytes at p are decimal digits before the first that
 * is not (0 to 8), with the value of those digits in *value; all eight
 * bytes must be readable. Done on one uint64 whose lowest byte is p[0],
 * with no step per digit. A byte is a digit when its high nibble is 3 and
 * adding 6 keeps it 3 (0x30..0x39); a carry out of a byte comes only from
 * one that already failed, so the first non-digit is found exactly. */
static inline size_t arc__lead_digits8(const char *p, uint64_t *value)
{
    uint64_t c;
    memcpy(&c, p, sizeof c);
    const uint64_t hi = 0xf0f0f0f0f0f0f0f0ull;
    uint64_t miss = ((c & hi) | (((c + 0x0606060606060606ull) & hi) >> 4)) ^ 0x3333333333333333ull;
    size_t n = miss ? (size_t)__builtin_ctzll(miss) >> 3 : 8;
    if (n == 0)
        return 0;
    /* The digits' values, moved to the top bytes: the bytes below become
     * leading zeros and those after the digits fall off. Then pairs: each
     * even byte becomes 10 * itself + the next; each 16-bit lane 100 *
     * itself + the next; then the two 4-digit halves. */
    c = (c - 0x3030303030303030ull) << (8 * (8 - n));
    c = (c * 10 + (c >> 8)) & 0x00ff00ff00ff00ffull;
    c = (c * 100 + (c >> 16)) & 0x0000ffff0000ffffull;
    *value = (c & 0xffffffffull) * 10000 + (c >> 32);
    return n;
}
#endif

/* arc__parse_ll() for what its fast path leaves: a sign, 19 digits or more. */
bool arc__parse_ll_checked(const char *p, size_t n, long long *out);

/* The whole of p[0, n) as a signed 64-bit decimal with an optional sign.
 * Up to 18 digits cannot overflow, so lengths and counts (nearly all
 * numbers a server sends) skip the per-digit overflow check. */
static inline bool arc__parse_ll(const char *p, size_t n, long long *out)
{
    if (n - 1 < 18 && arc__is_digit(p[0])) {
        unsigned long long v = 0;
        for (size_t i = 0; i < n; i++) {
            if (!arc__is_digit(p[i]))
                return false;
            v = v * 10 + (unsigned)(p[i] - '0');
        }
        *out = (long long)v;
        return true;
    }
    return arc__parse_ll_checked(p, n, out);
}

/* p[0, n) is one or more decimal digits. */
bool arc__all_digits(const char *p, size_t n);

/* p[0, n) follows the RESP3 double grammar. */
bool arc__valid_double(const char *p, size_t n);

/* The longest double text arc__parse_double takes: Redis writes at most 17
 * significant digits, and the bound keeps strtod's copy on the stack. */
#define ARC__DOUBLE_MAX 100

/* p[0, n) as a RESP3 double into *out, exactly as strtod rounds it (to
 * nearest, ties to even) whatever LC_NUMERIC says. False, *out untouched,
 * when p[0, n) is not a RESP3 double or is longer than ARC__DOUBLE_MAX. */
bool arc__parse_double(const char *p, size_t n, double *out);

/* The double at the start of p[0, n), as far as it goes: its length, with
 * its value in *out, when it is one arc__parse_double converts without
 * strtod ([+-]digits[.digits][(e|E)[+-]digits], at most 19 significant
 * digits, a small exponent, at most ARC__DOUBLE_MAX bytes); 0, *out
 * untouched, for anything else. The reader reads a double line with it
 * while looking for the line's end: the byte after the double must then be
 * the CR. */
size_t arc__double_prefix(const char *p, size_t n, double *out);

#endif
