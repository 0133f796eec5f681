/* deadlines.c: the binary min-heap behind per-command deadlines. */
#include "deadlines.h"

#include "alloc.h"

void arc__deadlines_init(arc_deadlines *d, const arc_allocator *alloc)
{
    d->heap = NULL;
    d->len = d->cap = 0;
    arc__alloc_copy(&d->alloc, alloc);
}

void arc__deadlines_release(arc_deadlines *d)
{
    arc_mem_free(&d->alloc, d->heap);
    d->heap = NULL;
    d->len = d->cap = 0;
}

int arc__deadlines_reserve(arc_deadlines *d)
{
    if (d->len < d->cap)
        return ARC_OK;
    size_t cap = d->cap ? d->cap * 2 : 16;
    arc_deadline *h = arc_mem_realloc(&d->alloc, d->heap, arc__mul_size(cap, sizeof *h));
    if (h == NULL)
        return ARC_ERR_NOMEM;
    d->heap = h;
    d->cap = cap;
    return ARC_OK;
}

/* Earlier deadline first; the same deadline in the order commands were
 * issued, so that one timeout for many commands fires them in order. */
static int before(const arc_deadline *a, const arc_deadline *b)
{
    return a->at < b->at || (a->at == b->at && a->id < b->id);
}

void arc__deadlines_push(arc_deadlines *d, int64_t at, uint64_t id)
{
    size_t i = d->len++;
    arc_deadline item = {at, id};
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&item, &d->heap[parent]))
            break;
        d->heap[i] = d->heap[parent];
        i = parent;
    }
    d->heap[i] = item;
}

void arc__deadlines_pop(arc_deadlines *d)
{
    arc_deadline last = d->heap[--d->len];
    size_t i = 0, n = d->len;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const arc_deadline *best = &last;
        if (l < n && before(&d->heap[l], best)) {
            m = l;
            best = &d->heap[l];
        }
        if (r < n && before(&d->heap[r], best))
            m = r;
        if (m == i)
            break;
        d->heap[i] = d->heap[m];
        i = m;
    }
    if (n > 0)
        d->heap[i] = last;
}
