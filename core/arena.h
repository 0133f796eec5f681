/* arena.h (internal): bump allocation for reply trees, reset in one step. */
#ifndef ARC_CORE_ARENA_H
#define ARC_CORE_ARENA_H

#include <arc/alloc.h>

#include <stddef.h>

typedef struct arc_arena_chunk arc_arena_chunk;

/* Requests of at least this many bytes get a block of their own. */
#define ARC_ARENA_LARGE (4u * 1024)

/* Replies are built here and all freed at once when the next one is asked
 * for, so a steady stream of small replies reuses one chunk and calls the
 * allocator zero times per reply (DESIGN invariant 7). */
typedef struct arc_arena {
    arc_arena_chunk *current; /* bump allocation happens here */
    arc_arena_chunk *others;  /* full chunks and large blocks, freed on reset */
    arc_allocator alloc;
} arc_arena;

void arc__arena_init(arc_arena *a, const arc_allocator *alloc);

/* n bytes aligned for any reply field; NULL when the allocator fails. */
void *arc__arena_alloc(arc_arena *a, size_t n);

/* Resizes a block that arc__arena_alloc() gave its own allocation (n >=
 * ARC_ARENA_LARGE) to `n` bytes, keeping its contents; this lets a long bulk
 * string grow as its bytes arrive instead of being allocated at the size a
 * header announced. NULL when the allocator fails (the block is unchanged)
 * or `p` is not such a block. */
void *arc__arena_grow(arc_arena *a, void *p, size_t n);

/* Forgets every allocation; keeps the current chunk for reuse. */
void arc__arena_reset(arc_arena *a);

/* Frees everything. */
void arc__arena_release(arc_arena *a);

#endif
