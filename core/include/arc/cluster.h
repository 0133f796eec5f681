/* arc/cluster.h: a Redis Cluster client. It learns the cluster's shape from
 * its seeds (CLUSTER SHARDS, or CLUSTER SLOTS on servers before 7), keeps
 * one connection per node as members of a group (<arc/group.h>), routes
 * each command by the slot of its keys, follows MOVED and ASK, and waits
 * out TRYAGAIN and CLUSTERDOWN with a backoff (docs/cluster.md). */
#ifndef ARC_CLUSTER_H
#define ARC_CLUSTER_H

#include <arc/base.h>
#include <arc/context.h>
#include <arc/group.h>

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct arc_cluster arc_cluster;

/* Called once per command, as arc_reply_fn is for a context: the reply
 * (status ARC_OK; borrowed until the callback returns; error replies are
 * replies), or NULL with the status of why none came: those of
 * arc_reply_fn, and ARC_ERR_REDIRECTS (too many redirects or retries),
 * ARC_ERR_UNROUTED (no node known for it). arc_cluster_error() tells the
 * detail of this command's failure during the call. */
typedef void arc_cluster_reply_fn(arc_cluster *cl, arc_reply *reply, int status, void *privdata);

/* What arc_cluster_options.on_event reports. */
enum arc_cluster_event {
    ARC_CLUSTER_TOPOLOGY = 1,       /* a new slot map is in use */
    ARC_CLUSTER_NODE_ADDED,         /* `node` joined the table */
    ARC_CLUSTER_NODE_REMOVED,       /* `node` is leaving the table (valid
                                       during the call only) */
    ARC_CLUSTER_DISCOVERY_FAILED,   /* no seed or node gave a slot map; tried
                                       again after a backoff. The message is
                                       arc_cluster_error() during the call */
};
typedef void arc_cluster_event_fn(arc_cluster *cl, int event, arc_member *node, void *data);

/* Where replicas serve reads (commands the key table marks read-only). */
enum arc_cluster_reads {
    ARC_READS_MASTER = 0,      /* every command to the slot's master */
    ARC_READS_PREFER_REPLICA,  /* reads to a replica of the slot's master
                                  when one is up, else the master */
    ARC_READS_ANY,             /* reads to the master or any replica */
};

typedef struct arc_cluster_seed {
    const char *host;
    int port; /* 0: 6379 */
} arc_cluster_seed;

/* Options of arc_cluster_new(); zero fields mean the default. The struct
 * only grows by appending fields. */
typedef struct arc_cluster_options {
    const arc_cluster_seed *seeds;  /* tried in turn until one answers;
                                       copied */
    size_t nseeds;
    /* What every node's connection is made with (auth, TLS, timeouts, RESP
     * version, reader limits); host, port, unix_path, sentinel, reconnect
     * and the callbacks are the cluster's own. NULL: defaults. It and what
     * it points to must stay valid while the cluster lives. */
    const arc_options *node_options;
    unsigned max_redirects;        /* MOVED / ASK per command; 0: 5 */
    unsigned max_retries;          /* TRYAGAIN, CLUSTERDOWN, a node lost
                                      before the command was sent; 0: 10 */
    long retry_delay_ms;           /* the first backoff's ceiling, doubling
                                      with full jitter; 0: 20 */
    long retry_max_delay_ms;       /* 0: 500 */
    long refresh_interval_ms;      /* a periodic refresh; 0: none */
    long refresh_min_interval_ms;  /* refreshes asked for within this of the
                                      last one are merged into one; 0: 100 */
    int reads;                     /* an arc_cluster_reads */
    unsigned max_connecting;       /* the group's; 0: its default */
    arc_cluster_event_fn *on_event;
    void *data;                    /* passed to on_event */
    const arc_allocator *allocator; /* the cluster's own memory; NULL: default */
    /* MGET, MSET, DEL, UNLINK, EXISTS and TOUCH whose keys span slots are
     * split into one command per slot and their replies put back together
     * (MGET's values in key order, MSET's OK, the others' counts summed)
     * instead of refused with ARC_ERR_CROSSSLOT. Not atomic: an MSET split
     * may be half done when a part fails, and the callback then gets the
     * first part's failure. */
    bool split_multikey;
} arc_cluster_options;

/* A cluster client; NULL when out of memory or no seed is given. Attach a
 * loop next: discovery starts from it. */
ARC_API arc_cluster *arc_cluster_new(const arc_cluster_options *opt);
ARC_API int arc_cluster_attach(arc_cluster *cl, arc_attach_fn *attach, void *loop);

/* Commands, as the context's calls: encoded at once (the bytes are kept
 * for redirects), routed by the slot of their keys once the slot map is
 * known. A call that returns an error never calls the callback:
 * ARC_ERR_INVALID, ARC_ERR_NOMEM, ARC_ERR_CROSSSLOT (keys in different
 * slots, unless split_multikey splits the command), ARC_ERR_CLOSED (the
 * cluster is being freed). The subscribe family is refused with
 * ARC_ERR_INVALID: subscriptions are arc_cluster_subscribe()'s, since one
 * moves between nodes over its life. MONITOR is refused too (one node's
 * MONITOR is a context's: arc_member_context() of arc_cluster_group()). */
ARC_API int arc_cluster_command(arc_cluster *cl, arc_cluster_reply_fn *fn, void *privdata,
                                const char *fmt, ...);
ARC_API int arc_cluster_vcommand(arc_cluster *cl, arc_cluster_reply_fn *fn, void *privdata,
                                 const char *fmt, va_list ap);
ARC_API int arc_cluster_command_argv(arc_cluster *cl, arc_cluster_reply_fn *fn, void *privdata,
                                     int argc, const char *const *argv, const size_t *argvlen);
ARC_API int arc_cluster_command_formatted(arc_cluster *cl, arc_cluster_reply_fn *fn,
                                          void *privdata, const char *cmd, size_t len);

/* Per-command options; zero fields mean the default. */
typedef struct arc_cluster_command_options {
    long timeout_ms;        /* the whole command's deadline, redirects and
                               retries included; 0: none */
    arc_member *node;       /* send to this node (a member of
                               arc_cluster_group()), whatever the keys;
                               NULL: by slot */
} arc_cluster_command_options;
ARC_API int arc_cluster_command_argv_with(arc_cluster *cl, const arc_cluster_command_options *o,
                                          arc_cluster_reply_fn *fn, void *privdata, int argc,
                                          const char *const *argv, const size_t *argvlen);
ARC_API int arc_cluster_command_formatted_with(arc_cluster *cl,
                                               const arc_cluster_command_options *o,
                                               arc_cluster_reply_fn *fn, void *privdata,
                                               const char *cmd, size_t len);

/* The detail of the failure being reported, valid during a command's
 * callback (the last redirect, the node lost, ...) or an on_event call;
 * "" otherwise. */
ARC_API const char *arc_cluster_error(const arc_cluster *cl);

/* One command to every master (ARC_CLUSTER_MASTERS) or every node
 * (ARC_CLUSTER_NODES) of the current slot map, through the group's fan-out
 * (o->members is ignored). ARC_ERR_STATE before the slot map is known. */
enum arc_cluster_fanout_to { ARC_CLUSTER_MASTERS = 1, ARC_CLUSTER_NODES };
ARC_API int arc_cluster_fanout(arc_cluster *cl, int to, const arc_fanout_options *o,
                               const char *fmt, ...);

/* ---- pub/sub ----
 *
 * A subscription is one name: a channel (SUBSCRIBE), a pattern
 * (PSUBSCRIBE) or a shard channel (SSUBSCRIBE). Channels and patterns all
 * live on one node (Redis Cluster forwards PUBLISH to every node); a shard
 * channel lives on the master of its slot (SPUBLISH is an ordinary command,
 * routed by that slot). Each node that holds subscriptions has a second
 * connection for them, a row of its own in arc_cluster_group()'s table, so
 * that messages never wait behind commands nor commands behind messages.
 *
 * The cluster keeps a subscription until it is unsubscribed or the cluster
 * is freed, moving it when its node fails or leaves the map, when its
 * slot's master changes (a failover, a slot migration, MOVED or ASK on
 * SSUBSCRIBE), and when the node ends it unasked (the `sunsubscribe` a
 * node sends for a slot that migrated away). Messages published while it
 * moves are lost: Redis pub/sub keeps no history.
 *
 * The callback gets each confirmation (a subscribe frame: one per node the
 * subscription lands on, so a move shows as a new confirmation), each
 * message (message / pmessage / smessage frames, as the node's context
 * gives them: arrays in RESP2, pushes in RESP3), and then exactly once a
 * NULL reply: ARC_OK after arc_cluster_unsubscribe() (the node's
 * unsubscribe frame first when it had one), ARC_OK after an error reply
 * that refused the subscription (the error reply first; an ACL NOPERM,
 * say), ARC_ERR_FREED when the cluster is freed. arc_cluster_error() says
 * why it last moved during each call. The NULL call is the place to free
 * privdata. */
enum arc_cluster_sub_kind {
    ARC_CLUSTER_CHANNEL = 1, /* SUBSCRIBE */
    ARC_CLUSTER_PATTERN,     /* PSUBSCRIBE */
    ARC_CLUSTER_SHARD,       /* SSUBSCRIBE */
};

/* Subscribes to `name` (len bytes, copied). ARC_OK, or an error and no
 * callback: ARC_ERR_INVALID (bad arguments), ARC_ERR_DUPLICATE (the name
 * is subscribed already, with this kind), ARC_ERR_NOMEM, ARC_ERR_CLOSED
 * (the cluster is being freed). Before the slot map is known it waits for
 * it. */
ARC_API int arc_cluster_subscribe(arc_cluster *cl, int kind, const char *name, size_t len,
                                  arc_cluster_reply_fn *fn, void *privdata);
/* Ends the subscription: its callback's NULL call follows (never inside
 * this call). ARC_ERR_INVALID when no such subscription is held (or it is
 * ending already). */
ARC_API int arc_cluster_unsubscribe(arc_cluster *cl, int kind, const char *name, size_t len);
/* The row of the connection the subscription is confirmed on now, NULL
 * while it is not (moving, waiting for a node, or unknown). */
ARC_API arc_member *arc_cluster_subscription_node(const arc_cluster *cl, int kind,
                                                  const char *name, size_t len);

/* The nodes, as a group's table (state, failure, addresses tried...): the
 * group belongs to the cluster; never free it or add to it. */
ARC_API arc_group *arc_cluster_group(const arc_cluster *cl);
/* Whether a slot map is known. */
ARC_API bool arc_cluster_ready(const arc_cluster *cl);
/* The member serving `slot` as master now; NULL when none is known. */
ARC_API arc_member *arc_cluster_slot_master(const arc_cluster *cl, unsigned slot);
/* Whether `node` (a row of either of a node's connections) is a master in
 * the current slot map. */
ARC_API bool arc_cluster_node_is_master(const arc_cluster *cl, const arc_member *node);
/* How many slots `node` serves as master in the current slot map (0 for a
 * replica, a node not in the map, or NULL). */
ARC_API size_t arc_cluster_node_slots(const arc_cluster *cl, const arc_member *node);
/* The slot of a key (CRC16 of the key or its {hash tag}, mod 16384). */
ARC_API unsigned arc_cluster_key_slot(const char *key, size_t len);

/* Frees the cluster: every command still owed is called back once, with
 * ARC_ERR_FREED; then the nodes' connections go. Allowed from callbacks.
 * NULL is ignored. */
ARC_API void arc_cluster_free(arc_cluster *cl);

#ifdef __cplusplus
}
#endif

#endif
