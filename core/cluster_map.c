/* cluster_map.c: the cluster client's nodes and its slot map: the node
 * of each address (kept as long as the cluster), its connection (a member
 * of the group), discovery (CLUSTER SHARDS, or CLUSTER SLOTS before Redis
 * 7, asked of one node at a time, with a backoff when none answers) and
 * the map put in use. */
#include "async.h"
#include "cluster_internal.h"
#include "topology.h"

#include <stdio.h>
#include <string.h>

/* ---- nodes ---- */

static cnode *node_find(arc_cluster *cl, const char *host, int port)
{
    for (cnode *n = cl->nodes; n != NULL; n = n->next)
        if (n->port == port && strcmp(n->host, host) == 0)
            return n;
    return NULL;
}

/* The node at host:port, made when unknown; NULL when out of memory. */
cnode *arc__cluster_node_get(arc_cluster *cl, const char *host, int port)
{
    cnode *n = node_find(cl, host, port);
    if (n != NULL)
        return n;
    n = arc_mem_alloc(&cl->alloc, sizeof *n);
    if (n == NULL)
        return NULL;
    memset(n, 0, sizeof *n);
    bool nomem = false;
    n->host = arc__strdup(&cl->alloc, host, &nomem);
    if (nomem) {
        arc_mem_free(&cl->alloc, n);
        return NULL;
    }
    n->cl = cl;
    n->port = port;
    /* Appended, so that the seeds stay first for discovery. */
    cnode **at = &cl->nodes;
    while (*at != NULL)
        at = &(*at)->next;
    *at = n;
    cl->nnodes++;
    return n;
}

/* A connection to the node, made when it has none. NULL when the cluster
 * is being freed or memory ran out. A replica serving reads is told
 * READONLY first, before any command. Discovery may connect to a node
 * that is down (it may be the only one left to ask); commands may not. */
arc_context *arc__cluster_node_link(cnode *n, bool even_down)
{
    arc_cluster *cl = n->cl;
    if (cl->freeing)
        return NULL;
    if (n->m == NULL) {
        if (n->down && !even_down)
            return NULL;
        n->down = false;
        n->m = arc_group_add(cl->g, n->host, n->port, n);
        if (n->m == NULL)
            return NULL;
        if (n->listed && !n->master && cl->reads != ARC_READS_MASTER)
            (void)arc_command(arc_member_context(n->m), NULL, NULL, "READONLY");
        if (cl->on_event != NULL)
            cl->on_event(cl, ARC_CLUSTER_NODE_ADDED, n->m, cl->data);
        if (n->m == NULL)
            return NULL;
    }
    arc_state s = arc_member_state(n->m);
    if (s == ARC_STATE_CLOSED || s == ARC_STATE_FAILED || s == ARC_STATE_DISCONNECTING)
        return NULL; /* on its way out: the group's callback removes it */
    return arc_member_context(n->m);
}

arc_context *arc__cluster_node_context(cnode *n)
{
    return arc__cluster_node_link(n, false);
}

arc_context *arc__cluster_node_sublink(cnode *n)
{
    arc_cluster *cl = n->cl;
    if (cl->freeing)
        return NULL;
    if (n->sm == NULL) {
        if (n->down)
            return NULL;
        n->sm = arc_group_add(cl->g, n->host, n->port, n);
        if (n->sm == NULL)
            return NULL;
    }
    arc_state s = arc_member_state(n->sm);
    if (s == ARC_STATE_CLOSED || s == ARC_STATE_FAILED || s == ARC_STATE_DISCONNECTING)
        return NULL;
    return arc_member_context(n->sm);
}

void arc__cluster_node_drop(cnode *n)
{
    arc_member *m = n->m;
    if (m == NULL)
        return;
    n->m = NULL;
    arc_cluster *cl = n->cl;
    if (cl->on_event != NULL && !cl->freeing)
        cl->on_event(cl, ARC_CLUSTER_NODE_REMOVED, m, cl->data);
    arc_group_remove(cl->g, m);
}
/* ---- the slot map ---- */

/* Puts the slot map `t` in use. ARC_ERR_NOMEM, with the map in use left
 * as it was, when the nodes could not be looked up or made: the caller
 * then counts the refresh as failed, so that another is scheduled (and
 * commands waiting for a first map are told) instead of waiting for ever
 * for a map that was read and dropped. */
/* Whether the map's nodes are to be reached on their TLS ports. CLUSTER
 * SHARDS gives both ports whatever the connection it is asked on (CLUSTER
 * SLOTS and MOVED give that connection's kind): the node that answered
 * says which it was reached on, when its port is one of the map's; else a
 * transport (arc-tls) says TLS. Ports alone are compared, as the address
 * that answered may be one the map names otherwise. */
static bool use_tls_ports(const arc_cluster *cl, const arc_topology *t, const cnode *from)
{
    for (size_t i = 0; i < t->nnodes; i++) {
        if (t->nodes[i].port == from->port)
            return false;
        if (t->nodes[i].tls_port == from->port)
            return true;
    }
    return cl->node_tmpl.transport != NULL;
}

static int apply(arc_cluster *cl, arc_topology *t, const cnode *from)
{
    cnode **at = arc_mem_alloc(&cl->alloc, (t->nnodes ? t->nnodes : 1) * sizeof *at);
    if (at == NULL)
        return ARC_ERR_NOMEM;
    bool tls = use_tls_ports(cl, t, from);
    /* Every node first (new ones are appended, unlisted until below), so
     * that a failure leaves the current map's flags untouched. */
    for (size_t i = 0; i < t->nnodes; i++) {
        const arc_topo_node *tn = &t->nodes[i];
        at[i] = arc__cluster_node_get(cl, tn->host,
                                      tls && tn->tls_port > 0 ? tn->tls_port : tn->port);
        if (at[i] == NULL) {
            arc_mem_free(&cl->alloc, at);
            return ARC_ERR_NOMEM;
        }
    }
    for (cnode *n = cl->nodes; n != NULL; n = n->next) {
        n->listed = false;
        n->master = false;
        n->master_of = NULL;
    }
    for (size_t i = 0; i < t->nnodes; i++) {
        at[i]->listed = true;
        at[i]->master = t->nodes[i].master;
        at[i]->down = false; /* the map says it is there: worth a new try */
    }
    for (size_t i = 0; i < t->nnodes; i++)
        if (!t->nodes[i].master && t->nodes[i].master_index < t->nnodes)
            at[i]->master_of = at[t->nodes[i].master_index];
    bool moved = !cl->ready;
    for (unsigned s = 0; s < ARC_SLOTS; s++) {
        cnode *was = cl->slots[s];
        cl->slots[s] = t->slot_master[s] == ARC_TOPO_NONE ? NULL : at[t->slot_master[s]];
        moved = moved || was != cl->slots[s];
    }
    /* A slot with a new master (a failover, a migration that ended): the
     * commands backing off for it go now rather than when their backoff
     * ends, which after a failover could be up to retry_max_delay_ms later
     * than the node that took over. */
    if (moved)
        arc__cluster_wake_waiting(cl);
    arc_mem_free(&cl->alloc, at);
    cl->ready = true;
    cl->discovery_failures = 0;
    /* Every node of the map gets its connection (the table shows them all);
     * the others close cleanly, their replies still read. */
    for (cnode *n = cl->nodes; n != NULL && !cl->freeing; n = n->next) {
        if (n->listed)
            (void)arc__cluster_node_context(n);
        else if (n->m != NULL && arc_member_state(n->m) != ARC_STATE_DISCONNECTING)
            arc_member_close(n->m);
        /* A node that left takes its subscriptions' link along: they end
         * there and are placed again (below, or as the close ends them). */
        if (!n->listed && n->sm != NULL && arc_member_state(n->sm) != ARC_STATE_DISCONNECTING)
            arc_member_close(n->sm);
    }
    if (!cl->freeing)
        arc__cluster_subs_remap(cl);
    if (cl->on_event != NULL && !cl->freeing)
        cl->on_event(cl, ARC_CLUSTER_TOPOLOGY, NULL, cl->data);
    return ARC_OK;
}

static void on_command_table(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)c;
    arc_cluster *cl = privdata;
    arc_keytable *t = NULL;
    if (status == ARC_OK && r->type != ARC_REPLY_ERROR && !cl->freeing &&
        arc__keytable_from_command(&t, r, &cl->alloc) == ARC_OK) {
        arc__keytable_free(cl->keys);
        cl->keys = t;
        cl->memo_len = 0; /* what it remembered came from the old table */
    } else {
        arc__keytable_free(t);
        cl->keys_asked = false; /* asked again at the next slot map */
    }
    arc__cluster_unref(cl);
}

static void ask_command_table(arc_cluster *cl)
{
    if (cl->keys_asked || cl->freeing)
        return;
    for (cnode *n = cl->nodes; n != NULL; n = n->next) {
        if (!n->listed || !n->master)
            continue;
        arc_context *c = arc__cluster_node_context(n);
        if (c != NULL && arc_command(c, on_command_table, cl, "COMMAND") == ARC_OK) {
            cl->keys_asked = true;
            cl->refs++;
            return;
        }
    }
}

static void discovery_failed(arc_cluster *cl, const char *why)
{
    cl->discovery_failures++;
    cl->next_candidate++;
    if (cl->on_event != NULL && !cl->freeing) {
        const char *before = cl->error_now;
        cl->error_now = why;
        cl->on_event(cl, ARC_CLUSTER_DISCOVERY_FAILED, NULL, cl->data);
        cl->error_now = before;
    }
    if (cl->freeing)
        return;
    if (!cl->ready && cl->discovery_failures >= cl->nnodes) {
        /* Every seed was asked and none answered: the commands waiting for
         * a first map are told, rather than left waiting for ever. */
        ccmd *last = cl->waiting_tail; /* not those their callbacks issue */
        for (ccmd *k = cl->waiting_head; k != NULL && !cl->freeing;) {
            ccmd *next = k == last ? NULL : k->next;
            char msg[256];
            snprintf(msg, sizeof msg, "no slot map from any seed: %s", why);
            arc__cluster_finish(k, NULL, ARC_ERR_UNROUTED, msg);
            k = next;
        }
    }
    long delay = arc__backoff(&cl->rng, cl->retry_delay_ms * 5, cl->retry_max_delay_ms * 4,
                              cl->discovery_failures);
    int64_t at = arc__now_ms() + delay;
    if (cl->refresh_at < 0 || at < cl->refresh_at)
        cl->refresh_at = at;
    arc__cluster_arm_at(cl, cl->refresh_at);
}

static void on_refresh(arc_context *c, arc_reply *r, int status, void *privdata)
{
    cnode *n = privdata;
    arc_cluster *cl = n->cl;
    cl->refreshing = false;
    char why[256];
    if (cl->freeing) {
        arc__cluster_unref(cl);
        return;
    }
    if (status != ARC_OK) {
        /* The connection's own status and words say more than the
         * command's (NOT_SENT, say, for a TLS handshake refused). */
        int failure = arc_context_failure(c);
        const char *detail = failure != ARC_OK ? arc_context_error(c) : "";
        snprintf(why, sizeof why, "%s:%d: %s%s%s", n->host, n->port,
                 arc_status_name(failure != ARC_OK ? failure : status), detail[0] ? ": " : "",
                 detail);
        discovery_failed(cl, why);
    } else if (r->type == ARC_REPLY_ERROR && !cl->use_slots) {
        /* Before Redis 7: no CLUSTER SHARDS. The same node again, the old way. */
        cl->use_slots = true;
        arc__cluster_refresh_now(cl);
    } else {
        arc_topology *t = arc_mem_alloc(&cl->alloc, sizeof *t);
        int rc = ARC_ERR_NOMEM;
        why[0] = '\0';
        if (t != NULL) {
            rc = cl->use_slots
                     ? arc__topology_from_slots(t, r, n->host, &cl->alloc, why, sizeof why)
                     : arc__topology_from_shards(t, r, n->host, &cl->alloc, why, sizeof why);
            if (rc == ARC_OK && t->covered == 0) {
                rc = ARC_ERR_PROTOCOL;
                snprintf(why, sizeof why, "%s:%d serves no slot map (not a cluster?)", n->host,
                         n->port);
            }
            if (rc == ARC_OK && (rc = apply(cl, t, n)) != ARC_OK)
                snprintf(why, sizeof why, "out of memory putting the slot map in use");
            arc__topology_free(t);
            arc_mem_free(&cl->alloc, t);
        }
        if (rc != ARC_OK) {
            char msg[320];
            snprintf(msg, sizeof msg, "%s:%d: %s", n->host, n->port,
                     why[0] ? why : arc_strerror(rc));
            discovery_failed(cl, msg);
        } else {
            ask_command_table(cl);
            arc__cluster_routes_due(cl);
        }
    }
    if (cl->refresh_again && !cl->freeing) {
        cl->refresh_again = false;
        arc__cluster_request_refresh(cl);
    }
    arc__cluster_unref(cl);
}

/* A node to ask: from the one after the last that failed, a connected
 * node of the map first, then any node (seeds included). */
static cnode *candidate(arc_cluster *cl)
{
    if (cl->nnodes == 0)
        return NULL;
    for (int pass = 0; pass < 2; pass++) {
        size_t i = 0, start = cl->next_candidate % cl->nnodes;
        for (size_t step = 0; step < cl->nnodes; step++) {
            i = (start + step) % cl->nnodes;
            cnode *n = cl->nodes;
            for (size_t j = 0; j < i; j++)
                n = n->next;
            bool up = n->m != NULL && arc_member_state(n->m) == ARC_STATE_READY;
            if (pass == 1 || (n->listed && up)) {
                cl->next_candidate = i;
                return n;
            }
        }
    }
    return NULL;
}

void arc__cluster_refresh_now(arc_cluster *cl)
{
    cl->refresh_at = -1;
    if (cl->refreshing || cl->freeing)
        return;
    cnode *n = candidate(cl);
    arc_context *c = n ? arc__cluster_node_link(n, true) : NULL;
    cl->last_refresh_ms = arc__now_ms();
    if (c == NULL ||
        arc_command(c, on_refresh, n, cl->use_slots ? "CLUSTER SLOTS" : "CLUSTER SHARDS") !=
            ARC_OK) {
        char why[192];
        snprintf(why, sizeof why, "%s:%d could not be asked", n ? n->host : "no node",
                 n ? n->port : 0);
        discovery_failed(cl, why);
        return;
    }
    cl->refreshing = true;
    cl->refs++;
}

void arc__cluster_request_refresh(arc_cluster *cl)
{
    if (cl->freeing)
        return;
    if (cl->refreshing) {
        cl->refresh_again = true;
        return;
    }
    int64_t at = cl->last_refresh_ms + cl->refresh_min_ms;
    int64_t now = arc__now_ms();
    if (at < now)
        at = now;
    if (cl->refresh_at < 0 || at < cl->refresh_at) {
        cl->refresh_at = at;
        arc__cluster_arm_at(cl, at);
    }
}
