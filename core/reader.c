/* reader.c: the incremental RESP2 + RESP3 parser: bytes in, reply trees out. */
#include "reader_impl.h"

#include "alloc.h"
#include "arena.h"
#include "buffer.h"
#include "numbers.h"

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
static const arc_reader_limits default_limits = {
    ARC_READER_DEFAULT_MAX_BUFFER,
    ARC_READER_DEFAULT_MAX_BULK,
    ARC_READER_DEFAULT_MAX_ELEMENTS,
    ARC_READER_DEFAULT_MAX_DEPTH,
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

/* Inlined by force: every bulk and aggregate header comes through here, and
 * left to itself the compiler keeps it out of line. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline enum step header_length(arc_reader *r, char type, const char *text, size_t tlen,
                                      long long *v)
{
    if (!arc__parse_ll(text, tlen, v) || text[0] == '+')
        return arc__rd_fail(r, 0, "invalid length in '%c' header", type);
    if (*v < -1 || (*v == -1 && type != '$' && type != '*'))
        return arc__rd_fail(r, 0, "negative length in '%c' header", type);
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
    /* Most lines are a few bytes ("+OK", "$16", ":1000"): a plain loop
     * finds their CR before a call to memchr would have started. */
    size_t near = avail - from < 16 ? avail : from + 16;
    for (size_t i = from; i < near; i++)
        if (p[i] == '\r') {
            cr = p + i;
            break;
        }
    if (cr == NULL && near < avail)
        cr = memchr(p + near, '\r', avail - near);
    if (cr == NULL) {
        r->scan = avail;
        if (avail >= r->limits.max_buffer)
            return arc__rd_fail(r, 0, "line longer than max_buffer (%zu) without CRLF",
                                r->limits.max_buffer);
        return STEP_MORE;
    }
    size_t crpos = (size_t)(cr - p);
    if (crpos + 1 >= avail) {
        r->scan = crpos; /* the CR is the last byte: look again from it */
        if (avail >= r->limits.max_buffer)
            return arc__rd_fail(r, 0, "line longer than max_buffer (%zu)", r->limits.max_buffer);
        return STEP_MORE;
    }
    if (p[crpos + 1] != '\n')
        return arc__rd_fail(r, crpos, "CR not followed by LF");
    r->scan = 0;

    char type = p[0];
    const char *text = p + 1;
    size_t tlen = crpos - 1;
    size_t linelen = crpos + 2;
    if (crpos == 0)
        return arc__rd_fail(r, 0, "empty line where a type byte belongs");

    /* A value at the current level is one deeper than the open aggregates. */
    if (type != ';' && type != '.' && r->depth + 1 > r->limits.max_depth)
        return arc__rd_fail(r, 0, "nesting deeper than max_depth (%zu)", r->limits.max_depth);

    frame *f = arc__rd_top(r);
    if (type != '.' && type != ';' && f != NULL && f->expect == STREAMED &&
        f->node->elements >= r->limits.max_elements)
        return arc__rd_fail(r, 0, "streamed aggregate has more than max_elements (%zu)",
                            r->limits.max_elements);

    if (r->phase == PHASE_STREAM) {
        if (type != ';')
            return arc__rd_fail(r, 0, "expected ';' chunk in streamed string, got 0x%02x",
                                (unsigned char)type);
        return arc__rd_stream_chunk(r, text, tlen, linelen, out);
    }

    arc_reply *n;
    long long v;
    switch (type) {
    case '+':
    case '-':
    case '(':
        if (type == '(') {
            /* RESP3.md "Big number": an optional '-', then digits; its
             * length is a string's, so max_bulk bounds it. */
            size_t s = tlen > 0 && text[0] == '-' ? 1 : 0;
            if (!arc__all_digits(text + s, tlen - s))
                return arc__rd_fail(r, 0, "big number is not a decimal integer");
            if (tlen > r->limits.max_bulk)
                return arc__rd_fail(r, 0, "big number longer than max_bulk (%zu)",
                                    r->limits.max_bulk);
        }
        n = arc__rd_string_node(r,
                                type == '+'   ? ARC_REPLY_STATUS
                                : type == '-' ? ARC_REPLY_ERROR
                                              : ARC_REPLY_BIGNUM,
                                text, tlen);
        if (n == NULL)
            return STEP_NOMEM;
        break;
    case ':':
        if (!arc__parse_ll(text, tlen, &v))
            return arc__rd_fail(r, 0, "invalid integer");
        if ((n = arc__rd_value_node(r, ARC_REPLY_INTEGER)) == NULL)
            return STEP_NOMEM;
        n->integer = v;
        break;
    case ',':
        /* Redis writes at most 17 significant digits; the bound keeps the
         * conversion copy on the stack. */
        if (tlen > 100 || !arc__valid_double(text, tlen))
            return arc__rd_fail(r, 0, "invalid double");
        if ((n = arc__rd_string_node(r, ARC_REPLY_DOUBLE, text, tlen)) == NULL)
            return STEP_NOMEM;
        n->dval = arc__to_double(text, tlen);
        break;
    case '#':
        if (tlen != 1 || (text[0] != 't' && text[0] != 'f'))
            return arc__rd_fail(r, 0, "boolean must be #t or #f");
        if ((n = arc__rd_value_node(r, ARC_REPLY_BOOL)) == NULL)
            return STEP_NOMEM;
        n->integer = text[0] == 't';
        break;
    case '_':
        if (tlen != 0)
            return arc__rd_fail(r, 0, "null must have no text");
        if ((n = arc__rd_value_node(r, ARC_REPLY_NIL)) == NULL)
            return STEP_NOMEM;
        break;
    case '$':
    case '!':
    case '=':
        if (type == '$' && tlen == 1 && text[0] == '?') {
            if (!arc__rd_reserve_slot(r))
                return STEP_NOMEM;
            if ((n = arc__rd_value_node(r, ARC_REPLY_STRING)) == NULL)
                return STEP_NOMEM;
            arc__buffer_clear(&r->stream);
            r->body_node = n;
            r->phase = PHASE_STREAM;
            arc__rd_consume(r, linelen);
            return STEP_AGAIN;
        }
        if (header_length(r, type, text, tlen, &v) == STEP_ERROR)
            return STEP_ERROR;
        if (v == -1) {
            if ((n = arc__rd_value_node(r, ARC_REPLY_NIL)) == NULL)
                return STEP_NOMEM;
            break;
        }
        if ((unsigned long long)v > r->limits.max_bulk || (unsigned long long)v >= SIZE_MAX)
            return arc__rd_fail(r, 0, "string of %lld bytes is longer than max_bulk (%zu)", v,
                                r->limits.max_bulk);
        /* The usual case: a short string whose body and CRLF have already
         * arrived is made in one step, node and bytes in one arena block. */
        if (type == '$' && (size_t)v < EAGER_BODY && avail - linelen >= (size_t)v + 2) {
            const char *body = p + linelen;
            if (body[v] != '\r' || body[v + 1] != '\n')
                return arc__rd_fail(r, linelen + (size_t)v, "bulk data is not followed by CRLF");
            if ((n = arc__rd_string_node(r, ARC_REPLY_STRING, body, (size_t)v)) == NULL)
                return STEP_NOMEM;
            arc__rd_consume(r, linelen + (size_t)v + 2);
            return arc__rd_finish(r, n, out, 0);
        }
        return arc__rd_open_body(r,
                                 type == '$'   ? ARC_REPLY_STRING
                                 : type == '!' ? ARC_REPLY_ERROR
                                               : ARC_REPLY_VERB,
                                 type == '$'   ? BODY_STRING
                                 : type == '!' ? BODY_ERROR
                                               : BODY_VERB,
                                 (size_t)v, linelen);
    case '*':
    case '%':
    case '~':
    case '>':
    case '|': {
        int atype = type == '*'   ? ARC_REPLY_ARRAY
                    : type == '%' ? ARC_REPLY_MAP
                    : type == '~' ? ARC_REPLY_SET
                    : type == '>' ? ARC_REPLY_PUSH
                                  : ARC_REPLY_ATTR;
        if (tlen == 1 && text[0] == '?' && type != '>' && type != '|')
            return arc__rd_open_aggregate(r, atype, STREAMED, linelen, out);
        if (header_length(r, type, text, tlen, &v) == STEP_ERROR)
            return STEP_ERROR;
        if (v == -1) {
            if ((n = arc__rd_value_node(r, ARC_REPLY_NIL)) == NULL)
                return STEP_NOMEM;
            break;
        }
        if (v == 0 && type == '>')
            return arc__rd_fail(r, 0, "push frame must start with a string naming its kind");
        unsigned long long count = (unsigned long long)v;
        if (type == '%' || type == '|') {
            if (count > r->limits.max_elements / 2)
                return arc__rd_fail(r, 0, "map of %lld pairs has more than max_elements (%zu)", v,
                                    r->limits.max_elements);
            count *= 2;
        } else if (count > r->limits.max_elements) {
            return arc__rd_fail(r, 0, "aggregate of %lld elements has more than max_elements (%zu)",
                                v, r->limits.max_elements);
        }
        return arc__rd_open_aggregate(r, atype, (size_t)count, linelen, out);
    }
    case '.': {
        if (tlen != 0 || f == NULL || f->expect != STREAMED)
            return arc__rd_fail(r, 0, "'.' outside a streamed aggregate");
        if (f->pending_attr != NULL)
            return arc__rd_fail(r, 0, "attribute not followed by a value");
        n = f->node;
        if (n->type == ARC_REPLY_MAP && n->elements % 2 != 0)
            return arc__rd_fail(r, 0, "streamed map ended after a key with no value");
        arc__rd_consume(r, linelen);
        r->depth--;
        return arc__rd_finish(r, n, out, 0);
    }
    case ';': return arc__rd_fail(r, 0, "';' chunk outside a streamed string");
    default: return arc__rd_fail(r, 0, "unknown type byte 0x%02x", (unsigned char)type);
    }

    /* A scalar from one line: consume the line and attach the value. */
    arc__rd_consume(r, linelen);
    return arc__rd_finish(r, n, out, 0);
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
