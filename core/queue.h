/* queue.h (internal): the FIFO of reply callbacks, a ring that reuses memory. */
#ifndef ARC_CORE_QUEUE_H
#define ARC_CORE_QUEUE_H

#include <arc/context.h>

#include <stdint.h>

/* What a pending reply means to the context. */
enum arc_entry_kind {
    ARC_ENTRY_REPLY,     /* one reply for fn */
    ARC_ENTRY_HANDSHAKE, /* one reply checked by the handshake */
    ARC_ENTRY_SUB,       /* `expect` pub/sub confirmations of kind `sub` */
    ARC_ENTRY_UNSUB,     /* as SUB; see `all` */
    ARC_ENTRY_MONITOR,   /* +OK, then fn gets every monitor line */
    ARC_ENTRY_RESET,     /* +RESET: subscriptions and monitor end */
    ARC_ENTRY_QUIT,      /* +OK, then the end of stream is clean */
    ARC_ENTRY_PING,      /* a reply that RESP2 subscribed mode sends as ["pong", x] */
};

typedef struct arc_entry {
    arc_reply_fn *fn;
    void *privdata;
    int64_t queued_ms; /* only kept when a command timeout is set */
    uint32_t expect;   /* replies or confirmations still due */
    uint32_t serial;   /* SUB / UNSUB: the command's number, see arc_sub */
    uint8_t kind;      /* arc_entry_kind */
    uint8_t sub;       /* arc_sub_kind for SUB / UNSUB */
    bool all;          /* UNSUB naming nothing: expect is counted when due */
} arc_entry;

typedef struct arc_queue {
    arc_entry *ring;
    size_t cap; /* a power of two, or 0 */
    size_t head;
    size_t len;
    arc_allocator alloc;
} arc_queue;

void arc__queue_init(arc_queue *q, const arc_allocator *alloc);
void arc__queue_release(arc_queue *q);

/* Makes room for one more entry so that the push after it cannot fail. */
int arc__queue_reserve(arc_queue *q);

/* Appends; ARC_ERR_NOMEM when the ring must grow and cannot. */
int arc__queue_push(arc_queue *q, const arc_entry *e);

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

/* Removes the head into *out (len > 0). */
static inline void arc__queue_pop(arc_queue *q, arc_entry *out)
{
    *out = q->ring[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
    q->len--;
}

/* Removes the newest entry (undoing a push). */
static inline void arc__queue_unpush(arc_queue *q)
{
    q->len--;
}

#endif
