/* reader_tree.c: building reply values for the reader: nodes in the arena,
 * open aggregates on the frame stack, bulk bodies streamed into their node. */
#include "reader_impl.h"

#include "alloc.h"
#include "numbers.h"

#include <string.h>

/* ---- building the tree ---- */

/* The innermost aggregate is full: double its slots (up to what it
 * announced). */
bool arc__rd_grow_slots(arc_reader *r, frame *f)
{
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

/* arc__rd_finish() below the top level, or for an attribute. */
enum step arc__rd_finish_nested(arc_reader *r, arc_reply *node, arc_reply **out, size_t at)
{
    for (;;) {
        if (node->type == ARC_REPLY_ATTR) {
            /* The attribute waits for the value after it. Two in a row keep
             * both: the older one was taken by the newer when that was
             * created (value_node), rather than dropped. */
            *arc__rd_attr_slot(r) = node;
            return STEP_AGAIN;
        }
        frame *f = arc__rd_top(r);
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
            return arc__rd_fail(r, at, "push frame must start with a string naming its kind");
    }
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
            return arc__rd_fail(r, at, "verbatim string needs a 3-byte format and ':'");
        memcpy(n->vtype, n->str, 3);
        n->vtype[3] = '\0';
        n->str += 4;
        n->len -= 4;
        break;
    case BODY_CHUNK: r->phase = PHASE_STREAM; return STEP_AGAIN;
    case BODY_STRING:
    case BODY_ERROR: break;
    }
    r->phase = PHASE_LINE;
    r->body_node = NULL;
    return arc__rd_finish(r, n, out, at);
}

/* Makes room for at least `want` bytes of the current body (its NUL
 * included), doubling so that a long string is copied O(1) times per byte. */
static bool grow_body(arc_reader *r, size_t want)
{
    size_t cap = r->body_cap > SIZE_MAX / 2 ? SIZE_MAX : r->body_cap * 2;
    if (cap < want)
        cap = want;
    if (cap > r->body_need + 1)
        cap = r->body_need + 1;
    char *s = arc__arena_grow(&r->arena, r->body_dst, cap);
    if (s == NULL)
        return false;
    r->body_dst = s;
    r->body_node->str = s;
    r->body_cap = cap;
    return true;
}

enum step arc__rd_step_body(arc_reader *r, arc_reply **out)
{
    size_t avail = arc__buffer_len(&r->in);
    if (r->phase == PHASE_BODY) {
        size_t n = r->body_need - r->body_have;
        if (n > avail)
            n = avail;
        if (n && r->body_kind != BODY_CHUNK && r->body_have + n >= r->body_cap &&
            !grow_body(r, r->body_have + n + 1))
            return STEP_NOMEM;
        if (n) {
            memcpy(r->body_dst + r->body_have, arc__buffer_head(&r->in), n);
            r->body_have += n;
            arc__rd_consume(r, n);
            avail -= n;
        }
        if (r->body_have < r->body_need)
            return STEP_MORE;
        if (r->body_kind != BODY_CHUNK)
            r->body_dst[r->body_need] = '\0';
        r->phase = PHASE_BODY_CRLF;
    }
    if (avail < 2)
        return STEP_MORE;
    const char *p = arc__buffer_head(&r->in);
    if (p[0] != '\r' || p[1] != '\n')
        return arc__rd_fail(r, 0, "bulk data is not followed by CRLF");
    arc__rd_consume(r, 2);
    if (r->body_kind == BODY_CHUNK)
        arc__buffer_commit(&r->stream, r->body_need);
    return body_done(r, out, 0);
}

/* Opens an aggregate of `count` children (or STREAMED). */
enum step arc__rd_open_aggregate(arc_reader *r, int type, size_t count, size_t linelen,
                                 arc_reply **out)
{
    if (!reserve_frame(r))
        return STEP_NOMEM;
    arc_reply *n = arc__rd_value_node(r, type);
    if (n == NULL)
        return STEP_NOMEM;
    size_t cap = 0;
    if (count != STREAMED && count > 0) {
        cap = count <= EAGER_SLOTS ? count : EAGER_SLOTS;
        n->element = arc__arena_alloc(&r->arena, cap * sizeof *n->element);
        if (n->element == NULL) {
            /* value_node took the pending attribute: put it back so that a
             * retry after the memory failure finds it. */
            *arc__rd_attr_slot(r) = n->attribute;
            return STEP_NOMEM;
        }
    }
    arc__rd_consume(r, linelen);
    if (count == 0)
        return arc__rd_finish(r, n, out, 0);
    frame *f = &r->stack[r->depth++];
    f->node = n;
    f->expect = count;
    f->cap = cap;
    f->pending_attr = NULL;
    return STEP_AGAIN;
}

/* Starts a bulk body of `len` bytes to be copied into a fresh node. */
enum step arc__rd_open_body(arc_reader *r, int type, enum body_kind kind, size_t len,
                            size_t linelen)
{
    if (!arc__rd_reserve_slot(r))
        return STEP_NOMEM;
    size_t cap = len < EAGER_BODY ? len + 1 : EAGER_BODY;
    char *s = arc__arena_alloc(&r->arena, cap);
    if (s == NULL)
        return STEP_NOMEM;
    arc_reply *n = arc__rd_value_node(r, type);
    if (n == NULL)
        return STEP_NOMEM;
    n->str = s;
    n->len = len;
    r->body_node = n;
    r->body_dst = s;
    r->body_need = len;
    r->body_have = 0;
    r->body_cap = cap;
    r->body_kind = kind;
    r->phase = PHASE_BODY;
    arc__rd_consume(r, linelen);
    return STEP_AGAIN;
}

/* A ;N line inside a streamed string. */
enum step arc__rd_stream_chunk(arc_reader *r, const char *text, size_t tlen, size_t linelen,
                               arc_reply **out)
{
    long long v;
    if (!arc__parse_ll(text, tlen, &v) || v < 0 || text[0] == '+' || text[0] == '-')
        return arc__rd_fail(r, 0, "invalid chunk length in streamed string");
    size_t have = arc__buffer_len(&r->stream);
    if ((unsigned long long)v > r->limits.max_bulk - have)
        return arc__rd_fail(r, 0, "streamed string longer than max_bulk (%zu)", r->limits.max_bulk);
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
        arc__rd_consume(r, linelen);
        r->phase = PHASE_LINE;
        r->body_node = NULL;
        return arc__rd_finish(r, n, out, 0);
    }
    int rc = arc__buffer_reserve(&r->stream, (size_t)v);
    if (rc == ARC_ERR_NOMEM)
        return STEP_NOMEM;
    if (rc != ARC_OK)
        return arc__rd_fail(r, 0, "streamed string longer than max_bulk (%zu)", r->limits.max_bulk);
    r->body_dst = arc__buffer_tail(&r->stream);
    r->body_need = (size_t)v;
    r->body_have = 0;
    r->body_kind = BODY_CHUNK;
    r->phase = PHASE_BODY;
    arc__rd_consume(r, linelen);
    return STEP_AGAIN;
}
