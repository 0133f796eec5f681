/* buffer.c: the growable byte buffer with a maximum size. */
#include "buffer.h"

#include "alloc.h"

void arc__buffer_init(arc_buffer *b, size_t max, const arc_allocator *alloc)
{
    b->data = NULL;
    b->start = b->end = b->cap = 0;
    b->max = max ? max : ARC_BUFFER_DEFAULT_MAX;
    arc__alloc_copy(&b->alloc, alloc);
}

void arc__buffer_release(arc_buffer *b)
{
    arc_mem_free(&b->alloc, b->data);
    b->data = NULL;
    b->start = b->end = b->cap = 0;
}

int arc__buffer_grow(arc_buffer *b, size_t extra)
{
    size_t len = b->end - b->start;
    if (extra > b->max || len > b->max - extra)
        return ARC_ERR_LIMIT;
    size_t need = len + extra;
    /* Slide the live bytes down when that alone makes room and the move is
     * cheap next to the space it frees. */
    if (need <= b->cap && len <= b->start) {
        memmove(b->data, b->data + b->start, len);
        b->start = 0;
        b->end = len;
        return ARC_OK;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    if (cap > b->max && need <= b->max)
        cap = b->max;
    char *p;
    if (b->start == 0) {
        p = arc_mem_realloc(&b->alloc, b->data, cap);
        if (p == NULL)
            return ARC_ERR_NOMEM;
    } else {
        p = arc_mem_alloc(&b->alloc, cap);
        if (p == NULL)
            return ARC_ERR_NOMEM;
        if (len)
            memcpy(p, b->data + b->start, len);
        arc_mem_free(&b->alloc, b->data);
        b->start = 0;
        b->end = len;
    }
    b->data = p;
    b->cap = cap;
    return ARC_OK;
}

void arc__buffer_shrink(arc_buffer *b, size_t keep)
{
    if (b->start == b->end && b->cap > keep)
        arc__buffer_release(b);
}

arc_buffer *arc_buffer_new(size_t max, const arc_allocator *alloc)
{
    arc_buffer *b = arc_mem_alloc(alloc, sizeof *b);
    if (b == NULL)
        return NULL;
    arc__buffer_init(b, max, alloc);
    return b;
}

void arc_buffer_free(arc_buffer *b)
{
    if (b == NULL)
        return;
    arc_allocator a = b->alloc;
    arc__buffer_release(b);
    arc_mem_free(&a, b);
}

const char *arc_buffer_data(const arc_buffer *b)
{
    return b && b->data ? b->data + b->start : NULL;
}

size_t arc_buffer_len(const arc_buffer *b)
{
    return b ? b->end - b->start : 0;
}

void arc_buffer_clear(arc_buffer *b)
{
    if (b)
        b->start = b->end = 0;
}

int arc_buffer_append(arc_buffer *b, const void *data, size_t len)
{
    if (b == NULL || (data == NULL && len > 0))
        return ARC_ERR_INVALID;
    int rc = arc__buffer_reserve(b, len);
    if (rc != ARC_OK)
        return rc;
    arc__buffer_put(b, data, len);
    return ARC_OK;
}
