/* json_check.c (tests): the strict JSON reader of json_check.h. */
#include "json_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nested values the reader follows; the tool's replies are shallow. */
#define MAX_DEPTH 64

typedef struct reader {
    const unsigned char *p;
    const unsigned char *end;
    const unsigned char *start;
    char *err;
    size_t errlen;
    bool failed;
} reader;

static void fail(reader *r, const char *why)
{
    if (!r->failed)
        snprintf(r->err, r->errlen, "%s at offset %zu", why, (size_t)(r->p - r->start));
    r->failed = true;
}

static void skip_ws(reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static bool take(reader *r, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return false;
    r->p += n;
    return true;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool hex4(reader *r, unsigned *out)
{
    if (r->end - r->p < 4)
        return false;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(r->p[i]);
        if (h < 0)
            return false;
        v = v * 16 + (unsigned)h;
    }
    r->p += 4;
    *out = v;
    return true;
}

static void put_utf8(char *dst, size_t *n, unsigned cp)
{
    if (cp < 0x80) {
        dst[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        dst[(*n)++] = (char)(0xc0 | (cp >> 6));
        dst[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        dst[(*n)++] = (char)(0xe0 | (cp >> 12));
        dst[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        dst[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        dst[(*n)++] = (char)(0xf0 | (cp >> 18));
        dst[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        dst[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        dst[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

/* A raw multi-byte character: checked by decoding it and refusing
 * overlong forms, surrogates and values past U+10FFFF. */
static size_t raw_utf8(const unsigned char *p, const unsigned char *end)
{
    size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;
    if (len == 0 || p[0] >= 0xf8 || (size_t)(end - p) < len)
        return 0;
    unsigned cp = p[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* After the opening quote; the decoded text is at most as long as the
 * encoded one. */
static char *string(reader *r, size_t *outlen)
{
    char *s = malloc((size_t)(r->end - r->p) + 1);
    size_t n = 0;
    if (s == NULL) {
        fail(r, "out of memory");
        return NULL;
    }
    while (r->p < r->end && *r->p != '"') {
        unsigned char c = *r->p;
        if (c < 0x20) {
            fail(r, "raw control character in a string");
            break;
        }
        if (c >= 0x80) {
            size_t len = raw_utf8(r->p, r->end);
            if (len == 0) {
                fail(r, "invalid UTF-8 in a string");
                break;
            }
            memcpy(s + n, r->p, len);
            n += len;
            r->p += len;
            continue;
        }
        r->p++;
        if (c != '\\') {
            s[n++] = (char)c;
            continue;
        }
        if (r->p >= r->end) {
            fail(r, "unfinished escape");
            break;
        }
        c = *r->p++;
        const char *simple = strchr("\"\\/bfnrt", c);
        if (c != 0 && simple != NULL) {
            static const char real[] = "\"\\/\b\f\n\r\t";
            s[n++] = real[simple - "\"\\/bfnrt"];
            continue;
        }
        unsigned cp;
        if (c != 'u' || !hex4(r, &cp)) {
            fail(r, "bad escape");
            break;
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
            unsigned lo;
            if (!take(r, "\\u") || !hex4(r, &lo) || lo < 0xdc00 || lo > 0xdfff) {
                fail(r, "lone high surrogate");
                break;
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            fail(r, "lone low surrogate");
            break;
        }
        /* A \u escape decodes to at most 4 bytes from at least 6. */
        put_utf8(s, &n, cp);
    }
    if (!r->failed && r->p >= r->end)
        fail(r, "unterminated string");
    if (r->failed) {
        free(s);
        return NULL;
    }
    r->p++; /* the closing quote */
    s[n] = '\0';
    *outlen = n;
    return s;
}

static bool number(reader *r, double *out)
{
    const unsigned char *s = r->p;
    if (r->p < r->end && *r->p == '-')
        r->p++;
    if (r->p >= r->end || *r->p < '0' || *r->p > '9')
        return false;
    if (*r->p == '0')
        r->p++;
    else
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    if (r->p < r->end && *r->p == '.') {
        r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9')
            return false;
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9')
            return false;
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    char buf[64];
    size_t n = (size_t)(r->p - s);
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL);
    return true;
}

static jv *value(reader *r, int depth);

static bool push(reader *r, jv *v, jv *item, char *key)
{
    jv **items = realloc(v->items, (v->n + 1) * sizeof *items);
    if (items != NULL)
        v->items = items;
    char **keys = v->type == JV_OBJECT ? realloc(v->keys, (v->n + 1) * sizeof *keys) : NULL;
    if (keys != NULL)
        v->keys = keys;
    if (items == NULL || (v->type == JV_OBJECT && keys == NULL)) {
        fail(r, "out of memory");
        jv_free(item);
        free(key);
        return false;
    }
    v->items[v->n] = item;
    if (v->type == JV_OBJECT)
        v->keys[v->n] = key;
    v->n++;
    return true;
}

/* After the opening bracket or brace. */
static void members(reader *r, jv *v, int depth)
{
    char close = v->type == JV_OBJECT ? '}' : ']';
    skip_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return;
    }
    for (;;) {
        char *key = NULL;
        if (v->type == JV_OBJECT) {
            size_t klen;
            skip_ws(r);
            if (r->p >= r->end || *r->p != '"') {
                fail(r, "expected a key");
                return;
            }
            r->p++;
            if ((key = string(r, &klen)) == NULL)
                return;
            skip_ws(r);
            if (!take(r, ":")) {
                free(key);
                fail(r, "expected ':'");
                return;
            }
        }
        jv *item = value(r, depth + 1);
        if (item == NULL) {
            free(key);
            return;
        }
        if (!push(r, v, item, key))
            return;
        skip_ws(r);
        if (take(r, ","))
            continue;
        if (r->p < r->end && *r->p == close) {
            r->p++;
            return;
        }
        fail(r, v->type == JV_OBJECT ? "expected ',' or '}'" : "expected ',' or ']'");
        return;
    }
}

static jv *value(reader *r, int depth)
{
    if (depth > MAX_DEPTH) {
        fail(r, "nested too deep");
        return NULL;
    }
    skip_ws(r);
    jv *v = calloc(1, sizeof *v);
    if (v == NULL) {
        fail(r, "out of memory");
        return NULL;
    }
    if (take(r, "null")) {
        v->type = JV_NULL;
    } else if (take(r, "true") || take(r, "false")) {
        v->type = JV_BOOL;
        v->boolean = r->p[-1] == 'e' && r->p[-2] == 'u';
    } else if (r->p < r->end && *r->p == '"') {
        r->p++;
        v->type = JV_STRING;
        v->str = string(r, &v->len);
    } else if (r->p < r->end && (*r->p == '[' || *r->p == '{')) {
        v->type = *r->p == '[' ? JV_ARRAY : JV_OBJECT;
        r->p++;
        members(r, v, depth);
    } else {
        v->type = JV_NUMBER;
        if (!number(r, &v->number))
            fail(r, "expected a value");
    }
    if (r->failed) {
        jv_free(v);
        return NULL;
    }
    return v;
}

jv *jv_parse(const char *text, size_t len, char *err, size_t errlen)
{
    reader r = {(const unsigned char *)text,
                (const unsigned char *)text + len,
                (const unsigned char *)text,
                err,
                errlen,
                false};
    jv *v = value(&r, 0);
    if (v != NULL) {
        skip_ws(&r);
        if (r.p != r.end) {
            fail(&r, "text after the value");
            jv_free(v);
            v = NULL;
        }
    }
    return v;
}

const jv *jv_get(const jv *v, const char *key)
{
    if (v == NULL || v->type != JV_OBJECT)
        return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->keys[i], key) == 0)
            return v->items[i];
    return NULL;
}

void jv_free(jv *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->n; i++) {
        jv_free(v->items[i]);
        if (v->keys != NULL)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}
