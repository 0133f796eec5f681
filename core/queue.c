/* queue.c: the ring of pending reply callbacks. */
#include "queue.h"

#include "alloc.h"

#include <string.h>

void arc__queue_init(arc_queue *q, const arc_allocator *alloc)
{
    q->ring = NULL;
    q->cap = q->head = q->len = 0;
    q->head_id = 1;
    arc__alloc_copy(&q->alloc, alloc);
}

void arc__queue_shrink(arc_queue *q, size_t keep)
{
    if (q->len == 0 && q->cap > keep) {
        arc_mem_free(&q->alloc, q->ring);
        q->ring = NULL;
        q->cap = q->head = 0;
    }
}

void arc__queue_release(arc_queue *q)
{
    arc_mem_free(&q->alloc, q->ring);
    q->ring = NULL;
    q->cap = q->head = q->len = 0;
}

/* arc__queue_reserve() when the ring is full. The ring doubles, and shrinks
 * only when an idle context trims itself: after the first burst of a given
 * depth, queueing a command touches no allocator (DESIGN invariant 7). */
int arc__queue_grow(arc_queue *q)
{
    size_t cap = q->cap ? q->cap * 2 : 64;
    arc_entry *ring = arc_mem_alloc(&q->alloc, arc__mul_size(cap, sizeof *ring));
    if (ring == NULL)
        return ARC_ERR_NOMEM;
    /* Unwrap: the oldest entry moves to index 0. */
    size_t first = q->cap - q->head;
    if (first > q->len)
        first = q->len;
    if (q->len) {
        memcpy(ring, q->ring + q->head, first * sizeof *ring);
        memcpy(ring + first, q->ring, (q->len - first) * sizeof *ring);
    }
    arc_mem_free(&q->alloc, q->ring);
    q->ring = ring;
    q->cap = cap;
    q->head = 0;
    return ARC_OK;
}

int arc__queue_push(arc_queue *q, const arc_entry *e)
{
    int rc = arc__queue_reserve(q);
    if (rc != ARC_OK)
        return rc;
    q->ring[(q->head + q->len) & (q->cap - 1)] = *e;
    q->len++;
    return ARC_OK;
}
