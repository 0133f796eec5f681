/* render.c (arc-fanout): the reply forms of render.h. */
#include "render.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static const char hex[] = "0123456789abcdef";

/* Stops appending once the text reaches `stop` bytes (SIZE_MAX: never), so
 * that a brief form of a huge reply costs no more than what is shown. */
typedef struct line_out {
    fo_text *t;
    size_t stop;
} line_out;

static bool full(const line_out *o)
{
    return o->t->len >= o->stop;
}

static void escape_into(line_out *o, const char *s, size_t n, bool quoted)
{
    for (size_t i = 0; i < n && !full(o); i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[4] = {'\\', 0, 0, 0};
        size_t len = 2;
        switch (c) {
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            if (c == '"' && quoted) {
                esc[1] = '"';
            } else if (c >= 0x20 && c < 0x7f) {
                esc[0] = (char)c;
                len = 1;
            } else {
                esc[1] = 'x';
                esc[2] = hex[c >> 4];
                esc[3] = hex[c & 15];
                len = 4;
            }
        }
        fo_text_put(o->t, esc, len);
    }
}

void fo_escape_line(fo_text *t, const char *s, size_t n)
{
    line_out o = {t, SIZE_MAX};
    escape_into(&o, s, n, false);
}

/* Lines as a reader of the text sees them: a final newline ends the last
 * line rather than starting another. */
static size_t count_lines(const char *s, size_t n)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += s[i] == '\n';
    if (n > 0 && s[n - 1] != '\n')
        lines++;
    return lines;
}

static void element(line_out *o, const arc_reply *r);

static const char *aggregate_name(int type)
{
    switch (type) {
    case ARC_REPLY_SET: return "set";
    case ARC_REPLY_PUSH: return "push";
    case ARC_REPLY_MAP: return "map";
    default: return "array";
    }
}

/* The members of an aggregate, `between` each: maps as key: value. */
static void members(line_out *o, const arc_reply *r, const char *between)
{
    bool map = r->type == ARC_REPLY_MAP;
    size_t step = map ? 2 : 1;
    for (size_t i = 0; i + step - 1 < r->elements && !full(o); i += step) {
        if (i > 0)
            fo_text_puts(o->t, between);
        element(o, r->element[i]);
        if (map) {
            fo_text_puts(o->t, ": ");
            element(o, r->element[i + 1]);
        }
    }
}

/* The forms that are the same at the top and inside an aggregate. */
static bool scalar(line_out *o, const arc_reply *r)
{
    switch (r->type) {
    case ARC_REPLY_ERROR:
        fo_text_puts(o->t, "(error) ");
        escape_into(o, r->str, r->len, false);
        return true;
    case ARC_REPLY_STATUS: escape_into(o, r->str, r->len, false); return true;
    default: return false;
    }
}

static void element(line_out *o, const arc_reply *r)
{
    if (r == NULL || full(o) || scalar(o, r))
        return;
    switch (r->type) {
    case ARC_REPLY_STRING:
    case ARC_REPLY_VERB:
        fo_text_putc(o->t, '"');
        escape_into(o, r->str, r->len, true);
        fo_text_putc(o->t, '"');
        break;
    case ARC_REPLY_INTEGER: fo_text_printf(o->t, "%lld", r->integer); break;
    case ARC_REPLY_NIL: fo_text_puts(o->t, "nil"); break;
    case ARC_REPLY_BOOL: fo_text_puts(o->t, r->integer ? "true" : "false"); break;
    case ARC_REPLY_DOUBLE:
    case ARC_REPLY_BIGNUM: escape_into(o, r->str, r->len, false); break;
    case ARC_REPLY_MAP:
        fo_text_putc(o->t, '{');
        members(o, r, ", ");
        fo_text_putc(o->t, '}');
        break;
    case ARC_REPLY_ARRAY:
    case ARC_REPLY_SET:
    case ARC_REPLY_PUSH:
        fo_text_putc(o->t, '[');
        members(o, r, " ");
        fo_text_putc(o->t, ']');
        break;
    default: fo_text_printf(o->t, "(%s)", arc_reply_type_name(r->type)); break;
    }
}

void fo_reply_line(fo_text *t, const arc_reply *r, bool brief, size_t limit)
{
    line_out o = {t, SIZE_MAX};
    if (limit > 0 && limit < SIZE_MAX - t->len)
        o.stop = t->len + limit;
    if (r == NULL || scalar(&o, r))
        return;
    switch (r->type) {
    case ARC_REPLY_STRING:
    case ARC_REPLY_VERB: {
        size_t lines = brief ? count_lines(r->str, r->len) : 1;
        if (lines <= 1) {
            escape_into(&o, r->str, r->len, false);
            break;
        }
        const char *nl = memchr(r->str, '\n', r->len);
        size_t first = (size_t)(nl - r->str);
        if (first > 0 && r->str[first - 1] == '\r')
            first--;
        escape_into(&o, r->str, first, false);
        fo_text_printf(t, " (%zu lines)", lines);
        break;
    }
    case ARC_REPLY_INTEGER: fo_text_printf(t, "(integer) %lld", r->integer); break;
    case ARC_REPLY_NIL: fo_text_puts(t, "(nil)"); break;
    case ARC_REPLY_BOOL: fo_text_puts(t, r->integer ? "(true)" : "(false)"); break;
    case ARC_REPLY_DOUBLE:
        fo_text_puts(t, "(double) ");
        escape_into(&o, r->str, r->len, false);
        break;
    case ARC_REPLY_BIGNUM:
        fo_text_puts(t, "(bignum) ");
        escape_into(&o, r->str, r->len, false);
        break;
    case ARC_REPLY_ARRAY:
    case ARC_REPLY_SET:
    case ARC_REPLY_PUSH:
    case ARC_REPLY_MAP: {
        size_t n = r->type == ARC_REPLY_MAP ? r->elements / 2 : r->elements;
        if (n == 0) {
            fo_text_printf(t, "(empty %s)", aggregate_name(r->type));
            break;
        }
        fo_text_printf(t, "(%s of %zu) ", aggregate_name(r->type), n);
        members(&o, r, r->type == ARC_REPLY_MAP ? ", " : " ");
        break;
    }
    default: element(&o, r); break;
    }
}

/* The length of the valid UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

void fo_json_string(fo_text *t, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    fo_text_putc(t, '"');
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        if (c >= 0x80) {
            size_t len = utf8_len(u + i, n - i);
            if (len > 0) {
                fo_text_put(t, s + i, len);
                i += len;
            } else {
                fo_text_printf(t, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
                i++;
            }
            continue;
        }
        switch (c) {
        case '"': fo_text_puts(t, "\\\""); break;
        case '\\': fo_text_puts(t, "\\\\"); break;
        case '\n': fo_text_puts(t, "\\n"); break;
        case '\r': fo_text_puts(t, "\\r"); break;
        case '\t': fo_text_puts(t, "\\t"); break;
        case '\b': fo_text_puts(t, "\\b"); break;
        case '\f': fo_text_puts(t, "\\f"); break;
        default:
            if (c < 0x20 || c == 0x7f)
                fo_text_printf(t, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
            else
                fo_text_putc(t, (char)c);
        }
        i++;
    }
    fo_text_putc(t, '"');
}

void fo_json_cstring(fo_text *t, const char *s)
{
    fo_json_string(t, s, strlen(s));
}

static bool string_keys(const arc_reply *r)
{
    for (size_t i = 0; i < r->elements; i += 2) {
        const arc_reply *k = r->element[i];
        if (k == NULL || (k->type != ARC_REPLY_STRING && k->type != ARC_REPLY_STATUS &&
                          k->type != ARC_REPLY_VERB))
            return false;
    }
    return true;
}

void fo_json_reply(fo_text *t, const arc_reply *r)
{
    if (r == NULL) {
        fo_text_puts(t, "null");
        return;
    }
    switch (r->type) {
    case ARC_REPLY_STRING:
    case ARC_REPLY_STATUS:
    case ARC_REPLY_VERB:
    case ARC_REPLY_BIGNUM: fo_json_string(t, r->str, r->len); break;
    case ARC_REPLY_INTEGER: fo_text_printf(t, "%lld", r->integer); break;
    case ARC_REPLY_DOUBLE:
        if (isfinite(r->dval))
            fo_text_printf(t, "%.17g", r->dval);
        else
            fo_json_string(t, r->str, r->len);
        break;
    case ARC_REPLY_BOOL: fo_text_puts(t, r->integer ? "true" : "false"); break;
    case ARC_REPLY_NIL: fo_text_puts(t, "null"); break;
    case ARC_REPLY_ERROR:
        fo_text_puts(t, "{\"error\":");
        fo_json_string(t, r->str, r->len);
        fo_text_putc(t, '}');
        break;
    case ARC_REPLY_MAP: {
        bool object = string_keys(r);
        fo_text_putc(t, object ? '{' : '[');
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
            if (i > 0)
                fo_text_putc(t, ',');
            if (!object)
                fo_text_putc(t, '[');
            fo_json_reply(t, r->element[i]);
            fo_text_putc(t, object ? ':' : ',');
            fo_json_reply(t, r->element[i + 1]);
            if (!object)
                fo_text_putc(t, ']');
        }
        fo_text_putc(t, object ? '}' : ']');
        break;
    }
    case ARC_REPLY_ARRAY:
    case ARC_REPLY_SET:
    case ARC_REPLY_PUSH:
        fo_text_putc(t, '[');
        for (size_t i = 0; i < r->elements; i++) {
            if (i > 0)
                fo_text_putc(t, ',');
            fo_json_reply(t, r->element[i]);
        }
        fo_text_putc(t, ']');
        break;
    default: fo_json_cstring(t, arc_reply_type_name(r->type)); break;
    }
}
