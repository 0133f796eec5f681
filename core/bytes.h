/* bytes.h (internal): copying the short strings that commands and replies
 * are mostly made of (keys, fields, small values). */
#ifndef ARC_CORE_BYTES_H
#define ARC_CORE_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* memcpy(d, s, n) without the call for n <= 16: two overlapping moves of the
 * widest size that fits, reading and writing only [0, n). A call to memcpy
 * costs more than the copy itself at these sizes, and per command there are
 * three or more. */
static inline void arc__copy_short(char *d, const char *s, size_t n)
{
    if (n > 16) {
        memcpy(d, s, n);
    } else if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n > 0) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

#endif
