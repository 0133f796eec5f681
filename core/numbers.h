/* numbers.h (internal): parsing the numbers and literals of RESP lines. */
#ifndef ARC_CORE_NUMBERS_H
#define ARC_CORE_NUMBERS_H

#include <stdbool.h>
#include <stddef.h>

/* No <ctype.h>: protocol bytes are ASCII whatever the locale says. */
static inline bool arc__is_digit(char c)
{
    return c >= '0' && c <= '9';
}

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

#endif
