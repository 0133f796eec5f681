/* reader_impl.h (internal): the reader's state, shared by reader.c (lines
 * and the public API) and reader_tree.c (building values). */
#ifndef ARC_CORE_READER_IMPL_H
#define ARC_CORE_READER_IMPL_H

#include "bytes.h"
#include "reader.h"

#include <string.h>

enum phase {
    PHASE_LINE,      /* expecting a type byte and its line */
    PHASE_BODY,      /* copying a bulk body into `body_dst` */
    PHASE_BODY_CRLF, /* the body is complete; its CRLF must follow */
    PHASE_STREAM,    /* inside $?: expecting a ;N chunk header */
};

enum body_kind {
    BODY_STRING, /* $ */
    BODY_ERROR,  /* ! */
    BODY_VERB,   /* = */
    BODY_CHUNK,  /* ; part of a streamed string */
};

#define STREAMED ((size_t)-1)

typedef struct frame {
    arc_reply *node;         /* the aggregate being filled */
    size_t expect;           /* children announced, or STREAMED */
    size_t cap;              /* slots allocated in node->element */
    arc_reply *pending_attr; /* attribute waiting for the next child */
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
    size_t body_cap; /* bytes allocated at body_dst (the NUL included) */
    arc_buffer stream; /* the chunks of a $? string so far */

    size_t scan;     /* bytes of the current line already searched for CR and LF */
    size_t offset;   /* stream offset of the input buffer's first byte */
    bool handed_out; /* the arena holds a reply the caller has seen */
    /* The reply handed out is a string whose bytes are in `in`'s block, not
     * copied (text_node): that block must not be written until the next
     * arc_reader_next. */
    bool lent;
    char *retired; /* a block a lent reply still points into; freed by the next arc_reader_next */
    bool failed;
    char error[160];
};

/* Where a reply may be small or large: element arrays up to this many
 * slots are allocated as announced; beyond it they grow as children arrive,
 * so a header alone cannot make the client allocate its whole limit. */
#define EAGER_SLOTS 1024u
#define STACK_START 8u
/* Bulk strings up to this size are allocated as announced; longer ones grow
 * (doubling) as their bytes arrive, for the same reason as EAGER_SLOTS. */
#define EAGER_BODY (64u * 1024)

/* Outcome of one parsing step. */
enum step { STEP_AGAIN, STEP_MORE, STEP_DONE, STEP_ERROR, STEP_NOMEM };

/* reader.c */
enum step arc__rd_fail(arc_reader *r, size_t at, const char *fmt, ...) ARC_PRINTF(3, 4);

/* reader_tree.c. The small helpers are inline: a reply of one line calls
 * each of them once or twice, and across files they would not be. */
static inline void arc__rd_consume(arc_reader *r, size_t n)
{
    arc__buffer_consume(&r->in, n);
    r->offset += n;
}

static inline frame *arc__rd_top(arc_reader *r)
{
    return r->depth ? &r->stack[r->depth - 1] : NULL;
}

static inline arc_reply **arc__rd_attr_slot(arc_reader *r)
{
    frame *f = arc__rd_top(r);
    return f ? &f->pending_attr : &r->root_attr;
}

bool arc__rd_grow_slots(arc_reader *r, frame *f);

/* Makes sure the innermost aggregate has a free slot for one more child, so
 * that attaching a finished child never allocates (and never fails). */
static inline bool arc__rd_reserve_slot(arc_reader *r)
{
    frame *f = arc__rd_top(r);
    return f == NULL || f->node->elements < f->cap || arc__rd_grow_slots(r, f);
}

enum step arc__rd_finish_nested(arc_reader *r, arc_reply *node, arc_reply **out, size_t at);

/* A value is finished: hang it on its parent, closing every aggregate it
 * completes. STEP_DONE when a whole top-level reply is ready in *out. */
static inline enum step arc__rd_finish(arc_reader *r, arc_reply *node, arc_reply **out,
                                       size_t at)
{
    if (r->depth == 0 && node->type != ARC_REPLY_ATTR) {
        *out = node;
        return STEP_DONE;
    }
    return arc__rd_finish_nested(r, node, out, at);
}

/* A node of `type` with `extra` bytes after it (for its string), its
 * attribute taken from the slot; NULL when memory ran out. */
static inline arc_reply *arc__rd_node(arc_reader *r, int type, size_t extra)
{
    if (!arc__rd_reserve_slot(r))
        return NULL;
    arc_reply *n = (arc_reply *)arc__arena_alloc(&r->arena, sizeof *n + extra);
    if (n == NULL)
        return NULL;
    arc_reply **slot = arc__rd_attr_slot(r);
    /* Field by field: a struct-wide zeroing compiles to `rep stos`, whose
     * start-up cost was half of a short reply's parse time. */
    n->type = type;
    n->integer = 0;
    n->dval = 0;
    n->len = 0;
    n->str = NULL;
    memset(n->vtype, 0, sizeof n->vtype);
    n->elements = 0;
    n->element = NULL;
    n->attribute = *slot;
    *slot = NULL;
    return n;
}

static inline arc_reply *arc__rd_value_node(arc_reader *r, int type)
{
    return arc__rd_node(r, type, 0);
}

/* A node holding a copy of p[0, len) as its NUL-terminated string, both in
 * one arena block. */
static inline arc_reply *arc__rd_string_node(arc_reader *r, int type, const char *p, size_t len)
{
    if (len > (size_t)-1 - sizeof(arc_reply) - 1)
        return NULL;
    arc_reply *n = arc__rd_node(r, type, len + 1);
    if (n == NULL)
        return NULL;
    char *s = (char *)(n + 1);
    arc__copy_short(s, p, len);
    s[len] = '\0';
    n->str = s;
    n->len = len;
    return n;
}

enum step arc__rd_step_body(arc_reader *r, arc_reply **out);
enum step arc__rd_open_aggregate(arc_reader *r, int type, size_t count, size_t linelen,
                                 arc_reply **out);
enum step arc__rd_open_body(arc_reader *r, int type, enum body_kind kind, size_t len,
                            size_t linelen);
enum step arc__rd_stream_chunk(arc_reader *r, const char *text, size_t tlen, size_t linelen,
                               arc_reply **out);

#endif
