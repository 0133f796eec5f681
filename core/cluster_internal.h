/* cluster_internal.h (internal): the cluster client's objects, shared by
 * its files: cluster.c (commands, routing, redirects, the ticker),
 * cluster_map.c (the nodes, discovery and the slot map) and
 * cluster_split.c (multi-key commands split over slots). */
#ifndef ARC_CORE_CLUSTER_INTERNAL_H
#define ARC_CORE_CLUSTER_INTERNAL_H

#include "alloc.h"
#include "keypos.h"
#include "pubsub.h"
#include "slot.h"

#include <arc/buffer.h>
#include <arc/cluster.h>
#include <arc/group.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cnode {
    arc_cluster *cl;
    struct cnode *next;
    arc_member *m;          /* its connection; NULL when it has none */
    arc_member *sm;         /* its subscriptions' connection; NULL: none */
    char *host;
    int port;
    bool listed;            /* in the current slot map */
    bool master;
    bool seed;
    /* Its last connection failed, and no slot map has been put in use
     * since: commands wait for the map (which says whether the node is
     * still there and who took its slots over) instead of each retry
     * making a new connection to a node that just failed. */
    bool down;
    struct cnode *master_of; /* a replica's master */
} cnode;

typedef struct ccmd {
    arc_cluster *cl;
    struct ccmd *prev, *next; /* on the waiting list, while it waits */
    int slot;               /* -1: no key */
    bool readonly;
    cnode *pin;             /* arc_cluster_command_options.node */
    cnode *ask;             /* the next send is ASKING + the command, there */
    cnode *on;              /* the node it was last sent to */
    arc_cluster_reply_fn *fn;
    void *privdata;
    int64_t deadline;       /* -1: none */
    int64_t resend_at;      /* -1: on a node; else waiting until then */
    unsigned redirects;
    unsigned retries;
    size_t len;
    /* Last, so that a new command zeroes only what comes before it. */
    char reason[192];       /* why it was last redirected or retried */
    char bytes[];
} ccmd;

/* Commands of at most this many bytes get a record of this size, kept on
 * a list of spares when done (at most SPARE_RECORDS of them, about 100
 * KiB), so that the usual small command costs no heap call in steady
 * state. */
#define SPARE_BYTES 128
#define SPARE_RECORDS 256

/* Where a subscription is (cluster_pubsub.c). */
enum csub_state {
    CSUB_WAITING, /* for a node, a slot map or its backoff (resend_at) */
    CSUB_SENT,    /* its subscribe is queued on `on`'s link */
    CSUB_ACTIVE,  /* confirmed there */
    CSUB_MOVING,  /* told to unsubscribe there, to go elsewhere after */
    CSUB_LEAVING, /* the caller unsubscribed: ends when `on` confirms, or on
                     the next tick when it is on no node */
    CSUB_REFUSED, /* an error reply refused it (the caller was given it):
                     ends, ARC_OK, when `on` lets go of it */
};

typedef struct csub {
    arc_cluster *cl;
    struct csub *prev, *next;
    /* Its name in the cluster's table: the table's entry points at `key`,
     * from which the csub is found again. */
    arc_sub_owner key;
    arc_sub *entry;
    int kind;               /* arc_sub_kind */
    int slot;               /* a shard channel's; -1 for the others */
    int state;              /* csub_state */
    cnode *on;              /* the node whose link has it (not WAITING) */
    cnode *next_node;       /* where a redirect said to go next; NULL: by
                               the map */
    unsigned tries;         /* placements in a row not confirmed */
    int64_t resend_at;      /* WAITING: its next try */
    arc_cluster_reply_fn *fn;
    void *privdata;
    char reason[192];       /* why it last moved */
} csub;

struct arc_cluster {
    arc_allocator alloc;
    unsigned refs;
    bool freeing;
    arc_options node_tmpl;  /* the group's member_options */
    unsigned max_redirects, max_retries;
    long retry_delay_ms, retry_max_delay_ms;
    long refresh_interval_ms, refresh_min_ms;
    int reads;
    bool split;             /* arc_cluster_options.split_multikey */
    arc_cluster_event_fn *on_event;
    void *data;
    uint64_t rng;

    arc_group *g;
    arc_context *ticker;
    cnode *nodes;           /* every node ever known, seeds first */
    size_t nnodes;
    cnode *slots[ARC_SLOTS]; /* the master of each slot; NULL: none known */
    bool ready;
    unsigned rr;            /* keyless commands go round the masters */

    ccmd *waiting_head, *waiting_tail; /* the commands waiting (resend_at >= 0) */
    ccmd *spare;            /* finished small records, linked by `next` */
    unsigned nspare;

    bool refreshing;        /* a CLUSTER SHARDS / SLOTS is in flight */
    bool refresh_again;     /* another was asked for meanwhile */
    bool use_slots;         /* SHARDS is not known to these servers */
    int64_t last_refresh_ms;
    int64_t refresh_at;     /* -1: none scheduled */
    int64_t armed;          /* what the ticker was last set to; -1: none */
    unsigned discovery_failures;
    size_t next_candidate;  /* where the next discovery starts in nodes */

    arc_keytable *keys;     /* from COMMAND; NULL: the built-in table only */
    /* The last command looked up that is not a container, as given: most
     * programs send the same few commands, so this saves the search. */
    char memo_name[24];
    size_t memo_len;        /* 0: nothing remembered */
    bool memo_found;
    arc_keyspec memo_spec;
    arc_buffer *scratch;    /* where the printf and argv calls encode */
    bool keys_asked;

    const char *error_now;  /* arc_cluster_error() during a callback */

    arc_pubsub subs;        /* every subscription held, by kind and name */
    csub *sub_head, *sub_tail;
    cnode *sub_home;        /* where channels and patterns go */
};

/* cluster.c */

/* Drops a reference; the last frees the cluster and its nodes. */
void arc__cluster_unref(arc_cluster *cl);
/* Takes the command off the list and calls its callback, `reason` saying
 * why (arc_cluster_error()); the command is freed. */
void arc__cluster_finish(ccmd *k, arc_reply *r, int status, const char *reason);
/* Routes the waiting commands whose time has come, expiring the late. */
void arc__cluster_routes_due(arc_cluster *cl);
/* Makes every waiting command due now (a new slot map may have what each
 * was waiting for: its slot's new master, the end of a migration). */
void arc__cluster_wake_waiting(arc_cluster *cl);
/* The cluster's timer no later than `at` (-1: nothing). */
void arc__cluster_arm_at(arc_cluster *cl, int64_t at);

/* cluster_map.c */

/* The node at host:port, made when unknown; NULL when out of memory. */
cnode *arc__cluster_node_get(arc_cluster *cl, const char *host, int port);
/* A connection to the node, made when it has none (not for a node that is
 * down unless `even_down`); NULL when there can be none now. */
arc_context *arc__cluster_node_link(cnode *n, bool even_down);
/* arc__cluster_node_link(n, false): the connection a command may use. */
arc_context *arc__cluster_node_context(cnode *n);
/* The node's connection removed from the group (NODE_REMOVED first). */
void arc__cluster_node_drop(cnode *n);
/* Asks a node for the slot map now (unless one is asked already). */
void arc__cluster_refresh_now(arc_cluster *cl);
/* A refresh as soon as the throttle allows, merged with any pending. */
void arc__cluster_request_refresh(arc_cluster *cl);

/* Queues one well-formed RESP command (the caller checked it), routed by
 * its keys, which must be in one slot. The statuses of
 * arc_cluster_command_formatted_with(). */
int arc__cluster_submit(arc_cluster *cl, const arc_cluster_command_options *o,
                        arc_cluster_reply_fn *fn, void *privdata, const char *cmd, size_t len);

/* Calls a command's callback with arc_cluster_error() saying `reason`
 * (NULL: "") for its duration. */
void arc__cluster_call(arc_cluster *cl, arc_cluster_reply_fn *fn, arc_reply *r, int status,
                       void *privdata, const char *reason);

const arc_allocator *arc__cluster_allocator(const arc_cluster *cl);

/* A connection for the node's subscriptions, made when it has none (not
 * for a node that is down); NULL when there can be none now. */
arc_context *arc__cluster_node_sublink(cnode *n);

/* MOVED / ASK replies, shared by commands and subscriptions. */
bool arc__cluster_error_is(const arc_reply *r, const char *word);
bool arc__cluster_parse_redirect(const arc_reply *r, size_t skip, const cnode *from, int *slot,
                                 char *host, size_t hostlen, int *port);

/* cluster_pubsub.c */

/* After a slot map is put in use: subscriptions waiting are placed, and
 * those whose node no longer serves them move. */
void arc__cluster_subs_remap(arc_cluster *cl);
/* Places the waiting subscriptions whose time has come and ends those
 * leaving without a node; the earliest time still to come (-1: none). */
int64_t arc__cluster_subs_due(arc_cluster *cl);
/* The earliest time a waiting subscription wants the ticker (-1: none). */
int64_t arc__cluster_subs_next(const arc_cluster *cl);
/* At arc_cluster_free: subscriptions on no link end with ARC_ERR_FREED
 * (those on a link hear it as the link goes). */
void arc__cluster_subs_free(arc_cluster *cl);

/* cluster_split.c: whether a command is one the split knows (MGET, MSET,
 * DEL, UNLINK, EXISTS, TOUCH), and the split itself: ARC_OK once the parts
 * are queued (the callback runs once, after the last), or the status of
 * the first part's refusal, nothing sent. */
bool arc__cluster_splittable(const char *cmd, size_t len);
int arc__cluster_split(arc_cluster *cl, const arc_cluster_command_options *o,
                       arc_cluster_reply_fn *fn, void *privdata, const char *cmd, size_t len);

#endif
