/* cluster_pubsub.c: subscriptions in cluster mode. Each is a `csub`: one
 * name of one kind, kept in the cluster's own table (pubsub.h's, its
 * entry's owner pointing at the csub's `key`) and on a list in the order
 * subscribed. It is placed with a subscribe command of its own on a node's
 * subscription link (a second member per node, so that a RESP2 link in
 * subscribed mode never has to carry a command), the csub as privdata.
 *
 * The node's context owes each accepted subscribe command one final NULL
 * (its name ended: unsubscribed, refused, the link lost or freed), so
 * `on != NULL` exactly while a context will still call; when that NULL
 * comes and the caller still wants the subscription, it is placed again:
 * on the node a redirect named, else on its slot's master (shard channels)
 * or the cluster's one home for channels and patterns. A placement that is
 * not confirmed backs off before the next, without limit: a subscription
 * is kept through any outage until the caller ends it. */
#include "async.h"
#include "cluster_internal.h"
#include "list.h"
#include "pubsub.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char *const subscribe_cmd[ARC_SUB_KINDS] = {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"};
static const char *const unsubscribe_cmd[ARC_SUB_KINDS] = {"UNSUBSCRIBE", "PUNSUBSCRIBE",
                                                           "SUNSUBSCRIBE"};

static csub *of_entry(const arc_sub *e)
{
    return (csub *)(void *)((char *)e->owner - offsetof(csub, key));
}

static csub *find(const arc_cluster *cl, int kind, const char *name, size_t len)
{
    arc_sub *e = arc__pubsub_find(&cl->subs, kind, name, len);
    return e != NULL ? of_entry(e) : NULL;
}

/* ARC_CLUSTER_CHANNEL.. to the table's kinds; -1 for anything else. */
static int kind_of(int kind)
{
    switch (kind) {
    case ARC_CLUSTER_CHANNEL:
        return ARC_SUB_CHANNEL;
    case ARC_CLUSTER_PATTERN:
        return ARC_SUB_PATTERN;
    case ARC_CLUSTER_SHARD:
        return ARC_SUB_SHARD;
    default:
        return -1;
    }
}

/* Ends the subscription for the caller: its NULL call, then it is gone. */
static void sub_finish(csub *s, int status, const char *reason)
{
    arc_cluster *cl = s->cl;
    char why[192];
    snprintf(why, sizeof why, "%s", reason ? reason : "");
    LIST_UNLINK(cl, s, sub_head, sub_tail, prev, next);
    arc__pubsub_remove(&cl->subs, s->kind, s->entry);
    arc__pubsub_discard(&cl->subs, s->entry);
    arc_cluster_reply_fn *fn = s->fn;
    void *pd = s->privdata;
    arc_mem_free(&cl->alloc, s);
    arc__cluster_call(cl, fn, NULL, status, pd, why);
    arc__cluster_unref(cl);
}

/* The subscription has no node: it is placed again by the ticker, at once
 * the first time, then backing off (a node that keeps refusing it, or a
 * slot no node serves yet, is not asked in a loop). */
static void wait_again(csub *s, const char *why)
{
    arc_cluster *cl = s->cl;
    if (why != NULL)
        snprintf(s->reason, sizeof s->reason, "%s", why);
    s->state = CSUB_WAITING;
    s->on = NULL;
    long delay = s->tries == 0 ? 0
                               : arc__backoff(&cl->rng, cl->retry_delay_ms,
                                              cl->retry_max_delay_ms, s->tries);
    s->tries++;
    s->resend_at = arc__now_ms() + delay;
    if (cl->ready)
        arc__cluster_arm_at(cl, s->resend_at);
}

/* Where channels and patterns live: the same node for as long as it is in
 * the map and up, else the first master that is, else any node. */
static cnode *home(arc_cluster *cl)
{
    cnode *h = cl->sub_home;
    if (h != NULL && h->listed && !h->down)
        return h;
    cl->sub_home = NULL;
    for (int pass = 0; pass < 2 && cl->sub_home == NULL; pass++)
        for (cnode *n = cl->nodes; n != NULL; n = n->next)
            if (n->listed && !n->down && (pass == 1 || n->master)) {
                cl->sub_home = n;
                break;
            }
    return cl->sub_home;
}

static void on_sub(arc_context *c, arc_reply *r, int status, void *privdata);

/* Sends the subscription's subscribe to where it belongs now. */
static void place(csub *s)
{
    arc_cluster *cl = s->cl;
    cnode *n = s->next_node;
    s->next_node = NULL;
    if (n == NULL)
        n = s->kind == ARC_SUB_SHARD ? cl->slots[s->slot] : home(cl);
    char why[192];
    if (n == NULL) {
        if (s->kind == ARC_SUB_SHARD)
            snprintf(why, sizeof why, "no node serves slot %d", s->slot);
        else
            snprintf(why, sizeof why, "no node is known");
        arc__cluster_request_refresh(cl);
        wait_again(s, why);
        return;
    }
    arc_context *c = arc__cluster_node_sublink(n);
    int rc = c == NULL ? ARC_ERR_STATE
                       : arc_command(c, on_sub, s, "%s %b", subscribe_cmd[s->kind],
                                     s->entry->name, s->entry->len);
    if (rc != ARC_OK) {
        snprintf(why, sizeof why, "%s:%d could not take the subscription: %s", n->host, n->port,
                 c == NULL ? "no connection" : arc_status_name(rc));
        arc__cluster_request_refresh(cl);
        wait_again(s, why);
        return;
    }
    s->state = CSUB_SENT;
    s->on = n;
}

/* Asks the node it is on to end it; its NULL call follows. false when that
 * could not be asked of a link that stays (out of memory). */
static bool ask_unsubscribe(csub *s)
{
    cnode *n = s->on;
    arc_context *c = n != NULL && n->sm != NULL ? arc_member_context(n->sm) : NULL;
    if (c == NULL)
        return true; /* its link is going: the NULL call comes from that */
    arc_state st = arc_context_state(c);
    if (st == ARC_STATE_CLOSED || st == ARC_STATE_FAILED || st == ARC_STATE_DISCONNECTING)
        return true;
    return arc_command(c, NULL, NULL, "%s %b", unsubscribe_cmd[s->kind], s->entry->name,
                       s->entry->len) == ARC_OK;
}

static void deliver(csub *s, arc_reply *r, const char *reason)
{
    arc__cluster_call(s->cl, s->fn, r, ARC_OK, s->privdata, reason);
}

/* A frame or an error reply for the subscription, from its node. */
static void frame(csub *s, cnode *from, arc_reply *r)
{
    arc_cluster *cl = s->cl;
    if (r->type == ARC_REPLY_ERROR) {
        if (s->state == CSUB_LEAVING)
            return; /* it ends with the NULL that follows all the same */
        bool moved = arc__cluster_error_is(r, "MOVED");
        snprintf(s->reason, sizeof s->reason, "%.*s", (int)(r->len < 160 ? r->len : 160), r->str);
        if (moved || arc__cluster_error_is(r, "ASK")) {
            int slot, port;
            char host[128];
            if (arc__cluster_parse_redirect(r, moved ? 6 : 4, from, &slot, host, sizeof host,
                                            &port)) {
                cnode *to = arc__cluster_node_get(cl, host, port);
                /* MOVED fixes the map; ASK does not, and a shard channel is
                 * served by the slot's source until its migration ends, so
                 * an ASK is only followed once (the next try asks the map). */
                if (to != NULL && moved)
                    cl->slots[slot] = to;
                s->next_node = to;
            }
            arc__cluster_request_refresh(cl);
        } else if (arc__cluster_error_is(r, "CLUSTERDOWN")) {
            arc__cluster_request_refresh(cl);
        } else if (!arc__cluster_error_is(r, "TRYAGAIN")) {
            s->state = CSUB_REFUSED; /* the server's answer: the caller's */
            deliver(s, r, NULL);
        }
        return;
    }
    arc_frame f;
    arc__pubsub_classify(r, &f);
    switch (f.cls) {
    case ARC_FRAME_SUBSCRIBE:
        if (s->state != CSUB_SENT)
            return; /* on its way off this node already */
        s->state = CSUB_ACTIVE;
        s->tries = 0;
        deliver(s, r, s->reason);
        break;
    case ARC_FRAME_UNSUBSCRIBE:
        if (s->state == CSUB_LEAVING)
            deliver(s, r, NULL);
        else if (s->state == CSUB_ACTIVE) {
            /* Not asked for: the node no longer serves it (its slot moved
             * away). The map is out of date. */
            snprintf(s->reason, sizeof s->reason, "%s:%d ended it unasked",
                     from ? from->host : "?", from ? from->port : 0);
            arc__cluster_request_refresh(cl);
        }
        break;
    default:
        deliver(s, r, NULL); /* messages, whatever the state: they are real */
        break;
    }
}

/* The node's context is done with the subscription. */
static void ended(csub *s, cnode *from, int status)
{
    arc_cluster *cl = s->cl;
    s->on = NULL;
    if (cl->freeing) {
        sub_finish(s, ARC_ERR_FREED, "the cluster was freed");
    } else if (s->state == CSUB_LEAVING) {
        sub_finish(s, ARC_OK, NULL);
    } else if (s->state == CSUB_REFUSED) {
        sub_finish(s, ARC_OK, s->reason);
    } else if (s->state == CSUB_MOVING) {
        s->state = CSUB_WAITING;
        place(s);
    } else {
        if (status != ARC_OK) {
            snprintf(s->reason, sizeof s->reason, "the link to %s:%d ended: %s",
                     from ? from->host : "?", from ? from->port : 0, arc_status_name(status));
            arc__cluster_request_refresh(cl);
        }
        if (s->next_node != NULL && s->tries == 0) {
            s->tries++;
            s->state = CSUB_WAITING;
            place(s); /* a redirect: straight there, once */
        } else {
            wait_again(s, NULL);
        }
    }
}

static void on_sub(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)c;
    csub *s = privdata;
    arc_cluster *cl = s->cl;
    cnode *from = s->on;
    cl->refs++;
    if (r != NULL)
        frame(s, from, r);
    else
        ended(s, from, status);
    arc__cluster_unref(cl);
}

/* ---- with the map and the ticker ---- */

void arc__cluster_subs_remap(arc_cluster *cl)
{
    /* Nothing here calls back: placing and unsubscribing only queue. */
    for (csub *s = cl->sub_head; s != NULL && !cl->freeing; s = s->next) {
        if (s->state == CSUB_WAITING) {
            s->tries = 0; /* a new map: worth an immediate try */
            place(s);
        } else if ((s->state == CSUB_SENT || s->state == CSUB_ACTIVE) &&
                   s->kind == ARC_SUB_SHARD && cl->slots[s->slot] != NULL &&
                   cl->slots[s->slot] != s->on) {
            snprintf(s->reason, sizeof s->reason, "slot %d moved from %s:%d", s->slot,
                     s->on->host, s->on->port);
            if (ask_unsubscribe(s))
                s->state = CSUB_MOVING;
        }
    }
}

int64_t arc__cluster_subs_next(const arc_cluster *cl)
{
    int64_t at = -1;
    for (const csub *s = cl->sub_head; s != NULL; s = s->next) {
        int64_t t = s->state == CSUB_LEAVING && s->on == NULL ? 0
                    : s->state == CSUB_WAITING && cl->ready   ? s->resend_at
                                                              : -1;
        if (t >= 0 && (at < 0 || t < at))
            at = t;
    }
    return at;
}

int64_t arc__cluster_subs_due(arc_cluster *cl)
{
    int64_t now = arc__now_ms();
    csub *last = cl->sub_tail;
    /* Callbacks may subscribe (appended past `last`) or unsubscribe (which
     * only marks), or free the cluster (the walk stops). */
    for (csub *s = cl->sub_head; s != NULL && !cl->freeing;) {
        csub *next = s == last ? NULL : s->next;
        if (s->state == CSUB_LEAVING && s->on == NULL)
            sub_finish(s, ARC_OK, NULL);
        else if (s->state == CSUB_WAITING && cl->ready && s->resend_at <= now)
            place(s);
        s = next;
    }
    return cl->freeing ? -1 : arc__cluster_subs_next(cl);
}

void arc__cluster_subs_free(arc_cluster *cl)
{
    for (csub *s = cl->sub_head; s != NULL;) {
        csub *next = s->next;
        if (s->on == NULL)
            sub_finish(s, ARC_ERR_FREED, "the cluster was freed");
        s = next;
    }
}

/* ---- the calls ---- */

int arc_cluster_subscribe(arc_cluster *cl, int kind, const char *name, size_t len,
                          arc_cluster_reply_fn *fn, void *privdata)
{
    int k = kind_of(kind);
    if (cl == NULL || name == NULL || k < 0)
        return ARC_ERR_INVALID;
    if (cl->freeing)
        return ARC_ERR_CLOSED;
    if (find(cl, k, name, len) != NULL)
        return ARC_ERR_DUPLICATE;
    csub *s = arc_mem_alloc(&cl->alloc, sizeof *s);
    if (s == NULL)
        return ARC_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    s->entry = arc__pubsub_new(&cl->subs, name, len, &s->key);
    if (s->entry == NULL || arc__pubsub_reserve(&cl->subs, k, 1) != ARC_OK) {
        if (s->entry != NULL)
            arc__pubsub_discard(&cl->subs, s->entry);
        arc_mem_free(&cl->alloc, s);
        return ARC_ERR_NOMEM;
    }
    arc__pubsub_insert(&cl->subs, k, s->entry);
    s->cl = cl;
    s->kind = k;
    s->slot = k == ARC_SUB_SHARD ? (int)arc__key_slot(name, len) : -1;
    s->fn = fn;
    s->privdata = privdata;
    s->state = CSUB_WAITING;
    s->resend_at = 0;
    LIST_APPEND(cl, s, sub_head, sub_tail, prev, next);
    cl->refs++;
    /* Placing only queues a command, so the callback never runs inside
     * this call; before the first map, the map places it. */
    if (cl->ready)
        place(s);
    return ARC_OK;
}

int arc_cluster_unsubscribe(arc_cluster *cl, int kind, const char *name, size_t len)
{
    int k = kind_of(kind);
    if (cl == NULL || name == NULL || k < 0)
        return ARC_ERR_INVALID;
    csub *s = find(cl, k, name, len);
    if (s == NULL || s->state == CSUB_LEAVING)
        return ARC_ERR_INVALID;
    if ((s->state == CSUB_SENT || s->state == CSUB_ACTIVE) && !ask_unsubscribe(s))
        return ARC_ERR_NOMEM;
    s->state = CSUB_LEAVING;
    if (s->on == NULL) {
        /* On no node: ended by the ticker, never inside this call. */
        s->resend_at = 0;
        arc__cluster_arm_at(cl, 0);
    }
    return ARC_OK;
}

arc_member *arc_cluster_subscription_node(const arc_cluster *cl, int kind, const char *name,
                                          size_t len)
{
    int k = kind_of(kind);
    if (cl == NULL || name == NULL || k < 0)
        return NULL;
    csub *s = find(cl, k, name, len);
    return s != NULL && s->state == CSUB_ACTIVE && s->on != NULL ? s->on->sm : NULL;
}
