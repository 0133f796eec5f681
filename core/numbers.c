/* numbers.c: the numbers and literals inside RESP lines, parsed with ASCII
 * rules only and never past the bytes they are given. */
#include "numbers.h"

#include <float.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__) && defined(ARC__SWAR_DIGITS)
#include <emmintrin.h>
#define ARC__SSE2_DIGITS 1
#endif

/* Parses a whole line as a signed 64-bit decimal. */
bool arc__parse_ll_checked(const char *p, size_t n, long long *out)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && (p[0] == '-' || p[0] == '+')) {
        neg = p[0] == '-';
        i = 1;
    }
    if (i == n)
        return false;
    unsigned long long v = 0;
    /* Accumulate the magnitude unsigned; LLONG_MIN's magnitude is one more
     * than LLONG_MAX's, hence the separate bound for negatives. */
    unsigned long long bound = neg ? (unsigned long long)9223372036854775807LL + 1u
                                   : (unsigned long long)9223372036854775807LL;
    for (; i < n; i++) {
        if (!arc__is_digit(p[i]))
            return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (bound - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg)
        *out = v == bound ? (-9223372036854775807LL - 1) : -(long long)v;
    else
        *out = (long long)v;
    return true;
}

bool arc__all_digits(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!arc__is_digit(p[i]))
            return false;
    return true;
}

/* The RESP3 double grammar (spec: "Double type"): inf, -inf, nan, or
 * [+-]digits[.digits][(e|E)[+-]digits]. Checked here so that strtod never
 * sees text it would read differently (hex floats, "infinity", spaces). */
static bool ieq3(const char *p, const char *lower)
{
    for (int i = 0; i < 3; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lower[i])
            return false;
    }
    return true;
}

static bool nan_payload(const char *p, size_t n)
{
    /* "(" n-char-sequence ")", as C's strtod reads it. */
    if (n < 2 || p[0] != '(' || p[n - 1] != ')')
        return false;
    for (size_t i = 1; i + 1 < n; i++) {
        char c = p[i];
        if (!arc__is_digit(c) && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && c != '_')
            return false;
    }
    return true;
}

bool arc__valid_double(const char *p, size_t n)
{
    size_t i = 0;
    if (n > 0 && (p[0] == '-' || p[0] == '+'))
        i = 1;
    /* RESP3.md: inf, -inf and nan; servers before Redis 7.2 also wrote
     * other spellings of NaN ("NAN", "nan(...)"), which clients accept. */
    if (n - i == 3 && ieq3(p + i, "inf"))
        return true;
    if (n - i >= 3 && ieq3(p + i, "nan"))
        return n - i == 3 || nan_payload(p + i + 3, n - i - 3);
    /* Digits, then optionally '.' and digits: neither side may be empty. */
    size_t digits = 0;
    while (i < n && arc__is_digit(p[i]))
        i++, digits++;
    if (digits == 0)
        return false;
    if (i < n && p[i] == '.') {
        i++;
        size_t frac = 0;
        while (i < n && arc__is_digit(p[i]))
            i++, frac++;
        if (frac == 0)
            return false;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '-' || p[i] == '+'))
            i++;
        if (i == n || !arc__is_digit(p[i]))
            return false;
        while (i < n && arc__is_digit(p[i]))
            i++;
    }
    return i == n;
}

/* strtod follows LC_NUMERIC; RESP always writes '.', so the copy handed to
 * strtod uses the current locale's decimal point instead. The slow path of
 * arc__parse_double: what the exact shortcuts below cannot take. */
static bool to_double_slow(const char *p, size_t n, double *out)
{
    char tmp[128];
    /* The copy must hold the whole text, or strtod would read a prefix. */
    if (n > ARC__DOUBLE_MAX || !arc__valid_double(p, n))
        return false;
    const char *dp = localeconv()->decimal_point;
    size_t dl = dp && dp[0] ? strlen(dp) : 1;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (j + dl >= sizeof tmp)
            return false;
        if (p[i] == '.' && dp && dp[0]) {
            memcpy(tmp + j, dp, dl);
            j += dl;
        } else {
            tmp[j++] = p[i];
        }
    }
    tmp[j] = '\0';
    *out = strtod(tmp, NULL);
    return true;
}

/* 10^0 .. 10^22: the powers of ten a double holds exactly (5^22 < 2^53). */
static const double exact_pow10[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 u128;

/* 5^0 .. 5^27, the powers of five below 2^63: 10^k is 5^k * 2^k, and the
 * 2^k is only an exponent, so these are all the exact path multiplies or
 * divides by. */
static const uint64_t pow5[28] = {
    1ull,
    5ull,
    25ull,
    125ull,
    625ull,
    3125ull,
    15625ull,
    78125ull,
    390625ull,
    1953125ull,
    9765625ull,
    48828125ull,
    244140625ull,
    1220703125ull,
    6103515625ull,
    30517578125ull,
    152587890625ull,
    762939453125ull,
    3814697265625ull,
    19073486328125ull,
    95367431640625ull,
    476837158203125ull,
    2384185791015625ull,
    11920928955078125ull,
    59604644775390625ull,
    298023223876953125ull,
    1490116119384765625ull,
    7450580596923828125ull,
};

/* x * 2^e2 rounded to the nearest double, ties to even, as strtod rounds.
 * x is nonzero; `sticky` says that nonzero bits below x's last bit were cut
 * off (a division's remainder, or a product's low bits), which breaks a tie
 * upwards. False when the result is not a normal double: the caller's
 * ranges keep it normal, and a miss falls back to strtod rather than being
 * rounded twice. */
static bool round_to_double(uint64_t x, bool sticky, int e2, bool neg, double *out)
{
    int lz = __builtin_clzll(x);
    x <<= lz;
    e2 -= lz;
    /* Now bit 63 is set: the 53 bits kept are 63..11, the 11 below (and the
     * sticky bit) decide the rounding. */
    uint64_t mant = x >> 11;
    uint64_t rest = x & 0x7ff;
    if (rest > 0x400 || (rest == 0x400 && (sticky || (mant & 1)))) {
        mant++;
        if (mant == (1ull << 53)) {
            mant >>= 1;
            e2++;
        }
    }
    e2 += 11;
    /* mant * 2^e2 with mant in [2^52, 2^53): the biased exponent is that
     * of 2^(e2 + 52). */
    int biased = e2 + 52 + 1023;
    if (biased < 1 || biased > 2046)
        return false;
    uint64_t bits = ((uint64_t)neg << 63) | ((uint64_t)biased << 52) | (mant & ((1ull << 52) - 1));
    memcpy(out, &bits, sizeof *out);
    return true;
}

/* The quotient of the 128-bit hi:lo by d, where hi < d (so it fits 64
 * bits), and the remainder. x86-64 divides that in one instruction; the
 * compiler's u128 division would go through a library call that finds
 * this out first. */
static inline uint64_t div128(uint64_t hi, uint64_t lo, uint64_t d, uint64_t *rem)
{
#if defined(__GNUC__) && defined(__x86_64__)
    uint64_t q, r;
    __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(d));
    *rem = r;
    return q;
#else
    u128 num = ((u128)hi << 64) | lo;
    uint64_t q = (uint64_t)(num / d);
    *rem = (uint64_t)(num - (u128)q * d);
    return q;
#endif
}

/* m * 10^e10 with m < 2^64 and |e10| <= 27, exactly rounded with integer
 * arithmetic. Upwards, m * 5^e10 fits 128 bits, and its bits below the top
 * 64 become the sticky bit. Downwards, m / 5^k is a 128-by-64 division
 * with its remainder as the sticky bit. The dividend is m, its top bit at
 * 63, times 2^s with 2^s <= 5^k < 2^(s+1): its high half is then below
 * 5^k, so the quotient fits 64 bits and is still at least 2^62, more bits
 * than the 54 that rounding needs. */
static bool scale_exact(uint64_t m, int e10, bool neg, double *out)
{
    if (e10 >= 0) {
        u128 x = (u128)m * pow5[e10];
        uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;
        if (hi == 0)
            return round_to_double(lo, false, e10, neg, out);
        int sh = 64 - __builtin_clzll(hi);
        uint64_t top = (uint64_t)(x >> sh);
        bool sticky = (lo << (64 - sh)) != 0;
        return round_to_double(top, sticky, e10 + sh, neg, out);
    }
    int k = -e10;
    int lz = __builtin_clzll(m);
    int s = 63 - __builtin_clzll(pow5[k]);
    /* (m << lz) << s as two halves; s is 2 at least (5^1 = 5), so neither
     * shift is by 64. */
    uint64_t top = m << lz;
    uint64_t rem;
    uint64_t q = div128(top >> (64 - s), top << s, pow5[k], &rem);
    return round_to_double(q, rem != 0, -s - lz - k, neg, out);
}
#define SCALE_EXACT_MAX 27
#else
static bool scale_exact(uint64_t m, int e10, bool neg, double *out)
{
    (void)m, (void)e10, (void)neg, (void)out;
    return false;
}
#define SCALE_EXACT_MAX 0
#endif

#ifdef ARC__SSE2_DIGITS
/* The 16 bytes at p less '0' each: a digit's value where there is one. */
static inline __m128i digit_values16(const char *p)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    return _mm_sub_epi8(x, _mm_set1_epi8('0'));
}

/* How many of those bytes lead as digits (0 to 16): a byte is one when its
 * value, less '0' and taken unsigned, is at most 9. */
static inline size_t lead_digits16(__m128i d)
{
    __m128i over = _mm_subs_epu8(d, _mm_set1_epi8(9));
    unsigned digit = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(over, _mm_setzero_si128()));
    return (size_t)__builtin_ctz(~digit); /* bits 16 and up of ~digit are set */
}

/* The 16 digit values in d as one decimal number, the first the most
 * significant: neighbours are joined in pairs (10a + b), the pairs in
 * fours (100a + b), the fours in eights (10000a + b), each step one
 * multiply-add of 16-bit lanes into 32-bit ones; then the two eights. */
static inline uint64_t value16(__m128i d)
{
    const __m128i zero = _mm_setzero_si128();
    const __m128i by10 = _mm_set_epi16(1, 10, 1, 10, 1, 10, 1, 10);
    const __m128i by100 = _mm_set_epi16(1, 100, 1, 100, 1, 100, 1, 100);
    const __m128i by10000 = _mm_set_epi16(1, 10000, 1, 10000, 1, 10000, 1, 10000);
    __m128i lo = _mm_madd_epi16(_mm_unpacklo_epi8(d, zero), by10);
    __m128i hi = _mm_madd_epi16(_mm_unpackhi_epi8(d, zero), by10);
    __m128i fours = _mm_madd_epi16(_mm_packs_epi32(lo, hi), by100);
    __m128i eights = _mm_madd_epi16(_mm_packs_epi32(fours, fours), by10000);
    uint64_t a = (uint32_t)_mm_cvtsi128_si32(eights);
    uint64_t b = (uint32_t)_mm_cvtsi128_si32(_mm_srli_si128(eights, 4));
    return a * 100000000u + b;
}

static const uint64_t pow10_u64[17] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull,
    1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull,
    100000000000000ull, 1000000000000000ull, 10000000000000000ull,
};
#endif

/* Appends the digits at p[*i, n) to *m (wrapping when there are more than
 * 19: the caller counts them and does not use *m then). Long runs, such as
 * the 16 or 17 digits of %.17g, go 16 bytes a step where the text is that
 * long: a run that ends inside the 16 is read again as the 16 bytes that
 * end with it, those before it counted as zeros, so its end takes no step
 * per digit either. Then eight bytes a step, then bytes. */
static inline void gather_digits(const char *p, size_t n, size_t *i, uint64_t *m)
{
    size_t j = *i;
    uint64_t v = *m;
#ifdef ARC__SSE2_DIGITS
    while (n - j >= 16) {
        __m128i d = digit_values16(p + j);
        size_t k = lead_digits16(d);
        if (k == 16) {
            v = v * pow10_u64[16] + value16(d);
            j += 16;
            continue;
        }
        if (k == 0)
            goto done;
        if (j + k >= 16) {
            /* The 16 bytes ending with the run, the 16 - k before it zeroed:
             * they lie in p[0, n), before the run's first digit. */
            const __m128i index =
                _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            __m128i before = _mm_cmplt_epi8(index, _mm_set1_epi8((char)(16 - k)));
            d = _mm_andnot_si128(before, digit_values16(p + j + k - 16));
            v = v * pow10_u64[k] + value16(d);
            j += k;
            goto done;
        }
        /* A short run near the start of the text ("3.14"): bytes, with
         * no test each, since the count is known. */
        for (size_t end = j + k; j < end; j++)
            v = v * 10 + (unsigned)(p[j] - '0');
        goto done;
    }
#endif
#ifdef ARC__SWAR_DIGITS
    uint64_t e;
    while (n - j >= 8 && arc__lead_digits8(p + j, &e) == 8) {
        v = v * 100000000u + e;
        j += 8;
    }
#endif
    for (; j < n && arc__is_digit(p[j]); j++)
        v = v * 10 + (unsigned)(p[j] - '0');
#ifdef ARC__SSE2_DIGITS
done:
#endif
    *i = j;
    *m = v;
}

/* One pass over the text: the grammar of arc__valid_double, with the digits
 * gathered as it goes. Most values a server sends have at most 19
 * significant digits and a small exponent; those are converted exactly
 * here. The rest (long mantissas, huge or tiny exponents, inf, nan, and
 * anything that is not a double) get 0, for arc__parse_double's slow path:
 * strtod is slower but just as exact, and arc__valid_double says what is
 * not a double. */
size_t arc__double_prefix(const char *p, size_t n, double *out)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && (p[0] == '-' || p[0] == '+')) {
        neg = p[0] == '-';
        i = 1;
    }
    if (i == n || !arc__is_digit(p[i]))
        return 0;
    /* The digits go into m with no check per digit: leading zeros are
     * skipped first, so the count of the rest says whether m holds them
     * all (19 digits are below 2^64); when it does not, m has wrapped and
     * is not used. */
    uint64_t m = 0;
    long e10 = 0;
    while (i < n && p[i] == '0')
        i++;
    size_t from = i;
    /* The integer part is usually a digit or two: its first four digits
     * by bytes, any more in steps. */
    while (i < n && arc__is_digit(p[i]) && i - from < 4)
        m = m * 10 + (unsigned)(p[i++] - '0');
    if (i - from == 4)
        gather_digits(p, n, &i, &m);
    size_t sig = i - from;
    if (i < n && p[i] == '.') {
        size_t f = ++i;
        if (sig == 0) /* 0.000123: these zeros only move the point */
            while (i < n && p[i] == '0')
                i++;
        size_t g = i;
        gather_digits(p, n, &i, &m);
        if (i == f)
            return 0;
        sig += i - g;
        e10 = -(long)(i - f);
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (p[i] == '-' || p[i] == '+'))
            eneg = p[i++] == '-';
        size_t f = i;
        long x = 0;
        for (; i < n && arc__is_digit(p[i]); i++)
            if (x < 100000) /* far past any double; stops the overflow */
                x = x * 10 + (p[i] - '0');
        if (i == f)
            return 0;
        e10 += eneg ? -x : x;
    }
    /* The bound holds here too (fuzz_double found a long run of zeros
     * taken by this path and refused by the slow one). */
    if (sig > 19 || i > ARC__DOUBLE_MAX)
        return 0;
    if (m == 0) {
        /* Zero whatever the exponent, with its sign, as strtod gives it. */
        *out = neg ? -0.0 : 0.0;
        return i;
    }
#if FLT_EVAL_METHOD == 0
    /* Clinger's fast path: m and 10^|e10| are both exact doubles, and one
     * IEEE multiplication or division rounds the exact result once. Only
     * where the arithmetic is done in double itself: x87 extended precision
     * would round twice. */
    if (m <= (1ull << 53) && e10 >= -22 && e10 <= 22) {
        double v = (double)m;
        v = e10 < 0 ? v / exact_pow10[-e10] : v * exact_pow10[e10];
        *out = neg ? -v : v;
        return i;
    }
#endif
    if (e10 >= -SCALE_EXACT_MAX && e10 <= SCALE_EXACT_MAX && scale_exact(m, (int)e10, neg, out))
        return i;
    return 0;
}

bool arc__parse_double(const char *p, size_t n, double *out)
{
    if (n > ARC__DOUBLE_MAX)
        return false;
    double v;
    if (n > 0 && arc__double_prefix(p, n, &v) == n) {
        *out = v;
        return true;
    }
    /* Whatever the prefix did not take whole: the slow path checks the
     * grammar, so a number with bytes after it is refused there. */
    return to_double_slow(p, n, out);
}
