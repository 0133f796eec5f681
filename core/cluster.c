/* cluster.c: the Redis Cluster client: commands, routing, redirects and
 * the ticker (the nodes and the slot map are in cluster_map.c, the split
 * of multi-key commands in cluster_split.c). The nodes are members of a group
 * (one context each); a command is a `ccmd` that keeps its encoded bytes
 * until its callback has run, so that it can be sent again after MOVED,
 * ASK, TRYAGAIN, CLUSTERDOWN or a node lost before the command left.
 *
 * A command is either on a node (sent through that member's context, the
 * ccmd as privdata) or waiting (resend_at >= 0, on the waiting list) for
 * the slot map, for its backoff or for a node; the ticker routes waiting
 * commands when due and expires their deadlines. The slot map is rebuilt from each refresh
 * (CLUSTER SHARDS, or CLUSTER SLOTS where SHARDS is unknown); MOVED updates
 * one slot at once and asks for a refresh, and refreshes asked for close
 * together are merged into one.
 *
 * Lifetimes: the cluster is held by the caller (until arc_cluster_free),
 * by every command owed a callback, by a refresh or COMMAND request in
 * flight, and around its own calls out; nodes (`cnode`) live as long as
 * the cluster, so that a command may point at one whatever the slot map
 * does meanwhile. */
#include "alloc.h"
#include "async.h"
#include "cluster_internal.h"
#include "cmdview.h"
#include "keypos.h"
#include "list.h"
#include "pubsub.h"
#include "slot.h"
#include "topology.h"

#include <arc/buffer.h>
#include <arc/cluster.h>
#include <arc/format.h>

#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#define DEFAULT_MAX_REDIRECTS 5
#define DEFAULT_MAX_RETRIES 10
#define DEFAULT_RETRY_DELAY_MS 20
#define DEFAULT_RETRY_MAX_DELAY_MS 500
#define DEFAULT_REFRESH_MIN_MS 100
static void arm(arc_cluster *cl);
static void route(ccmd *k);

/* ---- references ---- */

void arc__cluster_unref(arc_cluster *cl)
{
    if (--cl->refs > 0)
        return;
    arc_allocator a = cl->alloc;
    for (cnode *n = cl->nodes; n != NULL;) {
        cnode *next = n->next;
        arc_mem_free(&a, n->host);
        arc_mem_free(&a, n);
        n = next;
    }
    while (cl->spare != NULL) {
        ccmd *k = cl->spare;
        cl->spare = k->next;
        arc_mem_free(&a, k);
    }
    arc__keytable_free(cl->keys);
    arc__pubsub_release(&cl->subs);
    arc_buffer_free(cl->scratch);
    arc_mem_free(&a, cl);
}
/* ---- commands ---- */

void arc__cluster_call(arc_cluster *cl, arc_cluster_reply_fn *fn, arc_reply *r, int status,
                       void *privdata, const char *reason)
{
    const char *before = cl->error_now;
    cl->error_now = reason ? reason : "";
    if (fn != NULL)
        fn(cl, r, status, privdata);
    cl->error_now = before;
}

const arc_allocator *arc__cluster_allocator(const arc_cluster *cl)
{
    return &cl->alloc;
}

/* A command waits (resend_at >= 0) exactly while it is on the cluster's
 * waiting list, in the order it began to wait; one on a node is that
 * node's context's until its reply, so the ticker never walks it. */
static void wait_until(ccmd *k, int64_t at)
{
    arc_cluster *cl = k->cl;
    if (k->resend_at < 0)
        LIST_APPEND(cl, k, waiting_head, waiting_tail, prev, next);
    k->resend_at = at;
}

static void unwait(ccmd *k)
{
    arc_cluster *cl = k->cl;
    if (k->resend_at < 0)
        return;
    LIST_UNLINK(cl, k, waiting_head, waiting_tail, prev, next);
    k->resend_at = -1;
}

void arc__cluster_finish(ccmd *k, arc_reply *r, int status, const char *reason)
{
    arc_cluster *cl = k->cl;
    unwait(k);
    arc__cluster_call(cl, k->fn, r, status, k->privdata, reason);
    if (k->len <= SPARE_BYTES && cl->nspare < SPARE_RECORDS) {
        k->next = cl->spare;
        cl->spare = k;
        cl->nspare++;
    } else {
        arc_mem_free(&cl->alloc, k);
    }
    arc__cluster_unref(cl);
}

/* Waits `delay` ms before the next try, counting it against the retries. */
static void retry_later(ccmd *k, const char *why)
{
    arc_cluster *cl = k->cl;
    snprintf(k->reason, sizeof k->reason, "%s", why);
    if (++k->retries > cl->max_retries) {
        char msg[256];
        snprintf(msg, sizeof msg, "gave up after %u retries: %s", cl->max_retries, k->reason);
        arc__cluster_finish(k, NULL, ARC_ERR_REDIRECTS, msg);
        return;
    }
    wait_until(k, arc__now_ms() + arc__backoff(&cl->rng, cl->retry_delay_ms,
                                                cl->retry_max_delay_ms, k->retries));
    arc__cluster_arm_at(cl, k->resend_at);
    arc__cluster_arm_at(cl, k->deadline);
}

static void on_node_reply(arc_context *c, arc_reply *r, int status, void *privdata);

/* Sends the command to `n`; when the node cannot take it, the command
 * waits and the slot map is refreshed. */
static void send_to(ccmd *k, cnode *n)
{
    arc_cluster *cl = k->cl;
    arc_context *c = arc__cluster_node_context(n);
    if (c == NULL) {
        if (cl->freeing) {
            arc__cluster_finish(k, NULL, ARC_ERR_FREED, "the cluster was freed");
            return;
        }
        char why[192];
        snprintf(why, sizeof why, "no connection to %s:%d", n->host, n->port);
        arc__cluster_request_refresh(cl);
        retry_later(k, why);
        return;
    }
    arc_command_options co;
    memset(&co, 0, sizeof co);
    if (k->deadline >= 0) {
        int64_t left = k->deadline - arc__now_ms();
        co.timeout_ms = left > 0 ? (long)left : 1;
    }
    if (k->ask == n) {
        /* ASKING holds for the next command on the connection only: the
         * two are queued back to back. */
        k->ask = NULL;
        if (arc_command(c, NULL, NULL, "ASKING") != ARC_OK) {
            retry_later(k, "the ASK target refused ASKING");
            return;
        }
    }
    int rc = arc__command_trusted(c, &co, on_node_reply, k, k->bytes, k->len);
    if (rc != ARC_OK) {
        char why[192];
        snprintf(why, sizeof why, "%s:%d refused the command: %s", n->host, n->port,
                 arc_status_name(rc));
        arc__cluster_request_refresh(cl);
        retry_later(k, why);
        return;
    }
    k->on = n;
    unwait(k);
}

static cnode *pick_replica(arc_cluster *cl, cnode *master, bool any)
{
    /* Round the replicas (and the master, with ARC_READS_ANY) from rr, the
     * first one up. */
    size_t count = 0;
    for (cnode *n = cl->nodes; n != NULL; n = n->next)
        if (n->listed && (n->master_of == master || (any && n == master)))
            count++;
    if (count == 0)
        return NULL;
    size_t start = cl->rr++ % count, i = 0;
    for (size_t pass = 0; pass < 2; pass++)
        for (cnode *n = cl->nodes; n != NULL; n = n->next) {
            if (!n->listed || !(n->master_of == master || (any && n == master)))
                continue;
            bool up = n->m != NULL && arc_member_state(n->m) == ARC_STATE_READY;
            if ((pass == 1 || i++ >= start) && up)
                return n;
        }
    return NULL;
}

static cnode *any_master(arc_cluster *cl)
{
    size_t masters = 0;
    for (cnode *n = cl->nodes; n != NULL; n = n->next)
        if (n->listed && n->master)
            masters++;
    if (masters == 0)
        return NULL;
    size_t want = cl->rr++ % masters;
    for (cnode *n = cl->nodes; n != NULL; n = n->next)
        if (n->listed && n->master && want-- == 0)
            return n;
    return NULL;
}

static void route(ccmd *k)
{
    arc_cluster *cl = k->cl;
    if (cl->freeing) {
        arc__cluster_finish(k, NULL, ARC_ERR_FREED, "the cluster was freed");
        return;
    }
    cnode *n = k->ask ? k->ask : k->pin;
    if (n == NULL && !cl->ready) {
        wait_until(k, 0); /* routed once the slot map comes */
        arc__cluster_arm_at(cl, k->deadline);
        return;
    }
    if (n == NULL && k->slot >= 0) {
        cnode *master = cl->slots[k->slot];
        if (master != NULL && k->readonly && cl->reads != ARC_READS_MASTER)
            n = pick_replica(cl, master, cl->reads == ARC_READS_ANY);
        if (n == NULL)
            n = master;
        if (n == NULL) {
            char why[64];
            snprintf(why, sizeof why, "no node serves slot %d", k->slot);
            arc__cluster_request_refresh(cl);
            retry_later(k, why);
            return;
        }
    } else if (n == NULL) {
        n = any_master(cl);
        if (n == NULL) {
            arc__cluster_request_refresh(cl);
            retry_later(k, "no master is known");
            return;
        }
    }
    send_to(k, n);
}

/* "MOVED 3999 127.0.0.1:6381" / "ASK ...": the slot and the target.
 * An empty host means the node that answered. */
bool arc__cluster_parse_redirect(const arc_reply *r, size_t skip, const cnode *from, int *slot,
                                 char *host, size_t hostlen, int *port)
{
    const char *p = r->str + skip, *end = r->str + r->len;
    char *stop;
    long s = strtol(p, &stop, 10);
    if (stop == p || s < 0 || s >= ARC_SLOTS || stop >= end || *stop != ' ')
        return false;
    const char *addr = stop + 1;
    const char *colon = NULL;
    for (const char *q = addr; q < end; q++)
        if (*q == ':')
            colon = q;
    if (colon == NULL)
        return false;
    long pt = strtol(colon + 1, &stop, 10);
    if (stop == colon + 1 || pt <= 0 || pt > 65535)
        return false;
    size_t n = (size_t)(colon - addr);
    if (n > 2 && addr[0] == '[' && addr[n - 1] == ']') { /* [::1]:6379 */
        addr++;
        n -= 2;
    }
    if (n == 0) {
        snprintf(host, hostlen, "%s", from ? from->host : "");
    } else {
        if (n >= hostlen)
            return false;
        memcpy(host, addr, n);
        host[n] = '\0';
    }
    *slot = (int)s;
    *port = (int)pt;
    return host[0] != '\0';
}

bool arc__cluster_error_is(const arc_reply *r, const char *word)
{
    size_t n = strlen(word);
    return r->len >= n && memcmp(r->str, word, n) == 0 && (r->len == n || r->str[n] == ' ');
}

static void on_node_reply(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)c;
    ccmd *k = privdata;
    arc_cluster *cl = k->cl;
    cnode *from = k->on;
    k->on = NULL;
    cl->refs++;
    bool moved = false;
    if (status == ARC_OK && r->type == ARC_REPLY_ERROR &&
        ((moved = arc__cluster_error_is(r, "MOVED")) || arc__cluster_error_is(r, "ASK"))) {
        int slot, port;
        char host[128];
        if (!arc__cluster_parse_redirect(r, moved ? 6 : 4, from, &slot, host, sizeof host, &port)) {
            arc__cluster_finish(k, r, ARC_OK, "a redirect that could not be read");
        } else if (++k->redirects > cl->max_redirects) {
            char msg[256];
            snprintf(msg, sizeof msg, "more than %u redirects; the last: %.*s", cl->max_redirects,
                     (int)(r->len < 160 ? r->len : 160), r->str);
            arc__cluster_finish(k, NULL, ARC_ERR_REDIRECTS, msg);
        } else {
            cnode *to = arc__cluster_node_get(cl, host, port);
            snprintf(k->reason, sizeof k->reason, "%.*s", (int)(r->len < 160 ? r->len : 160),
                     r->str);
            if (to == NULL) {
                arc__cluster_finish(k, NULL, ARC_ERR_NOMEM, "out of memory following a redirect");
            } else if (moved) {
                /* The map was wrong for this slot: fix it now, and learn the
                 * rest from a refresh (one, however many MOVED come). */
                cl->slots[slot] = to;
                arc__cluster_request_refresh(cl);
                send_to(k, to);
            } else {
                k->ask = to;
                send_to(k, to);
            }
        }
    } else if (status == ARC_OK && r->type == ARC_REPLY_ERROR &&
               (arc__cluster_error_is(r, "TRYAGAIN") || arc__cluster_error_is(r, "CLUSTERDOWN"))) {
        if (k->retries >= cl->max_retries) {
            arc__cluster_finish(k, r, ARC_OK, NULL); /* the server's words are the reply */
        } else {
            char why[192];
            snprintf(why, sizeof why, "%.*s", (int)(r->len < 160 ? r->len : 160), r->str);
            if (arc__cluster_error_is(r, "CLUSTERDOWN"))
                arc__cluster_request_refresh(cl);
            retry_later(k, why);
        }
    } else if (status == ARC_OK) {
        arc__cluster_finish(k, r, ARC_OK, NULL);
    } else if (status == ARC_ERR_NOT_SENT && !cl->freeing) {
        /* It never left: safe to send elsewhere once the map is right. */
        char why[192];
        snprintf(why, sizeof why, "the link to %s:%d ended before the command was sent",
                 from ? from->host : "?", from ? from->port : 0);
        arc__cluster_request_refresh(cl);
        retry_later(k, why);
    } else {
        char why[192];
        snprintf(why, sizeof why, "%s:%d: %s", from ? from->host : "?", from ? from->port : 0,
                 status == ARC_ERR_UNANSWERED ? "the link was lost after the command was sent"
                                              : arc_strerror(status));
        arc__cluster_finish(k, NULL, status, why);
    }
    arc__cluster_unref(cl);
}

/* ---- the ticker ---- */

/* Routes waiting commands whose time has come (those waiting for a slot
 * map wait with time 0), expiring those whose deadline passed. Callbacks
 * may issue commands (appended: they wait for the next pass when they
 * wait) or free the cluster (the walk stops). */
void arc__cluster_routes_due(arc_cluster *cl)
{
    int64_t now = arc__now_ms();
    ccmd *last = cl->waiting_tail;
    for (ccmd *k = cl->waiting_head; k != NULL && !cl->freeing;) {
        ccmd *next = k == last ? NULL : k->next;
        if (k->deadline >= 0 && now >= k->deadline) {
            char msg[256];
            snprintf(msg, sizeof msg, "its timeout passed while it waited%s%s",
                     k->reason[0] ? ": " : "", k->reason);
            arc__cluster_finish(k, NULL, ARC_ERR_TIMEOUT, msg);
        } else if (cl->ready && k->resend_at <= now) {
            route(k); /* sent, or waiting again in the same place */
        }
        k = next;
    }
}

void arc__cluster_wake_waiting(arc_cluster *cl)
{
    for (ccmd *k = cl->waiting_head; k != NULL; k = k->next)
        k->resend_at = 0;
}

static void on_tick(void *data)
{
    arc_cluster *cl = data;
    cl->refs++;
    cl->armed = -1; /* it fired */
    int64_t now = arc__now_ms();
    if (cl->refresh_interval_ms > 0 && now >= cl->last_refresh_ms + cl->refresh_interval_ms)
        arc__cluster_request_refresh(cl);
    if (cl->refresh_at >= 0 && now >= cl->refresh_at)
        arc__cluster_refresh_now(cl);
    arc__cluster_routes_due(cl);
    if (!cl->freeing)
        (void)arc__cluster_subs_due(cl);
    arm(cl);
    arc__cluster_unref(cl);
}

/* The ticker no later than `at` (-1: nothing). Only ever earlier: a time
 * that went away leaves the ticker to fire early, and the tick works out
 * the next one (arm()). So a command that waits costs no walk. */
void arc__cluster_arm_at(arc_cluster *cl, int64_t at)
{
    if (at < 0 || cl->freeing || cl->ticker == NULL)
        return;
    if (cl->armed >= 0 && cl->armed <= at)
        return;
    cl->armed = at;
    arc__ticker_at(cl->ticker, at);
}

/* The ticker at the earliest of: a waiting command's resend or deadline,
 * the scheduled refresh, the periodic one (a walk of the commands: once
 * per tick). */
static void arm(arc_cluster *cl)
{
    if (cl->freeing || cl->ticker == NULL)
        return;
    int64_t at = cl->refresh_at;
    if (cl->refresh_interval_ms > 0) {
        int64_t p = cl->last_refresh_ms + cl->refresh_interval_ms;
        if (at < 0 || p < at)
            at = p;
    }
    int64_t subs = arc__cluster_subs_next(cl);
    if (subs >= 0 && (at < 0 || subs < at))
        at = subs;
    for (ccmd *k = cl->waiting_head; k != NULL; k = k->next) {
        if (k->deadline >= 0 && (at < 0 || k->deadline < at))
            at = k->deadline;
        if (cl->ready && (at < 0 || k->resend_at < at))
            at = k->resend_at;
    }
    cl->armed = at;
    arc__ticker_at(cl->ticker, at);
}

/* ---- the group's view ---- */

static void on_change(arc_group *g, arc_member *m, arc_state previous, arc_state now,
                      void *data)
{
    (void)g;
    (void)previous;
    arc_cluster *cl = data;
    cnode *n = arc_member_data(m);
    if (cl->freeing || n == NULL)
        return;
    if (n->sm == m) {
        /* The subscriptions' link is over: each subscription hears it from
         * the context and goes elsewhere, or here again on a new link. */
        if (now == ARC_STATE_FAILED || now == ARC_STATE_CLOSED) {
            if (now == ARC_STATE_FAILED) {
                n->down = true;
                arc__cluster_request_refresh(cl);
            }
            n->sm = NULL;
            arc_group_remove(cl->g, m);
        }
        return;
    }
    if (n->m != m)
        return;
    if (now == ARC_STATE_FAILED || now == ARC_STATE_CLOSED) {
        /* The connection is over (its commands were told): the node gets a
         * new one when a command or the map needs it. */
        if (now == ARC_STATE_FAILED) {
            n->down = true;
            arc__cluster_request_refresh(cl);
        }
        arc__cluster_node_drop(n);
    }
}

/* ---- the calls ---- */

arc_cluster *arc_cluster_new(const arc_cluster_options *opt)
{
    if (opt == NULL || opt->seeds == NULL || opt->nseeds == 0)
        return NULL;
    arc_cluster *cl = arc_mem_alloc(opt->allocator, sizeof *cl);
    if (cl == NULL)
        return NULL;
    memset(cl, 0, sizeof *cl);
    arc__alloc_copy(&cl->alloc, opt->allocator);
    cl->refs = 1;
    if (opt->node_options != NULL)
        cl->node_tmpl = *opt->node_options;
    cl->node_tmpl.host = NULL;
    cl->node_tmpl.unix_path = NULL;
    cl->node_tmpl.sentinel = NULL;
    cl->node_tmpl.reconnect = NULL; /* the cluster finds nodes again itself */
    cl->max_redirects = opt->max_redirects ? opt->max_redirects : DEFAULT_MAX_REDIRECTS;
    cl->max_retries = opt->max_retries ? opt->max_retries : DEFAULT_MAX_RETRIES;
    cl->retry_delay_ms = opt->retry_delay_ms > 0 ? opt->retry_delay_ms : DEFAULT_RETRY_DELAY_MS;
    cl->retry_max_delay_ms =
        opt->retry_max_delay_ms > 0 ? opt->retry_max_delay_ms : DEFAULT_RETRY_MAX_DELAY_MS;
    if (cl->retry_max_delay_ms < cl->retry_delay_ms)
        cl->retry_max_delay_ms = cl->retry_delay_ms;
    cl->refresh_interval_ms = opt->refresh_interval_ms > 0 ? opt->refresh_interval_ms : 0;
    cl->refresh_min_ms =
        opt->refresh_min_interval_ms > 0 ? opt->refresh_min_interval_ms : DEFAULT_REFRESH_MIN_MS;
    cl->reads = opt->reads;
    cl->split = opt->split_multikey;
    cl->on_event = opt->on_event;
    cl->data = opt->data;
    cl->refresh_at = -1;
    cl->armed = -1;
    cl->last_refresh_ms = arc__now_ms() - cl->refresh_min_ms;
    cl->rng = (uint64_t)(uintptr_t)cl ^ ((uint64_t)arc__now_ms() << 20) ^ 0x9e3779b97f4a7c15u;
    arc__pubsub_init(&cl->subs, &cl->alloc);

    arc_group_options go;
    memset(&go, 0, sizeof go);
    go.member_options = &cl->node_tmpl;
    go.on_change = on_change;
    go.data = cl;
    go.allocator = opt->allocator;
    go.max_connecting = opt->max_connecting;
    cl->g = arc_group_new(&go);
    cl->ticker = arc__ticker_new(opt->allocator, on_tick, cl);
    cl->scratch = arc_buffer_new(ARC_DEFAULT_MAX_OUTPUT, &cl->alloc);
    bool ok = cl->g != NULL && cl->ticker != NULL && cl->scratch != NULL;
    for (size_t i = 0; ok && i < opt->nseeds; i++) {
        const char *host = opt->seeds[i].host ? opt->seeds[i].host : "127.0.0.1";
        cnode *n = arc__cluster_node_get(cl, host, opt->seeds[i].port ? opt->seeds[i].port : 6379);
        ok = n != NULL;
        if (ok)
            n->seed = true;
    }
    if (!ok) {
        arc_group_free(cl->g);
        arc_free(cl->ticker);
        cl->ticker = NULL;
        arc__cluster_unref(cl);
        return NULL;
    }
    return cl;
}

int arc_cluster_attach(arc_cluster *cl, arc_attach_fn *attach, void *loop)
{
    if (cl == NULL || attach == NULL || loop == NULL)
        return ARC_ERR_INVALID;
    if (cl->freeing)
        return ARC_ERR_STATE;
    int rc = arc_group_attach(cl->g, attach, loop);
    if (rc != ARC_OK)
        return rc;
    rc = attach(cl->ticker, loop);
    if (rc != ARC_OK)
        return rc;
    arc__cluster_request_refresh(cl);
    return ARC_OK;
}

typedef struct key_check {
    int slot;
    bool cross;
} key_check;

static bool visit_key(const char *key, size_t len, void *data)
{
    key_check *kc = data;
    int s = (int)arc__key_slot(key, len);
    if (kc->slot < 0)
        kc->slot = s;
    else if (kc->slot != s)
        kc->cross = true;
    return !kc->cross;
}

/* Where the command goes: its keys' one slot (-1: none), refusing one
 * whose keys span slots, and the commands a cluster cannot carry yet. */
static int classify(arc_cluster *cl, const char *cmd, size_t len, int *slot, bool *ro)
{
    arc_cmdview it;
    const char *name, *sub = NULL;
    size_t n, subn = 0;
    *slot = -1;
    *ro = false;
    if (!arc__cmdview_begin(&it, cmd, len))
        return ARC_ERR_INVALID;
    size_t argc = it.left;
    if (!arc__cmdview_next(&it, &name, &n))
        return ARC_ERR_INVALID;
    static const char *const refused[] = {"subscribe", "psubscribe", "ssubscribe", "monitor",
                                          "unsubscribe", "punsubscribe", "sunsubscribe"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (n == strlen(refused[i]) && arc__ascii_ieq(name, n, refused[i]))
            return ARC_ERR_INVALID;
    arc_cmdview args = it, peek = it;
    if (!arc__cmdview_next(&peek, &sub, &subn))
        sub = NULL;
    arc_keyspec spec;
    memset(&spec, 0, sizeof spec);
    bool found;
    if (n > 0 && n == cl->memo_len && memcmp(name, cl->memo_name, n) == 0) {
        found = cl->memo_found;
        spec = cl->memo_spec;
    } else {
        bool container = false;
        found = arc__keytable_find_ex(cl->keys, name, n, sub, subn, &spec, &container);
        if (!container && n <= sizeof cl->memo_name) {
            memcpy(cl->memo_name, name, n);
            cl->memo_len = n;
            cl->memo_found = found;
            cl->memo_spec = spec;
        }
    }
    if (!found || spec.kind == ARC_KEYS_NONE || spec.kind == ARC_KEYS_UNKNOWN)
        return ARC_OK;
    if (spec.kind == ARC_KEYS_RANGE && spec.first == 1 && spec.last == 1 && spec.step >= 1 &&
        sub != NULL) {
        /* One key, the first argument (GET, SET, INCR...): already read. */
        *slot = (int)arc__key_slot(sub, subn);
        *ro = spec.readonly;
        return ARC_OK;
    }
    key_check kc = {-1, false};
    if (arc__keys_walk(&spec, &args, argc, visit_key, &kc) < 0)
        return ARC_OK; /* the server will say what is wrong with it */
    if (kc.cross)
        return ARC_ERR_CROSSSLOT;
    *slot = kc.slot;
    *ro = spec.readonly;
    return ARC_OK;
}

/* Queues one command whose bytes are known to be one well-formed RESP
 * command (the caller's, checked; or the encoder's own). */
int arc__cluster_submit(arc_cluster *cl, const arc_cluster_command_options *o,
                        arc_cluster_reply_fn *fn, void *privdata, const char *cmd, size_t len)
{
    if (cl->freeing)
        return ARC_ERR_CLOSED;
    cnode *pin = NULL;
    if (o != NULL && o->node != NULL) {
        /* Only a member of this cluster's own table names a node. */
        for (cnode *n = cl->nodes; n != NULL && pin == NULL; n = n->next)
            if (n->m == o->node)
                pin = n;
        if (pin == NULL)
            return ARC_ERR_INVALID;
    }
    int slot;
    bool ro;
    int rc = classify(cl, cmd, len, &slot, &ro);
    if (rc == ARC_ERR_CROSSSLOT && cl->split && pin == NULL && arc__cluster_splittable(cmd, len))
        return arc__cluster_split(cl, o, fn, privdata, cmd, len);
    if (rc != ARC_OK)
        return rc;
    ccmd *k;
    if (len <= SPARE_BYTES && cl->spare != NULL) {
        k = cl->spare;
        cl->spare = k->next;
        cl->nspare--;
    } else {
        k = arc_mem_alloc(&cl->alloc, sizeof *k + (len <= SPARE_BYTES ? SPARE_BYTES : len));
        if (k == NULL)
            return ARC_ERR_NOMEM;
    }
    memset(k, 0, offsetof(ccmd, reason));
    k->reason[0] = '\0';
    memcpy(k->bytes, cmd, len);
    k->len = len;
    k->cl = cl;
    k->slot = slot;
    k->readonly = ro;
    k->pin = pin;
    k->fn = fn;
    k->privdata = privdata;
    k->deadline = o != NULL && o->timeout_ms > 0 ? arc__now_ms() + o->timeout_ms : -1;
    k->resend_at = -1;
    cl->refs++;
    /* Sending now never calls back with a reply; a failure waits for the
     * ticker, so the callback never runs inside this call. */
    route(k);
    return ARC_OK;
}

int arc_cluster_command_formatted_with(arc_cluster *cl, const arc_cluster_command_options *o,
                                       arc_cluster_reply_fn *fn, void *privdata,
                                       const char *cmd, size_t len)
{
    size_t count = 0;
    if (cl == NULL || cmd == NULL)
        return ARC_ERR_INVALID;
    if (arc_format_check(cmd, len, &count) != ARC_OK || count != 1)
        return ARC_ERR_INVALID;
    return arc__cluster_submit(cl, o, fn, privdata, cmd, len);
}

/* The encoder's output goes through the cluster's one scratch buffer: the
 * bytes are copied into the command before anything can call back, so a
 * callback that issues a command meanwhile finds it free. A big command's
 * room is given back rather than kept. */
#define SCRATCH_KEEP (64u * 1024)

static int submit_scratch(arc_cluster *cl, const arc_cluster_command_options *o,
                          arc_cluster_reply_fn *fn, void *privdata, int rc)
{
    if (rc == ARC_OK)
        rc = arc__cluster_submit(cl, o, fn, privdata, arc_buffer_data(cl->scratch),
                                 arc_buffer_len(cl->scratch));
    size_t used = arc_buffer_len(cl->scratch);
    arc_buffer_clear(cl->scratch);
    if (used > SCRATCH_KEEP) {
        arc_buffer *fresh = arc_buffer_new(ARC_DEFAULT_MAX_OUTPUT, &cl->alloc);
        if (fresh != NULL) {
            arc_buffer_free(cl->scratch);
            cl->scratch = fresh;
        }
    }
    return rc;
}

int arc_cluster_command_formatted(arc_cluster *cl, arc_cluster_reply_fn *fn, void *privdata,
                                  const char *cmd, size_t len)
{
    return arc_cluster_command_formatted_with(cl, NULL, fn, privdata, cmd, len);
}

int arc_cluster_command_argv_with(arc_cluster *cl, const arc_cluster_command_options *o,
                                  arc_cluster_reply_fn *fn, void *privdata, int argc,
                                  const char *const *argv, const size_t *argvlen)
{
    if (cl == NULL)
        return ARC_ERR_INVALID;
    arc_buffer_clear(cl->scratch);
    return submit_scratch(cl, o, fn, privdata, arc_format_argv(cl->scratch, argc, argv, argvlen));
}

int arc_cluster_command_argv(arc_cluster *cl, arc_cluster_reply_fn *fn, void *privdata, int argc,
                             const char *const *argv, const size_t *argvlen)
{
    return arc_cluster_command_argv_with(cl, NULL, fn, privdata, argc, argv, argvlen);
}

int arc_cluster_vcommand(arc_cluster *cl, arc_cluster_reply_fn *fn, void *privdata,
                         const char *fmt, va_list ap)
{
    if (cl == NULL || fmt == NULL)
        return ARC_ERR_INVALID;
    arc_buffer_clear(cl->scratch);
    return submit_scratch(cl, NULL, fn, privdata, arc_vformat(cl->scratch, fmt, ap));
}

int arc_cluster_command(arc_cluster *cl, arc_cluster_reply_fn *fn, void *privdata,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = arc_cluster_vcommand(cl, fn, privdata, fmt, ap);
    va_end(ap);
    return rc;
}

const char *arc_cluster_error(const arc_cluster *cl)
{
    return cl && cl->error_now ? cl->error_now : "";
}

int arc_cluster_fanout(arc_cluster *cl, int to, const arc_fanout_options *o, const char *fmt,
                       ...)
{
    if (cl == NULL || o == NULL || fmt == NULL ||
        (to != ARC_CLUSTER_MASTERS && to != ARC_CLUSTER_NODES))
        return ARC_ERR_INVALID;
    if (cl->freeing)
        return ARC_ERR_CLOSED;
    if (!cl->ready)
        return ARC_ERR_STATE;
    size_t n = 0;
    for (cnode *x = cl->nodes; x != NULL; x = x->next)
        if (x->listed && (x->master || to == ARC_CLUSTER_NODES))
            n++;
    arc_member **ms = arc_mem_alloc(&cl->alloc, (n ? n : 1) * sizeof *ms);
    if (ms == NULL)
        return ARC_ERR_NOMEM;
    /* A node that is down is tried afresh: a fan-out is meant to reach
     * every node, and its callback says when one could not be reached. */
    size_t got = 0;
    for (cnode *x = cl->nodes; x != NULL && got < n; x = x->next)
        if (x->listed && (x->master || to == ARC_CLUSTER_NODES) && arc__cluster_node_link(x, true) != NULL)
            ms[got++] = x->m;
    arc_fanout_options fo = *o;
    fo.members = ms;
    fo.nmembers = got;
    arc_buffer *b = arc_buffer_new(ARC_DEFAULT_MAX_OUTPUT, &cl->alloc);
    int rc = b ? ARC_OK : ARC_ERR_NOMEM;
    if (rc == ARC_OK) {
        va_list ap;
        va_start(ap, fmt);
        rc = arc_vformat(b, fmt, ap);
        va_end(ap);
    }
    if (rc == ARC_OK)
        rc = arc_group_fanout_formatted(cl->g, &fo, arc_buffer_data(b), arc_buffer_len(b));
    arc_buffer_free(b);
    arc_mem_free(&cl->alloc, ms);
    return rc;
}

arc_group *arc_cluster_group(const arc_cluster *cl)
{
    return cl ? cl->g : NULL;
}

bool arc_cluster_ready(const arc_cluster *cl)
{
    return cl != NULL && cl->ready;
}

arc_member *arc_cluster_slot_master(const arc_cluster *cl, unsigned slot)
{
    if (cl == NULL || slot >= ARC_SLOTS || cl->slots[slot] == NULL)
        return NULL;
    return cl->slots[slot]->m;
}

bool arc_cluster_node_is_master(const arc_cluster *cl, const arc_member *node)
{
    if (cl == NULL || node == NULL)
        return false;
    for (cnode *n = cl->nodes; n != NULL; n = n->next)
        if (n->m == node || n->sm == node)
            return n->listed && n->master;
    return false;
}

size_t arc_cluster_node_slots(const arc_cluster *cl, const arc_member *node)
{
    if (cl == NULL || node == NULL)
        return 0;
    size_t n = 0;
    for (unsigned s = 0; s < ARC_SLOTS; s++)
        if (cl->slots[s] != NULL && cl->slots[s]->m == node)
            n++;
    return n;
}

unsigned arc_cluster_key_slot(const char *key, size_t len)
{
    return key ? arc__key_slot(key, len) : 0;
}

void arc_cluster_free(arc_cluster *cl)
{
    if (cl == NULL || cl->freeing)
        return;
    cl->freeing = true;
    cl->refs++;
    /* Waiting commands first, then the nodes: those on a node hear
     * ARC_ERR_FREED as its context goes. */
    while (cl->waiting_head != NULL)
        arc__cluster_finish(cl->waiting_head, NULL, ARC_ERR_FREED, "the cluster was freed");
    arc__cluster_subs_free(cl);
    for (cnode *n = cl->nodes; n != NULL; n = n->next) {
        n->m = NULL;
        n->sm = NULL;
    }
    arc_group_free(cl->g);
    cl->g = NULL;
    arc_free(cl->ticker);
    cl->ticker = NULL;
    cl->refs--; /* the caller's, below */
    arc__cluster_unref(cl);
}
