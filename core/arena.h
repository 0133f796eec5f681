/* arena.h (internal): bump allocation for reply trees, reset in one step. */
#ifndef ARC_CORE_ARENA_H
#define ARC_CORE_ARENA_H

#include <arc/alloc.h>

#include <stddef.h>

typedef struct arc_arena_chunk arc_arena_chunk;

/* Requests of at least this many bytes get a block of their own. */
#define ARC_ARENA_LARGE (4u * 1024)
#define ARC_ARENA_ALIGN 8u

struct arc_arena_chunk {
    arc_arena_chunk *next;
    size_t size;
    size_t used;
    union {
        long long ll;
        double d;
        void *p;
    } data[];
};

/* Replies are built here and all freed at once when the next one is asked
 * for, so a steady stream of small replies reuses one chunk and calls the
 * allocator zero times per reply (DESIGN invariant 7). */
typedef struct arc_arena {
    arc_arena_chunk *current; /* bump allocation happens here */
    arc_arena_chunk *others;  /* full chunks and large blocks, freed on reset */
    arc_allocator alloc;
} arc_arena;

void arc__arena_init(arc_arena *a, const arc_allocator *alloc);

/* n rounded up to the alignment every block gets. */
static inline size_t arc__arena_round(size_t n)
{
    return (n + (ARC_ARENA_ALIGN - 1)) & ~(size_t)(ARC_ARENA_ALIGN - 1);
}

/* Everything arc__arena_alloc() does not do inline: a new chunk, an own
 * block, an overflowing size. */
void *arc__arena_alloc_slow(arc_arena *a, size_t n);

/* n bytes aligned for any reply field; NULL when the allocator fails. The
 * common case, room in the current chunk, is a bump of `used` inline: the
 * reader asks for two or three blocks per reply. */
static inline void *arc__arena_alloc(arc_arena *a, size_t n)
{
    arc_arena_chunk *c = a->current;
    if (c != NULL && n - 1 < ARC_ARENA_LARGE - ARC_ARENA_ALIGN) {
        size_t r = arc__arena_round(n);
        if (c->size - c->used >= r) {
            void *p = (char *)c->data + c->used;
            c->used += r;
            return p;
        }
    }
    return arc__arena_alloc_slow(a, n);
}

/* Resizes a block that arc__arena_alloc() gave its own allocation (n >=
 * ARC_ARENA_LARGE) to `n` bytes, keeping its contents; this lets a long bulk
 * string grow as its bytes arrive instead of being allocated at the size a
 * header announced. NULL when the allocator fails (the block is unchanged)
 * or `p` is not such a block. */
void *arc__arena_grow(arc_arena *a, void *p, size_t n);

void arc__arena_free_others(arc_arena *a);

/* Forgets every allocation; keeps the current chunk for reuse. */
static inline void arc__arena_reset(arc_arena *a)
{
    if (a->others != NULL)
        arc__arena_free_others(a);
    if (a->current != NULL)
        a->current->used = 0;
}

/* Frees everything. */
void arc__arena_release(arc_arena *a);

#endif
