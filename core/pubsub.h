/* pubsub.h (internal): subscription tables, and what a pub/sub frame says. */
#ifndef ARC_CORE_PUBSUB_H
#define ARC_CORE_PUBSUB_H

#include <arc/context.h>

#include <stdint.h>

enum arc_sub_kind {
    ARC_SUB_CHANNEL, /* SUBSCRIBE / message */
    ARC_SUB_PATTERN, /* PSUBSCRIBE / pmessage */
    ARC_SUB_SHARD,   /* SSUBSCRIBE / smessage */
    ARC_SUB_KINDS
};

/* The callback of one subscribe command, shared by the names it added. It
 * gets one last call, with NULL, when its last name ends (`refs` reaches
 * 0), unless that call was already made early (timeout, cancel: `ended`),
 * after which frames for its names are dropped. The command's queue entry
 * points at it too (`queued`): it is freed once neither names nor entry
 * are left, so that a name the server ends before the command is
 * confirmed (an unsolicited unsubscribe) leaves the entry nothing freed. */
typedef struct arc_sub_owner {
    arc_reply_fn *fn;
    void *privdata;
    size_t refs;
    bool ended;
    bool queued;
} arc_sub_owner;

/* One subscription: its owner and its name, in one allocation. */
typedef struct arc_sub {
    struct arc_sub *next; /* only while taken out of the table together */
    arc_sub_owner *owner;
    uint32_t hash;
    uint32_t serial; /* the subscribe command not yet confirmed, 0 once it is */
    bool fresh;      /* inserted by the command being queued (undo marker) */
    size_t len;
    char name[];
} arc_sub;

/* Open addressing with linear probing; deletion shifts entries back, so
 * there are no tombstones to pile up under subscribe/unsubscribe churn. */
typedef struct arc_subtable {
    arc_sub **slots;
    size_t cap; /* a power of two, or 0 */
    size_t count;
    size_t confirmed; /* members whose serial is 0: the server holds them */
} arc_subtable;

typedef struct arc_pubsub {
    arc_subtable table[ARC_SUB_KINDS];
    arc_allocator alloc;
} arc_pubsub;

void arc__pubsub_init(arc_pubsub *ps, const arc_allocator *alloc);
/* Frees every subscription without calling anything (owners are the
 * caller's to end first). */
void arc__pubsub_release(arc_pubsub *ps);

size_t arc__pubsub_count(const arc_pubsub *ps, int kind);
static inline size_t arc__pubsub_total(const arc_pubsub *ps)
{
    return ps->table[0].count + ps->table[1].count + ps->table[2].count;
}
/* Subscriptions the server has confirmed, over all kinds. */
size_t arc__pubsub_confirmed(const arc_pubsub *ps);
/* Marks `s` as waiting for the confirmation of command `serial` again. */
void arc__pubsub_unconfirm(arc_pubsub *ps, int kind, arc_sub *s, uint32_t serial);
/* Marks `s` confirmed (serial 0). */
void arc__pubsub_confirm(arc_pubsub *ps, int kind, arc_sub *s);

/* The owner holding names for this (fn, privdata) pair, or NULL. */
arc_sub_owner *arc__pubsub_owner_find(const arc_pubsub *ps, arc_reply_fn *fn, void *privdata);

/* A new owner with no names yet, or NULL when memory ran out. */
arc_sub_owner *arc__pubsub_owner_new(arc_pubsub *ps, arc_reply_fn *fn, void *privdata);
void arc__pubsub_owner_free(arc_pubsub *ps, arc_sub_owner *o);

arc_sub *arc__pubsub_find(const arc_pubsub *ps, int kind, const char *name, size_t len);

/* A subscription not yet in the table, or NULL when memory ran out. It is
 * inserted with arc__pubsub_insert or released with arc__pubsub_discard. */
arc_sub *arc__pubsub_new(arc_pubsub *ps, const char *name, size_t len, arc_sub_owner *owner);
void arc__pubsub_discard(arc_pubsub *ps, arc_sub *s);

/* Room for `n` more insertions that then cannot fail. */
int arc__pubsub_reserve(arc_pubsub *ps, int kind, size_t n);

/* Inserts `s` (after a reserve); its name must not be in the table. */
void arc__pubsub_insert(arc_pubsub *ps, int kind, arc_sub *s);

/* Takes `s` out of the table; the caller frees it with arc__pubsub_discard. */
void arc__pubsub_remove(arc_pubsub *ps, int kind, arc_sub *s);

/* Takes out one subscription of `kind` still waiting for the confirmation
 * of subscribe command `serial` (NULL when there is none). */
arc_sub *arc__pubsub_take_serial(arc_pubsub *ps, int kind, uint32_t serial);

/* Subscriptions of `kind` that the server holds before command `serial`:
 * confirmed ones and those of earlier commands. */
size_t arc__pubsub_count_before(const arc_pubsub *ps, int kind, uint32_t serial);

/* Takes any one subscription out (NULL when all are empty), for teardown. */
arc_sub *arc__pubsub_pop_any(arc_pubsub *ps);

/* ---- classification of frames (no state: pure functions of a reply) ---- */

enum arc_frame_class {
    ARC_FRAME_NONE,        /* not a pub/sub frame */
    ARC_FRAME_MESSAGE,     /* message / pmessage / smessage */
    ARC_FRAME_SUBSCRIBE,   /* subscribe / psubscribe / ssubscribe */
    ARC_FRAME_UNSUBSCRIBE, /* unsubscribe / punsubscribe / sunsubscribe */
    ARC_FRAME_PONG,        /* RESP2 subscribed-mode PING reply */
    ARC_FRAME_BAD,         /* a pub/sub kind with the wrong shape */
};

typedef struct arc_frame {
    int cls;                  /* arc_frame_class */
    int kind;                 /* arc_sub_kind */
    const arc_reply *name;    /* channel or pattern the frame is for; may be nil */
} arc_frame;

/* Classifies an array (RESP2) or push (RESP3) by its first element, and
 * checks the shape its kind requires so that no later access can run past
 * the elements the server sent. */
void arc__pubsub_classify(const arc_reply *r, arc_frame *out);

/* A string or simple status: what names and kinds are made of. */
static inline bool arc__reply_is_text(const arc_reply *r)
{
    return r->type == ARC_REPLY_STRING || r->type == ARC_REPLY_STATUS;
}

/* ASCII case-insensitive equality of a counted string with a lower-case
 * literal; no locale is consulted. */
bool arc__ascii_ieq(const char *p, size_t n, const char *lower);

#endif
