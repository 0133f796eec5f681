/* alloc.h (internal): allocator helpers shared by the core's files. */
#ifndef ARC_CORE_ALLOC_H
#define ARC_CORE_ALLOC_H

#include <arc/alloc.h>

#include <stdbool.h>

/* Copies `src` into `dst`, replacing NULL (or a NULL function) with the
 * default, so that later calls need no check. */
void arc__alloc_copy(arc_allocator *dst, const arc_allocator *src);

/* A copy of the string `s` through `a`, or NULL for NULL. When the
 * allocation fails it returns NULL and sets *nomem (never clears it), so
 * that a run of copies checks once at the end. */
char *arc__strdup(const arc_allocator *a, const char *s, bool *nomem);

/* a * b, or SIZE_MAX when it overflows (an allocation that then fails). */
static inline size_t arc__mul_size(size_t a, size_t b)
{
    size_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return (size_t)-1;
    return r;
}

#endif
