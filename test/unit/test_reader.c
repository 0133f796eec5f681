/* test_reader.c: the RESP reader, driven by byte scripts. Every valid
 * example is fed whole, split in two at every point and one byte at a time;
 * every limit is checked at its edge; every malformed form must fail. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arc/arc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a canonical text form of reply trees, to compare them ---- */

typedef struct text {
    char buf[8192];
    size_t len;
} text;

static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof t->buf - t->len);
    t->len += (size_t)n;
}

static void put_bytes(text *t, const char *s, size_t n)
{
    put(t, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            put(t, "%c", c);
        else
            put(t, "\\x%02x", c);
    }
    put(t, "\"");
}

/* +OK -> +"OK", :5, $"x", _ (nil), ,<text>=<%g>, #t, ("123", ="txt":"...",
 * -"ERR", *[a b], %{k v}, ~[..], >[..], and @{attr} before a reply. */
static void dump(text *t, const arc_reply *r)
{
    if (r->attribute != NULL) {
        put(t, "@");
        dump(t, r->attribute);
    }
    if (r->str != NULL && r->str[r->len] != '\0')
        fail_msg("string not NUL-terminated");
    switch (r->type) {
    case ARC_REPLY_STATUS: put(t, "+"); put_bytes(t, r->str, r->len); break;
    case ARC_REPLY_ERROR: put(t, "-"); put_bytes(t, r->str, r->len); break;
    case ARC_REPLY_STRING: put(t, "$"); put_bytes(t, r->str, r->len); break;
    case ARC_REPLY_BIGNUM: put(t, "("); put_bytes(t, r->str, r->len); break;
    case ARC_REPLY_INTEGER: put(t, ":%lld", r->integer); break;
    case ARC_REPLY_NIL: put(t, "_"); break;
    case ARC_REPLY_BOOL: put(t, "#%c", r->integer ? 't' : 'f'); break;
    case ARC_REPLY_DOUBLE:
        put(t, ",");
        put_bytes(t, r->str, r->len);
        put(t, "=%g", r->dval);
        break;
    case ARC_REPLY_VERB:
        put(t, "=%s:", r->vtype);
        put_bytes(t, r->str, r->len);
        break;
    default: {
        const char *open = r->type == ARC_REPLY_ARRAY ? "*["
                         : r->type == ARC_REPLY_MAP   ? "%{"
                         : r->type == ARC_REPLY_SET   ? "~["
                         : r->type == ARC_REPLY_PUSH  ? ">["
                         : r->type == ARC_REPLY_ATTR  ? "{"
                                                      : "?[";
        put(t, "%s", open);
        for (size_t i = 0; i < r->elements; i++) {
            if (i)
                put(t, " ");
            dump(t, r->element[i]);
        }
        put(t, "%c", open[strlen(open) - 1] == '{' ? '}' : ']');
    }
    }
}

/* Takes every reply out, appending "reply|" per reply. Returns the status
 * of the last next() call. */
static int drain(arc_reader *r, text *t)
{
    arc_reply *reply;
    int rc;
    while ((rc = arc_reader_next(r, &reply)) == ARC_OK && reply != NULL) {
        dump(t, reply);
        put(t, "|");
    }
    return rc;
}

/* ---- valid examples ---- */

typedef struct example {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen */
    const char *want;
} example;

#define EX(name, in, want) {name, in, sizeof(in) - 1, want}

static const example examples[] = {
    EX("status", "+OK\r\n", "+\"OK\"|"),
    EX("empty status", "+\r\n", "+\"\"|"),
    EX("error", "-ERR wrong\r\n", "-\"ERR wrong\"|"),
    EX("integer", ":1234\r\n", ":1234|"),
    EX("negative integer", ":-5\r\n", ":-5|"),
    EX("integer with plus", ":+7\r\n", ":7|"),
    EX("integer min", ":-9223372036854775808\r\n", ":-9223372036854775808|"),
    EX("integer max", ":9223372036854775807\r\n", ":9223372036854775807|"),
    EX("bulk", "$5\r\nhello\r\n", "$\"hello\"|"),
    EX("empty bulk", "$0\r\n\r\n", "$\"\"|"),
    EX("binary bulk", "$4\r\na\0\r\n\r\n", "$\"a\\x00\\x0d\\x0a\"|"),
    EX("nil bulk", "$-1\r\n", "_|"),
    EX("nil array", "*-1\r\n", "_|"),
    EX("null", "_\r\n", "_|"),
    EX("empty array", "*0\r\n", "*[]|"),
    EX("array", "*3\r\n:1\r\n$1\r\nx\r\n+y\r\n", "*[:1 $\"x\" +\"y\"]|"),
    EX("nested", "*2\r\n*1\r\n*0\r\n%1\r\n+k\r\n~1\r\n:1\r\n", "*[*[*[]] %{+\"k\" ~[:1]}]|"),
    EX("double", ",1.5\r\n", ",\"1.5\"=1.5|"),
    EX("double exponent", ",-2e10\r\n", ",\"-2e10\"=-2e+10|"),
    EX("double integer", ",10\r\n", ",\"10\"=10|"),
    EX("double inf", ",inf\r\n,-inf\r\n,+inf\r\n", ",\"inf\"=inf|,\"-inf\"=-inf|,\"+inf\"=inf|"),
    EX("double nan", ",nan\r\n", ",\"nan\"=nan|"),
    EX("bools", "#t\r\n#f\r\n", "#t|#f|"),
    EX("bignum", "(3492890328409238509324850943850943825024385\r\n",
       "(\"3492890328409238509324850943850943825024385\"|"),
    EX("negative bignum", "(-12\r\n", "(\"-12\"|"),
    EX("verbatim", "=15\r\ntxt:Some string\r\n", "=txt:\"Some string\"|"),
    EX("empty verbatim", "=4\r\nmkd:\r\n", "=mkd:\"\"|"),
    EX("blob error", "!21\r\nSYNTAX invalid syntax\r\n", "-\"SYNTAX invalid syntax\"|"),
    EX("map", "%2\r\n+a\r\n:1\r\n+b\r\n_\r\n", "%{+\"a\" :1 +\"b\" _}|"),
    EX("set", "~2\r\n+x\r\n+y\r\n", "~[+\"x\" +\"y\"]|"),
    EX("push", ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n",
       ">[$\"message\" $\"ch\" $\"m\"]|"),
    EX("attribute at top", "|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n", "@{+\"ttl\" :3}$\"v\"|"),
    EX("attribute nested", "*2\r\n|1\r\n+k\r\n#t\r\n:1\r\n:2\r\n", "*[@{+\"k\" #t}:1 :2]|"),
    EX("attribute before aggregate", "|1\r\n+a\r\n:1\r\n*1\r\n:2\r\n", "@{+\"a\" :1}*[:2]|"),
    EX("two attributes", "|1\r\n+a\r\n:1\r\n|1\r\n+b\r\n:2\r\n+x\r\n",
       "@@{+\"a\" :1}{+\"b\" :2}+\"x\"|"),
    EX("streamed string", "$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;1\r\nd\r\n;0\r\n",
       "$\"Hello word\"|"),
    EX("streamed empty string", "$?\r\n;0\r\n", "$\"\"|"),
    EX("streamed array", "*?\r\n:1\r\n:2\r\n.\r\n", "*[:1 :2]|"),
    EX("streamed map", "%?\r\n+a\r\n:1\r\n.\r\n", "%{+\"a\" :1}|"),
    EX("streamed set in array", "*1\r\n~?\r\n+x\r\n.\r\n", "*[~[+\"x\"]]|"),
    EX("streamed empty", "*?\r\n.\r\n", "*[]|"),
    EX("pipeline", "+OK\r\n:1\r\n$3\r\nfoo\r\n*1\r\n$0\r\n\r\n_\r\n",
       "+\"OK\"|:1|$\"foo\"|*[$\"\"]|_|"),
};

static void run_example(const example *ex, const char *how, size_t split, bool bytewise)
{
    arc_reader *r = arc_reader_new(NULL, NULL);
    assert_non_null(r);
    text t;
    t.len = 0;
    t.buf[0] = '\0';
    if (bytewise) {
        for (size_t i = 0; i < ex->len; i++) {
            assert_int_equal(arc_reader_feed(r, ex->in + i, 1), ARC_OK);
            assert_int_equal(drain(r, &t), ARC_OK);
        }
    } else {
        assert_int_equal(arc_reader_feed(r, ex->in, split), ARC_OK);
        assert_int_equal(drain(r, &t), ARC_OK);
        assert_int_equal(arc_reader_feed(r, ex->in + split, ex->len - split), ARC_OK);
        assert_int_equal(drain(r, &t), ARC_OK);
    }
    if (strcmp(t.buf, ex->want) != 0)
        fail_msg("%s, %s (split %zu):\n got  %s\n want %s", ex->name, how, split, t.buf,
                 ex->want);
    assert_int_equal(arc_reader_pending(r), 0);
    arc_reader_free(r);
}

static void valid_whole(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++)
        run_example(&examples[i], "whole", examples[i].len, false);
}

static void valid_every_split(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++)
        for (size_t s = 0; s <= examples[i].len; s++)
            run_example(&examples[i], "split", s, false);
}

static void valid_bytewise(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++)
        run_example(&examples[i], "byte by byte", 0, true);
}

/* All examples back to back in one stream, split at every point. */
static void valid_concatenated(void **state)
{
    (void)state;
    static char all[4096];
    static char want[8192];
    size_t n = 0, w = 0;
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        memcpy(all + n, examples[i].in, examples[i].len);
        n += examples[i].len;
        size_t wl = strlen(examples[i].want);
        memcpy(want + w, examples[i].want, wl);
        w += wl;
    }
    want[w] = '\0';
    example ex = {"all", all, n, want};
    for (size_t s = 0; s <= n; s += 7)
        run_example(&ex, "concatenated", s, false);
    run_example(&ex, "concatenated bytewise", 0, true);
}

/* ---- malformed input ---- */

static const example malformed[] = {
    EX("unknown type", "x\r\n", ""),
    EX("empty line", "\r\n", ""),
    EX("CR without LF", "+OK\rX\r\n", ""),
    EX("empty integer", ":\r\n", ""),
    EX("sign only", ":-\r\n", ""),
    EX("integer with letters", ":12a\r\n", ""),
    EX("integer overflow", ":9223372036854775808\r\n", ""),
    EX("integer underflow", ":-9223372036854775809\r\n", ""),
    EX("bulk length letters", "$abc\r\n", ""),
    EX("bulk length empty", "$\r\n", ""),
    EX("bulk length plus", "$+3\r\nabc\r\n", ""),
    EX("bulk length -2", "$-2\r\n", ""),
    EX("bulk length overflow", "$99999999999999999999\r\n", ""),
    EX("bulk without CRLF", "$3\r\nabcXY", ""),
    EX("bulk with one CR", "$3\r\nabc\rX", ""),
    EX("array -2", "*-2\r\n", ""),
    EX("map -1", "%-1\r\n", ""),
    EX("set -1", "~-1\r\n", ""),
    EX("push empty", ">0\r\n", ""),
    EX("push of integer kind", ">2\r\n:1\r\n:2\r\n", ""),
    EX("push of array kind", ">1\r\n*0\r\n", ""),
    EX("bool other", "#x\r\n", ""),
    EX("bool long", "#tt\r\n", ""),
    EX("null with text", "_x\r\n", ""),
    EX("double text", ",abc\r\n", ""),
    EX("double hex", ",0x10\r\n", ""),
    EX("double empty", ",\r\n", ""),
    EX("double infinity", ",infinity\r\n", ""),
    EX("double dangling exponent", ",1e\r\n", ""),
    EX("bignum letters", "(12a\r\n", ""),
    EX("bignum empty", "(\r\n", ""),
    EX("verbatim short", "=3\r\ntxt\r\n", ""),
    EX("verbatim no colon", "=5\r\ntxtab\r\n", ""),
    EX("chunk outside", ";3\r\nabc\r\n", ""),
    EX("end outside", ".\r\n", ""),
    EX("end in fixed array", "*2\r\n:1\r\n.\r\n", ""),
    EX("streamed chunk negative", "$?\r\n;-1\r\n", ""),
    EX("streamed other type", "$?\r\n:1\r\n", ""),
    EX("streamed chunk no CRLF", "$?\r\n;2\r\nabXY", ""),
    EX("odd streamed map", "%?\r\n+a\r\n.\r\n", ""),
    EX("attribute then end", "*?\r\n|1\r\n+a\r\n:1\r\n.\r\n", ""),
    EX("streamed push", ">?\r\n", ""),
};

static void malformed_fails(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        const example *ex = &malformed[i];
        /* Whole and byte by byte: the failure comes either way. */
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            arc_reader *r = arc_reader_new(NULL, NULL);
            assert_non_null(r);
            text t;
            t.len = 0;
            int rc = ARC_OK;
            for (size_t off = 0; off < ex->len && rc == ARC_OK;) {
                size_t n = bytewise ? 1 : ex->len;
                rc = arc_reader_feed(r, ex->in + off, n);
                off += n;
                if (rc == ARC_OK)
                    rc = drain(r, &t);
            }
            if (rc != ARC_ERR_PROTOCOL)
                fail_msg("%s (%s): got %s", ex->name, bytewise ? "bytewise" : "whole",
                         arc_status_name(rc));
            const char *msg = arc_reader_error(r);
            assert_non_null(strstr(msg, "protocol error at byte"));
            /* Sticky: the reader stays failed. */
            arc_reply *reply = (arc_reply *)1;
            assert_int_equal(arc_reader_next(r, &reply), ARC_ERR_PROTOCOL);
            assert_null(reply);
            assert_int_equal(arc_reader_feed(r, "+OK\r\n", 5), ARC_ERR_PROTOCOL);
            arc_reader_free(r);
        }
    }
}

/* The message names what was wrong. */
static void error_messages_say_what(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *says;
    } cases[] = {
        {"x\r\n", "unknown type byte 0x78"},
        {"$-2\r\n", "negative length"},
        {"+OK\rX", "CR not followed by LF"},
        {":1\r\n:1\r\n:zz\r\n", "at byte 8"},
        {">1\r\n:1\r\n", "push"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        arc_reader *r = arc_reader_new(NULL, NULL);
        assert_int_equal(arc_reader_feed(r, cases[i].in, strlen(cases[i].in)), ARC_OK);
        text t;
        t.len = 0;
        assert_int_equal(drain(r, &t), ARC_ERR_PROTOCOL);
        if (strstr(arc_reader_error(r), cases[i].says) == NULL)
            fail_msg("'%s' does not say '%s'", arc_reader_error(r), cases[i].says);
        arc_reader_free(r);
    }
}

/* ---- limits, each at its edge ---- */

static int parse_with(const arc_reader_limits *lim, const char *in, size_t len, text *t)
{
    arc_reader *r = arc_reader_new(lim, NULL);
    assert_non_null(r);
    t->len = 0;
    t->buf[0] = '\0';
    int rc = arc_reader_feed(r, in, len);
    if (rc == ARC_OK)
        rc = drain(r, t);
    arc_reader_free(r);
    return rc;
}

static void limit_bulk(void **state)
{
    (void)state;
    arc_reader_limits lim = {0, 5, 0, 0};
    text t;
    assert_int_equal(parse_with(&lim, "$5\r\nhello\r\n", 11, &t), ARC_OK);
    assert_string_equal(t.buf, "$\"hello\"|");
    assert_int_equal(parse_with(&lim, "$6\r\n", 4, &t), ARC_ERR_PROTOCOL);
    assert_int_equal(parse_with(&lim, "!6\r\n", 4, &t), ARC_ERR_PROTOCOL);
    assert_int_equal(parse_with(&lim, "=6\r\n", 4, &t), ARC_ERR_PROTOCOL);
    /* A streamed string counts its chunks together. */
    assert_int_equal(parse_with(&lim, "$?\r\n;3\r\nabc\r\n;2\r\nde\r\n;0\r\n", 25, &t), ARC_OK);
    assert_int_equal(parse_with(&lim, "$?\r\n;3\r\nabc\r\n;3\r\n", 17, &t), ARC_ERR_PROTOCOL);
}

static void limit_elements(void **state)
{
    (void)state;
    arc_reader_limits lim = {0, 0, 4, 0};
    text t;
    assert_int_equal(parse_with(&lim, "*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n", 20, &t), ARC_OK);
    assert_int_equal(parse_with(&lim, "*5\r\n", 4, &t), ARC_ERR_PROTOCOL);
    assert_int_equal(parse_with(&lim, "%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n", 20, &t), ARC_OK);
    assert_int_equal(parse_with(&lim, "%3\r\n", 4, &t), ARC_ERR_PROTOCOL);
    assert_int_equal(parse_with(&lim, "~5\r\n", 4, &t), ARC_ERR_PROTOCOL);
    assert_int_equal(parse_with(&lim, ">5\r\n", 4, &t), ARC_ERR_PROTOCOL);
    assert_int_equal(parse_with(&lim, "|3\r\n", 4, &t), ARC_ERR_PROTOCOL);
    assert_int_equal(parse_with(&lim, "*?\r\n:1\r\n:2\r\n:3\r\n:4\r\n.\r\n", 23, &t), ARC_OK);
    assert_int_equal(parse_with(&lim, "*?\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n", 24, &t),
                     ARC_ERR_PROTOCOL);
    /* Huge counts fail on the header, before any allocation. */
    assert_int_equal(parse_with(NULL, "*2147483648\r\n", 13, &t), ARC_ERR_PROTOCOL);
    assert_int_equal(parse_with(NULL, "%9223372036854775807\r\n", 22, &t), ARC_ERR_PROTOCOL);
    assert_int_equal(parse_with(NULL, "$9223372036854775807\r\n", 22, &t), ARC_ERR_PROTOCOL);
}

static void limit_depth(void **state)
{
    (void)state;
    arc_reader_limits lim = {0, 0, 0, 3};
    text t;
    assert_int_equal(parse_with(&lim, "*1\r\n*1\r\n:1\r\n", 12, &t), ARC_OK);
    assert_int_equal(parse_with(&lim, "*1\r\n*1\r\n*0\r\n", 12, &t), ARC_OK);
    assert_int_equal(parse_with(&lim, "*1\r\n*1\r\n*1\r\n:1\r\n", 16, &t), ARC_ERR_PROTOCOL);
    assert_int_equal(parse_with(&lim, "*1\r\n*1\r\n|1\r\n+a\r\n", 16, &t), ARC_ERR_PROTOCOL);
    /* The default stops a million-deep nesting without recursion trouble. */
    size_t n = 4 * 1000000;
    char *deep = malloc(n);
    assert_non_null(deep);
    for (size_t i = 0; i < n; i += 4)
        memcpy(deep + i, "*1\r\n", 4);
    assert_int_equal(parse_with(NULL, deep, n, &t), ARC_ERR_PROTOCOL);
    free(deep);
}

static void limit_buffer(void **state)
{
    (void)state;
    arc_reader_limits lim = {8, 0, 0, 0};
    arc_reader *r = arc_reader_new(&lim, NULL);
    assert_int_equal(arc_reader_feed(r, "+OKOKOK", 7), ARC_OK);
    assert_int_equal(arc_reader_feed(r, "OK", 2), ARC_ERR_LIMIT); /* refused whole */
    assert_int_equal(arc_reader_pending(r), 7);
    assert_int_equal(arc_reader_feed(r, "\r", 1), ARC_OK); /* exactly at the limit */
    arc_reply *reply;
    /* 8 bytes, the line not finished, no room for LF: that line can never end. */
    assert_int_equal(arc_reader_next(r, &reply), ARC_ERR_PROTOCOL);
    assert_non_null(strstr(arc_reader_error(r), "max_buffer"));
    arc_reader_free(r);

    r = arc_reader_new(&lim, NULL);
    assert_int_equal(arc_reader_feed(r, "+OKOKOK\r", 8), ARC_OK);
    assert_int_equal(arc_reader_next(r, &reply), ARC_ERR_PROTOCOL);
    arc_reader_free(r);

    /* Bulk bodies stream into their node: a body far larger than the
     * buffer passes through it. */
    r = arc_reader_new(&lim, NULL);
    const char *in = "$20\r\n0123456789abcdefghij\r\n";
    text t;
    t.len = 0;
    size_t len = strlen(in);
    for (size_t i = 0; i < len; i += 4) {
        size_t n = len - i < 4 ? len - i : 4;
        assert_int_equal(arc_reader_feed(r, in + i, n), ARC_OK);
        assert_int_equal(drain(r, &t), ARC_OK);
    }
    assert_string_equal(t.buf, "$\"0123456789abcdefghij\"|");
    arc_reader_free(r);
}

/* ---- lifetime, arguments, memory ---- */

static void borrowed_until_next(void **state)
{
    (void)state;
    arc_reader *r = arc_reader_new(NULL, NULL);
    assert_int_equal(arc_reader_feed(r, "$3\r\nabc\r\n:1\r\n", 13), ARC_OK);
    arc_reply *a, *b;
    assert_int_equal(arc_reader_next(r, &a), ARC_OK);
    assert_non_null(a);
    arc_reply *copy = arc_reply_dup(a, NULL);
    assert_int_equal(arc_reader_next(r, &b), ARC_OK);
    assert_non_null(b);
    assert_int_equal(b->integer, 1);
    assert_string_equal(copy->str, "abc"); /* the copy outlives the borrow */
    arc_reply_free(copy);
    assert_int_equal(arc_reader_next(r, &b), ARC_OK);
    assert_null(b);
    arc_reader_free(r);
}

static void bad_arguments(void **state)
{
    (void)state;
    arc_reply *reply;
    assert_int_equal(arc_reader_feed(NULL, "x", 1), ARC_ERR_INVALID);
    assert_int_equal(arc_reader_next(NULL, &reply), ARC_ERR_INVALID);
    arc_reader *r = arc_reader_new(NULL, NULL);
    assert_int_equal(arc_reader_feed(r, NULL, 1), ARC_ERR_INVALID);
    assert_int_equal(arc_reader_feed(r, NULL, 0), ARC_OK);
    assert_int_equal(arc_reader_next(r, NULL), ARC_ERR_INVALID);
    assert_int_equal(arc_reader_next(r, &reply), ARC_OK); /* nothing fed yet */
    assert_null(reply);
    assert_string_equal(arc_reader_error(r), "");
    assert_string_equal(arc_reader_error(NULL), "");
    assert_int_equal(arc_reader_pending(NULL), 0);
    arc_reader_free(r);
    arc_reader_free(NULL);
}

typedef struct counting {
    long calls;
    long fail_at;
    long live;
} counting;

static void *counting_realloc(void *ud, void *p, size_t n)
{
    counting *c = ud;
    if (n == 0) {
        if (p)
            c->live--;
        free(p);
        return NULL;
    }
    if (++c->calls == c->fail_at)
        return NULL;
    void *q = realloc(p, n);
    if (q && !p)
        c->live++;
    return q;
}

/* Invariant 7 for the reader: after warm-up, small replies cost no
 * allocation at all. */
static void steady_state_allocates_nothing(void **state)
{
    (void)state;
    counting c = {0, 0, 0};
    arc_allocator a = {counting_realloc, &c};
    arc_reader *r = arc_reader_new(NULL, &a);
    const char *in = "+OK\r\n$16\r\n0123456789abcdef\r\n*3\r\n:1\r\n:2\r\n$1\r\nx\r\n";
    size_t n = strlen(in);
    for (int round = 0; round < 1000; round++) {
        if (round == 10)
            c.calls = 0;
        assert_int_equal(arc_reader_feed(r, in, n), ARC_OK);
        arc_reply *reply;
        int got = 0;
        while (arc_reader_next(r, &reply) == ARC_OK && reply != NULL)
            got++;
        assert_int_equal(got, 3);
    }
    assert_int_equal(c.calls, 0);
    arc_reader_free(r);
    assert_int_equal(c.live, 0);
}

/* Out of memory at any point: NOMEM, nothing lost, nothing leaked, and the
 * same call works once memory is back. */
static void nomem_everywhere(void **state)
{
    (void)state;
    const char *in = "*3\r\n%1\r\n+k\r\n$5000\r\n";
    char big[8192];
    size_t n = strlen(in);
    memcpy(big, in, n);
    memset(big + n, 'z', 5000);
    static const char tail[] = "\r\n|1\r\n+a\r\n:1\r\n~2\r\n:1\r\n:2\r\n$?\r\n;1\r\nq\r\n;0\r\n";
    memcpy(big + n + 5000, tail, sizeof tail - 1);
    size_t total = n + 5000 + sizeof tail - 1;
    long points = 0;
    for (long fail = 1;; fail++) {
        counting c = {0, fail, 0};
        arc_allocator a = {counting_realloc, &c};
        arc_reader *r = arc_reader_new(NULL, &a);
        if (r != NULL) {
            for (size_t off = 0; off < total; off += 1000) {
                size_t k = total - off < 1000 ? total - off : 1000;
                int rc = arc_reader_feed(r, big + off, k);
                if (rc == ARC_ERR_NOMEM)
                    rc = arc_reader_feed(r, big + off, k);
                assert_int_equal(rc, ARC_OK);
                arc_reply *reply = NULL;
                rc = arc_reader_next(r, &reply);
                if (rc == ARC_ERR_NOMEM)
                    rc = arc_reader_next(r, &reply);
                assert_int_equal(rc, ARC_OK);
                if (off + k == total) {
                    assert_non_null(reply);
                    text t;
                    t.len = 0;
                    dump(&t, reply);
                    assert_non_null(strstr(t.buf, "~[:1 :2] $\"q\"]"));
                }
            }
            arc_reader_free(r);
        }
        assert_int_equal(c.live, 0);
        points = fail;
        if (c.calls < fail)
            break;
    }
    assert_true(points > 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_whole),
        cmocka_unit_test(valid_every_split),
        cmocka_unit_test(valid_bytewise),
        cmocka_unit_test(valid_concatenated),
        cmocka_unit_test(malformed_fails),
        cmocka_unit_test(error_messages_say_what),
        cmocka_unit_test(limit_bulk),
        cmocka_unit_test(limit_elements),
        cmocka_unit_test(limit_depth),
        cmocka_unit_test(limit_buffer),
        cmocka_unit_test(borrowed_until_next),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(steady_state_allocates_nothing),
        cmocka_unit_test(nomem_everywhere),
    };
    return cmocka_run_group_tests_name("reader", tests, NULL, NULL);
}
