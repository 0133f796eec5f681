/* resp_notation.h (tests): replies written in a compact notation, turned
 * into RESP2 or RESP3 bytes and read back with the reader, so that one
 * fixture tests both protocols:
 *   [ ... ]   array            { k v ... }  map (RESP2: flat array)
 *   < ... >   set (RESP2: array)
 *   :12       integer          'text'       bulk string ('' is empty,
 *   +word     simple string                 \0 a NUL byte)
 *   _         null (RESP2: $-1)
 *   ,1.5      double (RESP2: the bulk string "1.5")
 * Include after <cmocka.h>: a malformed fixture fails the test. */
#ifndef ARC_TEST_RESP_NOTATION_H
#define ARC_TEST_RESP_NOTATION_H

#include <arc/reader.h>
#include <arc/reply.h>
#include <arc/status.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct resp_text {
    char *p;
    size_t len, cap;
} resp_text;

static inline void resp_put(resp_text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *p = realloc(t->p, cap);
        assert_non_null(p);
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static inline void resp_putf(resp_text *t, const char *fmt, ...) ARC_PRINTF(2, 3);

static inline void resp_putf(resp_text *t, const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    resp_put(t, buf, (size_t)n);
}

static inline void resp_skip_space(const char **s)
{
    while (**s == ' ' || **s == '\n')
        (*s)++;
}

/* One value of the notation at *s into `out`; returns false at a closer. */
static inline bool resp_convert(const char **s, resp_text *out, int resp)
{
    resp_skip_space(s);
    char c = **s;
    if (c == ']' || c == '}' || c == '>' || c == '\0')
        return false;
    (*s)++;
    if (c == '[' || c == '{' || c == '<') {
        resp_text kids = {0};
        size_t n = 0;
        while (resp_convert(s, &kids, resp))
            n++;
        char want = c == '[' ? ']' : c == '{' ? '}' : '>';
        if (**s != want)
            fail_msg("fixture: '%c' closed by '%c'", c, **s);
        (*s)++;
        if (c == '{' && resp == 3)
            resp_putf(out, "%%%zu\r\n", n / 2);
        else if (c == '<' && resp == 3)
            resp_putf(out, "~%zu\r\n", n);
        else
            resp_putf(out, "*%zu\r\n", n);
        if (kids.len > 0)
            resp_put(out, kids.p, kids.len);
        free(kids.p);
        return true;
    }
    const char *start = *s;
    if (c == '\'') {
        resp_text body = {0};
        resp_put(&body, "", 0);
        while (**s != '\'' && **s != '\0') {
            if (**s == '\\' && (*s)[1] == '0') {
                resp_put(&body, "\0", 1);
                *s += 2;
            } else {
                resp_put(&body, *s, 1);
                (*s)++;
            }
        }
        if (**s != '\'')
            fail_msg("fixture: unterminated string");
        (*s)++;
        resp_putf(out, "$%zu\r\n", body.len);
        resp_put(out, body.p, body.len);
        resp_put(out, "\r\n", 2);
        free(body.p);
        return true;
    }
    while (**s != ' ' && **s != '\n' && **s != '\0' && **s != ']' && **s != '}' && **s != '>')
        (*s)++;
    size_t n = (size_t)(*s - start);
    if (c == ':' || c == '+') {
        resp_put(out, &c, 1);
        resp_put(out, start, n);
        resp_put(out, "\r\n", 2);
    } else if (c == '_') {
        resp_put(out, resp == 3 ? "_\r\n" : "$-1\r\n", resp == 3 ? 3 : 5);
    } else if (c == ',') {
        if (resp == 3) {
            resp_put(out, ",", 1);
            resp_put(out, start, n);
            resp_put(out, "\r\n", 2);
        } else {
            resp_putf(out, "$%zu\r\n", n);
            resp_put(out, start, n);
            resp_put(out, "\r\n", 2);
        }
    } else {
        fail_msg("fixture: unknown token '%c'", c);
    }
    return true;
}

/* A reply (the caller frees it with arc_reply_free) from RESP bytes. */
static inline arc_reply *from_resp(const char *bytes, size_t len)
{
    arc_reader *r = arc_reader_new(NULL, NULL);
    assert_non_null(r);
    assert_int_equal(arc_reader_feed(r, bytes, len), ARC_OK);
    arc_reply *out = NULL;
    if (arc_reader_next(r, &out) != ARC_OK || out == NULL)
        fail_msg("fixture: the reader said '%s'", arc_reader_error(r));
    arc_reply *copy = arc_reply_dup(out, NULL);
    assert_non_null(copy);
    arc_reader_free(r);
    return copy;
}

/* A reply from the notation, in RESP2 or RESP3 form. */
static inline arc_reply *reply_of(const char *notation, int resp)
{
    resp_text t = {0};
    const char *s = notation;
    if (!resp_convert(&s, &t, resp))
        fail_msg("fixture: empty");
    resp_skip_space(&s);
    if (*s != '\0')
        fail_msg("fixture: trailing '%s'", s);
    arc_reply *r = from_resp(t.p, t.len);
    free(t.p);
    return r;
}

#endif
