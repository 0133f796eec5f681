/* failing_alloc.h (tests): an allocator that fails the Nth request and
 * counts the blocks still live, for allocation-failure sweeps. */
#ifndef ARC_TEST_FAILING_ALLOC_H
#define ARC_TEST_FAILING_ALLOC_H

#include <arc/alloc.h>

#include <stdlib.h>

typedef struct failing_alloc {
    long calls;   /* allocations and growths so far */
    long fail_at; /* this one returns NULL; 0: none */
    long live;    /* blocks not yet freed */
    long failed;  /* requests that returned NULL */
} failing_alloc;

static inline void *failing_realloc(void *ud, void *p, size_t n)
{
    failing_alloc *f = (failing_alloc *)ud;
    if (n == 0) {
        if (p != NULL)
            f->live--;
        free(p);
        return NULL;
    }
    if (++f->calls == f->fail_at) {
        f->failed++;
        return NULL;
    }
    void *q = realloc(p, n);
    if (q != NULL && p == NULL)
        f->live++;
    return q;
}

/* An arc_allocator over `f`. */
static inline arc_allocator failing_allocator(failing_alloc *f)
{
    arc_allocator a = {failing_realloc, f};
    return a;
}

#endif
