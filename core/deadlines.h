/* deadlines.h (internal): a min-heap of per-command deadlines, so that the
 * earliest one is found without scanning the queue. */
#ifndef ARC_CORE_DEADLINES_H
#define ARC_CORE_DEADLINES_H

#include <arc/alloc.h>
#include <arc/status.h>

#include <stdint.h>

/* `id` names a queue entry (see arc__queue_find). Entries answered before
 * their deadline are not taken out: a stale item is dropped when it comes
 * to the top and its entry is gone, which keeps answering a command free
 * of heap work. */
typedef struct arc_deadline {
    int64_t at;
    uint64_t id;
} arc_deadline;

typedef struct arc_deadlines {
    arc_deadline *heap;
    size_t len;
    size_t cap; /* grows by doubling and is kept: no malloc per command */
    arc_allocator alloc;
} arc_deadlines;

void arc__deadlines_init(arc_deadlines *d, const arc_allocator *alloc);
void arc__deadlines_release(arc_deadlines *d);

/* Room for one more push that then cannot fail. ARC_OK or ARC_ERR_NOMEM. */
int arc__deadlines_reserve(arc_deadlines *d);

/* Adds a deadline (after a reserve). */
void arc__deadlines_push(arc_deadlines *d, int64_t at, uint64_t id);

/* The earliest, or NULL when empty. */
static inline const arc_deadline *arc__deadlines_top(const arc_deadlines *d)
{
    return d->len ? &d->heap[0] : NULL;
}

/* Removes the earliest (len > 0). */
void arc__deadlines_pop(arc_deadlines *d);

/* Forgets every deadline, keeping the memory. */
static inline void arc__deadlines_clear(arc_deadlines *d)
{
    d->len = 0;
}

#endif
