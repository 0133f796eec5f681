/* alloc.c: the default allocator and the helpers that route through one. */
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

static void *libc_realloc(void *ud, void *ptr, size_t size)
{
    (void)ud;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, size);
}

static const arc_allocator default_allocator = {libc_realloc, NULL};

const arc_allocator *arc_allocator_default(void)
{
    return &default_allocator;
}

void arc__alloc_copy(arc_allocator *dst, const arc_allocator *src)
{
    if (src == NULL || src->realloc == NULL)
        *dst = default_allocator;
    else
        *dst = *src;
}

char *arc__strdup(const arc_allocator *a, const char *s, bool *nomem)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *d = arc_mem_alloc(a, n + 1);
    if (d == NULL) {
        *nomem = true;
        return NULL;
    }
    memcpy(d, s, n + 1);
    return d;
}

void *arc_mem_alloc(const arc_allocator *a, size_t size)
{
    if (size == 0)
        size = 1; /* a zero-size request is not a free here */
    if (a == NULL || a->realloc == NULL)
        a = &default_allocator;
    return a->realloc(a->ud, NULL, size);
}

void *arc_mem_realloc(const arc_allocator *a, void *ptr, size_t size)
{
    if (size == 0)
        size = 1;
    if (a == NULL || a->realloc == NULL)
        a = &default_allocator;
    return a->realloc(a->ud, ptr, size);
}

void arc_mem_free(const arc_allocator *a, void *ptr)
{
    if (ptr == NULL)
        return;
    if (a == NULL || a->realloc == NULL)
        a = &default_allocator;
    a->realloc(a->ud, ptr, 0);
}
