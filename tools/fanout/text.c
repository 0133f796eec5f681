/* text.c (arc-fanout): the growing byte string of text.h. */
#include "text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for `n` more bytes and a NUL. */
static bool reserve(fo_text *t, size_t n)
{
    if (t->failed)
        return false;
    if (n > SIZE_MAX - t->len - 1) {
        t->failed = true;
        return false;
    }
    size_t need = t->len + n + 1;
    if (need <= t->cap)
        return true;
    size_t cap = t->cap ? t->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *s = realloc(t->s, cap);
    if (s == NULL) {
        t->failed = true;
        return false;
    }
    t->s = s;
    t->cap = cap;
    return true;
}

void fo_text_put(fo_text *t, const void *bytes, size_t n)
{
    if (n == 0 || !reserve(t, n))
        return;
    memcpy(t->s + t->len, bytes, n);
    t->len += n;
    t->s[t->len] = '\0';
}

void fo_text_puts(fo_text *t, const char *str)
{
    fo_text_put(t, str, strlen(str));
}

void fo_text_putc(fo_text *t, char c)
{
    fo_text_put(t, &c, 1);
}

void fo_text_printf(fo_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[128];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        fo_text_put(t, small, (size_t)n);
        return;
    }
    /* Longer than the stack buffer: format again straight into the text. */
    if (!reserve(t, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

void fo_text_clear(fo_text *t)
{
    fo_text_truncate(t, 0);
}

void fo_text_truncate(fo_text *t, size_t len)
{
    if (len < t->len) {
        t->len = len;
        t->s[len] = '\0';
    }
}

const char *fo_text_str(const fo_text *t)
{
    return t->len > 0 ? t->s : "";
}

void fo_text_free(fo_text *t)
{
    free(t->s);
    *t = (fo_text){0};
}
