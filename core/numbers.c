/* numbers.c: the numbers and literals inside RESP lines, parsed with ASCII
 * rules only and never past the bytes they are given. */
#include "numbers.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

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
 * strtod uses the current locale's decimal point instead. */
double arc__to_double(const char *p, size_t n)
{
    char tmp[128];
    const char *dp = localeconv()->decimal_point;
    size_t dl = dp && dp[0] ? strlen(dp) : 1;
    size_t j = 0;
    for (size_t i = 0; i < n && j + dl < sizeof tmp; i++) {
        if (p[i] == '.' && dp && dp[0]) {
            memcpy(tmp + j, dp, dl);
            j += dl;
        } else {
            tmp[j++] = p[i];
        }
    }
    tmp[j] = '\0';
    return strtod(tmp, NULL);
}

