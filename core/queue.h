/* queue.h (internal): the FIFO of reply callbacks, a ring that reuses memory. */
#ifndef ARC_CORE_QUEUE_H
#define ARC_CORE_QUEUE_H

#include <arc/context.h>

#include <stdint.h>

/* What a pending reply means to the context. */
enum arc_entry_kind {
    ARC_ENTRY_REPLY,     /* one reply for fn */
    ARC_ENTRY_HANDSHAKE, /* one reply checked by the handshake (behind RESET) */
    ARC_ENTRY_SUB,       /* `expect` pub/sub confirmations of kind `sub` */
    ARC_ENTRY_UNSUB,     /* as SUB; see ARC_ENTRY_ALL */
    ARC_ENTRY_MONITOR,   /* +OK, then fn gets every monitor line */
    ARC_ENTRY_RESET,     /* +RESET: subscriptions and monitor end */
    ARC_ENTRY_QUIT,      /* +OK, then the end of stream is clean */
    ARC_ENTRY_PING,      /* a reply that RESP2 subscribed mode sends as ["pong", x] */
};

/* Entry flags. */
enum {
    ARC_ENTRY_ALL = 1,      /* UNSUB naming nothing: expect is counted when due */
    ARC_ENTRY_DEAD = 2,     /* a tombstone: its callback ran (timeout, cancel);
                               the reply is read and dropped */
    ARC_ENTRY_BLOCKING = 4, /* waits server-side up to block_ms (0: for ever) */
    ARC_ENTRY_RETRY = 8,    /* a copy of its bytes is kept (see retry.c) */
    ARC_ENTRY_GONE = 16,    /* a lost link's: no reply will come, it is popped
                               as soon as it reaches the head (with DEAD) */
};

/* 40 bytes: a million commands in flight take 40 MB of queue. */
typedef struct arc_entry {
    arc_reply_fn *fn;
    void *privdata;
    uint64_t end;      /* where the command's bytes end in the output stream */
    uint32_t block_ms; /* ARC_ENTRY_BLOCKING: the server-side wait */
    uint32_t expect;   /* replies or confirmations still due */
    uint32_t serial;   /* SUB / UNSUB: the command's number, see arc_sub */
    uint8_t kind;      /* arc_entry_kind */
    uint8_t sub;       /* arc_sub_kind for SUB / UNSUB */
    uint8_t flags;
} arc_entry;

typedef struct arc_queue {
    arc_entry *ring;
    size_t cap; /* a power of two, or 0 */
    size_t head;
    size_t len;
    uint64_t head_id; /* the id of the entry at the head; ids count from 1 */
    arc_allocator alloc;
} arc_queue;

void arc__queue_init(arc_queue *q, const arc_allocator *alloc);
void arc__queue_release(arc_queue *q);

/* Frees the ring of an empty queue that grew past `keep` entries. */
void arc__queue_shrink(arc_queue *q, size_t keep);

/* Makes room for one more entry so that the push after it cannot fail. */
int arc__queue_grow(arc_queue *q);
static inline int arc__queue_reserve(arc_queue *q)
{
    return q->len < q->cap ? ARC_OK : arc__queue_grow(q);
}

/* Appends; ARC_ERR_NOMEM when the ring must grow and cannot. */
int arc__queue_push(arc_queue *q, const arc_entry *e);

/* Appends after an arc__queue_reserve(): cannot fail; inline, as every
 * command passes here. */
static inline void arc__queue_put(arc_queue *q, const arc_entry *e)
{
    q->ring[(q->head + q->len) & (q->cap - 1)] = *e;
    q->len++;
}

static inline size_t arc__queue_len(const arc_queue *q)
{
    return q->len;
}

/* The i-th entry from the head (i < len). */
static inline arc_entry *arc__queue_at(const arc_queue *q, size_t i)
{
    return &q->ring[(q->head + i) & (q->cap - 1)];
}

static inline arc_entry *arc__queue_head(const arc_queue *q)
{
    return q->len ? arc__queue_at(q, 0) : NULL;
}

/* The id the next push gets. */
static inline uint64_t arc__queue_next_id(const arc_queue *q)
{
    return q->head_id + q->len;
}

/* The entry with this id, or NULL when it was popped or never pushed. */
static inline arc_entry *arc__queue_find(const arc_queue *q, uint64_t id)
{
    if (id < q->head_id || id - q->head_id >= q->len)
        return NULL;
    return arc__queue_at(q, (size_t)(id - q->head_id));
}

/* Removes the head into *out (len > 0). */
static inline void arc__queue_pop(arc_queue *q, arc_entry *out)
{
    *out = q->ring[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
    q->len--;
    q->head_id++;
}

/* Removes the newest entry (undoing a push). */
static inline void arc__queue_unpush(arc_queue *q)
{
    q->len--;
}

#endif
