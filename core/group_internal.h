/* group_internal.h (internal): the group's objects, shared by group.c
 * (the members and their table) and fanout.c (one command to many).
 *
 * Lifetimes. A member is referenced by the table (until removed), by its
 * context (until the context's data_free), by every fan-out slot that names
 * it, and around each call into the caller; it is freed when the last goes.
 * The group is referenced by each member and fan-out that lives and by each
 * of its own calls under way; arc_group_free() removes every member, and
 * the memory goes with the last reference. So a caller may remove members
 * or free the group from any callback, and what a callback's caller still
 * holds stays valid until it returns. */
#ifndef ARC_CORE_GROUP_INTERNAL_H
#define ARC_CORE_GROUP_INTERNAL_H

#include "alloc.h"

#include <arc/group.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATES (ARC_STATE_WAITING + 1)

typedef struct slot {
    arc_fanout *f;
    arc_member *m;
    int status;      /* ARC_ERR_STATE while pending */
    arc_reply *kept; /* keep_replies */
} slot;

struct arc_fanout {
    arc_group *g;
    arc_fanout *prev, *next; /* the group's fan-outs that have not completed */
    slot *slots;
    size_t n;
    size_t answered, failed;
    /* Member callbacks that have returned: the fan-out completes when the
     * last has, so that a callback which settles others (it removes a
     * member, or frees the group) cannot complete it twice, and on_done
     * never runs under a member's callback. */
    size_t returned;
    bool queuing;    /* the command is being queued: not complete yet */
    bool completed;  /* on_done has run (or there was none) */
    bool in_done;    /* on_done is running */
    bool free_asked; /* arc_fanout_free() from on_done: freed once it returns */
    bool keep;
    arc_fanout_reply_fn *on_reply;
    arc_fanout_done_fn *on_done;
    void *privdata;
};

struct arc_member {
    arc_group *g;
    arc_member *prev, *next;     /* the table, in the order added */
    arc_member *wprev, *wnext;   /* waiting for a turn to connect */
    arc_member *cprev, *cnext;   /* changed since the last look */
    arc_context *c;              /* NULL once freed */
    unsigned refs;
    bool in_table;
    arc_state state;
    arc_state seen;              /* as of the caller's last look */
    int64_t since_ms;
    int failure;
    int user_status;
    void *data;                  /* arc_member_data() */
    /* The callbacks of arc_group_add_options(), called on from the group's. */
    arc_connect_fn *on_connect;
    arc_disconnect_fn *on_disconnect;
    arc_push_fn *on_push;
    arc_state_fn *on_state;
    void (*data_free)(void *data);
    char *error;                 /* a copy of the last failure's message */
    char name[];                 /* "host:port" or the path */
};

struct arc_group {
    arc_allocator alloc;
    unsigned refs;               /* members and fan-outs alive, calls under way */
    bool freeing;
    bool starting;               /* start_waiting() is running: no recursion */
    unsigned max_connecting;
    const arc_options *member_options;
    arc_group_change_fn *on_change;
    void *data;
    arc_attach_fn *attach;
    void *loop;
    arc_member *head, *tail;
    arc_member *whead, *wtail;
    arc_member *chead, *ctail;
    arc_fanout *fanouts;
    /* The group's timer (ticker.c): commands queued on members still
     * waiting their turn have deadlines no context's timer watches yet. */
    arc_context *ticker;
    int64_t armed; /* what the ticker was last set to; -1: nothing */
    size_t size;
    size_t counts[STATES];
};

/* References (above): a member or the group is freed with its last. */
void arc__group_unref(arc_group *g);
void arc__member_ref(arc_member *m);
void arc__member_unref(arc_member *m);

/* Whether the member is waiting for its turn to connect (max_connecting):
 * its context is not attached yet, so no timer of its own runs. */
bool arc__member_waiting(const arc_member *m);

/* The group's timer no later than `at` (only ever earlier). */
void arc__group_arm_at(arc_group *g, int64_t at);

#endif
