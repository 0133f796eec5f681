/* arena.c: chunked bump allocator behind the reader's reply trees. */
#include "arena.h"

#include "alloc.h"

#include <stdint.h>

/* A chunk of this size holds a few hundred small replies; bigger requests
 * (long bulk strings, large element arrays) get a block of their own so that
 * one huge reply does not leave a huge chunk pinned after reset. */
#define CHUNK_SIZE (16u * 1024)

void arc__arena_init(arc_arena *a, const arc_allocator *alloc)
{
    a->current = NULL;
    a->others = NULL;
    arc__alloc_copy(&a->alloc, alloc);
}

static arc_arena_chunk *chunk_new(arc_arena *a, size_t size)
{
    if (size > SIZE_MAX - sizeof(arc_arena_chunk))
        return NULL;
    arc_arena_chunk *c = arc_mem_alloc(&a->alloc, sizeof(arc_arena_chunk) + size);
    if (c == NULL)
        return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

void *arc__arena_alloc_slow(arc_arena *a, size_t n)
{
    if (n > SIZE_MAX - ARC_ARENA_ALIGN)
        return NULL;
    n = arc__arena_round(n ? n : 1);
    if (n >= ARC_ARENA_LARGE) {
        arc_arena_chunk *big = chunk_new(a, n);
        if (big == NULL)
            return NULL;
        big->used = n;
        big->next = a->others;
        a->others = big;
        return big->data;
    }
    arc_arena_chunk *c = a->current;
    if (c == NULL || c->size - c->used < n) {
        arc_arena_chunk *fresh = chunk_new(a, CHUNK_SIZE);
        if (fresh == NULL)
            return NULL;
        if (c != NULL) {
            c->next = a->others;
            a->others = c;
        }
        a->current = c = fresh;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

void *arc__arena_grow(arc_arena *a, void *p, size_t n)
{
    if (n > SIZE_MAX - ARC_ARENA_ALIGN - sizeof(arc_arena_chunk))
        return NULL;
    n = arc__arena_round(n);
    if (n < ARC_ARENA_LARGE)
        return NULL;
    /* Own blocks are few (one per long string or array of a reply), and a
     * string grows a logarithmic number of times: a walk is cheap enough. */
    for (arc_arena_chunk **link = &a->others; *link != NULL; link = &(*link)->next) {
        arc_arena_chunk *c = *link;
        if ((void *)c->data != p)
            continue;
        arc_arena_chunk *bigger = arc_mem_realloc(&a->alloc, c, sizeof(arc_arena_chunk) + n);
        if (bigger == NULL)
            return NULL;
        bigger->size = bigger->used = n;
        *link = bigger;
        return bigger->data;
    }
    return NULL;
}

void arc__arena_free_others(arc_arena *a)
{
    arc_arena_chunk *c = a->others;
    while (c != NULL) {
        arc_arena_chunk *next = c->next;
        arc_mem_free(&a->alloc, c);
        c = next;
    }
    a->others = NULL;
}

void arc__arena_release(arc_arena *a)
{
    arc__arena_reset(a);
    arc_mem_free(&a->alloc, a->current);
    a->current = NULL;
}
