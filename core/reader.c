/* reader.c: the incremental RESP2 + RESP3 parser: bytes in, reply trees out. */
#include "reader.h"

#include "alloc.h"
#include "arena.h"
#include "buffer.h"

#include <locale.h>
#include <stdarg.h>
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

enum phase {
    PHASE_LINE,       /* expecting a type byte and its line */
    PHASE_BODY,       /* copying a bulk body into `body_dst` */
    PHASE_BODY_CRLF,  /* the body is complete; its CRLF must follow */
    PHASE_STREAM,     /* inside $?: expecting a ;N chunk header */
};

enum body_kind {
    BODY_STRING, /* $ */
    BODY_ERROR,  /* ! */
    BODY_VERB,   /* = */
    BODY_CHUNK,  /* ; part of a streamed string */
};

#define STREAMED ((size_t)-1)

typedef struct frame {
    arc_reply *node;          /* the aggregate being filled */
    size_t expect;            /* children announced, or STREAMED */
    size_t cap;               /* slots allocated in node->element */
    arc_reply *pending_attr;  /* attribute waiting for the next child */
} frame;

struct arc_reader {
    arc_buffer in;
    arc_arena arena;
    arc_reader_limits limits;
    arc_allocator alloc;

    frame *stack; /* open aggregates, innermost last */
    size_t depth;
    size_t stack_cap;
    arc_reply *root_attr; /* attribute waiting for the next top-level reply */

    enum phase phase;
    enum body_kind body_kind;
    arc_reply *body_node; /* the node a body or a streamed string fills */
    char *body_dst;
    size_t body_need;
    size_t body_have;
    arc_buffer stream; /* the chunks of a $? string so far */

    size_t scan;      /* bytes of the current line already searched for CR */
    size_t offset;    /* stream offset of the input buffer's first byte */
    bool handed_out;  /* the arena holds a reply the caller has seen */
    bool failed;
    char error[160];
};

/* Where a reply may be small or large: element arrays up to this many
 * slots are allocated as announced; beyond it they grow as children arrive,
 * so a header alone cannot make the client allocate its whole limit. */
#define EAGER_SLOTS 1024u
#define STACK_START 8u

static const arc_reader_limits default_limits = {
    ARC_READER_DEFAULT_MAX_BUFFER,
    ARC_READER_DEFAULT_MAX_BULK,
    ARC_READER_DEFAULT_MAX_ELEMENTS,
    ARC_READER_DEFAULT_MAX_DEPTH,
};

/* Outcome of one parsing step. */
enum step { STEP_AGAIN, STEP_MORE, STEP_DONE, STEP_ERROR, STEP_NOMEM };

static enum step fail(arc_reader *r, size_t at, const char *fmt, ...) ARC_PRINTF(3, 4);

static enum step fail(arc_reader *r, size_t at, const char *fmt, ...)
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
    arc__buffer_release(&r->in);
    arc__buffer_release(&r->stream);
    arc__arena_release(&r->arena);
    arc_mem_free(&r->alloc, r->stack);
    arc_mem_free(&r->alloc, r);
}

const arc_reader_limits *arc__reader_limits(const arc_reader *r)
{
    return &r->limits;
}

int arc_reader_feed(arc_reader *r, const char *data, size_t len)
{
    if (r == NULL || (data == NULL && len > 0))
        return ARC_ERR_INVALID;
    if (r->failed)
        return ARC_ERR_PROTOCOL;
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

size_t arc_reader_pending(const arc_reader *r)
{
    return r ? arc__buffer_len(&r->in) : 0;
}

const char *arc_reader_error(const arc_reader *r)
{
    return r ? r->error : "";
}

bool arc__reader_failed(const arc_reader *r)
{
    return r->failed;
}

/* ---- small parsing helpers: ASCII only, bounded by the line they get ---- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parses a whole line as a signed 64-bit decimal. */
static bool parse_ll(const char *p, size_t n, long long *out)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && (p[0] == '-' || p[0] == '+')) {
        neg = p[0] == '-';
        i = 1;
    }
    if (i == n)
        return false;
    unsigned long long v = 0;
    /* Accumulate the magnitude unsigned; LLONG_MIN's magnitude is one more
     * than LLONG_MAX's, hence the separate bound for negatives. */
    unsigned long long bound = neg ? (unsigned long long)9223372036854775807LL + 1u
                                   : (unsigned long long)9223372036854775807LL;
    for (; i < n; i++) {
        if (!is_digit(p[i]))
            return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (bound - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg)
        *out = v == bound ? (-9223372036854775807LL - 1) : -(long long)v;
    else
        *out = (long long)v;
    return true;
}

static bool all_digits(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(p[i]))
            return false;
    return true;
}

static bool same(const char *p, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    return n == m && memcmp(p, lit, m) == 0;
}

/* The RESP3 double grammar (spec: "Double type"): inf, -inf, nan, or
 * [+-]digits[.digits][(e|E)[+-]digits]. Checked here so that strtod never
 * sees text it would read differently (hex floats, "infinity", spaces). */
static bool valid_double(const char *p, size_t n)
{
    size_t i = 0;
    if (n > 0 && (p[0] == '-' || p[0] == '+'))
        i = 1;
    if (same(p + i, n - i, "inf") || same(p + i, n - i, "nan"))
        return true;
    size_t digits = 0;
    while (i < n && is_digit(p[i]))
        i++, digits++;
    if (i < n && p[i] == '.') {
        i++;
        while (i < n && is_digit(p[i]))
            i++, digits++;
    }
    if (digits == 0)
        return false;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '-' || p[i] == '+'))
            i++;
        if (i == n || !is_digit(p[i]))
            return false;
        while (i < n && is_digit(p[i]))
            i++;
    }
    return i == n;
}

/* strtod follows LC_NUMERIC; RESP always writes '.', so the copy handed to
 * strtod uses the current locale's decimal point instead. */
static double to_double(const char *p, size_t n)
{
    char tmp[128];
    const char *dp = localeconv()->decimal_point;
    size_t dl = dp && dp[0] ? strlen(dp) : 1;
    size_t j = 0;
    for (size_t i = 0; i < n && j + dl < sizeof tmp; i++) {
        if (p[i] == '.' && dp && dp[0]) {
            memcpy(tmp + j, dp, dl);
            j += dl;
        } else {
            tmp[j++] = p[i];
        }
    }
    tmp[j] = '\0';
    return strtod(tmp, NULL);
}

/* ---- building the tree ---- */

static arc_reply *new_node(arc_reader *r, int type)
{
    arc_reply *n = arc__arena_alloc(&r->arena, sizeof *n);
    if (n != NULL) {
        memset(n, 0, sizeof *n);
        n->type = type;
    }
    return n;
}

static frame *top(arc_reader *r)
{
    return r->depth ? &r->stack[r->depth - 1] : NULL;
}

static arc_reply **pending_attr_slot(arc_reader *r)
{
    frame *f = top(r);
    return f ? &f->pending_attr : &r->root_attr;
}

/* Makes sure the innermost aggregate has a free slot for one more child, so
 * that attaching a finished child never allocates (and never fails). */
static bool reserve_slot(arc_reader *r)
{
    frame *f = top(r);
    if (f == NULL || f->node->elements < f->cap)
        return true;
    size_t cap = f->cap ? f->cap * 2 : 16;
    if (f->expect != STREAMED && cap > f->expect)
        cap = f->expect;
    arc_reply **slots = arc__arena_alloc(&r->arena, arc__mul_size(cap, sizeof *slots));
    if (slots == NULL)
        return false;
    if (f->node->elements)
        memcpy(slots, f->node->element, f->node->elements * sizeof *slots);
    f->node->element = slots;
    f->cap = cap;
    return true;
}

static bool reserve_frame(arc_reader *r)
{
    if (r->depth < r->stack_cap)
        return true;
    size_t cap = r->stack_cap ? r->stack_cap * 2 : STACK_START;
    if (cap > r->limits.max_depth)
        cap = r->limits.max_depth;
    frame *s = arc_mem_realloc(&r->alloc, r->stack, arc__mul_size(cap, sizeof *s));
    if (s == NULL)
        return false;
    r->stack = s;
    r->stack_cap = cap;
    return true;
}

/* A push carries its kind in its first element (spec: "Push type"); anything
 * else cannot be classified and would be read past its end later. */
static bool push_shape_ok(const arc_reply *n)
{
    if (n->elements == 0)
        return false;
    int t = n->element[0]->type;
    return t == ARC_REPLY_STRING || t == ARC_REPLY_STATUS;
}

/* A value is finished: hang it on its parent, closing every aggregate it
 * completes. STEP_DONE when a whole top-level reply is ready in *out. */
static enum step finish(arc_reader *r, arc_reply *node, arc_reply **out, size_t at)
{
    for (;;) {
        if (node->type == ARC_REPLY_ATTR) {
            /* The attribute waits for the value after it. Two in a row keep
             * both: the older one was taken by the newer when that was
             * created (value_node), rather than dropped. */
            *pending_attr_slot(r) = node;
            return STEP_AGAIN;
        }
        frame *f = top(r);
        if (f == NULL) {
            *out = node;
            return STEP_DONE;
        }
        f->node->element[f->node->elements++] = node;
        if (f->expect == STREAMED || f->node->elements < f->expect)
            return STEP_AGAIN;
        node = f->node;
        r->depth--;
        if (node->type == ARC_REPLY_PUSH && !push_shape_ok(node))
            return fail(r, at, "push frame must start with a string naming its kind");
    }
}

/* Creates a value node at the current level, taking the attribute that was
 * sent for it. NULL when out of memory. */
static arc_reply *value_node(arc_reader *r, int type)
{
    if (!reserve_slot(r))
        return NULL;
    arc_reply *n = new_node(r, type);
    if (n != NULL) {
        arc_reply **slot = pending_attr_slot(r);
        n->attribute = *slot;
        *slot = NULL;
    }
    return n;
}

static arc_reply *string_node(arc_reader *r, int type, const char *p, size_t len)
{
    if (!reserve_slot(r))
        return NULL;
    char *s = arc__arena_alloc(&r->arena, len + 1);
    if (s == NULL)
        return NULL;
    arc_reply *n = value_node(r, type);
    if (n == NULL)
        return NULL;
    memcpy(s, p, len);
    s[len] = '\0';
    n->str = s;
    n->len = len;
    return n;
}

/* ---- one step: a line, a body or its CRLF ---- */

static enum step body_done(arc_reader *r, arc_reply **out, size_t at)
{
    arc_reply *n = r->body_node;
    switch (r->body_kind) {
    case BODY_VERB:
        /* Spec: "=15\r\ntxt:Some string\r\n": three bytes of format, a
         * colon, then the text. */
        if (n->len < 4 || n->str[3] != ':')
            return fail(r, at, "verbatim string needs a 3-byte format and ':'");
        memcpy(n->vtype, n->str, 3);
        n->vtype[3] = '\0';
        n->str += 4;
        n->len -= 4;
        break;
    case BODY_CHUNK:
        r->phase = PHASE_STREAM;
        return STEP_AGAIN;
    case BODY_STRING:
    case BODY_ERROR:
        break;
    }
    r->phase = PHASE_LINE;
    r->body_node = NULL;
    return finish(r, n, out, at);
}

static enum step step_body(arc_reader *r, arc_reply **out)
{
    size_t avail = arc__buffer_len(&r->in);
    if (r->phase == PHASE_BODY) {
        size_t n = r->body_need - r->body_have;
        if (n > avail)
            n = avail;
        if (n) {
            memcpy(r->body_dst + r->body_have, arc__buffer_head(&r->in), n);
            r->body_have += n;
            arc__buffer_consume(&r->in, n);
            r->offset += n;
            avail -= n;
        }
        if (r->body_have < r->body_need)
            return STEP_MORE;
        r->phase = PHASE_BODY_CRLF;
    }
    if (avail < 2)
        return STEP_MORE;
    const char *p = arc__buffer_head(&r->in);
    if (p[0] != '\r' || p[1] != '\n')
        return fail(r, 0, "bulk data is not followed by CRLF");
    arc__buffer_consume(&r->in, 2);
    r->offset += 2;
    if (r->body_kind == BODY_CHUNK)
        arc__buffer_commit(&r->stream, r->body_need);
    return body_done(r, out, 0);
}

/* Opens an aggregate of `count` children (or STREAMED). */
static enum step open_aggregate(arc_reader *r, int type, size_t count, size_t linelen,
                                arc_reply **out)
{
    if (!reserve_frame(r))
        return STEP_NOMEM;
    arc_reply *n = value_node(r, type);
    if (n == NULL)
        return STEP_NOMEM;
    size_t cap = 0;
    if (count != STREAMED && count > 0) {
        cap = count <= EAGER_SLOTS ? count : EAGER_SLOTS;
        n->element = arc__arena_alloc(&r->arena, cap * sizeof *n->element);
        if (n->element == NULL) {
            /* value_node took the pending attribute: put it back so that a
             * retry after the memory failure finds it. */
            *pending_attr_slot(r) = n->attribute;
            return STEP_NOMEM;
        }
    }
    arc__buffer_consume(&r->in, linelen);
    r->offset += linelen;
    if (count == 0)
        return finish(r, n, out, 0);
    frame *f = &r->stack[r->depth++];
    f->node = n;
    f->expect = count;
    f->cap = cap;
    f->pending_attr = NULL;
    return STEP_AGAIN;
}

/* Starts a bulk body of `len` bytes to be copied into a fresh node. */
static enum step open_body(arc_reader *r, int type, enum body_kind kind, size_t len,
                           size_t linelen)
{
    if (!reserve_slot(r))
        return STEP_NOMEM;
    char *s = arc__arena_alloc(&r->arena, len + 1);
    if (s == NULL)
        return STEP_NOMEM;
    arc_reply *n = value_node(r, type);
    if (n == NULL)
        return STEP_NOMEM;
    s[len] = '\0';
    n->str = s;
    n->len = len;
    r->body_node = n;
    r->body_dst = s;
    r->body_need = len;
    r->body_have = 0;
    r->body_kind = kind;
    r->phase = PHASE_BODY;
    arc__buffer_consume(&r->in, linelen);
    r->offset += linelen;
    return STEP_AGAIN;
}

/* A ;N line inside a streamed string. */
static enum step stream_chunk(arc_reader *r, const char *text, size_t tlen, size_t linelen,
                              arc_reply **out)
{
    long long v;
    if (!parse_ll(text, tlen, &v) || v < 0 || text[0] == '+' || text[0] == '-')
        return fail(r, 0, "invalid chunk length in streamed string");
    size_t have = arc__buffer_len(&r->stream);
    if ((unsigned long long)v > r->limits.max_bulk - have)
        return fail(r, 0, "streamed string longer than max_bulk (%zu)", r->limits.max_bulk);
    if (v == 0) {
        arc_reply *n = r->body_node;
        char *s = arc__arena_alloc(&r->arena, have + 1);
        if (s == NULL)
            return STEP_NOMEM;
        if (have)
            memcpy(s, arc__buffer_head(&r->stream), have);
        s[have] = '\0';
        n->str = s;
        n->len = have;
        arc__buffer_clear(&r->stream);
        arc__buffer_shrink(&r->stream, 64 * 1024);
        arc__buffer_consume(&r->in, linelen);
        r->offset += linelen;
        r->phase = PHASE_LINE;
        r->body_node = NULL;
        return finish(r, n, out, 0);
    }
    int rc = arc__buffer_reserve(&r->stream, (size_t)v);
    if (rc == ARC_ERR_NOMEM)
        return STEP_NOMEM;
    if (rc != ARC_OK)
        return fail(r, 0, "streamed string longer than max_bulk (%zu)", r->limits.max_bulk);
    r->body_dst = arc__buffer_tail(&r->stream);
    r->body_need = (size_t)v;
    r->body_have = 0;
    r->body_kind = BODY_CHUNK;
    r->phase = PHASE_BODY;
    arc__buffer_consume(&r->in, linelen);
    r->offset += linelen;
    return STEP_AGAIN;
}

/* Reads a length header's number: a count or a byte length, -1 allowed
 * only where RESP2 uses it for nil. */
static enum step header_length(arc_reader *r, char type, const char *text, size_t tlen,
                               long long *v)
{
    if (!parse_ll(text, tlen, v) || text[0] == '+')
        return fail(r, 0, "invalid length in '%c' header", type);
    if (*v < -1 || (*v == -1 && type != '$' && type != '*'))
        return fail(r, 0, "negative length in '%c' header", type);
    return STEP_AGAIN;
}

static enum step step_line(arc_reader *r, arc_reply **out)
{
    size_t avail = arc__buffer_len(&r->in);
    const char *p = arc__buffer_head(&r->in);
    if (avail == 0)
        return STEP_MORE;

    /* Find CRLF, resuming where the last search stopped so that a line
     * trickling in is not rescanned from its start each time. */
    const char *cr = NULL;
    size_t from = r->scan;
    if (from < avail)
        cr = memchr(p + from, '\r', avail - from);
    if (cr == NULL) {
        r->scan = avail;
        if (avail >= r->limits.max_buffer)
            return fail(r, 0, "line longer than max_buffer (%zu) without CRLF",
                        r->limits.max_buffer);
        return STEP_MORE;
    }
    size_t crpos = (size_t)(cr - p);
    if (crpos + 1 >= avail) {
        r->scan = crpos; /* the CR is the last byte: look again from it */
        if (avail >= r->limits.max_buffer)
            return fail(r, 0, "line longer than max_buffer (%zu)", r->limits.max_buffer);
        return STEP_MORE;
    }
    if (p[crpos + 1] != '\n')
        return fail(r, crpos, "CR not followed by LF");
    r->scan = 0;

    char type = p[0];
    const char *text = p + 1;
    size_t tlen = crpos - 1;
    size_t linelen = crpos + 2;
    if (crpos == 0)
        return fail(r, 0, "empty line where a type byte belongs");

    /* A value at the current level is one deeper than the open aggregates. */
    if (type != ';' && type != '.' && r->depth + 1 > r->limits.max_depth)
        return fail(r, 0, "nesting deeper than max_depth (%zu)", r->limits.max_depth);

    frame *f = top(r);
    if (type != '.' && type != ';' && f != NULL && f->expect == STREAMED &&
        f->node->elements >= r->limits.max_elements)
        return fail(r, 0, "streamed aggregate has more than max_elements (%zu)",
                    r->limits.max_elements);

    if (r->phase == PHASE_STREAM) {
        if (type != ';')
            return fail(r, 0, "expected ';' chunk in streamed string, got 0x%02x",
                        (unsigned char)type);
        return stream_chunk(r, text, tlen, linelen, out);
    }

    arc_reply *n;
    long long v;
    switch (type) {
    case '+':
    case '-':
    case '(':
        if (type == '(') {
            size_t s = tlen > 0 && (text[0] == '-' || text[0] == '+') ? 1 : 0;
            if (!all_digits(text + s, tlen - s))
                return fail(r, 0, "big number is not a decimal integer");
        }
        n = string_node(r, type == '+' ? ARC_REPLY_STATUS
                            : type == '-' ? ARC_REPLY_ERROR
                                          : ARC_REPLY_BIGNUM,
                        text, tlen);
        if (n == NULL)
            return STEP_NOMEM;
        break;
    case ':':
        if (!parse_ll(text, tlen, &v))
            return fail(r, 0, "invalid integer");
        if ((n = value_node(r, ARC_REPLY_INTEGER)) == NULL)
            return STEP_NOMEM;
        n->integer = v;
        break;
    case ',':
        /* Redis writes at most 17 significant digits; the bound keeps the
         * conversion copy on the stack. */
        if (tlen > 100 || !valid_double(text, tlen))
            return fail(r, 0, "invalid double");
        if ((n = string_node(r, ARC_REPLY_DOUBLE, text, tlen)) == NULL)
            return STEP_NOMEM;
        n->dval = to_double(text, tlen);
        break;
    case '#':
        if (tlen != 1 || (text[0] != 't' && text[0] != 'f'))
            return fail(r, 0, "boolean must be #t or #f");
        if ((n = value_node(r, ARC_REPLY_BOOL)) == NULL)
            return STEP_NOMEM;
        n->integer = text[0] == 't';
        break;
    case '_':
        if (tlen != 0)
            return fail(r, 0, "null must have no text");
        if ((n = value_node(r, ARC_REPLY_NIL)) == NULL)
            return STEP_NOMEM;
        break;
    case '$':
    case '!':
    case '=':
        if (type == '$' && same(text, tlen, "?")) {
            if (!reserve_slot(r))
                return STEP_NOMEM;
            if ((n = value_node(r, ARC_REPLY_STRING)) == NULL)
                return STEP_NOMEM;
            arc__buffer_clear(&r->stream);
            r->body_node = n;
            r->phase = PHASE_STREAM;
            arc__buffer_consume(&r->in, linelen);
            r->offset += linelen;
            return STEP_AGAIN;
        }
        if (header_length(r, type, text, tlen, &v) == STEP_ERROR)
            return STEP_ERROR;
        if (v == -1) {
            if ((n = value_node(r, ARC_REPLY_NIL)) == NULL)
                return STEP_NOMEM;
            break;
        }
        if ((unsigned long long)v > r->limits.max_bulk || (unsigned long long)v >= SIZE_MAX)
            return fail(r, 0, "string of %lld bytes is longer than max_bulk (%zu)", v,
                        r->limits.max_bulk);
        return open_body(r,
                         type == '$' ? ARC_REPLY_STRING
                         : type == '!' ? ARC_REPLY_ERROR
                                       : ARC_REPLY_VERB,
                         type == '$' ? BODY_STRING
                         : type == '!' ? BODY_ERROR
                                       : BODY_VERB,
                         (size_t)v, linelen);
    case '*':
    case '%':
    case '~':
    case '>':
    case '|': {
        int atype = type == '*' ? ARC_REPLY_ARRAY
                  : type == '%' ? ARC_REPLY_MAP
                  : type == '~' ? ARC_REPLY_SET
                  : type == '>' ? ARC_REPLY_PUSH
                                : ARC_REPLY_ATTR;
        if (same(text, tlen, "?") && type != '>' && type != '|')
            return open_aggregate(r, atype, STREAMED, linelen, out);
        if (header_length(r, type, text, tlen, &v) == STEP_ERROR)
            return STEP_ERROR;
        if (v == -1) {
            if ((n = value_node(r, ARC_REPLY_NIL)) == NULL)
                return STEP_NOMEM;
            break;
        }
        if (v == 0 && type == '>')
            return fail(r, 0, "push frame must start with a string naming its kind");
        unsigned long long count = (unsigned long long)v;
        if (type == '%' || type == '|') {
            if (count > r->limits.max_elements / 2)
                return fail(r, 0, "map of %lld pairs has more than max_elements (%zu)", v,
                            r->limits.max_elements);
            count *= 2;
        } else if (count > r->limits.max_elements) {
            return fail(r, 0, "aggregate of %lld elements has more than max_elements (%zu)", v,
                        r->limits.max_elements);
        }
        return open_aggregate(r, atype, (size_t)count, linelen, out);
    }
    case '.': {
        if (tlen != 0 || f == NULL || f->expect != STREAMED)
            return fail(r, 0, "'.' outside a streamed aggregate");
        if (f->pending_attr != NULL)
            return fail(r, 0, "attribute not followed by a value");
        n = f->node;
        if (n->type == ARC_REPLY_MAP && n->elements % 2 != 0)
            return fail(r, 0, "streamed map ended after a key with no value");
        arc__buffer_consume(&r->in, linelen);
        r->offset += linelen;
        r->depth--;
        return finish(r, n, out, 0);
    }
    case ';':
        return fail(r, 0, "';' chunk outside a streamed string");
    default:
        return fail(r, 0, "unknown type byte 0x%02x", (unsigned char)type);
    }

    /* A scalar from one line: consume the line and attach the value. */
    arc__buffer_consume(&r->in, linelen);
    r->offset += linelen;
    return finish(r, n, out, 0);
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
    }
    for (;;) {
        enum step s = (r->phase == PHASE_LINE || r->phase == PHASE_STREAM) ? step_line(r, out)
                                                                          : step_body(r, out);
        switch (s) {
        case STEP_AGAIN:
            continue;
        case STEP_MORE:
            return ARC_OK;
        case STEP_DONE:
            r->handed_out = true;
            return ARC_OK;
        case STEP_NOMEM:
            return ARC_ERR_NOMEM;
        case STEP_ERROR:
            *out = NULL;
            return ARC_ERR_PROTOCOL;
        }
    }
}
