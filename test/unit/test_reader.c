/* test_reader.c: pins the RESP reader: every type, every split point, every
 * limit at its edge, every malformed form, and allocation failures. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arc/reader.h>
#include <arc/reply.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* A counting allocator that can fail the Nth allocation. */

typedef struct test_alloc {
    size_t calls;       /* allocation attempts: every call with size > 0 */
    size_t fail_at;     /* 0: never fail; else the attempt that fails */
    bool fail_onwards;  /* also fail every attempt after fail_at */
    size_t failures;    /* attempts refused so far */
    long live;          /* blocks handed out and not yet freed */
    size_t max_request; /* the largest size ever asked for */
} test_alloc;

static void *counting_realloc(void *ud, void *ptr, size_t size)
{
    test_alloc *t = ud;
    if (size == 0) {
        if (ptr != NULL) {
            t->live--;
            free(ptr);
        }
        return NULL;
    }
    t->calls++;
    if (size > t->max_request)
        t->max_request = size;
    if (t->fail_at != 0 &&
        (t->calls == t->fail_at || (t->fail_onwards && t->calls > t->fail_at))) {
        t->failures++;
        return NULL;
    }
    void *p = realloc(ptr, size);
    if (p != NULL && ptr == NULL)
        t->live++;
    return p;
}

static arc_allocator allocator_of(test_alloc *t)
{
    arc_allocator a = {counting_realloc, t};
    return a;
}

/* ------------------------------------------------------------------------ */
/* Expected trees, written in pre-order like the wire: an aggregate entry is
 * followed by its children, and an attribute entry (W_ATTR) is followed by
 * its key/value entries and then by the node it hangs on. */

typedef struct want {
    int type;
    long long integer;  /* INTEGER, BOOL */
    double dval;        /* DOUBLE */
    const char *str;    /* STRING, STATUS, ERROR, DOUBLE (its text), BIGNUM, VERB */
    size_t len;
    const char *vtype;  /* VERB */
    size_t elements;    /* aggregates: children (2 per pair for MAP and ATTR) */
} want;

#define W_TEXT(t, s) {(t), 0, 0.0, (s), sizeof(s) - 1, NULL, 0}
#define W_STR(s) W_TEXT(ARC_REPLY_STRING, s)
#define W_STATUS(s) W_TEXT(ARC_REPLY_STATUS, s)
#define W_ERR(s) W_TEXT(ARC_REPLY_ERROR, s)
#define W_BIG(s) W_TEXT(ARC_REPLY_BIGNUM, s)
#define W_VERB(vt, s) {ARC_REPLY_VERB, 0, 0.0, (s), sizeof(s) - 1, (vt), 0}
#define W_DBL(v, text) {ARC_REPLY_DOUBLE, 0, (v), (text), sizeof(text) - 1, NULL, 0}
#define W_INT(n) {ARC_REPLY_INTEGER, (n), 0.0, NULL, 0, NULL, 0}
#define W_BOOL(b) {ARC_REPLY_BOOL, (b), 0.0, NULL, 0, NULL, 0}
#define W_NIL {ARC_REPLY_NIL, 0, 0.0, NULL, 0, NULL, 0}
#define W_AGG(t, n) {(t), 0, 0.0, NULL, 0, NULL, (n)}
#define W_ARR(n) W_AGG(ARC_REPLY_ARRAY, n)
#define W_SET(n) W_AGG(ARC_REPLY_SET, n)
#define W_PUSH(n) W_AGG(ARC_REPLY_PUSH, n)
#define W_MAP(pairs) W_AGG(ARC_REPLY_MAP, 2 * (pairs))
#define W_ATTR(pairs) W_AGG(ARC_REPLY_ATTR, 2 * (pairs))

static bool is_text_type(int type)
{
    return type == ARC_REPLY_STRING || type == ARC_REPLY_STATUS || type == ARC_REPLY_ERROR ||
           type == ARC_REPLY_DOUBLE || type == ARC_REPLY_BIGNUM || type == ARC_REPLY_VERB;
}

static bool is_aggregate_type(int type)
{
    return type == ARC_REPLY_ARRAY || type == ARC_REPLY_MAP || type == ARC_REPLY_SET ||
           type == ARC_REPLY_PUSH || type == ARC_REPLY_ATTR;
}

/* Walks expected entries while checking replies; remembers the first
 * mismatch with the path of the node where it was found. */
typedef struct cursor {
    const want *w;
    size_t n;
    size_t i;
    char err[512];
} cursor;

static bool mismatch(cursor *c, const char *path, const char *fmt, ...) ARC_PRINTF(3, 4);

static bool mismatch(cursor *c, const char *path, const char *fmt, ...)
{
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(c->err, sizeof c->err, "at %s (expected entry %zu): %s", path, c->i, what);
    return false;
}

static bool check_node(cursor *c, const arc_reply *r, const char *path);

/* The node itself, without looking at its attribute. */
static bool check_body(cursor *c, const arc_reply *r, const char *path)
{
    if (c->i >= c->n)
        return mismatch(c, path, "a reply of type %s came, none was expected",
                        arc_reply_type_name(r->type));
    const want *w = &c->w[c->i];
    if (r->type != w->type)
        return mismatch(c, path, "type %s, expected %s", arc_reply_type_name(r->type),
                        arc_reply_type_name(w->type));
    c->i++;
    if (is_text_type(r->type)) {
        if (r->str == NULL)
            return mismatch(c, path, "str is NULL");
        if (r->len != w->len || memcmp(r->str, w->str, w->len) != 0)
            return mismatch(c, path, "str \"%.*s\" (len %zu), expected \"%.*s\" (len %zu)",
                            (int)(r->len < 80 ? r->len : 80), r->str, r->len,
                            (int)(w->len < 80 ? w->len : 80), w->str, w->len);
        if (r->str[r->len] != '\0')
            return mismatch(c, path, "str[len] is not NUL");
    }
    switch (r->type) {
    case ARC_REPLY_INTEGER:
    case ARC_REPLY_BOOL:
        if (r->integer != w->integer)
            return mismatch(c, path, "integer %lld, expected %lld", r->integer, w->integer);
        break;
    case ARC_REPLY_DOUBLE:
        if (isnan(w->dval) ? !isnan(r->dval)
                           : r->dval != w->dval || signbit(r->dval) != signbit(w->dval))
            return mismatch(c, path, "dval %.17g, expected %.17g", r->dval, w->dval);
        break;
    case ARC_REPLY_VERB:
        if (memcmp(r->vtype, w->vtype, 4) != 0)
            return mismatch(c, path, "vtype \"%.4s\", expected \"%s\"", r->vtype, w->vtype);
        break;
    default:
        break;
    }
    if (is_aggregate_type(r->type)) {
        if (r->elements != w->elements)
            return mismatch(c, path, "%zu elements, expected %zu", r->elements, w->elements);
        if (r->elements > 0 && r->element == NULL)
            return mismatch(c, path, "element is NULL with %zu elements", r->elements);
        for (size_t k = 0; k < r->elements; k++) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s[%zu]", path, k);
            if (r->element[k] == NULL)
                return mismatch(c, sub, "element is NULL");
            if (!check_node(c, r->element[k], sub))
                return false;
        }
    }
    return true;
}

/* Skips one expected subtree starting at i (with any attributes written
 * before it) and returns the index after it. */
static size_t skip_entry(const want *w, size_t n, size_t i)
{
    size_t todo = 1;
    while (todo > 0 && i < n) {
        todo--;
        if (w[i].type == ARC_REPLY_ATTR) {
            todo += w[i].elements + 1; /* its children, then the node it is on */
        } else if (is_aggregate_type(w[i].type)) {
            todo += w[i].elements;
        }
        i++;
    }
    return i;
}

/* Attributes in the expected list come before their node, oldest first, as
 * on the wire. The reply keeps the newest on the node and each older one on
 * the attribute after it (two in a row keep both), so the chain is walked
 * newest first. */
static bool check_node(cursor *c, const arc_reply *r, const char *path)
{
    /* Gather the attributes written before this node: starts of each. */
    size_t starts[8], nattr = 0;
    while (c->i < c->n && c->w[c->i].type == ARC_REPLY_ATTR) {
        if (nattr == sizeof starts / sizeof starts[0])
            return mismatch(c, path, "too many attributes in a row for this checker");
        starts[nattr++] = c->i;
        /* Skip this attribute's own entries (not the node after it). */
        size_t i = c->i + 1;
        for (size_t k = 0; k < c->w[starts[nattr - 1]].elements; k++)
            i = skip_entry(c->w, c->n, i);
        c->i = i;
    }
    size_t node_at = c->i;
    /* Check them newest first along the chain reply->attribute->attribute. */
    const arc_reply *a = r->attribute;
    char sub[256];
    snprintf(sub, sizeof sub, "%s", path);
    for (size_t k = nattr; k-- > 0;) {
        size_t len = strlen(sub);
        snprintf(sub + len, sizeof sub - len, ".attribute");
        if (a == NULL)
            return mismatch(c, sub, "missing: %zu attribute(s) were expected", nattr);
        c->i = starts[k];
        if (!check_body(c, a, sub))
            return false;
        a = a->attribute;
    }
    if (a != NULL)
        return mismatch(c, path, "an unexpected attribute (%zu elements)", a->elements);
    c->i = node_at;
    if (r->type == ARC_REPLY_ATTR)
        return mismatch(c, path, "an attribute came out as a node of its own");
    return check_body(c, r, path);
}

/* ------------------------------------------------------------------------ */
/* Valid examples: input bytes and the replies they must give. */

typedef struct example {
    const char *name;
    const char *in;
    size_t len;
    const want *w;
    size_t nw;
} example;

#define WANTS(...) (const want[]){__VA_ARGS__}, sizeof((const want[]){__VA_ARGS__}) / sizeof(want)
#define EX(name, in, ...) {name, in, sizeof(in) - 1, WANTS(__VA_ARGS__)}

static const example examples[] = {
    /* RESP2 */
    EX("status", "+OK\r\n", W_STATUS("OK")),
    EX("status empty", "+\r\n", W_STATUS("")),
    EX("status with spaces", "+hello world\r\n", W_STATUS("hello world")),
    EX("error", "-ERR unknown command 'foo'\r\n", W_ERR("ERR unknown command 'foo'")),
    EX("integer", ":1000\r\n", W_INT(1000)),
    EX("integer zero", ":0\r\n", W_INT(0)),
    EX("integer negative", ":-42\r\n", W_INT(-42)),
    EX("integer max", ":9223372036854775807\r\n", W_INT(9223372036854775807LL)),
    EX("integer min", ":-9223372036854775808\r\n", W_INT(-9223372036854775807LL - 1)),
    /* Both sides of the one-pass path for plain decimals (at most 18
     * digits), and what it leaves to the general one: a '+', 19 digits. */
    EX("integer of 18 digits", ":999999999999999999\r\n", W_INT(999999999999999999LL)),
    EX("integer of 18 digits, negative", ":-999999999999999999\r\n",
       W_INT(-999999999999999999LL)),
    EX("integer of 19 digits", ":1000000000000000000\r\n", W_INT(1000000000000000000LL)),
    EX("integer with a plus", ":+7\r\n", W_INT(7)),
    EX("integer minus zero", ":-0\r\n", W_INT(0)),
    EX("integer with leading zeros", ":007\r\n", W_INT(7)),
    EX("bulk", "$5\r\nhello\r\n", W_STR("hello")),
    EX("bulk empty", "$0\r\n\r\n", W_STR("")),
    EX("bulk binary with NUL and CRLF", "$6\r\na\0b\r\nc\r\n", W_STR("a\0b\r\nc")),
    EX("bulk nil", "$-1\r\n", W_NIL),
    EX("array nil", "*-1\r\n", W_NIL),
    EX("array empty", "*0\r\n", W_ARR(0)),
    EX("array", "*3\r\n:1\r\n$3\r\nfoo\r\n+bar\r\n", W_ARR(3), W_INT(1), W_STR("foo"),
       W_STATUS("bar")),
    EX("array with nil element", "*3\r\n$3\r\nfoo\r\n$-1\r\n$3\r\nbar\r\n", W_ARR(3),
       W_STR("foo"), W_NIL, W_STR("bar")),
    EX("array nested", "*2\r\n*2\r\n:1\r\n:2\r\n*1\r\n-oops\r\n", W_ARR(2), W_ARR(2), W_INT(1),
       W_INT(2), W_ARR(1), W_ERR("oops")),
    EX("array of empty arrays", "*2\r\n*0\r\n*-1\r\n", W_ARR(2), W_ARR(0), W_NIL),
    EX("array nested 8 deep", "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:7\r\n", W_ARR(1),
       W_ARR(1), W_ARR(1), W_ARR(1), W_ARR(1), W_ARR(1), W_ARR(1), W_INT(7)),
    /* RESP3 scalars */
    EX("null", "_\r\n", W_NIL),
    EX("double", ",1.5\r\n", W_DBL(1.5, "1.5")),
    EX("double exponent", ",-2e10\r\n", W_DBL(-2e10, "-2e10")),
    EX("double integral", ",10\r\n", W_DBL(10.0, "10")),
    EX("double inf", ",inf\r\n", W_DBL(INFINITY, "inf")),
    EX("double +inf", ",+inf\r\n", W_DBL(INFINITY, "+inf")),
    EX("double -inf", ",-inf\r\n", W_DBL(-INFINITY, "-inf")),
    EX("double nan", ",nan\r\n", W_DBL(NAN, "nan")),
    /* RESP3.md: Redis before 7.2 may send any libc spelling of NaN, such as
     * "-nan", "NAN" or "nan(char-sequence)", and clients should take it. */
    EX("double -nan", ",-nan\r\n", W_DBL(NAN, "-nan")),
    EX("double NAN", ",NAN\r\n", W_DBL(NAN, "NAN")),
    EX("double nan(char-sequence)", ",nan(123)\r\n", W_DBL(NAN, "nan(123)")),
    EX("double exponent with sign", ",1E+5\r\n", W_DBL(1e5, "1E+5")),
    EX("double fraction", ",3.141592653589793\r\n", W_DBL(3.141592653589793, "3.141592653589793")),
    /* %.17g, as servers before 7.2 write: more digits than 2^53 holds. */
    EX("double of 17 digits", ",3.1400000000000001\r\n", W_DBL(3.14, "3.1400000000000001")),
    /* Read in the pass that finds the CR (scan_double): signs, zeros, an
     * exponent, a long integer part, and one for strtod after all. */
    EX("double of 17 digits, negative", ",-0.10000000000000001\r\n",
       W_DBL(-0.10000000000000001, "-0.10000000000000001")),
    EX("double of 17 digits, exponent", ",1.0000000000000001e+20\r\n",
       W_DBL(1.0000000000000001e+20, "1.0000000000000001e+20")),
    EX("double with a long integer part", ",12345678901.5\r\n",
       W_DBL(12345678901.5, "12345678901.5")),
    EX("double negative zero", ",-0.0\r\n", W_DBL(-0.0, "-0.0")),
    EX("double of 20 digits", ",1.2345678901234567891\r\n",
       W_DBL(1.2345678901234567891, "1.2345678901234567891")),
    EX("bool true", "#t\r\n", W_BOOL(1)),
    EX("bool false", "#f\r\n", W_BOOL(0)),
    EX("bignum", "(3492890328409238509324850943850943825024385\r\n",
       W_BIG("3492890328409238509324850943850943825024385")),
    EX("bignum negative", "(-3492890328409238509324850943850943825024385\r\n",
       W_BIG("-3492890328409238509324850943850943825024385")),
    EX("blob error", "!21\r\nSYNTAX invalid syntax\r\n", W_ERR("SYNTAX invalid syntax")),
    EX("blob error empty", "!0\r\n\r\n", W_ERR("")),
    EX("verbatim", "=15\r\ntxt:Some string\r\n", W_VERB("txt", "Some string")),
    EX("verbatim empty data", "=4\r\nmkd:\r\n", W_VERB("mkd", "")),
    EX("verbatim with CRLF and colon", "=10\r\ntxt:a\r\n:b:\r\n", W_VERB("txt", "a\r\n:b:")),
    /* RESP3 aggregates */
    EX("map", "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", W_MAP(2), W_STATUS("first"),
       W_INT(1), W_STATUS("second"), W_INT(2)),
    EX("map empty", "%0\r\n", W_MAP(0)),
    EX("map with aggregate key and value", "%1\r\n*1\r\n:1\r\n~1\r\n#f\r\n", W_MAP(1), W_ARR(1),
       W_INT(1), W_SET(1), W_BOOL(0)),
    EX("set", "~3\r\n+a\r\n$1\r\nb\r\n:1\r\n", W_SET(3), W_STATUS("a"), W_STR("b"), W_INT(1)),
    EX("set empty", "~0\r\n", W_SET(0)),
    EX("push", ">3\r\n$7\r\nmessage\r\n$3\r\nch1\r\n$5\r\nhello\r\n", W_PUSH(3), W_STR("message"),
       W_STR("ch1"), W_STR("hello")),
    EX("push status kind", ">2\r\n+invalidate\r\n*1\r\n$3\r\nkey\r\n", W_PUSH(2),
       W_STATUS("invalidate"), W_ARR(1), W_STR("key")),
    EX("push of one", ">1\r\n$4\r\npong\r\n", W_PUSH(1), W_STR("pong")),
    EX("mixed RESP3 tree",
       "*4\r\n%1\r\n$1\r\nk\r\n~2\r\n,0.5\r\n_\r\n(12\r\n=7\r\ntxt:abc\r\n!3\r\nbad\r\n",
       W_ARR(4), W_MAP(1), W_STR("k"), W_SET(2), W_DBL(0.5, "0.5"), W_NIL, W_BIG("12"),
       W_VERB("txt", "abc"), W_ERR("bad")),
    /* streamed */
    EX("streamed string", "$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;1\r\nd\r\n;0\r\n",
       W_STR("Hello word")),
    EX("streamed string empty", "$?\r\n;0\r\n", W_STR("")),
    EX("streamed string binary chunk", "$?\r\n;3\r\n\r\n\0\r\n;0\r\n", W_STR("\r\n\0")),
    EX("streamed array", "*?\r\n:1\r\n:2\r\n:3\r\n.\r\n", W_ARR(3), W_INT(1), W_INT(2), W_INT(3)),
    EX("streamed array empty", "*?\r\n.\r\n", W_ARR(0)),
    EX("streamed map", "%?\r\n+a\r\n:1\r\n+b\r\n:2\r\n.\r\n", W_MAP(2), W_STATUS("a"), W_INT(1),
       W_STATUS("b"), W_INT(2)),
    EX("streamed map empty", "%?\r\n.\r\n", W_MAP(0)),
    EX("streamed set", "~?\r\n+x\r\n#t\r\n.\r\n", W_SET(2), W_STATUS("x"), W_BOOL(1)),
    EX("streamed nested", "*?\r\n:1\r\n*?\r\n:2\r\n.\r\n*2\r\n$?\r\n;2\r\nab\r\n;0\r\n_\r\n.\r\n",
       W_ARR(3), W_INT(1), W_ARR(1), W_INT(2), W_ARR(2), W_STR("ab"), W_NIL),
    EX("streamed array of 20",
       "*?\r\n:0\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n:6\r\n:7\r\n:8\r\n:9\r\n"
       ":10\r\n:11\r\n:12\r\n:13\r\n:14\r\n:15\r\n:16\r\n:17\r\n:18\r\n:19\r\n.\r\n",
       W_ARR(20), W_INT(0), W_INT(1), W_INT(2), W_INT(3), W_INT(4), W_INT(5), W_INT(6),
       W_INT(7), W_INT(8), W_INT(9), W_INT(10), W_INT(11), W_INT(12), W_INT(13), W_INT(14),
       W_INT(15), W_INT(16), W_INT(17), W_INT(18), W_INT(19)),
    /* attributes */
    EX("attribute at top level",
       "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n"
       "*2\r\n:2039123\r\n:9543892\r\n",
       W_ATTR(1), W_STATUS("key-popularity"), W_MAP(2), W_STR("a"), W_DBL(0.1923, "0.1923"),
       W_STR("b"), W_DBL(0.0012, "0.0012"), W_ARR(2), W_INT(2039123), W_INT(9543892)),
    EX("attribute on a scalar", "|1\r\n+ttl\r\n:3600\r\n$3\r\nval\r\n", W_ATTR(1),
       W_STATUS("ttl"), W_INT(3600), W_STR("val")),
    EX("attribute empty", "|0\r\n:1\r\n", W_ATTR(0), W_INT(1)),
    EX("attribute inside array", "*2\r\n|1\r\n+ttl\r\n:3600\r\n+a\r\n:2\r\n", W_ARR(2),
       W_ATTR(1), W_STATUS("ttl"), W_INT(3600), W_STATUS("a"), W_INT(2)),
    EX("attribute does not count as an element", "*1\r\n|1\r\n+a\r\n:1\r\n:5\r\n", W_ARR(1),
       W_ATTR(1), W_STATUS("a"), W_INT(1), W_INT(5)),
    EX("attribute on the last element", "*2\r\n:1\r\n|1\r\n+a\r\n:1\r\n:2\r\n", W_ARR(2), W_INT(1),
       W_ATTR(1), W_STATUS("a"), W_INT(1), W_INT(2)),
    EX("attribute on a map value", "%1\r\n+k\r\n|1\r\n+meta\r\n#t\r\n+v\r\n", W_MAP(1),
       W_STATUS("k"), W_ATTR(1), W_STATUS("meta"), W_BOOL(1), W_STATUS("v")),
    EX("attribute on an attribute value", "|1\r\n+k\r\n|1\r\n+x\r\n:1\r\n:2\r\n:3\r\n", W_ATTR(1),
       W_STATUS("k"), W_ATTR(1), W_STATUS("x"), W_INT(1), W_INT(2), W_INT(3)),
    EX("attribute inside streamed array", "*?\r\n|1\r\n+a\r\n:1\r\n:5\r\n.\r\n", W_ARR(1),
       W_ATTR(1), W_STATUS("a"), W_INT(1), W_INT(5)),
    EX("attribute before a streamed string", "|1\r\n+a\r\n_\r\n$?\r\n;1\r\nz\r\n;0\r\n",
       W_ATTR(1), W_STATUS("a"), W_NIL, W_STR("z")),
    EX("attribute with aggregate value on a push",
       "|1\r\n+a\r\n*2\r\n:1\r\n:2\r\n>2\r\n+invalidate\r\n_\r\n", W_ATTR(1), W_STATUS("a"),
       W_ARR(2), W_INT(1), W_INT(2), W_PUSH(2), W_STATUS("invalidate"), W_NIL),
    EX("two attributes in a row keep both", "|1\r\n+a\r\n:1\r\n|1\r\n+b\r\n:2\r\n:3\r\n",
       W_ATTR(1), W_STATUS("a"), W_INT(1), W_ATTR(1), W_STATUS("b"), W_INT(2), W_INT(3)),
    EX("two attributes in a row inside a map",
       "%1\r\n|1\r\n+a\r\n:1\r\n|0\r\n+k\r\n|1\r\n+c\r\n*1\r\n_\r\n+v\r\n", W_MAP(1),
       W_ATTR(1), W_STATUS("a"), W_INT(1), W_ATTR(0), W_STATUS("k"), W_ATTR(1), W_STATUS("c"),
       W_ARR(1), W_NIL, W_STATUS("v")),
    /* several replies in one feed */
    EX("three replies", "+OK\r\n:1\r\n$3\r\nfoo\r\n", W_STATUS("OK"), W_INT(1), W_STR("foo")),
    EX("RESP2 and RESP3 replies", "*1\r\n:1\r\n%1\r\n+a\r\n_\r\n#t\r\n>1\r\n+x\r\n", W_ARR(1),
       W_INT(1), W_MAP(1), W_STATUS("a"), W_NIL, W_BOOL(1), W_PUSH(1), W_STATUS("x")),
    EX("attribute does not leak to the next reply", "|1\r\n+a\r\n:1\r\n+x\r\n+y\r\n", W_ATTR(1),
       W_STATUS("a"), W_INT(1), W_STATUS("x"), W_STATUS("y")),
    EX("nils of every kind", "$-1\r\n*-1\r\n_\r\n", W_NIL, W_NIL, W_NIL),
    EX("streamed then plain", "$?\r\n;1\r\na\r\n;0\r\n*?\r\n.\r\n+b\r\n", W_STR("a"), W_ARR(0),
       W_STATUS("b")),
};

#define N_EXAMPLES (sizeof examples / sizeof examples[0])

/* ------------------------------------------------------------------------ */
/* Feeding */

static arc_reader *new_reader(const arc_reader_limits *lim)
{
    arc_reader *r = arc_reader_new(lim, NULL);
    assert_non_null(r);
    assert_string_equal(arc_reader_error(r), "");
    return r;
}

static void assert_failed_for_good(arc_reader *r, const char *what);

/* What drain() returns when a reply did not match; c->err says how. */
#define MISMATCH (-1)

/* Takes every reply the reader has, checking each against `c`. Returns the
 * status that ended the drain (ARC_OK once more bytes are needed), or
 * MISMATCH. Failing is left to the caller, so that it can free the reader
 * first and a failed case does not also show up as a leak. */
static int drain(arc_reader *r, cursor *c)
{
    for (;;) {
        arc_reply *out = NULL;
        int rc = arc_reader_next(r, &out);
        if (rc != ARC_OK)
            return rc;
        if (out == NULL)
            return ARC_OK;
        char path[64];
        snprintf(path, sizeof path, "reply #%zu", c->i);
        if (!check_node(c, out, path))
            return MISMATCH;
    }
}

/* Feeds `in`: the first `first` bytes, then the rest in chunks of `step`
 * (0: all at once), draining after every feed. Stops at the first error. */
static int feed_pieces(arc_reader *r, const char *in, size_t len, size_t first, size_t step,
                       cursor *c)
{
    size_t at = 0;
    bool first_piece = true;
    do {
        size_t left = len - at;
        size_t n;
        if (first_piece && first > 0)
            n = first < left ? first : left;
        else if (step == 0)
            n = left;
        else
            n = step < left ? step : left;
        first_piece = false;
        int rc = arc_reader_feed(r, in + at, n);
        if (rc != ARC_OK)
            return rc;
        at += n;
        rc = drain(r, c);
        if (rc != ARC_OK)
            return rc;
    } while (at < len);
    return ARC_OK;
}

static void run_valid(const example *ex, size_t first, size_t step, const char *how)
{
    char what[256];
    snprintf(what, sizeof what, "\"%s\" fed %s (first %zu, step %zu)", ex->name, how, first,
             step);
    arc_reader *r = new_reader(NULL);
    cursor c = {ex->w, ex->nw, 0, ""};
    char msg[1024] = "";
    int rc = feed_pieces(r, ex->in, ex->len, first, step, &c);
    arc_reply sentinel;
    arc_reply *out = &sentinel;
    if (rc == MISMATCH)
        snprintf(msg, sizeof msg, "%s: %s", what, c.err);
    else if (rc != ARC_OK)
        snprintf(msg, sizeof msg, "%s: status %s, error \"%s\"", what, arc_status_name(rc),
                 arc_reader_error(r));
    else if (c.i != c.n)
        snprintf(msg, sizeof msg, "%s: only %zu of %zu expected entries were seen", what, c.i,
                 c.n);
    else if (arc_reader_pending(r) != 0)
        snprintf(msg, sizeof msg, "%s: %zu bytes left unparsed", what, arc_reader_pending(r));
    else if (arc_reader_next(r, &out) != ARC_OK || out != NULL)
        snprintf(msg, sizeof msg, "%s: a further next() did not ask for more bytes", what);
    else if (arc_reader_error(r)[0] != '\0')
        snprintf(msg, sizeof msg, "%s: an error message without an error", what);
    arc_reader_free(r);
    if (msg[0] != '\0')
        fail_msg("%s", msg);
}

static void test_example_whole(void **state)
{
    const example *ex = *state;
    run_valid(ex, 0, 0, "whole");
}

static void test_example_every_split(void **state)
{
    const example *ex = *state;
    for (size_t k = 1; k < ex->len; k++)
        run_valid(ex, k, 0, "in two");
}

static void test_example_bytewise(void **state)
{
    const example *ex = *state;
    run_valid(ex, 0, 1, "one byte at a time");
}

/* Every example back to back in one buffer, so that the state a reply leaves
 * behind is always followed by another reply of a different kind. */
static void test_all_examples_back_to_back(void **state)
{
    (void)state;
    size_t len = 0, nw = 0;
    for (size_t i = 0; i < N_EXAMPLES; i++) {
        len += examples[i].len;
        nw += examples[i].nw;
    }
    /* Static, so that a failure (which leaves the test by longjmp) leaks
     * nothing and valgrind reports only the failure itself. */
    static char in[8192];
    static want w[1024];
    assert_true(len <= sizeof in);
    assert_true(nw <= sizeof w / sizeof w[0]);
    size_t at = 0, wi = 0;
    for (size_t i = 0; i < N_EXAMPLES; i++) {
        memcpy(in + at, examples[i].in, examples[i].len);
        at += examples[i].len;
        memcpy(w + wi, examples[i].w, examples[i].nw * sizeof *w);
        wi += examples[i].nw;
    }
    example all = {"all examples", in, len, w, nw};
    run_valid(&all, 0, 0, "whole");
    run_valid(&all, 0, 1, "one byte at a time");
    run_valid(&all, 0, 7, "in 7-byte chunks");
    run_valid(&all, len / 2, 0, "in two halves");
}

/* A bulk larger than any internal first guess, fed in uneven pieces. */
static void test_large_bulk(void **state)
{
    (void)state;
    enum { BODY = 100000 };
    static char in[BODY + 32]; /* static: a failure leaks nothing */
    int h = snprintf(in, 32, "$%d\r\n", BODY);
    for (size_t i = 0; i < BODY; i++)
        in[h + i] = (char)(i * 7 + i / 251);
    memcpy(in + h + BODY, "\r\n", 2);
    size_t len = (size_t)h + BODY + 2;
    want w = {ARC_REPLY_STRING, 0, 0.0, in + h, BODY, NULL, 0};
    example ex = {"100000-byte bulk", in, len, &w, 1};
    run_valid(&ex, 0, 0, "whole");
    run_valid(&ex, 3, 4093, "in 4093-byte chunks");
    run_valid(&ex, (size_t)h + BODY, 1, "all but the CRLF, then bytewise");
}

/* A reply is borrowed; the next call may reuse its memory, but the reply is
 * complete and right until then, even across many replies. */
static void test_many_replies_reuse(void **state)
{
    (void)state;
    arc_reader *r = new_reader(NULL);
    for (int i = 0; i < 2000; i++) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, "*2\r\n:%d\r\n$%d\r\n%d\r\n", i,
                         snprintf(NULL, 0, "%d", i), i);
        assert_int_equal(arc_reader_feed(r, buf, (size_t)n), ARC_OK);
        arc_reply *out = NULL;
        assert_int_equal(arc_reader_next(r, &out), ARC_OK);
        assert_non_null(out);
        assert_int_equal(out->type, ARC_REPLY_ARRAY);
        assert_int_equal(out->elements, 2);
        assert_int_equal(out->element[0]->integer, i);
        char text[16];
        snprintf(text, sizeof text, "%d", i);
        assert_int_equal(out->element[1]->len, strlen(text));
        assert_string_equal(out->element[1]->str, text);
    }
    assert_int_equal(arc_reader_pending(r), 0);
    arc_reader_free(r);
}

/* A whole bulk reply is lent from the input buffer, not copied. Feeding
 * before the next call, even enough to grow the buffer, must leave the
 * reply exactly where and what it was; the next call then frees the block
 * it stayed in. Under a failing allocator the feed refuses and loses
 * nothing. */
static void test_lent_reply_survives_feeding(void **state)
{
    (void)state;
    test_alloc t = {0};
    arc_allocator a = allocator_of(&t);
    arc_reader *r = arc_reader_new(NULL, &a);
    assert_non_null(r);
    assert_int_equal(arc_reader_feed(r, "$5\r\nhello\r\n:1", 13), ARC_OK);
    arc_reply *out = NULL;
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_non_null(out);
    const char *str = out->str;
    assert_string_equal(str, "hello");

    /* Refused: the reply and the unparsed ":1" are untouched. */
    t.fail_at = t.calls + 1;
    t.fail_onwards = true;
    assert_int_equal(arc_reader_feed(r, "0\r\n", 3), ARC_ERR_NOMEM);
    assert_ptr_equal(out->str, str);
    assert_string_equal(out->str, "hello");
    assert_int_equal(arc_reader_pending(r), 2);
    t.fail_at = 0;
    t.fail_onwards = false;

    /* Allowed: many more bytes than the block had room for. */
    static char more[64 * 1024];
    memcpy(more, "0\r\n", 3);
    size_t n = 3;
    while (n + 5 <= sizeof more) {
        memcpy(more + n, "+ab\r\n", 5);
        n += 5;
    }
    assert_int_equal(arc_reader_feed(r, more, n), ARC_OK);
    assert_int_equal(arc_reader_feed(r, "$3\r\nxyz\r\n", 9), ARC_OK);
    assert_ptr_equal(out->str, str);
    assert_string_equal(out->str, "hello");
    assert_int_equal(out->len, 5);

    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_non_null(out);
    assert_int_equal(out->type, ARC_REPLY_INTEGER);
    assert_int_equal(out->integer, 10);
    size_t statuses = 0;
    for (;;) {
        assert_int_equal(arc_reader_next(r, &out), ARC_OK);
        assert_non_null(out);
        if (out->type != ARC_REPLY_STATUS)
            break;
        statuses++;
    }
    assert_int_equal(statuses, (n - 3) / 5);
    assert_int_equal(out->type, ARC_REPLY_STRING);
    assert_string_equal(out->str, "xyz");
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_null(out);
    arc_reader_free(r);
    assert_int_equal(t.live, 0);
}

/* ------------------------------------------------------------------------ */
/* Arguments and the small API */

static void test_invalid_arguments(void **state)
{
    (void)state;
    arc_reply *out = NULL;
    assert_int_equal(arc_reader_next(NULL, &out), ARC_ERR_INVALID);
    arc_reader *r = new_reader(NULL);
    assert_int_equal(arc_reader_next(r, NULL), ARC_ERR_INVALID);
    assert_int_equal(arc_reader_feed(r, NULL, 3), ARC_ERR_INVALID);
    assert_int_equal(arc_reader_feed(r, NULL, 0), ARC_OK);
    assert_int_equal(arc_reader_feed(r, "", 0), ARC_OK);
    assert_int_equal(arc_reader_pending(r), 0);
    /* None of that broke the reader. */
    assert_int_equal(arc_reader_feed(r, ":5\r\n", 4), ARC_OK);
    assert_int_equal(arc_reader_pending(r), 4);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_non_null(out);
    assert_int_equal(out->integer, 5);
    arc_reader_free(r);
    arc_reader_free(NULL);
}

static void test_pending_counts_unparsed_bytes(void **state)
{
    (void)state;
    arc_reader *r = new_reader(NULL);
    arc_reply *out = NULL;
    assert_int_equal(arc_reader_feed(r, "+OK\r\n+PAR", 9), ARC_OK);
    assert_int_equal(arc_reader_pending(r), 9);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_non_null(out);
    assert_string_equal(out->str, "OK");
    assert_int_equal(arc_reader_pending(r), 4);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_null(out);
    assert_int_equal(arc_reader_pending(r), 4);
    assert_int_equal(arc_reader_feed(r, "T\r\n", 3), ARC_OK);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_non_null(out);
    assert_string_equal(out->str, "PART");
    assert_int_equal(arc_reader_pending(r), 0);
    arc_reader_free(r);
}

/* Two attributes before one value: the newest hangs on the value, the older
 * on the newest, none is dropped. */
static void test_two_attributes_chain(void **state)
{
    (void)state;
    static const char in[] = "|1\r\n+old\r\n:1\r\n|1\r\n+new\r\n:2\r\n$1\r\nv\r\n";
    arc_reader *r = new_reader(NULL);
    assert_int_equal(arc_reader_feed(r, in, sizeof in - 1), ARC_OK);
    arc_reply *out = NULL;
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_non_null(out);
    assert_int_equal(out->type, ARC_REPLY_STRING);
    assert_string_equal(out->str, "v");
    const arc_reply *a = out->attribute;
    assert_non_null(a);
    assert_int_equal(a->type, ARC_REPLY_ATTR);
    assert_string_equal(a->element[0]->str, "new");
    assert_int_equal(a->element[1]->integer, 2);
    assert_non_null(a->attribute);
    assert_int_equal(a->attribute->type, ARC_REPLY_ATTR);
    assert_string_equal(a->attribute->element[0]->str, "old");
    assert_int_equal(a->attribute->element[1]->integer, 1);
    assert_null(a->attribute->attribute);
    arc_reader_free(r);
}

/* DESIGN invariant 7: once warm, a stream of small replies costs the
 * allocator nothing. */
static void test_steady_state_allocates_nothing(void **state)
{
    (void)state;
    static const char in[] = "*3\r\n$3\r\nGET\r\n:42\r\n%1\r\n+k\r\n,1.5\r\n";
    test_alloc t = {0};
    arc_allocator a = allocator_of(&t);
    arc_reader *r = arc_reader_new(NULL, &a);
    assert_non_null(r);
    for (int round = 0; round < 2000; round++) {
        if (round == 100)
            t.calls = 0; /* warm from here on */
        assert_int_equal(arc_reader_feed(r, in, sizeof in - 1), ARC_OK);
        arc_reply *out = NULL;
        assert_int_equal(arc_reader_next(r, &out), ARC_OK);
        assert_non_null(out);
        assert_int_equal(out->elements, 3);
        assert_int_equal(out->element[1]->integer, 42);
    }
    assert_int_equal(t.calls, 0);
    arc_reader_free(r);
    assert_int_equal(t.live, 0);
}

/* A nesting far past the default depth fails cleanly (no deep recursion,
 * no allocation per level beyond the limit). */
static void test_million_deep_nesting(void **state)
{
    (void)state;
    enum { N = 4 * 1000000 };
    static char deep[N]; /* static: a failure leaks nothing */
    size_t n = N;
    for (size_t i = 0; i < n; i += 4)
        memcpy(deep + i, "*1\r\n", 4);
    test_alloc t = {0};
    arc_allocator a = allocator_of(&t);
    arc_reader *r = arc_reader_new(NULL, &a);
    assert_non_null(r);
    assert_int_equal(arc_reader_feed(r, deep, n), ARC_OK);
    arc_reply *out = NULL;
    assert_int_equal(arc_reader_next(r, &out), ARC_ERR_PROTOCOL);
    assert_failed_for_good(r, "a million nested arrays");
    arc_reader_free(r);
    assert_int_equal(t.live, 0);
}

/* An attribute with nothing after it yet is not a reply. */
static void test_lone_attribute_waits(void **state)
{
    (void)state;
    arc_reader *r = new_reader(NULL);
    arc_reply sentinel;
    arc_reply *out = &sentinel;
    assert_int_equal(arc_reader_feed(r, "|1\r\n+a\r\n:1\r\n", 12), ARC_OK);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_null(out);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_null(out);
    assert_int_equal(arc_reader_feed(r, "#t\r\n", 4), ARC_OK);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_non_null(out);
    assert_int_equal(out->type, ARC_REPLY_BOOL);
    assert_int_equal(out->integer, 1);
    assert_non_null(out->attribute);
    assert_int_equal(out->attribute->type, ARC_REPLY_ATTR);
    assert_int_equal(out->attribute->elements, 2);
    assert_string_equal(out->attribute->element[0]->str, "a");
    assert_int_equal(out->attribute->element[1]->integer, 1);
    arc_reader_free(r);
}

/* Freeing a reader in the middle of a reply (open aggregates, a half-copied
 * bulk, a pending attribute) releases everything; valgrind and ASan check. */
static void test_free_mid_reply(void **state)
{
    (void)state;
    static const char in[] = "*3\r\n|1\r\n+a\r\n%1\r\n:1\r\n*?\r\n:2\r\n:3\r\n$?\r\n;3\r\nab";
    for (size_t k = 0; k <= sizeof in - 1; k++) {
        test_alloc t = {0};
        arc_allocator a = allocator_of(&t);
        arc_reader *r = arc_reader_new(NULL, &a);
        assert_non_null(r);
        assert_int_equal(arc_reader_feed(r, in, k), ARC_OK);
        arc_reply *out = NULL;
        assert_int_equal(arc_reader_next(r, &out), ARC_OK);
        assert_null(out);
        arc_reader_free(r);
        assert_int_equal(t.live, 0);
    }
}

/* ------------------------------------------------------------------------ */
/* Malformed input */

typedef struct bad {
    const char *name;
    const char *in;
    size_t len;
} bad;

#define BAD(name, in) {name, in, sizeof(in) - 1}

static const bad malformed[] = {
    BAD("unknown type byte @", "@foo\r\n"),
    BAD("unknown type byte x", "x\r\n"),
    BAD("unknown type byte NUL", "\0\r\n"),
    BAD("bare CRLF", "\r\n"),
    BAD("CR without LF in a status", "+OK\rX\n"),
    BAD("CR without LF in an integer", ":1\rx"),
    BAD("CR without LF after a length", "$3\rxfoo\r\n"),
    BAD("empty integer", ":\r\n"),
    BAD("integer sign only", ":-\r\n"),
    BAD("integer with two signs", ":--1\r\n"),
    BAD("bulk length with a plus", "$+3\r\nfoo\r\n"),
    BAD("bulk length below nil", "$-2\r\n"),
    BAD("bulk length of 19 digits", "$1000000000000000000\r\n"),
    BAD("nil push", ">-1\r\n"),
    BAD("nil map", "%-1\r\n"),
    BAD("integer with a letter", ":12a\r\n"),
    BAD("integer with a space", ":1 2\r\n"),
    BAD("integer overflow", ":9223372036854775808\r\n"),
    BAD("integer underflow", ":-9223372036854775809\r\n"),
    BAD("integer far overflow", ":99999999999999999999999\r\n"),
    BAD("empty bulk length", "$\r\n"),
    BAD("empty array length", "*\r\n"),
    BAD("empty map length", "%\r\n"),
    BAD("bulk length with a letter", "$1x\r\nabc\r\n"),
    BAD("bulk length with a leading space", "$ 1\r\na\r\n"),
    BAD("array length with a letter", "*a\r\n"),
    BAD("bulk length -2", "$-2\r\n"),
    BAD("array length -2", "*-2\r\n"),
    BAD("bulk length -1x", "$-1x\r\n"),
    BAD("map length -1", "%-1\r\n"),
    BAD("set length -1", "~-1\r\n"),
    BAD("push length -1", ">-1\r\n"),
    BAD("attribute length -1", "|-1\r\n"),
    BAD("blob error length -1", "!-1\r\n"),
    BAD("verbatim length -1", "=-1\r\n"),
    BAD("bulk length overflow", "$99999999999999999999\r\n"),
    BAD("array length overflow", "*18446744073709551616\r\n"),
    BAD("map length overflow", "%9223372036854775808\r\n"),
    BAD("bulk not followed by CRLF", "$3\r\nfooXY"),
    BAD("bulk followed by CR X", "$3\r\nfoo\rX"),
    BAD("bulk followed by LF CR", "$3\r\nfoo\n\r"),
    BAD("bulk longer than announced", "$2\r\nfoo\r\n"),
    BAD("empty bulk not followed by CRLF", "$0\r\nx\r\n"),
    BAD("bool x", "#x\r\n"),
    BAD("bool tt", "#tt\r\n"),
    BAD("bool empty", "#\r\n"),
    BAD("bool T", "#T\r\n"),
    BAD("bignum with a letter", "(12a\r\n"),
    BAD("bignum empty", "(\r\n"),
    BAD("bignum sign only", "(-\r\n"),
    BAD("double empty", ",\r\n"),
    BAD("double word", ",abc\r\n"),
    BAD("double trailing junk", ",1.5x\r\n"),
    BAD("double with a CR inside", ",1.5\r5\r\n"),
    BAD("double with a second point", ",1.5.5\r\n"),
    /* RESP3.md: the integral part is one or more digits, and a dot is
     * followed by one or more digits. */
    BAD("double starting with a dot", ",.5\r\n"),
    BAD("double ending with a dot", ",1.\r\n"),
    BAD("double exponent without digits", ",1e\r\n"),
    /* ARC__DOUBLE_MAX: 101 bytes of text, all of them digits a double could
     * take (leading zeros); 100 are taken (see test_double). */
    BAD("double longer than 100 bytes", ",00000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000001\r\n"),
    BAD("bignum with a plus sign", "(+12\r\n"),
    BAD("verbatim shorter than 4", "=3\r\ntxt\r\n"),
    BAD("verbatim without colon", "=5\r\ntxtab\r\n"),
    BAD("verbatim colon misplaced", "=5\r\ntx:ab\r\n"),
    BAD("push empty", ">0\r\n"),
    BAD("push starting with an integer", ">1\r\n:1\r\n"),
    BAD("push starting with an array", ">2\r\n*0\r\n+x\r\n"),
    BAD("push starting with nil", ">2\r\n_\r\n+x\r\n"),
    BAD("push inside an array of wrong shape", "*1\r\n>1\r\n:1\r\n"),
    BAD("streamed map odd", "%?\r\n+a\r\n.\r\n"),
    BAD("streamed map of three", "%?\r\n+a\r\n:1\r\n+b\r\n.\r\n"),
    BAD("chunk at top level", ";3\r\nabc\r\n"),
    BAD("chunk inside an array", "*1\r\n;0\r\n"),
    BAD("chunk inside a streamed array", "*?\r\n;0\r\n"),
    BAD("end at top level", ".\r\n"),
    BAD("end inside a counted array", "*2\r\n:1\r\n.\r\n"),
    BAD("end inside a streamed string", "$?\r\n;1\r\na\r\n.\r\n"),
    BAD("non-chunk inside a streamed string", "$?\r\n+x\r\n"),
    BAD("chunk length negative", "$?\r\n;-1\r\n"),
    BAD("chunk length empty", "$?\r\n;\r\n"),
    BAD("chunk not followed by CRLF", "$?\r\n;1\r\nab\r\n"),
    BAD("streamed integer", ":?\r\n"),
    BAD("nested past default depth 64",
        "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"
        "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"
        "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"
        "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"
        ":1\r\n"),
    BAD("malformed element deep in a tree", "%1\r\n+k\r\n*2\r\n:1\r\n~1\r\n#maybe\r\n"),
    BAD("malformed after an attribute", "|1\r\n+a\r\n:1\r\n:x\r\n"),
    /* RESP3.md: simple strings and errors "cannot contain the <CR> nor the
     * <LF> characters", and every line ends in CRLF. A bare LF is an error
     * as soon as it arrives, whatever the line: each input ends at (or
     * soon after) it, with no CR to come that a reader might wait for. */
    BAD("LF alone ends a status, then an integer", "+OK\n:1\n"),
    BAD("LF alone ends a status", "+OK\n"),
    BAD("LF alone ends an error", "-ERR x\n"),
    BAD("LF alone ends an integer", ":1\n"),
    BAD("LF alone ends a double", ",1.5\n"),
    BAD("LF alone ends a bool", "#t\n"),
    BAD("LF alone ends a null", "_\n"),
    BAD("LF alone ends a big number", "(12\n"),
    BAD("LF alone ends a bulk header", "$3\n"),
    BAD("LF alone ends a blob error header", "!3\n"),
    BAD("LF alone ends a verbatim header", "=5\n"),
    BAD("LF alone ends an array header", "*1\n"),
    BAD("LF alone ends a map header", "%1\n"),
    BAD("LF alone ends a set header", "~1\n"),
    BAD("LF alone ends a push header", ">1\n"),
    BAD("LF alone ends an attribute header", "|1\n"),
    BAD("LF alone ends a streamed string header", "$?\n"),
    BAD("LF alone ends a chunk header", "$?\r\n;1\n"),
    BAD("LF alone ends a streamed array header", "*?\n"),
    BAD("LF alone ends a streamed end", "*?\r\n.\n"),
    BAD("LF alone where the type byte belongs", "\n"),
    BAD("LF inside a status", "+a\nb\r\n"),
    BAD("LF inside an error", "-ERR a\nb\r\n"),
    BAD("LF before the CRLF of a status", "+OK\n\r\n"),
    BAD("LF alone inside an array", "*2\r\n:1\r\n:2\n"),
    BAD("LF alone past the first 16 bytes", "+0123456789abcdefghij\n"),
    BAD("LF inside a long status before its CR", "+0123456789abcdefghij\nxy\r\n"),
    /* RESP3.md, "Push type": push data is "always at the top level", never
     * inside an aggregate; refused at its header. */
    BAD("push header inside an array", "*1\r\n>1\r\n"),
    BAD("push inside an array", "*1\r\n>1\r\n+x\r\n"),
    BAD("push inside a map value", "%1\r\n+k\r\n>1\r\n+x\r\n"),
    BAD("push inside a set", "~1\r\n>1\r\n+x\r\n"),
    BAD("push inside a push", ">2\r\n+message\r\n>1\r\n+x\r\n"),
    BAD("push inside a streamed array", "*?\r\n>1\r\n+x\r\n.\r\n"),
    BAD("push inside an attribute", "|1\r\n+k\r\n>1\r\n+x\r\n:1\r\n"),
    BAD("push after an attribute inside an array", "*1\r\n|0\r\n>1\r\n+x\r\n"),
};

#define N_MALFORMED (sizeof malformed / sizeof malformed[0])

static void assert_failed_for_good(arc_reader *r, const char *what)
{
    if (arc_reader_error(r)[0] == '\0')
        fail_msg("%s: ARC_ERR_PROTOCOL with an empty error message", what);
    arc_reply *out = NULL;
    assert_int_equal(arc_reader_next(r, &out), ARC_ERR_PROTOCOL);
    assert_int_equal(arc_reader_feed(r, "+OK\r\n", 5), ARC_ERR_PROTOCOL);
    assert_int_equal(arc_reader_next(r, &out), ARC_ERR_PROTOCOL);
    int rc = arc_reader_feed(r, NULL, 0);
    assert_true(rc == ARC_OK || rc == ARC_ERR_PROTOCOL);
    assert_int_equal(arc_reader_next(r, &out), ARC_ERR_PROTOCOL);
    assert_true(arc_reader_error(r)[0] != '\0');
}

/* `in` made printable for a message: CR, LF and other bytes as escapes. */
static const char *escape(const char *in, size_t len, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < cap; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch == '\r')
            o += (size_t)snprintf(buf + o, cap - o, "\\r");
        else if (ch == '\n')
            o += (size_t)snprintf(buf + o, cap - o, "\\n");
        else if (ch < 0x20 || ch >= 0x7f || ch == '\\')
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
        else
            buf[o++] = (char)ch;
    }
    buf[o] = '\0';
    return buf;
}

static void run_bad(const arc_reader_limits *lim, const char *name, const char *in, size_t len,
                    size_t first, size_t step)
{
    char what[512], shown[256];
    snprintf(what, sizeof what, "%s \"%s\" (first %zu, step %zu)", name,
             escape(in, len, shown, sizeof shown), first, step);
    arc_reader *r = new_reader(lim);
    cursor c = {NULL, 0, 0, ""};
    int rc = feed_pieces(r, in, len, first, step, &c);
    if (rc != ARC_ERR_PROTOCOL) {
        /* Formatted by fail_msg itself: copied into a fixed buffer first, the
         * message could be cut short, and gcc at -O0 says so
         * (-Wformat-truncation). */
        arc_reader_free(r);
        fail_msg("%s: got %s, expected ARC_ERR_PROTOCOL%s%s", what,
                 rc == MISMATCH ? "a reply" : arc_status_name(rc), rc == MISMATCH ? ": " : "",
                 c.err);
    }
    assert_failed_for_good(r, what);
    arc_reader_free(r);
}

static void test_malformed(void **state)
{
    const bad *b = *state;
    run_bad(NULL, b->name, b->in, b->len, 0, 0);
    run_bad(NULL, b->name, b->in, b->len, 0, 1);
    for (size_t k = 1; k < b->len; k++)
        run_bad(NULL, b->name, b->in, b->len, k, 0);
}

/* A good reply before the bad bytes still comes out; then the failure sticks. */
static void test_failure_after_good_reply_sticks(void **state)
{
    (void)state;
    arc_reader *r = new_reader(NULL);
    arc_reply *out = NULL;
    assert_int_equal(arc_reader_feed(r, "+OK\r\n@\r\n:1\r\n", 12), ARC_OK);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_non_null(out);
    assert_int_equal(out->type, ARC_REPLY_STATUS);
    assert_string_equal(out->str, "OK");
    assert_string_equal(arc_reader_error(r), "");
    assert_int_equal(arc_reader_next(r, &out), ARC_ERR_PROTOCOL);
    assert_failed_for_good(r, "+OK then @");
    arc_reader_free(r);
}

/* The reader fails with ARC_ERR_PROTOCOL on `in`, fed whole, and its
 * message names `what` at byte `at` of the stream. */
static void expect_error_text(const char *in, size_t len, const char *what, size_t at)
{
    arc_reader *r = new_reader(NULL);
    assert_int_equal(arc_reader_feed(r, in, len), ARC_OK);
    arc_reply *out = NULL;
    int rc;
    while ((rc = arc_reader_next(r, &out)) == ARC_OK && out != NULL)
        ;
    char where[48], msg[160];
    snprintf(where, sizeof where, "at byte %zu:", at);
    snprintf(msg, sizeof msg, "%s", arc_reader_error(r));
    arc_reader_free(r);
    if (rc != ARC_ERR_PROTOCOL)
        fail_msg("\"%s\": %s, expected ARC_ERR_PROTOCOL", what, arc_status_name(rc));
    if (strstr(msg, what) == NULL || strstr(msg, where) == NULL)
        fail_msg("error \"%s\" does not say \"%s\" %s", msg, what, where);
}

#define EXPECT_ERROR_TEXT(lit, what, at) expect_error_text(lit, sizeof(lit) - 1, what, at)

/* A line ended wrongly says how, at the byte that is wrong, as soon as that
 * byte is there: nothing after it is needed. */
static void test_line_end_errors_say_what(void **state)
{
    (void)state;
    EXPECT_ERROR_TEXT("+OK\r\n:1\n", "LF without CR", 7);
    EXPECT_ERROR_TEXT("+OK\n", "LF without CR", 3);
    EXPECT_ERROR_TEXT("$3\nfoo\r\n", "LF without CR", 2);
    EXPECT_ERROR_TEXT("+0123456789abcdefghij\nxy\r\n", "LF without CR", 21);
    EXPECT_ERROR_TEXT("+OK\rX", "CR not followed by LF", 3);
    EXPECT_ERROR_TEXT("*2\r\n:1\r\n>1\r\n", "push frame inside an aggregate", 8);
}

/* ------------------------------------------------------------------------ */
/* Limits: each one at its edge (accepted) and one past it (refused). */

static void expect_ok(const arc_reader_limits *lim, const char *in, size_t len, int type,
                      size_t elements_or_len)
{
    for (size_t step = 0; step <= 1; step++) {
        arc_reader *r = new_reader(lim);
        arc_reply *got = NULL;
        size_t at = 0;
        while (at < len) {
            size_t n = step == 0 ? len : 1;
            assert_int_equal(arc_reader_feed(r, in + at, n), ARC_OK);
            at += n;
            arc_reply *out = NULL;
            int rc = arc_reader_next(r, &out);
            if (rc != ARC_OK)
                fail_msg("\"%.*s\": %s: %s", (int)(len < 60 ? len : 60), in, arc_status_name(rc),
                         arc_reader_error(r));
            if (out != NULL) {
                assert_null(got);
                assert_int_equal(at, len);
                got = out;
                assert_int_equal(got->type, type);
                if (is_aggregate_type(type))
                    assert_int_equal(got->elements, elements_or_len);
                else if (is_text_type(type))
                    assert_int_equal(got->len, elements_or_len);
            }
        }
        assert_non_null(got);
        arc_reader_free(r);
    }
}

static void expect_bad(const arc_reader_limits *lim, const char *in, size_t len)
{
    run_bad(lim, "limit", in, len, 0, 0);
    run_bad(lim, "limit", in, len, 0, 1);
}

#define EXPECT_OK(lim, lit, type, n) expect_ok(lim, lit, sizeof(lit) - 1, type, n)
#define EXPECT_BAD(lim, lit) expect_bad(lim, lit, sizeof(lit) - 1)

static void test_limit_max_bulk(void **state)
{
    (void)state;
    arc_reader_limits lim = {.max_bulk = 5};
    EXPECT_OK(&lim, "$5\r\nhello\r\n", ARC_REPLY_STRING, 5);
    EXPECT_BAD(&lim, "$6\r\nhello!\r\n");
    EXPECT_OK(&lim, "!5\r\noops!\r\n", ARC_REPLY_ERROR, 5);
    EXPECT_BAD(&lim, "!6\r\noops!!\r\n");
    EXPECT_OK(&lim, "=5\r\ntxt:a\r\n", ARC_REPLY_VERB, 1);
    EXPECT_BAD(&lim, "=6\r\ntxt:ab\r\n");
    EXPECT_OK(&lim, "(12345\r\n", ARC_REPLY_BIGNUM, 5);
    EXPECT_BAD(&lim, "(123456\r\n");
    /* A streamed string counts its whole length, not one chunk. */
    EXPECT_OK(&lim, "$?\r\n;3\r\nabc\r\n;2\r\nde\r\n;0\r\n", ARC_REPLY_STRING, 5);
    EXPECT_BAD(&lim, "$?\r\n;3\r\nabc\r\n;3\r\ndef\r\n;0\r\n");
    EXPECT_BAD(&lim, "$?\r\n;6\r\nabcdef\r\n;0\r\n");
    /* Inside an aggregate too. */
    EXPECT_OK(&lim, "*2\r\n$5\r\nhello\r\n$0\r\n\r\n", ARC_REPLY_ARRAY, 2);
    EXPECT_BAD(&lim, "*2\r\n$0\r\n\r\n$6\r\nhello!\r\n");
}

static void test_limit_max_elements(void **state)
{
    (void)state;
    arc_reader_limits lim = {.max_elements = 4};
    EXPECT_OK(&lim, "*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n", ARC_REPLY_ARRAY, 4);
    EXPECT_BAD(&lim, "*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n");
    EXPECT_OK(&lim, "~4\r\n:1\r\n:2\r\n:3\r\n:4\r\n", ARC_REPLY_SET, 4);
    EXPECT_BAD(&lim, "~5\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n");
    EXPECT_OK(&lim, ">4\r\n+a\r\n:2\r\n:3\r\n:4\r\n", ARC_REPLY_PUSH, 4);
    EXPECT_BAD(&lim, ">5\r\n+a\r\n:2\r\n:3\r\n:4\r\n:5\r\n");
    /* A map counts two per pair. */
    EXPECT_OK(&lim, "%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n", ARC_REPLY_MAP, 4);
    EXPECT_BAD(&lim, "%3\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n:6\r\n");
    EXPECT_OK(&lim, "|2\r\n:1\r\n:2\r\n:3\r\n:4\r\n_\r\n", ARC_REPLY_NIL, 0);
    EXPECT_BAD(&lim, "|3\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n:6\r\n_\r\n");
    /* Streamed aggregates are counted as their elements arrive. */
    EXPECT_OK(&lim, "*?\r\n:1\r\n:2\r\n:3\r\n:4\r\n.\r\n", ARC_REPLY_ARRAY, 4);
    EXPECT_BAD(&lim, "*?\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n.\r\n");
    EXPECT_OK(&lim, "%?\r\n:1\r\n:2\r\n:3\r\n:4\r\n.\r\n", ARC_REPLY_MAP, 4);
    EXPECT_BAD(&lim, "%?\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n:6\r\n.\r\n");
    /* The limit is per aggregate, not per reply. */
    EXPECT_OK(&lim, "*2\r\n*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n",
              ARC_REPLY_ARRAY, 2);

    arc_reader_limits odd = {.max_elements = 3};
    EXPECT_OK(&odd, "%1\r\n:1\r\n:2\r\n", ARC_REPLY_MAP, 2);
    EXPECT_BAD(&odd, "%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n");
}

static void test_limit_max_depth(void **state)
{
    (void)state;
    arc_reader_limits one = {.max_depth = 1};
    EXPECT_OK(&one, ":1\r\n", ARC_REPLY_INTEGER, 0);
    EXPECT_OK(&one, "*0\r\n", ARC_REPLY_ARRAY, 0);
    EXPECT_BAD(&one, "*1\r\n:1\r\n");
    EXPECT_BAD(&one, "%1\r\n:1\r\n:1\r\n");

    arc_reader_limits two = {.max_depth = 2};
    EXPECT_OK(&two, "*1\r\n:1\r\n", ARC_REPLY_ARRAY, 1);
    EXPECT_OK(&two, "*2\r\n*0\r\n~0\r\n", ARC_REPLY_ARRAY, 2);
    EXPECT_BAD(&two, "*1\r\n*1\r\n:1\r\n");
    EXPECT_BAD(&two, "*?\r\n~?\r\n:1\r\n.\r\n.\r\n");
    EXPECT_BAD(&two, "%1\r\n+k\r\n>1\r\n+x\r\n");

    arc_reader_limits three = {.max_depth = 3};
    EXPECT_OK(&three, "*1\r\n*1\r\n:1\r\n", ARC_REPLY_ARRAY, 1);
    EXPECT_BAD(&three, "*1\r\n*1\r\n*1\r\n:1\r\n");

    /* The default, 64: 63 arrays around a scalar is depth 64. */
    char in[64 * 4 + 8];
    size_t n = 0;
    for (int i = 0; i < 63; i++) {
        memcpy(in + n, "*1\r\n", 4);
        n += 4;
    }
    memcpy(in + n, ":1\r\n", 4);
    expect_ok(NULL, in, n + 4, ARC_REPLY_ARRAY, 1);
    memmove(in + 4, in, n + 4);
    memcpy(in, "*1\r\n", 4);
    expect_bad(NULL, in, n + 8);
}

static void test_limit_max_buffer(void **state)
{
    (void)state;
    arc_reader_limits lim = {.max_buffer = 8};
    arc_reader *r = new_reader(&lim);
    arc_reply *out = NULL;
    /* Exactly the limit fits; one byte more is refused and nothing is kept. */
    assert_int_equal(arc_reader_feed(r, "+abcde\r\n", 8), ARC_OK);
    assert_int_equal(arc_reader_pending(r), 8);
    assert_int_equal(arc_reader_feed(r, "x", 1), ARC_ERR_LIMIT);
    assert_int_equal(arc_reader_pending(r), 8);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_non_null(out);
    assert_int_equal(out->type, ARC_REPLY_STATUS);
    assert_string_equal(out->str, "abcde");
    assert_int_equal(arc_reader_pending(r), 0);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_null(out);
    /* The refusal did not fail the reader. */
    assert_string_equal(arc_reader_error(r), "");
    assert_int_equal(arc_reader_feed(r, "+abcdef\r\n", 9), ARC_ERR_LIMIT);
    assert_int_equal(arc_reader_pending(r), 0);
    /* A line that fills the whole buffer without its CRLF can never end:
     * that is a protocol error, not a wait forever. One byte less waits. */
    assert_int_equal(arc_reader_feed(r, ":123", 4), ARC_OK);
    assert_int_equal(arc_reader_feed(r, "456", 3), ARC_OK);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_null(out);
    assert_string_equal(arc_reader_error(r), "");
    assert_int_equal(arc_reader_feed(r, "7", 1), ARC_OK);
    assert_int_equal(arc_reader_feed(r, "\r", 1), ARC_ERR_LIMIT);
    assert_int_equal(arc_reader_pending(r), 8);
    assert_int_equal(arc_reader_next(r, &out), ARC_ERR_PROTOCOL);
    assert_failed_for_good(r, "a line as long as max_buffer");
    arc_reader_free(r);
}

/* max_line bounds the text of every line, whatever its type; bulk bodies
 * are not lines and pass it. */
static void test_limit_max_line(void **state)
{
    (void)state;
    arc_reader_limits lim = {.max_line = 5};
    EXPECT_OK(&lim, "+abcde\r\n", ARC_REPLY_STATUS, 5);
    EXPECT_BAD(&lim, "+abcdef\r\n");
    EXPECT_OK(&lim, "-ERR x\r\n", ARC_REPLY_ERROR, 5);
    EXPECT_BAD(&lim, "-ERR xy\r\n");
    EXPECT_OK(&lim, ":12345\r\n", ARC_REPLY_INTEGER, 0);
    EXPECT_BAD(&lim, ":123456\r\n");
    EXPECT_OK(&lim, ",1.234\r\n", ARC_REPLY_DOUBLE, 5);
    EXPECT_BAD(&lim, ",1.2345\r\n");
    EXPECT_OK(&lim, "(12345\r\n", ARC_REPLY_BIGNUM, 5);
    EXPECT_BAD(&lim, "(123456\r\n");
    EXPECT_OK(&lim, "$00003\r\nabc\r\n", ARC_REPLY_STRING, 3);
    EXPECT_BAD(&lim, "$000003\r\nabc\r\n");
    EXPECT_OK(&lim, "*00001\r\n:1\r\n", ARC_REPLY_ARRAY, 1);
    EXPECT_BAD(&lim, "*000001\r\n:1\r\n");
    EXPECT_BAD(&lim, "$?\r\n;000001\r\na\r\n;0\r\n");
    EXPECT_OK(&lim, "$10\r\n0123456789\r\n", ARC_REPLY_STRING, 10);
    EXPECT_OK(&lim, "!10\r\nERR 456789\r\n", ARC_REPLY_ERROR, 10);
    /* Inside an aggregate too. */
    EXPECT_BAD(&lim, "*2\r\n+ab\r\n+abcdef\r\n");
}

/* A line past max_line is refused when its first byte too many arrives, not
 * when (or if) its CRLF does; a CR in the last place allowed waits for LF. */
static void test_limit_max_line_refused_early(void **state)
{
    (void)state;
    arc_reader_limits lim = {.max_line = 5};
    arc_reader *r = new_reader(&lim);
    arc_reply *out = NULL;
    assert_int_equal(arc_reader_feed(r, "+abcde", 6), ARC_OK);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_null(out);
    assert_int_equal(arc_reader_feed(r, "\r", 1), ARC_OK);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_null(out);
    assert_int_equal(arc_reader_feed(r, "\n", 1), ARC_OK);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_non_null(out);
    assert_string_equal(out->str, "abcde");
    assert_int_equal(arc_reader_feed(r, "-ERR x", 6), ARC_OK);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_null(out);
    assert_int_equal(arc_reader_feed(r, "y", 1), ARC_OK);
    assert_int_equal(arc_reader_next(r, &out), ARC_ERR_PROTOCOL);
    assert_non_null(strstr(arc_reader_error(r), "max_line (5)"));
    assert_failed_for_good(r, "a line one byte past max_line");
    arc_reader_free(r);
}

/* The default max_line: a status line of exactly that many bytes passes, one
 * byte more fails with no CRLF in sight, far below max_buffer. */
static void test_limit_max_line_default(void **state)
{
    (void)state;
    enum { MAX = ARC_READER_DEFAULT_MAX_LINE };
    assert_true(ARC_READER_DEFAULT_MAX_LINE < ARC_READER_DEFAULT_MAX_BUFFER / 16);
    static char line[1 + MAX + 2]; /* static: a failure leaks nothing */
    line[0] = '+';
    memset(line + 1, 'x', MAX);
    memcpy(line + 1 + MAX, "\r\n", 2);
    expect_ok(NULL, line, sizeof line, ARC_REPLY_STATUS, MAX);

    arc_reader *r = new_reader(NULL);
    arc_reply *out = NULL;
    for (size_t at = 0; at < 1 + MAX; at += 4096) {
        size_t n = 1 + MAX - at < 4096 ? 1 + MAX - at : 4096;
        assert_int_equal(arc_reader_feed(r, line + at, n), ARC_OK);
        assert_int_equal(arc_reader_next(r, &out), ARC_OK);
        assert_null(out);
    }
    assert_int_equal(arc_reader_feed(r, "x", 1), ARC_OK);
    assert_int_equal(arc_reader_next(r, &out), ARC_ERR_PROTOCOL);
    assert_non_null(strstr(arc_reader_error(r), "max_line"));
    assert_failed_for_good(r, "a status line one byte past the default max_line");
    arc_reader_free(r);
}

/* A bulk body is copied out as it arrives, so a string far longer than
 * max_buffer still passes when it is fed and drained piece by piece. */
static void test_limit_max_buffer_spares_bulk_bodies(void **state)
{
    (void)state;
    arc_reader_limits lim = {.max_buffer = 16};
    arc_reader *r = new_reader(&lim);
    char body[200];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char)('a' + i % 26);
    arc_reply *out = NULL;
    assert_int_equal(arc_reader_feed(r, "$200\r\n", 6), ARC_OK);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_null(out);
    for (size_t at = 0; at < sizeof body; at += 10) {
        assert_int_equal(arc_reader_feed(r, body + at, 10), ARC_OK);
        assert_int_equal(arc_reader_next(r, &out), ARC_OK);
        assert_null(out);
    }
    assert_int_equal(arc_reader_feed(r, "\r\n", 2), ARC_OK);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_non_null(out);
    assert_int_equal(out->len, sizeof body);
    assert_memory_equal(out->str, body, sizeof body);
    assert_int_equal(out->str[out->len], '\0');
    arc_reader_free(r);
}

/* A header that announces more than a limit fails before anything is
 * allocated for it: the largest request stays small. */
static void test_limit_checked_before_allocating(void **state)
{
    (void)state;
    static const char *const heads[] = {
        "$536870913\r\n",   /* default max_bulk + 1 */
        "!536870913\r\n",
        "=536870913\r\n",
        "*16777217\r\n",    /* default max_elements + 1 */
        "%8388609\r\n",     /* 2 * 8388609 > default max_elements */
        "~16777217\r\n",
        ">16777217\r\n",
        "|8388609\r\n",
        "$9223372036854775807\r\n",
        "*9223372036854775807\r\n",
    };
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        test_alloc t = {0};
        arc_allocator a = allocator_of(&t);
        arc_reader *r = arc_reader_new(NULL, &a);
        assert_non_null(r);
        assert_int_equal(arc_reader_feed(r, heads[i], strlen(heads[i])), ARC_OK);
        arc_reply *out = NULL;
        int rc = arc_reader_next(r, &out);
        if (rc != ARC_ERR_PROTOCOL)
            fail_msg("\"%s\": %s, expected ARC_ERR_PROTOCOL", heads[i], arc_status_name(rc));
        if (t.max_request >= 1024 * 1024)
            fail_msg("\"%s\": asked for %zu bytes", heads[i], t.max_request);
        assert_true(arc_reader_error(r)[0] != '\0');
        arc_reader_free(r);
        assert_int_equal(t.live, 0);
    }
}

/* A zero field means the default, not "nothing allowed". */
static void test_limits_zero_mean_default(void **state)
{
    (void)state;
    arc_reader_limits zero = {0};
    EXPECT_OK(&zero, "*1\r\n*1\r\n*1\r\n:1\r\n", ARC_REPLY_ARRAY, 1);
    EXPECT_OK(&zero, "$5\r\nhello\r\n", ARC_REPLY_STRING, 5);
    arc_reader *r = new_reader(&zero);
    char big[4096];
    memset(big, 'a', sizeof big);
    big[0] = '+';
    /* 64 KiB of an unfinished line is far below the default max_buffer. */
    for (int i = 0; i < 16; i++)
        assert_int_equal(arc_reader_feed(r, big, sizeof big), ARC_OK);
    assert_int_equal(arc_reader_pending(r), 16 * sizeof big);
    arc_reader_free(r);
}

/* ------------------------------------------------------------------------ */
/* Allocation failures */

typedef struct sweep_input {
    char *in;
    size_t len;
    want w[512];
    size_t nw;
    char big[3000];
} sweep_input;

static void append(sweep_input *s, const char *text, size_t n)
{
    char *p = realloc(s->in, s->len + n);
    assert_non_null(p);
    s->in = p;
    memcpy(s->in + s->len, text, n);
    s->len += n;
}

#define APPEND(s, lit) append(s, lit, sizeof(lit) - 1)

static void add_want(sweep_input *s, want w)
{
    assert_true(s->nw < sizeof s->w / sizeof s->w[0]);
    s->w[s->nw++] = w;
}

/* A nested RESP3 reply that needs many allocations: an attribute, a map with
 * a streamed array holding a 3000-byte bulk, a streamed string, a verbatim,
 * a bignum, 40 integers; then a push; then a streamed set of 300 integers. */
static void build_sweep_input(sweep_input *s)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < sizeof s->big; i++)
        s->big[i] = (char)('A' + i % 23);
    APPEND(s, "|1\r\n+ttl\r\n:60\r\n%3\r\n+key\r\n*?\r\n$3000\r\n");
    append(s, s->big, sizeof s->big);
    APPEND(s, "\r\n,3.25\r\n~2\r\n#t\r\n_\r\n.\r\n");
    APPEND(s, "$?\r\n;5\r\nhello\r\n;6\r\n world\r\n;0\r\n=7\r\ntxt:abc\r\n");
    APPEND(s, "(12345678901234567890\r\n*40\r\n");
    for (int i = 0; i < 40; i++) {
        char line[16];
        int n = snprintf(line, sizeof line, ":%d\r\n", i * 1000);
        append(s, line, (size_t)n);
    }
    APPEND(s, ">2\r\n+invalidate\r\n*1\r\n$3\r\nkey\r\n~?\r\n");
    for (int i = 0; i < 300; i++) {
        char line[16];
        int n = snprintf(line, sizeof line, ":%d\r\n", -i);
        append(s, line, (size_t)n);
    }
    APPEND(s, ".\r\n");

    add_want(s, (want)W_ATTR(1));
    add_want(s, (want)W_STATUS("ttl"));
    add_want(s, (want)W_INT(60));
    add_want(s, (want)W_MAP(3));
    add_want(s, (want)W_STATUS("key"));
    add_want(s, (want)W_ARR(3));
    add_want(s, (want){ARC_REPLY_STRING, 0, 0.0, s->big, sizeof s->big, NULL, 0});
    add_want(s, (want)W_DBL(3.25, "3.25"));
    add_want(s, (want)W_SET(2));
    add_want(s, (want)W_BOOL(1));
    add_want(s, (want)W_NIL);
    add_want(s, (want)W_STR("hello world"));
    add_want(s, (want)W_VERB("txt", "abc"));
    add_want(s, (want)W_BIG("12345678901234567890"));
    add_want(s, (want)W_ARR(40));
    for (int i = 0; i < 40; i++)
        add_want(s, (want)W_INT(i * 1000));
    add_want(s, (want)W_PUSH(2));
    add_want(s, (want)W_STATUS("invalidate"));
    add_want(s, (want)W_ARR(1));
    add_want(s, (want)W_STR("key"));
    add_want(s, (want)W_SET(300));
    for (int i = 0; i < 300; i++)
        add_want(s, (want)W_INT(-i));
}

enum sweep_mode {
    SWEEP_RETRY,   /* only the Nth allocation fails; the call is retried */
    SWEEP_RECOVER, /* the Nth and later fail until the test "recovers" */
    SWEEP_ABANDON, /* the Nth fails; the reader is freed right there */
};

/* One run with allocation N failing. Returns whether any allocation failed.
 * On a mismatch it frees the reader before failing, so that the only leak
 * valgrind can report is one the reader made. */
static bool sweep_run(const sweep_input *s, size_t n, enum sweep_mode mode, size_t step)
{
    char what[128], msg[1024] = "";
    snprintf(what, sizeof what, "allocation %zu failing (mode %d, step %zu)", n, (int)mode, step);
    test_alloc t = {0};
    t.fail_at = n;
    t.fail_onwards = mode == SWEEP_RECOVER;
    arc_allocator a = allocator_of(&t);
    arc_reader *r = arc_reader_new(NULL, &a);
    if (r == NULL) {
        assert_true(t.failures > 0);
        assert_int_equal(t.live, 0);
        return true;
    }
    cursor c = {s->w, s->nw, 0, ""};
    size_t at = 0;
    while (at < s->len && msg[0] == '\0') {
        size_t len = step < s->len - at ? step : s->len - at;
        int rc = arc_reader_feed(r, s->in + at, len);
        if (rc == ARC_ERR_NOMEM) {
            if (mode == SWEEP_ABANDON)
                goto done;
            t.fail_at = 0; /* the allocator recovers */
            rc = arc_reader_feed(r, s->in + at, len);
        }
        if (rc != ARC_OK) {
            snprintf(msg, sizeof msg, "%s: feed gave %s", what, arc_status_name(rc));
            break;
        }
        at += len;
        for (;;) {
            arc_reply *out = NULL;
            rc = arc_reader_next(r, &out);
            if (rc == ARC_ERR_NOMEM) {
                if (mode == SWEEP_ABANDON)
                    goto done;
                t.fail_at = 0;
                continue;
            }
            if (rc != ARC_OK) {
                snprintf(msg, sizeof msg, "%s: next gave %s: %s", what, arc_status_name(rc),
                         arc_reader_error(r));
                break;
            }
            if (out == NULL)
                break;
            char path[32];
            snprintf(path, sizeof path, "reply #%zu", c.i);
            if (!check_node(&c, out, path)) {
                snprintf(msg, sizeof msg, "%s: %s", what, c.err);
                break;
            }
        }
    }
    if (msg[0] == '\0' && c.i != c.n)
        snprintf(msg, sizeof msg, "%s: only %zu of %zu expected entries seen", what, c.i, c.n);
    if (msg[0] == '\0' && arc_reader_pending(r) != 0)
        snprintf(msg, sizeof msg, "%s: %zu bytes left unparsed", what, arc_reader_pending(r));
done:
    arc_reader_free(r);
    if (msg[0] != '\0')
        fail_msg("%s", msg);
    if (t.live != 0)
        fail_msg("%s: %ld blocks leaked", what, t.live);
    return t.failures > 0;
}

static void sweep(enum sweep_mode mode, size_t step)
{
    static sweep_input sweep_in; /* static: a failure leaks nothing */
    sweep_input *s = &sweep_in;
    free(s->in); /* what an earlier sweep that failed left behind */
    build_sweep_input(s);
    size_t n = 1;
    while (sweep_run(s, n, mode, step)) {
        n++;
        assert_true(n < 100000);
    }
    /* The sweep only means something if it failed a few allocations. */
    assert_true(n > 3);
    free(s->in);
    s->in = NULL;
}

static void test_nomem_retry_whole(void **state)
{
    (void)state;
    sweep(SWEEP_RETRY, (size_t)-1);
}

static void test_nomem_retry_chunked(void **state)
{
    (void)state;
    sweep(SWEEP_RETRY, 7);
}

static void test_nomem_recover_whole(void **state)
{
    (void)state;
    sweep(SWEEP_RECOVER, (size_t)-1);
}

static void test_nomem_recover_chunked(void **state)
{
    (void)state;
    sweep(SWEEP_RECOVER, 13);
}

static void test_nomem_abandon_whole(void **state)
{
    (void)state;
    sweep(SWEEP_ABANDON, (size_t)-1);
}

static void test_nomem_abandon_chunked(void **state)
{
    (void)state;
    sweep(SWEEP_ABANDON, 5);
}

static void test_nomem_reader_new(void **state)
{
    (void)state;
    test_alloc t = {.fail_at = 1, .fail_onwards = true};
    arc_allocator a = allocator_of(&t);
    assert_null(arc_reader_new(NULL, &a));
    assert_true(t.failures > 0);
    assert_int_equal(t.live, 0);
}

/* ------------------------------------------------------------------------ */
/* arc_reply_dup of reader trees */

static bool reply_equal(const arc_reply *a, const arc_reply *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (a->type != b->type)
        return false;
    if (is_text_type(a->type) &&
        (a->len != b->len || memcmp(a->str, b->str, a->len) != 0 || b->str[b->len] != '\0'))
        return false;
    if ((a->type == ARC_REPLY_INTEGER || a->type == ARC_REPLY_BOOL) && a->integer != b->integer)
        return false;
    if (a->type == ARC_REPLY_DOUBLE &&
        (isnan(a->dval) ? !isnan(b->dval) : a->dval != b->dval))
        return false;
    if (a->type == ARC_REPLY_VERB && memcmp(a->vtype, b->vtype, 4) != 0)
        return false;
    if (is_aggregate_type(a->type)) {
        if (a->elements != b->elements)
            return false;
        for (size_t i = 0; i < a->elements; i++)
            if (!reply_equal(a->element[i], b->element[i]))
                return false;
    }
    return reply_equal(a->attribute, b->attribute);
}

static const example *find_example(const char *name)
{
    for (size_t i = 0; i < N_EXAMPLES; i++)
        if (strcmp(examples[i].name, name) == 0)
            return &examples[i];
    fail_msg("no example named \"%s\"", name);
    return NULL;
}

/* The dup matches the expected tree and the original, shares no memory with
 * the reader (it still matches after the reader moved on and was freed), is
 * one allocation, and goes back through the same allocator. */
static void dup_one(const char *name)
{
    const example *ex = find_example(name);
    arc_reader *r = new_reader(NULL);
    assert_int_equal(arc_reader_feed(r, ex->in, ex->len), ARC_OK);
    arc_reply *out = NULL;
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_non_null(out);

    test_alloc t = {0};
    arc_allocator a = allocator_of(&t);
    arc_reply *copy = arc_reply_dup(out, &a);
    assert_non_null(copy);
    assert_int_equal(t.calls, 1);
    assert_int_equal(t.live, 1);
    assert_true(reply_equal(out, copy));
    assert_ptr_not_equal(copy, out);

    /* Let the reader reuse its memory, then drop it altogether. */
    static const char next[] = "*2\r\n$5\r\nXXXXX\r\n|1\r\n+Y\r\n:9\r\n:8\r\n";
    assert_int_equal(arc_reader_feed(r, next, sizeof next - 1), ARC_OK);
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_non_null(out);
    arc_reader_free(r);

    cursor c = {ex->w, ex->nw, 0, ""};
    if (!check_node(&c, copy, "dup"))
        fail_msg("%s: %s", name, c.err);
    arc_reply_free(copy);
    assert_int_equal(t.live, 0);
}

static void test_dup_attribute_tree(void **state)
{
    (void)state;
    dup_one("attribute at top level");
}

static void test_dup_mixed_tree(void **state)
{
    (void)state;
    dup_one("mixed RESP3 tree");
}

static void test_dup_nested_attributes(void **state)
{
    (void)state;
    dup_one("attribute on an attribute value");
    dup_one("attribute on a map value");
}

static void test_dup_binary_and_streamed(void **state)
{
    (void)state;
    dup_one("bulk binary with NUL and CRLF");
    dup_one("streamed nested");
}

static void test_dup_default_allocator(void **state)
{
    (void)state;
    const example *ex = find_example("attribute inside array");
    arc_reader *r = new_reader(NULL);
    assert_int_equal(arc_reader_feed(r, ex->in, ex->len), ARC_OK);
    arc_reply *out = NULL;
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_non_null(out);
    arc_reply *copy = arc_reply_dup(out, NULL);
    assert_non_null(copy);
    arc_reader_free(r);
    cursor c = {ex->w, ex->nw, 0, ""};
    if (!check_node(&c, copy, "dup"))
        fail_msg("%s", c.err);
    arc_reply_free(copy);
}

static void test_dup_nomem(void **state)
{
    (void)state;
    const example *ex = find_example("attribute at top level");
    arc_reader *r = new_reader(NULL);
    assert_int_equal(arc_reader_feed(r, ex->in, ex->len), ARC_OK);
    arc_reply *out = NULL;
    assert_int_equal(arc_reader_next(r, &out), ARC_OK);
    assert_non_null(out);
    test_alloc t = {.fail_at = 1};
    arc_allocator a = allocator_of(&t);
    assert_null(arc_reply_dup(out, &a));
    assert_int_equal(t.failures, 1);
    assert_int_equal(t.live, 0);
    /* The failed copy left the borrowed reply intact. */
    cursor c = {ex->w, ex->nw, 0, ""};
    if (!check_node(&c, out, "reply"))
        fail_msg("%s", c.err);
    /* And the next attempt works. */
    arc_reply *copy = arc_reply_dup(out, &a);
    assert_non_null(copy);
    assert_true(reply_equal(out, copy));
    arc_reply_free(copy);
    assert_int_equal(t.live, 0);
    arc_reader_free(r);
}

/* ------------------------------------------------------------------------ */

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(arc_reply_type_name(ARC_REPLY_STRING), "string");
    assert_string_equal(arc_reply_type_name(ARC_REPLY_ARRAY), "array");
    assert_string_equal(arc_reply_type_name(ARC_REPLY_INTEGER), "integer");
    assert_string_equal(arc_reply_type_name(ARC_REPLY_NIL), "nil");
    assert_string_equal(arc_reply_type_name(ARC_REPLY_STATUS), "status");
    assert_string_equal(arc_reply_type_name(ARC_REPLY_ERROR), "error");
    assert_string_equal(arc_reply_type_name(ARC_REPLY_DOUBLE), "double");
    assert_string_equal(arc_reply_type_name(ARC_REPLY_BOOL), "bool");
    assert_string_equal(arc_reply_type_name(ARC_REPLY_MAP), "map");
    assert_string_equal(arc_reply_type_name(ARC_REPLY_SET), "set");
    assert_string_equal(arc_reply_type_name(ARC_REPLY_ATTR), "attribute");
    assert_string_equal(arc_reply_type_name(ARC_REPLY_PUSH), "push");
    assert_string_equal(arc_reply_type_name(ARC_REPLY_BIGNUM), "bignum");
    assert_string_equal(arc_reply_type_name(ARC_REPLY_VERB), "verbatim");
    assert_string_equal(arc_reply_type_name(0), "unknown");
    assert_string_equal(arc_reply_type_name(15), "unknown");
    assert_string_equal(arc_reply_type_name(-1), "unknown");
}

/* The type codes are the ones hiredis users know. */
static void test_type_codes(void **state)
{
    (void)state;
    assert_int_equal(ARC_REPLY_STRING, 1);
    assert_int_equal(ARC_REPLY_ARRAY, 2);
    assert_int_equal(ARC_REPLY_INTEGER, 3);
    assert_int_equal(ARC_REPLY_NIL, 4);
    assert_int_equal(ARC_REPLY_STATUS, 5);
    assert_int_equal(ARC_REPLY_ERROR, 6);
    assert_int_equal(ARC_REPLY_DOUBLE, 7);
    assert_int_equal(ARC_REPLY_BOOL, 8);
    assert_int_equal(ARC_REPLY_MAP, 9);
    assert_int_equal(ARC_REPLY_SET, 10);
    assert_int_equal(ARC_REPLY_ATTR, 11);
    assert_int_equal(ARC_REPLY_PUSH, 12);
    assert_int_equal(ARC_REPLY_BIGNUM, 13);
    assert_int_equal(ARC_REPLY_VERB, 14);
}

/* ------------------------------------------------------------------------ */

static const struct CMUnitTest fixed_tests[] = {
    cmocka_unit_test(test_all_examples_back_to_back),
    cmocka_unit_test(test_large_bulk),
    cmocka_unit_test(test_many_replies_reuse),
    cmocka_unit_test(test_lent_reply_survives_feeding),
    cmocka_unit_test(test_invalid_arguments),
    cmocka_unit_test(test_pending_counts_unparsed_bytes),
    cmocka_unit_test(test_lone_attribute_waits),
    cmocka_unit_test(test_two_attributes_chain),
    cmocka_unit_test(test_steady_state_allocates_nothing),
    cmocka_unit_test(test_million_deep_nesting),
    cmocka_unit_test(test_free_mid_reply),
    cmocka_unit_test(test_failure_after_good_reply_sticks),
    cmocka_unit_test(test_line_end_errors_say_what),
    cmocka_unit_test(test_limit_max_bulk),
    cmocka_unit_test(test_limit_max_elements),
    cmocka_unit_test(test_limit_max_depth),
    cmocka_unit_test(test_limit_max_buffer),
    cmocka_unit_test(test_limit_max_buffer_spares_bulk_bodies),
    cmocka_unit_test(test_limit_max_line),
    cmocka_unit_test(test_limit_max_line_refused_early),
    cmocka_unit_test(test_limit_max_line_default),
    cmocka_unit_test(test_limit_checked_before_allocating),
    cmocka_unit_test(test_limits_zero_mean_default),
    cmocka_unit_test(test_nomem_reader_new),
    cmocka_unit_test(test_nomem_retry_whole),
    cmocka_unit_test(test_nomem_retry_chunked),
    cmocka_unit_test(test_nomem_recover_whole),
    cmocka_unit_test(test_nomem_recover_chunked),
    cmocka_unit_test(test_nomem_abandon_whole),
    cmocka_unit_test(test_nomem_abandon_chunked),
    cmocka_unit_test(test_dup_attribute_tree),
    cmocka_unit_test(test_dup_mixed_tree),
    cmocka_unit_test(test_dup_nested_attributes),
    cmocka_unit_test(test_dup_binary_and_streamed),
    cmocka_unit_test(test_dup_default_allocator),
    cmocka_unit_test(test_dup_nomem),
    cmocka_unit_test(test_type_names),
    cmocka_unit_test(test_type_codes),
};

#define N_FIXED (sizeof fixed_tests / sizeof fixed_tests[0])

static void name_test(struct CMUnitTest *t, char *name, size_t cap, const char *fmt,
                      const char *what)
{
    snprintf(name, cap, fmt, what);
    t->name = name;
}

int main(void)
{
    /* Each example and each malformed input is a test case of its own, so
     * that the TAP output names the one that broke. */
    enum { NAME = 96 };
    size_t count = 3 * N_EXAMPLES + N_MALFORMED + N_FIXED;
    struct CMUnitTest *tests = calloc(count, sizeof *tests);
    char (*names)[NAME] = calloc(count, NAME);
    if (tests == NULL || names == NULL)
        return 1;
    size_t k = 0;
    for (size_t i = 0; i < N_EXAMPLES; i++) {
        static void (*const modes[3])(void **) = {test_example_whole, test_example_every_split,
                                                   test_example_bytewise};
        static const char *const fmts[3] = {"valid, whole: %s", "valid, every split: %s",
                                            "valid, byte at a time: %s"};
        for (int m = 0; m < 3; m++, k++) {
            name_test(&tests[k], names[k], NAME, fmts[m], examples[i].name);
            tests[k].test_func = modes[m];
            tests[k].initial_state = (void *)&examples[i];
        }
    }
    for (size_t i = 0; i < N_MALFORMED; i++, k++) {
        name_test(&tests[k], names[k], NAME, "malformed: %s", malformed[i].name);
        tests[k].test_func = test_malformed;
        tests[k].initial_state = (void *)&malformed[i];
    }
    for (size_t i = 0; i < N_FIXED; i++, k++)
        tests[k] = fixed_tests[i];
    int failed = _cmocka_run_group_tests("reader", tests, count, NULL, NULL);
    free(tests);
    free(names);
    return failed;
}
