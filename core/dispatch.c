/* dispatch.c: where each reply goes: push, subscription, monitor, the
 * link's handshake, or the callback at the head of the queue; and how the
 * queue and the subscriptions end. */
#include "async.h"

#include <string.h>

/* Pops the head into *e and keeps the counts right. */
static inline void take_one(arc_context *c, arc_entry *e)
{
    arc__queue_pop(&c->queue, e);
    c->last_end = e->end;
    /* Nearly every entry is a plain reply with no flag: one test each. */
    if (e->flags != 0) {
        if (e->flags & ARC_ENTRY_DEAD)
            c->tombstones--;
        if (e->flags & ARC_ENTRY_BLOCKING)
            c->blocking_inflight--;
        if (e->flags & ARC_ENTRY_RETRY)
            arc__retry_drop_oldest(c);
        if (e->flags & ARC_ENTRY_GONE)
            c->gone--;
    }
    if (e->kind == ARC_ENTRY_REPLY)
        return; /* before the switch: 8 instructions less per reply (callgrind) */
    switch (e->kind) {
    case ARC_ENTRY_HANDSHAKE:
        c->handshake_left--;
        break;
    case ARC_ENTRY_SUB:
        c->sub_inflight--;
        if (e->privdata != NULL) {
            /* The command lets go of its owner; the names may have too. */
            arc_sub_owner *owner = e->privdata;
            owner->queued = false;
            if (owner->refs == 0)
                arc__pubsub_owner_free(&c->subs, owner);
        }
        break;
    case ARC_ENTRY_MONITOR:
        c->monitor_inflight = false;
        break;
    default:
        break;
    }
}

void arc__queue_take(arc_context *c, arc_entry *e)
{
    take_one(c, e);
    /* A lost link's entries that a retried one kept from the head go as
     * soon as they reach it: no reply will come for them. */
    while (c->gone > 0 && (arc__queue_head(&c->queue)->flags & ARC_ENTRY_GONE)) {
        arc_entry g;
        take_one(c, &g);
    }
    /* Replies are popped while a read is dispatched: its time will do. */
    if (arc__queue_len(&c->queue) == 0)
        c->idle_since_ms = c->link.read_ms;
}

/* A name of `owner` ended: when it was the last, the owner's final call
 * (reply NULL) runs, unless a timeout or cancel made it already. */
static void release_owner(arc_context *c, arc_sub_owner *owner, int status)
{
    if (owner == NULL || --owner->refs > 0)
        return;
    arc_reply_fn *fn = owner->ended ? NULL : owner->fn;
    void *pd = owner->privdata;
    owner->ended = true; /* once: a timeout or cancel of the entry finds it ended */
    if (!owner->queued)
        arc__pubsub_owner_free(&c->subs, owner);
    arc__call_reply(c, fn, NULL, status, pd);
}

static void deliver(arc_context *c, const arc_sub_owner *owner, arc_reply *reply)
{
    if (owner != NULL && !owner->ended)
        arc__call_reply(c, owner->fn, reply, ARC_OK, owner->privdata);
}

/* A monitor whose MONITOR command timed out or was cancelled: the server
 * monitors all the same, and its lines must not reach other callbacks. */
static void drop_line(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)c;
    (void)r;
    (void)status;
    (void)privdata;
}

/* Ends the subscriptions taken out of the table into `list`, and the
 * monitor: each owner whose last name this was gets its final NULL. */
static void end_taken(arc_context *c, arc_sub *list, int status)
{
    arc_reply_fn *mfn = c->monitor_fn;
    void *mpd = c->monitor_privdata;
    c->monitor_fn = NULL;
    arc__update_state(c);
    while (list != NULL) {
        arc_sub *s = list;
        list = s->next;
        arc_sub_owner *owner = s->owner;
        arc__pubsub_discard(&c->subs, s);
        release_owner(c, owner, status);
    }
    if (mfn != NULL)
        arc__call_reply(c, mfn, NULL, status, mpd);
}

void arc__end_subscriptions(arc_context *c, int status)
{
    /* Empty the table before the first call: a callback that subscribes
     * again (after RESET) starts a subscription that must not end here. */
    arc_sub *list = NULL, *s;
    while ((s = arc__pubsub_pop_any(&c->subs)) != NULL) {
        s->next = list;
        list = s;
    }
    end_taken(c, list, status);
}

/* RESET ends what the server held before it: subscriptions of commands
 * queued behind the RESET are the server's to confirm afresh. The matches
 * are found first and taken out after: taking one out shifts others. */
static void end_subscriptions_before(arc_context *c, uint32_t serial)
{
    arc_sub *list = NULL;
    for (int k = 0; k < ARC_SUB_KINDS; k++) {
        arc_subtable *t = &c->subs.table[k];
        arc_sub *found = NULL;
        for (size_t i = 0; i < t->cap; i++) {
            arc_sub *s = t->slots[i];
            if (s != NULL && (s->serial == 0 || s->serial < serial)) {
                s->next = found;
                found = s;
            }
        }
        while (found != NULL) {
            arc_sub *s = found;
            found = s->next;
            arc__pubsub_remove(&c->subs, k, s);
            s->next = list;
            list = s;
        }
    }
    end_taken(c, list, ARC_OK);
}

void arc__fail_entries(arc_context *c, int freed_status)
{
    /* Entries are popped before the call, so a callback that looks at the
     * queue (or frees the context) never sees one twice. */
    while (arc__queue_len(&c->queue) > 0) {
        arc_entry e;
        arc__queue_take(c, &e);
        if ((e.flags & ARC_ENTRY_DEAD) || e.kind == ARC_ENTRY_HANDSHAKE || e.kind == ARC_ENTRY_SUB)
            continue; /* SUB callbacks end with their names */
        int status = freed_status != ARC_OK   ? freed_status
                     : e.end <= c->out_sent ? ARC_ERR_UNANSWERED
                                            : ARC_ERR_NOT_SENT;
        arc__call_reply(c, e.fn, NULL, status, e.privdata);
    }
    c->tombstones = 0;
    c->handshake_left = 0;
    c->sub_inflight = 0;
    c->monitor_inflight = false;
    c->blocking_inflight = 0;
    c->gone = 0;
}

static void to_push_callback(arc_context *c, arc_reply *reply)
{
    if (c->on_push != NULL) {
        c->depth++;
        c->on_push(c, reply, c->data);
        c->depth--;
    }
}

static void message(arc_context *c, const arc_frame *f, arc_reply *reply)
{
    arc_sub *s = arc__pubsub_find(&c->subs, f->kind, f->name->str, f->name->len);
    if (s != NULL)
        deliver(c, s->owner, reply);
    else
        to_push_callback(c, reply); /* e.g. a message racing its unsubscribe */
}

static void confirmation(arc_context *c, const arc_frame *f, arc_reply *reply)
{
    bool subscribe = f->cls == ARC_FRAME_SUBSCRIBE;
    arc_entry *head = arc__queue_head(&c->queue);
    arc_sub *s = f->name != NULL && arc__reply_is_text(f->name)
                     ? arc__pubsub_find(&c->subs, f->kind, f->name->str, f->name->len)
                     : NULL;
    /* A new link's replay is confirmed before any queued command: those
     * confirmations are nobody's in the queue. */
    bool replayed = subscribe && s != NULL && c->link.replay_due > 0 &&
                    s->serial == c->link.replay_serial;
    if (replayed)
        c->link.replay_due--;
    bool ours = !replayed && head != NULL && head->sub == f->kind &&
                head->kind == (subscribe ? ARC_ENTRY_SUB : ARC_ENTRY_UNSUB);
    if (ours && (head->flags & ARC_ENTRY_ALL)) {
        /* Everything before this entry has been answered, so the table
         * now holds exactly what the server unsubscribes. */
        size_t n = arc__pubsub_count_before(&c->subs, f->kind, head->serial);
        head->expect = n > 0 && n < UINT32_MAX ? (uint32_t)n : 1;
        head->flags &= (uint8_t)~ARC_ENTRY_ALL;
    }
    arc_entry done;
    bool finished = false;
    if (ours && --head->expect == 0) {
        arc__queue_take(c, &done);
        finished = true;
    }
    if (s != NULL) {
        arc_sub_owner *owner = s->owner;
        if (subscribe) {
            arc__pubsub_confirm(&c->subs, f->kind, s);
            arc__update_state(c);
            deliver(c, owner, reply);
        } else {
            arc__pubsub_remove(&c->subs, f->kind, s);
            arc__pubsub_discard(&c->subs, s);
            arc__update_state(c);
            deliver(c, owner, reply);
            release_owner(c, owner, ARC_OK);
        }
    } else if (!ours) {
        to_push_callback(c, reply); /* unsolicited, e.g. a slot moved */
    }
    /* The unsubscribe command's own callback: once, after its last
     * confirmation. */
    if (finished && !subscribe && arc__alive(c))
        arc__call_reply(c, done.fn, reply, ARC_OK, done.privdata);
}

/* A reply that is not a confirmation, for a (P|S)(UN)SUBSCRIBE: the server
 * refused the command (an ACL error, say). Its subscriptions never began. */
static void sub_refused(arc_context *c, arc_reply *reply)
{
    arc_entry e;
    arc__queue_take(c, &e);
    if (e.kind == ARC_ENTRY_UNSUB) {
        arc__call_reply(c, e.fn, reply, ARC_OK, e.privdata);
        return;
    }
    /* The names this command added share one owner: its own, or the one
     * its (callback, privdata) pair already had. */
    arc_sub_owner *owner = NULL;
    size_t taken = 0;
    arc_sub *s;
    while ((s = arc__pubsub_take_serial(&c->subs, e.sub, e.serial)) != NULL) {
        owner = s->owner;
        arc__pubsub_discard(&c->subs, s);
        taken++;
    }
    arc__update_state(c);
    if (owner == NULL)
        return;
    deliver(c, owner, reply);
    /* Its last names end: the final NULL follows the refusal. */
    while (taken-- > 1)
        owner->refs--;
    release_owner(c, owner, ARC_OK);
}

static void handshake_reply(arc_context *c, arc_reply *reply)
{
    if (reply->type == ARC_REPLY_ERROR) {
        arc__fail(c, ARC_ERR_HANDSHAKE, 0, "handshake refused: %.*s",
                  reply->len > 200 ? 200 : (int)reply->len, reply->str);
        return;
    }
    if (reply->type == ARC_REPLY_MAP)
        c->resp = 3; /* only HELLO 3 answers with a map */
}

static bool status_is(const arc_reply *r, const char *text)
{
    return r->type == ARC_REPLY_STATUS && r->len == strlen(text) &&
           memcmp(r->str, text, r->len) == 0;
}

static void nothing_pending(arc_context *c, arc_reply *reply)
{
    /* A server at maxclients says why in an error and closes: keep its
     * words in the failure. */
    if (reply->type == ARC_REPLY_ERROR || reply->type == ARC_REPLY_STATUS)
        arc__fail(c, ARC_ERR_PROTOCOL, 0, "the server sent %s with no command pending: %.*s",
                  reply->type == ARC_REPLY_ERROR ? "an error" : "a status",
                  reply->len > 200 ? 200 : (int)reply->len, reply->str);
    else
        arc__fail(c, ARC_ERR_PROTOCOL, 0,
                  "protocol error: the server sent a reply (%s) with no command pending",
                  arc_reply_type_name(reply->type));
}

static void to_head(arc_context *c, arc_reply *reply)
{
    arc_entry *head = arc__queue_head(&c->queue);
    if (head == NULL) {
        nothing_pending(c, reply);
        return;
    }
    if (head->kind == ARC_ENTRY_SUB || head->kind == ARC_ENTRY_UNSUB) {
        sub_refused(c, reply);
        return;
    }
    arc_entry e;
    arc__queue_take(c, &e);
    bool ok = reply->type != ARC_REPLY_ERROR;
    switch (e.kind) {
    case ARC_ENTRY_HANDSHAKE:
        handshake_reply(c, reply);
        return;
    case ARC_ENTRY_MONITOR:
        if (ok) {
            c->monitor_fn = e.fn != NULL ? e.fn : drop_line;
            c->monitor_privdata = e.privdata;
            arc__update_state(c);
        }
        break;
    case ARC_ENTRY_RESET:
        if (ok) {
            /* The server dropped subscriptions, monitor and protocol; the
             * handshake queued behind RESET restores the protocol. */
            c->resp = 2;
            end_subscriptions_before(c, e.serial);
        }
        break;
    case ARC_ENTRY_QUIT:
        /* The server closes after +OK: that end of stream is clean. */
        if (ok && c->phase == ARC_PHASE_OPEN) {
            c->phase = ARC_PHASE_DRAINING;
            arc__update_state(c);
        }
        break;
    default:
        break;
    }
    if (arc__alive(c))
        arc__call_reply(c, e.fn, reply, ARC_OK, e.privdata);
    /* A failover made this server a replica: the command hears so, and
     * the link goes, to find the master again. */
    if (!ok && c->rc.readonly_reconnects && arc__alive(c) && arc__error_code_is(reply, "READONLY"))
        arc__fail(c, ARC_ERR_READONLY, 0, "the server is a read-only replica now: %.*s",
                  reply->len > 200 ? 200 : (int)reply->len, reply->str);
}

/* Delivers a pub/sub frame (RESP3 push or RESP2 array). False when the
 * reply is not one, and the caller routes it elsewhere. */
static bool pubsub_frame(arc_context *c, arc_reply *reply)
{
    arc_frame f;
    arc__pubsub_classify(reply, &f);
    switch (f.cls) {
    case ARC_FRAME_MESSAGE:
        message(c, &f, reply);
        return true;
    case ARC_FRAME_SUBSCRIBE:
    case ARC_FRAME_UNSUBSCRIBE:
        confirmation(c, &f, reply);
        return true;
    case ARC_FRAME_BAD:
        /* classify() checked element 0 is a string before naming the kind. */
        arc__fail(c, ARC_ERR_PROTOCOL, 0, "protocol error: malformed '%.*s' %s",
                  (int)(reply->element[0]->len > 32 ? 32 : reply->element[0]->len),
                  reply->element[0]->str, reply->type == ARC_REPLY_PUSH ? "push" : "array");
        return true;
    default:
        return false;
    }
}

/* The server would not take the subscriptions back (its ACL changed, say):
 * the session cannot be what it was, so it fails with the server's words,
 * and every subscription ends. */
static void replay_refused(arc_context *c, arc_reply *reply)
{
    if (reply->type == ARC_REPLY_ERROR || reply->type == ARC_REPLY_STATUS)
        arc__fail(c, ARC_ERR_HANDSHAKE, 0, "the server refused to subscribe again: %.*s",
                  reply->len > 200 ? 200 : (int)reply->len, reply->str);
    else
        arc__fail(c, ARC_ERR_PROTOCOL, 0,
                  "protocol error: a reply (%s) where a subscription's confirmation was due",
                  arc_reply_type_name(reply->type));
}

void arc__dispatch(arc_context *c, arc_reply *reply)
{
    if (reply->type == ARC_REPLY_PUSH) {
        if (!pubsub_frame(c, reply))
            to_push_callback(c, reply); /* e.g. client tracking invalidations */
        return;
    }
    if (c->link.step == ARC_LINK_HANDSHAKE && arc__link_hello_reply(c, reply))
        return;
    if (c->link.replay_due > 0) {
        /* Only the replay's confirmations (and messages) come now. */
        if (!pubsub_frame(c, reply))
            replay_refused(c, reply);
        return;
    }

    arc_entry *head = arc__queue_head(&c->queue);
    if (c->monitor_fn != NULL && reply->type == ARC_REPLY_STATUS &&
        !(head != NULL && head->kind == ARC_ENTRY_RESET && status_is(reply, "RESET")) &&
        !(head != NULL && head->kind == ARC_ENTRY_QUIT && status_is(reply, "OK"))) {
        arc__call_reply(c, c->monitor_fn, reply, ARC_OK, c->monitor_privdata);
        return;
    }

    /* RESP2 sends pub/sub frames as plain arrays. They can only be that
     * when a (P|S)(UN)SUBSCRIBE is due, or once every command before the
     * first SUBSCRIBE was answered, so an array meant for an ordinary
     * command is never taken for a message. */
    if (reply->type == ARC_REPLY_ARRAY && head != NULL &&
        (head->kind == ARC_ENTRY_SUB || head->kind == ARC_ENTRY_UNSUB)) {
        if (pubsub_frame(c, reply))
            return;
    } else if (reply->type == ARC_REPLY_ARRAY && arc__pubsub_total(&c->subs) > 0 &&
               (head == NULL || head->kind == ARC_ENTRY_PING || head->kind == ARC_ENTRY_RESET ||
                head->kind == ARC_ENTRY_QUIT)) {
        if (pubsub_frame(c, reply))
            return;
    }
    to_head(c, reply);
}
