/* topology.h (internal): a Redis Cluster's shape as one node told it,
 * parsed from a CLUSTER SHARDS reply (Redis 7 and later) or a CLUSTER SLOTS
 * reply: its nodes, and which master serves each slot. Pure: no socket,
 * no clock. */
#ifndef ARC_CORE_TOPOLOGY_H
#define ARC_CORE_TOPOLOGY_H

#include <arc/alloc.h>
#include <arc/reply.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slot.h"

#define ARC_TOPO_NONE UINT16_MAX /* no node: a slot nobody serves */

typedef struct arc_topo_node {
    char *id;          /* the node id (40 hex characters); "" when the reply
                          gave none (old CLUSTER SLOTS) */
    char *host;        /* where to connect: the endpoint, or the address the
                          reply came from when the endpoint is unknown ("?",
                          "" or missing) */
    int port;          /* TCP port (1..65535); for a node with TLS only (a
                          SHARDS entry without "port") its TLS port */
    int tls_port;      /* 0 when not given */
    bool master;       /* false: a replica of the node at `master_index` */
    uint16_t master_index; /* for replicas: the master's index in nodes[];
                              ARC_TOPO_NONE for masters */
    bool healthy;      /* SHARDS "health": "online" (or no "health" given);
                          SLOTS: always true */
} arc_topo_node;

typedef struct arc_topology {
    arc_topo_node *nodes; /* masters and replicas, each node once (by
                             host and port, the host compared byte for
                             byte); a node listed again adds what it
                             lacked (an id, a TLS port; healthy if either
                             listing says so) */
    size_t nnodes;
    uint16_t slot_master[ARC_SLOTS]; /* index into nodes[] of the master
                                        serving each slot, or ARC_TOPO_NONE */
    size_t covered;       /* slots with a master */
    arc_allocator alloc;  /* what nodes and their strings came from */
} arc_topology;

/* Parse a reply into *t (which the call initialises; free it with
 * arc__topology_free() whatever the result). `from_host` is the host the
 * reply came from, used for endpoints the reply leaves unknown ("?", "",
 * null or missing); it may be NULL, and is copied. Both RESP2 (flat arrays
 * of key, value) and RESP3 (maps) forms are read; keys and elements the
 * parser does not know are skipped, the ones it knows are type-checked.
 * Returns ARC_OK (err is ""), ARC_ERR_NOMEM, or ARC_ERR_PROTOCOL with a
 * message in err[errlen] (always NUL-terminated when errlen > 0; err may
 * be NULL with errlen 0) saying what was wrong and where, e.g. "shard 2:
 * slot range 16000-16390 is out of 0..16383", for any reply that is not a
 * well-formed answer: not an array, a slot range out of 0..16383 or
 * reversed, a port out of range, a node without a host (an unknown
 * endpoint and no from_host), a slot listed twice (whichever masters), a
 * node listed as a master and as a replica or under two masters, a
 * replica listed with no master in its shard, two masters in one shard,
 * more than 65534 nodes... An error reply (-ERR unknown subcommand) is
 * ARC_ERR_PROTOCOL too, with the server's words in err. On any failure
 * *t is left empty (no nodes, no slot served). */
int arc__topology_from_shards(arc_topology *t, const arc_reply *r, const char *from_host,
                              const arc_allocator *alloc, char *err, size_t errlen);
int arc__topology_from_slots(arc_topology *t, const arc_reply *r, const char *from_host,
                             const arc_allocator *alloc, char *err, size_t errlen);

/* The node at host:port, or ARC_TOPO_NONE (also for a NULL t or host).
 * A scan of nodes[]. */
uint16_t arc__topology_find(const arc_topology *t, const char *host, int port);

/* Frees the nodes and leaves *t empty (and its allocator kept), so that a
 * second call is harmless. NULL is ignored. */
void arc__topology_free(arc_topology *t);

#endif
