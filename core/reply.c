/* reply.c: copying reply trees out of the reader, and freeing the copies. */
#include <arc/reply.h>

#include "alloc.h"

#include <stdalign.h>
#include <string.h>

/* A duplicated tree is one block: a header that remembers the allocator,
 * then every node, then every element array, then every string. One block
 * means one allocation to copy and one call to free. */
typedef struct dup_header {
    arc_allocator alloc;
    alignas(max_align_t) arc_reply root[];
} dup_header;

typedef struct sizes {
    size_t nodes;
    size_t slots;
    size_t bytes;
    bool overflow;
} sizes;

static void add(size_t *acc, size_t n, bool *overflow)
{
    if (*acc > (size_t)-1 - n)
        *overflow = true;
    else
        *acc += n;
}

/* Recursion depth is bounded by the reader's max_depth for trees it built;
 * hand-built trees are the caller's business. */
static void measure(const arc_reply *r, sizes *s)
{
    add(&s->nodes, 1, &s->overflow);
    if (r->str != NULL) {
        /* A verbatim string's text starts 4 bytes into its allocation; the
         * copy keeps only the text. */
        add(&s->bytes, r->len, &s->overflow);
        add(&s->bytes, 1, &s->overflow);
    }
    if (r->element != NULL) {
        add(&s->slots, r->elements, &s->overflow);
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i] != NULL)
                measure(r->element[i], s);
    }
    if (r->attribute != NULL)
        measure(r->attribute, s);
}

typedef struct cursor {
    arc_reply *node;
    arc_reply **slot;
    char *byte;
} cursor;

static arc_reply *copy(const arc_reply *r, cursor *c)
{
    arc_reply *n = c->node++;
    *n = *r;
    if (r->str != NULL) {
        n->str = c->byte;
        memcpy(c->byte, r->str, r->len);
        c->byte[r->len] = '\0';
        c->byte += r->len + 1;
    }
    if (r->element != NULL) {
        n->element = c->slot;
        c->slot += r->elements;
        for (size_t i = 0; i < r->elements; i++)
            n->element[i] = r->element[i] ? copy(r->element[i], c) : NULL;
    }
    if (r->attribute != NULL)
        n->attribute = copy(r->attribute, c);
    return n;
}

arc_reply *arc_reply_dup(const arc_reply *reply, const arc_allocator *alloc)
{
    if (reply == NULL)
        return NULL;
    sizes s = {0, 0, 0, false};
    measure(reply, &s);
    size_t total = sizeof(dup_header);
    add(&total, arc__mul_size(s.nodes, sizeof(arc_reply)), &s.overflow);
    add(&total, arc__mul_size(s.slots, sizeof(arc_reply *)), &s.overflow);
    add(&total, s.bytes, &s.overflow);
    if (s.overflow)
        return NULL;
    dup_header *h = arc_mem_alloc(alloc, total);
    if (h == NULL)
        return NULL;
    arc__alloc_copy(&h->alloc, alloc);
    cursor c;
    c.node = h->root;
    c.slot = (arc_reply **)(h->root + s.nodes);
    c.byte = (char *)(c.slot + s.slots);
    return copy(reply, &c);
}

void arc_reply_free(arc_reply *reply)
{
    if (reply == NULL)
        return;
    dup_header *h = (dup_header *)((char *)reply - offsetof(dup_header, root));
    arc_allocator a = h->alloc;
    arc_mem_free(&a, h);
}

const char *arc_reply_type_name(int type)
{
    switch (type) {
    case ARC_REPLY_STRING: return "string";
    case ARC_REPLY_ARRAY: return "array";
    case ARC_REPLY_INTEGER: return "integer";
    case ARC_REPLY_NIL: return "nil";
    case ARC_REPLY_STATUS: return "status";
    case ARC_REPLY_ERROR: return "error";
    case ARC_REPLY_DOUBLE: return "double";
    case ARC_REPLY_BOOL: return "bool";
    case ARC_REPLY_MAP: return "map";
    case ARC_REPLY_SET: return "set";
    case ARC_REPLY_ATTR: return "attribute";
    case ARC_REPLY_PUSH: return "push";
    case ARC_REPLY_BIGNUM: return "bignum";
    case ARC_REPLY_VERB: return "verbatim";
    default: return "unknown";
    }
}
