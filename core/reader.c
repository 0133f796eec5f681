/* reader.c: the incremental RESP2 + RESP3 parser: bytes in, reply trees out. */
#include "reader_impl.h"

#include "alloc.h"
#include "arena.h"
#include "buffer.h"
#include "numbers.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How the reader keeps a partial reply between feeds.
 *
 * Parsing goes element by element: a line (type byte + text + CRLF) is only
 * consumed once it is complete and everything it needs is allocated, so
 * "need more bytes" and "out of memory" both leave the reader exactly as it
 * was and the same call can be made again. Open aggregates sit on a stack
 * of frames; their nodes live in the arena until the reply is handed out.
 * Bulk bodies are copied straight into their node as bytes arrive, so a
 * large string is held once, never in the input buffer too. */
static const arc_reader_limits default_limits = {
    ARC_READER_DEFAULT_MAX_BUFFER,
    ARC_READER_DEFAULT_MAX_BULK,
    ARC_READER_DEFAULT_MAX_ELEMENTS,
    ARC_READER_DEFAULT_MAX_DEPTH,
    ARC_READER_DEFAULT_MAX_LINE,
};

enum step arc__rd_fail(arc_reader *r, size_t at, const char *fmt, ...)
{
    int n = snprintf(r->error, sizeof r->error, "protocol error at byte %zu: ", r->offset + at);
    if (n < 0)
        n = 0;
    if ((size_t)n < sizeof r->error) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->error + n, sizeof r->error - (size_t)n, fmt, ap);
        va_end(ap);
    }
    r->failed = true;
    return STEP_ERROR;
}

arc_reader *arc_reader_new(const arc_reader_limits *limits, const arc_allocator *alloc)
{
    arc_reader *r = arc_mem_alloc(alloc, sizeof *r);
    if (r == NULL)
        return NULL;
    memset(r, 0, sizeof *r);
    arc__alloc_copy(&r->alloc, alloc);
    r->limits = default_limits;
    if (limits != NULL) {
        if (limits->max_buffer)
            r->limits.max_buffer = limits->max_buffer;
        if (limits->max_bulk)
            r->limits.max_bulk = limits->max_bulk;
        if (limits->max_elements)
            r->limits.max_elements = limits->max_elements;
        if (limits->max_depth)
            r->limits.max_depth = limits->max_depth;
        if (limits->max_line)
            r->limits.max_line = limits->max_line;
    }
    arc__buffer_init(&r->in, r->limits.max_buffer, &r->alloc);
    arc__buffer_init(&r->stream, r->limits.max_bulk, &r->alloc);
    arc__arena_init(&r->arena, &r->alloc);
    return r;
}

void arc_reader_free(arc_reader *r)
{
    if (r == NULL)
        return;
    arc_mem_free(&r->in.alloc, r->retired);
    arc__buffer_release(&r->in);
    arc__buffer_release(&r->stream);
    arc__arena_release(&r->arena);
    arc_mem_free(&r->alloc, r->stack);
    arc_mem_free(&r->alloc, r);
}

/* Bytes are about to be written into the input buffer, or its block moved,
 * while the reply handed out points into that block: the unparsed bytes move
 * to a block of their own and the old one stays as it is, retired, until the
 * reply's lifetime ends. Only a caller who feeds before asking for the next
 * reply pays this; the context reads after its replies are done. */
static int keep_lent_bytes(arc_reader *r)
{
    arc_buffer *b = &r->in;
    size_t len = arc__buffer_len(b);
    char *p = arc_mem_alloc(&b->alloc, b->cap);
    if (p == NULL)
        return ARC_ERR_NOMEM;
    if (len)
        memcpy(p, arc__buffer_head(b), len);
    r->retired = b->data;
    b->data = p;
    b->start = 0;
    b->end = len;
    r->lent = false;
    return ARC_OK;
}

int arc_reader_feed(arc_reader *r, const char *data, size_t len)
{
    if (r == NULL || (data == NULL && len > 0))
        return ARC_ERR_INVALID;
    if (r->failed)
        return ARC_ERR_PROTOCOL;
    if (r->lent && len > 0 && keep_lent_bytes(r) != ARC_OK)
        return ARC_ERR_NOMEM;
    int rc = arc__buffer_reserve(&r->in, len);
    if (rc != ARC_OK)
        return rc;
    arc__buffer_put(&r->in, data, len);
    return ARC_OK;
}

int arc__reader_space(arc_reader *r, size_t want, char **space, size_t *avail)
{
    if (r->failed)
        return ARC_ERR_PROTOCOL;
    size_t room = r->in.max - arc__buffer_len(&r->in);
    if (room == 0)
        return ARC_ERR_LIMIT;
    if (r->lent && keep_lent_bytes(r) != ARC_OK)
        return ARC_ERR_NOMEM;
    if (want > room)
        want = room;
    /* Take whatever room is already there when it is a fair share of what
     * was asked, instead of sliding or growing the buffer for every read. */
    if (arc__buffer_room(&r->in) < want / 2 || arc__buffer_room(&r->in) == 0) {
        int rc = arc__buffer_reserve(&r->in, want);
        if (rc != ARC_OK)
            return rc;
    }
    *space = arc__buffer_tail(&r->in);
    *avail = arc__buffer_room(&r->in);
    if (*avail > room)
        *avail = room;
    return ARC_OK;
}

void arc__reader_commit(arc_reader *r, size_t n)
{
    arc__buffer_commit(&r->in, n);
}

bool arc__reader_midway(const arc_reader *r)
{
    if (r->depth > 0)
        return r->stack[0].node->type != ARC_REPLY_PUSH;
    if (r->phase != PHASE_LINE)
        return true; /* a top-level bulk body */
    const char *p = arc__buffer_head(&r->in);
    return arc__buffer_len(&r->in) > 0 && p[0] != '>';
}

size_t arc_reader_pending(const arc_reader *r)
{
    return r ? arc__buffer_len(&r->in) : 0;
}

const char *arc_reader_error(const arc_reader *r)
{
    return r ? r->error : "";
}

/* What each type byte is (RESP3.md, "RESP3 types"), said once: step_line
 * asks this table instead of repeating the mapping wherever it is needed. */
enum line_kind {
    LINE_UNKNOWN = 0, /* not a type byte */
    LINE_TEXT,        /* + -: the text is the value */
    LINE_BIGNUM,      /* ( */
    LINE_INTEGER,     /* : */
    LINE_DOUBLE,      /* , */
    LINE_BOOL,        /* # */
    LINE_NULL,        /* _ */
    LINE_BULK,        /* $ ! =: a length, then that many bytes and CRLF */
    LINE_AGGREGATE,   /* * % ~ > |: a count, then that many values */
    LINE_END,         /* . closes a streamed aggregate */
    LINE_CHUNK,       /* ; a part of a streamed string */
};

#define T_PAIRS 1u   /* the count is of pairs: two children each (% |) */
#define T_STREAM 2u  /* "?" instead of a length streams it ($ * % ~) */
#define T_NIL 4u     /* a length of -1 is RESP2's nil ($ *) */
#define T_MARKER 8u  /* not a value: counts toward no depth or size (. ;) */
#define T_NUMBER 16u /* the text is usually a plain number: a decimal (: $ ! = * % ~ > |)
                      * or a double (,), read in the pass that finds the CR */

typedef struct line_type {
    unsigned char kind;  /* enum line_kind */
    unsigned char reply; /* the ARC_REPLY_* type it makes */
    unsigned char body;  /* LINE_BULK: the enum body_kind of its body */
    unsigned char flags; /* T_* */
} line_type;

static const line_type line_types[256] = {
    ['+'] = {LINE_TEXT, ARC_REPLY_STATUS, 0, 0},
    ['-'] = {LINE_TEXT, ARC_REPLY_ERROR, 0, 0},
    ['('] = {LINE_BIGNUM, ARC_REPLY_BIGNUM, 0, 0},
    [':'] = {LINE_INTEGER, ARC_REPLY_INTEGER, 0, T_NUMBER},
    [','] = {LINE_DOUBLE, ARC_REPLY_DOUBLE, 0, T_NUMBER},
    ['#'] = {LINE_BOOL, ARC_REPLY_BOOL, 0, 0},
    ['_'] = {LINE_NULL, ARC_REPLY_NIL, 0, 0},
    ['$'] = {LINE_BULK, ARC_REPLY_STRING, BODY_STRING, T_STREAM | T_NIL | T_NUMBER},
    ['!'] = {LINE_BULK, ARC_REPLY_ERROR, BODY_ERROR, T_NUMBER},
    ['='] = {LINE_BULK, ARC_REPLY_VERB, BODY_VERB, T_NUMBER},
    ['*'] = {LINE_AGGREGATE, ARC_REPLY_ARRAY, 0, T_STREAM | T_NIL | T_NUMBER},
    ['%'] = {LINE_AGGREGATE, ARC_REPLY_MAP, 0, T_STREAM | T_PAIRS | T_NUMBER},
    ['~'] = {LINE_AGGREGATE, ARC_REPLY_SET, 0, T_STREAM | T_NUMBER},
    ['>'] = {LINE_AGGREGATE, ARC_REPLY_PUSH, 0, T_NUMBER},
    ['|'] = {LINE_AGGREGATE, ARC_REPLY_ATTR, 0, T_PAIRS | T_NUMBER},
    ['.'] = {LINE_END, 0, 0, T_MARKER},
    [';'] = {LINE_CHUNK, 0, 0, T_MARKER},
};

/* The first CR or LF in p[from, end), or end. Most lines are a few dozen
 * bytes at most ("+OK", "$16", ",3.1400000000000001", an error's text), so
 * the first 64 are searched eight at a time without a call: a word has a
 * byte below 0x0e (CR is 0x0d, LF 0x0a) when subtracting 0x0e from every
 * byte borrows into that byte's top bit, and the lowest such bit is the
 * first such byte (a borrow only runs upwards from a byte that is already
 * below). Text bytes are nearly all above CR, so most words are passed in
 * one test; a tab or other low byte is looked at and skipped. */
static inline size_t find_line_end(const char *p, size_t from, size_t end)
{
    size_t i = from;
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    size_t near = end - from < 64 ? end : from + 64;
    while (near - i >= 8) {
        uint64_t w;
        memcpy(&w, p + i, sizeof w);
        uint64_t low = (w - 0x0e0e0e0e0e0e0e0eull) & ~w & 0x8080808080808080ull;
        if (low == 0) {
            i += 8;
            continue;
        }
        size_t at = i + ((size_t)__builtin_ctzll(low) >> 3);
        if (p[at] == '\r' || p[at] == '\n')
            return at;
        i = at + 1;
    }
#else
    size_t near = end - from < 16 ? end : from + 16;
#endif
    for (; i < near; i++)
        if ((unsigned char)p[i] <= '\r' && (p[i] == '\r' || p[i] == '\n'))
            return i;
    if (near == end)
        return end;
    const char *cr = memchr(p + near, '\r', end - near);
    size_t stop = cr ? (size_t)(cr - p) : end;
    const char *lf = memchr(p + near, '\n', stop - near);
    return lf ? (size_t)(lf - p) : stop;
}

/* Finds the CRLF that ends the line at p[0, avail): STEP_AGAIN with *crpos
 * set, STEP_MORE while it has not arrived, or STEP_ERROR. The search resumes
 * where the last one stopped, so that a line trickling in is not rescanned
 * from its start each time. */
static inline enum step find_crlf(arc_reader *r, const char *p, size_t avail, size_t *crpos)
{
    size_t at = find_line_end(p, r->scan, avail);
    /* RESP3.md: simple strings and errors "cannot contain the <CR> nor the
     * <LF> characters", and every line ends in CRLF: a lone LF or CR can
     * only be an error, and waiting would stall until max_buffer. */
    if (at + 1 < avail) {
        if (p[at] == '\r' && p[at + 1] == '\n') {
            r->scan = 0;
            *crpos = at;
            return STEP_AGAIN;
        }
        if (p[at] == '\n')
            return arc__rd_fail(r, at, "LF without CR before it (a line must end in CRLF)");
        return arc__rd_fail(r, at, "CR not followed by LF (a line must end in CRLF)");
    }
    if (at < avail && p[at] == '\n')
        return arc__rd_fail(r, at, "LF without CR before it (a line must end in CRLF)");
    /* Nothing yet, or a CR as the last byte. The text so far is already
     * too long for max_line: refuse it now rather than when (or if) its
     * CRLF comes. step_line checks the lines that arrive whole. */
    if ((at ? at - 1 : 0) > r->limits.max_line)
        return arc__rd_fail(r, 0, "line longer than max_line (%zu)", r->limits.max_line);
    r->scan = at; /* look again from the CR, or from where the bytes ended */
    if (avail >= r->limits.max_buffer)
        return arc__rd_fail(r, 0, "line longer than max_buffer (%zu) without CRLF",
                            r->limits.max_buffer);
    return STEP_MORE;
}

/* A node for the text at offset `at` of the unparsed input, `len` bytes
 * followed by CRLF. A whole reply (nothing open around it) borrows the
 * bytes where they are, the CR after them overwritten with the NUL, instead
 * of a copy: the reply's lifetime ends at the next arc_reader_next, and
 * keep_lent_bytes keeps the bytes in place until then. Inside an aggregate
 * the text is copied, since the reply may take many feeds to complete. */
static inline arc_reply *text_node(arc_reader *r, int type, size_t at, size_t len)
{
    char *s = arc__buffer_head(&r->in) + at;
    if (r->depth > 0)
        return arc__rd_string_node(r, type, s, len);
    arc_reply *n = arc__rd_value_node(r, type);
    if (n == NULL)
        return NULL;
    s[len] = '\0';
    n->str = s;
    n->len = len;
    r->lent = true;
    return n;
}

/* A value made from its line alone: consume the line and attach it. */
static inline enum step line_value(arc_reader *r, arc_reply *n, size_t linelen, arc_reply **out)
{
    arc__rd_consume(r, linelen);
    return arc__rd_finish(r, n, out, 0);
}

/* A length or count as read off its header: -1 only where it means nil. */
static inline enum step check_length(arc_reader *r, char type, const line_type *t, long long v)
{
    if (v < -1 || (v == -1 && !(t->flags & T_NIL)))
        return arc__rd_fail(r, 0, "negative length in '%c' header", type);
    return STEP_AGAIN;
}

/* The length or count of a header that scan_number did not take; checked
 * by check_length after. */
static inline enum step parse_length(arc_reader *r, char type, const char *text, size_t tlen,
                                     long long *v)
{
    if (!arc__parse_ll(text, tlen, v) || text[0] == '+')
        return arc__rd_fail(r, 0, "invalid length in '%c' header", type);
    return STEP_AGAIN;
}

/* $ ! = with a length v read: nil, or a body to copy. */
static inline enum step bulk_of_length(arc_reader *r, const line_type *t, const char *p,
                                       size_t avail, long long v, size_t linelen, arc_reply **out)
{
    if (check_length(r, p[0], t, v) == STEP_ERROR)
        return STEP_ERROR;
    arc_reply *n;
    if (v == -1) {
        if ((n = arc__rd_value_node(r, ARC_REPLY_NIL)) == NULL)
            return STEP_NOMEM;
        return line_value(r, n, linelen, out);
    }
    if ((unsigned long long)v > r->limits.max_bulk || (unsigned long long)v >= SIZE_MAX)
        return arc__rd_fail(r, 0, "string of %lld bytes is longer than max_bulk (%zu)", v,
                            r->limits.max_bulk);
    /* The usual case: a short string whose body and CRLF have already
     * arrived is made in one step, node and bytes in one arena block. */
    if (t->body == BODY_STRING && (size_t)v < EAGER_BODY && avail - linelen >= (size_t)v + 2) {
        const char *body = p + linelen;
        if (body[v] != '\r' || body[v + 1] != '\n')
            return arc__rd_fail(r, linelen + (size_t)v, "bulk data is not followed by CRLF");
        if ((n = text_node(r, ARC_REPLY_STRING, linelen, (size_t)v)) == NULL)
            return STEP_NOMEM;
        arc__rd_consume(r, linelen + (size_t)v + 2);
        return arc__rd_finish(r, n, out, 0);
    }
    return arc__rd_open_body(r, t->reply, (enum body_kind)t->body, (size_t)v, linelen);
}

/* $ ! = and their length: a streamed string, or bulk_of_length. */
static inline enum step line_bulk(arc_reader *r, const line_type *t, const char *p, size_t avail,
                                  size_t tlen, size_t linelen, arc_reply **out)
{
    const char *text = p + 1;
    if ((t->flags & T_STREAM) && tlen == 1 && text[0] == '?') {
        arc_reply *n = arc__rd_value_node(r, t->reply);
        if (n == NULL)
            return STEP_NOMEM;
        arc__buffer_clear(&r->stream);
        r->body_node = n;
        r->phase = PHASE_STREAM;
        arc__rd_consume(r, linelen);
        return STEP_AGAIN;
    }
    long long v;
    if (parse_length(r, p[0], text, tlen, &v) == STEP_ERROR)
        return STEP_ERROR;
    return bulk_of_length(r, t, p, avail, v, linelen, out);
}

/* * % ~ > | with a count v read. */
static inline enum step aggregate_of_count(arc_reader *r, char type, const line_type *t,
                                           long long v, size_t linelen, arc_reply **out)
{
    /* RESP3.md, "Push type": push data comes "always at the top level, so
     * the client will never find push data in the middle of a Map reply". */
    if (t->reply == ARC_REPLY_PUSH && r->depth > 0)
        return arc__rd_fail(r, 0, "push frame inside an aggregate (pushes are top-level only)");
    if (check_length(r, type, t, v) == STEP_ERROR)
        return STEP_ERROR;
    if (v == -1) {
        arc_reply *n = arc__rd_value_node(r, ARC_REPLY_NIL);
        if (n == NULL)
            return STEP_NOMEM;
        return line_value(r, n, linelen, out);
    }
    if (v == 0 && t->reply == ARC_REPLY_PUSH)
        return arc__rd_fail(r, 0, "push frame must start with a string naming its kind");
    unsigned long long count = (unsigned long long)v;
    if (t->flags & T_PAIRS) {
        if (count > r->limits.max_elements / 2)
            return arc__rd_fail(r, 0, "map of %lld pairs has more than max_elements (%zu)", v,
                                r->limits.max_elements);
        count *= 2;
    } else if (count > r->limits.max_elements) {
        return arc__rd_fail(r, 0, "aggregate of %lld elements has more than max_elements (%zu)", v,
                            r->limits.max_elements);
    }
    return arc__rd_open_aggregate(r, t->reply, (size_t)count, linelen, out);
}

/* * % ~ > | and their count: a streamed aggregate, or aggregate_of_count. */
static inline enum step line_aggregate(arc_reader *r, const line_type *t, const char *p,
                                       size_t tlen, size_t linelen, arc_reply **out)
{
    const char *text = p + 1;
    if (t->reply == ARC_REPLY_PUSH && r->depth > 0)
        return aggregate_of_count(r, p[0], t, 0, linelen, out); /* refused there */
    if ((t->flags & T_STREAM) && tlen == 1 && text[0] == '?')
        return arc__rd_open_aggregate(r, t->reply, STREAMED, linelen, out);
    long long v;
    if (parse_length(r, p[0], text, tlen, &v) == STEP_ERROR)
        return STEP_ERROR;
    return aggregate_of_count(r, p[0], t, v, linelen, out);
}

/* "." closing the innermost streamed aggregate. */
static inline enum step line_end(arc_reader *r, size_t tlen, size_t linelen, arc_reply **out)
{
    frame *f = arc__rd_top(r);
    if (tlen != 0 || f == NULL || f->expect != STREAMED)
        return arc__rd_fail(r, 0, "'.' outside a streamed aggregate");
    if (f->pending_attr != NULL)
        return arc__rd_fail(r, 0, "attribute not followed by a value");
    arc_reply *n = f->node;
    if (n->type == ARC_REPLY_MAP && n->elements % 2 != 0)
        return arc__rd_fail(r, 0, "streamed map ended after a key with no value");
    r->depth--;
    return line_value(r, n, linelen, out);
}

/* The line at p[0, avail) when it is a complete, plain decimal: the type
 * byte, an optional '-', 1 to 18 digits (which cannot overflow) and CRLF.
 * Lengths, counts and integers are nearly all such lines, and reading the
 * digits while looking for the CR is one pass instead of two. False for
 * anything else (a '+', "?", more digits, a stray byte, bytes still to
 * come): the general path then reads the line and says what is wrong. */
static inline bool scan_number(const char *p, size_t avail, size_t *crpos, long long *v)
{
    size_t i = 1;
    bool neg = i < avail && p[i] == '-';
    i += neg;
    size_t first = i;
    uint64_t x = 0;
#ifdef ARC__SWAR_DIGITS
    size_t k;
    if (avail >= i + 8 && (k = arc__lead_digits8(p + i, &x)) < 8) {
        i += k; /* up to 7 digits in one step: nearly every number */
    } else
#endif
    {
        size_t last = avail - first > 18 ? first + 18 : avail;
        for (x = 0; i < last && arc__is_digit(p[i]); i++)
            x = x * 10 + (unsigned)(p[i] - '0');
    }
    if (i == first || i + 1 >= avail || p[i] != '\r' || p[i + 1] != '\n')
        return false;
    *crpos = i;
    *v = neg ? -(long long)x : (long long)x;
    return true;
}

/* A double's node: its value, and its text as the server wrote it. */
static enum step line_double(arc_reader *r, double d, size_t tlen, size_t linelen, arc_reply **out)
{
    arc_reply *n = text_node(r, ARC_REPLY_DOUBLE, 1, tlen);
    if (n == NULL)
        return STEP_NOMEM;
    n->dval = d;
    return line_value(r, n, linelen, out);
}

#if defined(__GNUC__)
#define OUT_OF_LINE __attribute__((noinline))
#else
#define OUT_OF_LINE
#endif

/* The double line at p[0, avail), when arc__double_prefix takes its text
 * whole and CRLF follows: the double "3.1400000000000001" that Redis's
 * %.17g writes is read once, not searched for its CR and then parsed. The
 * text looked at is bounded, so a line trickling in costs no more than
 * 101 bytes a look. False for anything else; the general path decides.
 * Out of line on purpose: inlined into step_line, it changed how the
 * common lines' paths were laid out, and "+OK" took 15% longer (bench_codec
 * status, gcc 12 -O3) for two instructions more. */
OUT_OF_LINE static bool scan_double(const char *p, size_t avail, size_t *crpos, double *d)
{
    size_t n = avail - 1 > ARC__DOUBLE_MAX ? ARC__DOUBLE_MAX + 1 : avail - 1;
    size_t k = arc__double_prefix(p + 1, n, d);
    if (k == 0 || k + 3 > avail || memcmp(p + k + 1, "\r\n", 2) != 0)
        return false;
    *crpos = k + 1;
    return true;
}

static enum step step_line(arc_reader *r, arc_reply **out)
{
    size_t avail = arc__buffer_len(&r->in);
    if (avail == 0)
        return STEP_MORE;
    const char *p = arc__buffer_head(&r->in);
    char type = p[0];
    const line_type *t = &line_types[(unsigned char)type];
    size_t crpos = 0;
    long long v = 0;
    double d = 0;
    bool number = (t->flags & T_NUMBER) && r->phase == PHASE_LINE &&
                  (t->kind == LINE_DOUBLE ? scan_double(p, avail, &crpos, &d)
                                          : scan_number(p, avail, &crpos, &v));
    if (number) {
        r->scan = 0;
    } else {
        enum step s = find_crlf(r, p, avail, &crpos);
        if (s != STEP_AGAIN)
            return s;
        if (crpos == 0)
            return arc__rd_fail(r, 0, "empty line where a type byte belongs");
    }
    const char *text = p + 1;
    size_t tlen = crpos - 1;
    size_t linelen = crpos + 2;
    if (tlen > r->limits.max_line)
        return arc__rd_fail(r, 0, "line longer than max_line (%zu)", r->limits.max_line);

    if (!(t->flags & T_MARKER)) {
        /* A value at the current level is one deeper than the open
         * aggregates, and one more element of the innermost. */
        if (r->depth + 1 > r->limits.max_depth)
            return arc__rd_fail(r, 0, "nesting deeper than max_depth (%zu)", r->limits.max_depth);
        frame *f = arc__rd_top(r);
        if (f != NULL && f->expect == STREAMED && f->node->elements >= r->limits.max_elements)
            return arc__rd_fail(r, 0, "streamed aggregate has more than max_elements (%zu)",
                                r->limits.max_elements);
    }

    arc_reply *n;
    if (number) {
        switch ((enum line_kind)t->kind) {
        case LINE_INTEGER:
            if ((n = arc__rd_value_node(r, ARC_REPLY_INTEGER)) == NULL)
                return STEP_NOMEM;
            n->integer = v;
            return line_value(r, n, linelen, out);
        case LINE_DOUBLE: return line_double(r, d, tlen, linelen, out);
        case LINE_BULK: return bulk_of_length(r, t, p, avail, v, linelen, out);
        case LINE_AGGREGATE: return aggregate_of_count(r, type, t, v, linelen, out);
        default: break; /* T_NUMBER is on no other kind */
        }
    }

    if (r->phase == PHASE_STREAM) {
        if (t->kind != LINE_CHUNK)
            return arc__rd_fail(r, 0, "expected ';' chunk in streamed string, got 0x%02x",
                                (unsigned char)type);
        return arc__rd_stream_chunk(r, text, tlen, linelen, out);
    }

    switch ((enum line_kind)t->kind) {
    case LINE_TEXT:
        if ((n = text_node(r, t->reply, 1, tlen)) == NULL)
            return STEP_NOMEM;
        return line_value(r, n, linelen, out);
    case LINE_BIGNUM: {
        /* RESP3.md "Big number": an optional '-', then digits; its length
         * is a string's, so max_bulk bounds it (as well as max_line). */
        size_t sign = tlen > 0 && text[0] == '-' ? 1 : 0;
        if (!arc__all_digits(text + sign, tlen - sign))
            return arc__rd_fail(r, 0, "big number is not a decimal integer");
        if (tlen > r->limits.max_bulk)
            return arc__rd_fail(r, 0, "big number longer than max_bulk (%zu)",
                                r->limits.max_bulk);
        if ((n = text_node(r, ARC_REPLY_BIGNUM, 1, tlen)) == NULL)
            return STEP_NOMEM;
        return line_value(r, n, linelen, out);
    }
    case LINE_INTEGER:
        if (!arc__parse_ll(text, tlen, &v))
            return arc__rd_fail(r, 0, "invalid integer");
        if ((n = arc__rd_value_node(r, ARC_REPLY_INTEGER)) == NULL)
            return STEP_NOMEM;
        n->integer = v;
        return line_value(r, n, linelen, out);
    case LINE_DOUBLE:
        if (!arc__parse_double(text, tlen, &d))
            return arc__rd_fail(r, 0, "invalid double");
        return line_double(r, d, tlen, linelen, out);
    case LINE_BOOL:
        if (tlen != 1 || (text[0] != 't' && text[0] != 'f'))
            return arc__rd_fail(r, 0, "boolean must be #t or #f");
        if ((n = arc__rd_value_node(r, ARC_REPLY_BOOL)) == NULL)
            return STEP_NOMEM;
        n->integer = text[0] == 't';
        return line_value(r, n, linelen, out);
    case LINE_NULL:
        if (tlen != 0)
            return arc__rd_fail(r, 0, "null must have no text");
        if ((n = arc__rd_value_node(r, ARC_REPLY_NIL)) == NULL)
            return STEP_NOMEM;
        return line_value(r, n, linelen, out);
    case LINE_BULK: return line_bulk(r, t, p, avail, tlen, linelen, out);
    case LINE_AGGREGATE: return line_aggregate(r, t, p, tlen, linelen, out);
    case LINE_END: return line_end(r, tlen, linelen, out);
    case LINE_CHUNK: return arc__rd_fail(r, 0, "';' chunk outside a streamed string");
    case LINE_UNKNOWN: break;
    }
    return arc__rd_fail(r, 0, "unknown type byte 0x%02x", (unsigned char)type);
}

int arc_reader_next(arc_reader *r, arc_reply **out)
{
    if (r == NULL || out == NULL)
        return ARC_ERR_INVALID;
    *out = NULL;
    if (r->failed)
        return ARC_ERR_PROTOCOL;
    if (r->handed_out) {
        /* The last reply's lifetime ends here; its memory serves the next. */
        arc__arena_reset(&r->arena);
        r->handed_out = false;
        r->lent = false;
        if (r->retired != NULL) {
            arc_mem_free(&r->in.alloc, r->retired);
            r->retired = NULL;
        }
    }
    for (;;) {
        enum step s = (r->phase == PHASE_LINE || r->phase == PHASE_STREAM)
                          ? step_line(r, out)
                          : arc__rd_step_body(r, out);
        switch (s) {
        case STEP_AGAIN: continue;
        case STEP_MORE: return ARC_OK;
        case STEP_DONE: r->handed_out = true; return ARC_OK;
        case STEP_NOMEM: return ARC_ERR_NOMEM;
        case STEP_ERROR: *out = NULL; return ARC_ERR_PROTOCOL;
        }
    }
}
