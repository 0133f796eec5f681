/* flaky_alloc.h (fuzz targets): an allocator that refuses every
 * `period`-th allocation and counts the blocks it hands out, so that a
 * leak on any error path shows in the target that uses it. */
#ifndef ARC_FUZZ_FLAKY_ALLOC_H
#define ARC_FUZZ_FLAKY_ALLOC_H

#include <stddef.h>
#include <stdlib.h>

typedef struct flaky {
    size_t calls;
    size_t period; /* 0: never fail */
    long live;
} flaky;

static inline void *flaky_realloc(void *ud, void *ptr, size_t size)
{
    flaky *f = (flaky *)ud;
    if (size == 0) {
        if (ptr != NULL) {
            f->live--;
            free(ptr);
        }
        return NULL;
    }
    f->calls++;
    if (f->period != 0 && f->calls % f->period == 0)
        return NULL;
    void *p = realloc(ptr, size);
    if (p != NULL && ptr == NULL)
        f->live++;
    return p;
}

#endif
