/* text.h (arc-fanout): a growing byte string for building output lines. */
#ifndef ARC_FANOUT_TEXT_H
#define ARC_FANOUT_TEXT_H

#include <arc/base.h>

#include <stdbool.h>
#include <stddef.h>

/* Zero-initialised is empty and valid. Appends never fail visibly: when
 * memory runs out the text stops growing and `failed` is set, so that a
 * caller builds a whole line and checks once (an output line cut short is
 * then reported, not printed as if whole). `s` is NUL-terminated whenever
 * len > 0. */
typedef struct fo_text {
    char *s;
    size_t len;
    size_t cap;
    bool failed;
} fo_text;

void fo_text_put(fo_text *t, const void *bytes, size_t n);
void fo_text_puts(fo_text *t, const char *str);
void fo_text_putc(fo_text *t, char c);
void fo_text_printf(fo_text *t, const char *fmt, ...) ARC_PRINTF(2, 3);
/* Empties the text and keeps its memory. */
void fo_text_clear(fo_text *t);
/* Cuts the text back to `len` bytes (no-op when it is shorter). */
void fo_text_truncate(fo_text *t, size_t len);
/* The bytes as a C string ("" when empty); valid until the next change. */
const char *fo_text_str(const fo_text *t);
void fo_text_free(fo_text *t);

#endif
