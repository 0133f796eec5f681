/* dispatch.c: where each reply goes: push, subscription, monitor, or the
 * callback at the head of the queue. */
#include "async.h"

#include <string.h>

bool arc__in_sub_mode(const arc_context *c)
{
    return arc__pubsub_total(&c->subs) > 0 || c->sub_inflight > 0;
}

/* SUBSCRIBED is what the server holds: entered on the first confirmation,
 * left when the last subscription is gone. */
static void update_sub_state(arc_context *c)
{
    if (c->state == ARC_STATE_READY && arc__pubsub_total(&c->subs) > 0)
        arc__set_state(c, ARC_STATE_SUBSCRIBED);
    else if (c->state == ARC_STATE_SUBSCRIBED && !arc__in_sub_mode(c))
        arc__set_state(c, ARC_STATE_READY);
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
    arc_reply_fn *mfn = c->monitor_fn;
    c->monitor_fn = NULL;
    while (list != NULL) {
        s = list;
        list = s->next;
        arc_reply_fn *fn = s->fn;
        void *pd = s->privdata;
        arc__pubsub_discard(&c->subs, s);
        arc__call_reply(c, fn, NULL, status, pd);
    }
    if (mfn != NULL)
        arc__call_reply(c, mfn, NULL, status, c->monitor_privdata);
}

static void to_push_callback(arc_context *c, arc_reply *reply)
{
    if (c->on_push != NULL) {
        c->depth++;
        c->on_push(c, reply, c->data);
        c->depth--;
    }
}

static bool is_name(const arc_reply *r)
{
    return r != NULL && (r->type == ARC_REPLY_STRING || r->type == ARC_REPLY_STATUS);
}

static void message(arc_context *c, const arc_frame *f, arc_reply *reply)
{
    arc_sub *s = arc__pubsub_find(&c->subs, f->kind, f->name->str, f->name->len);
    if (s != NULL)
        arc__call_reply(c, s->fn, reply, ARC_OK, s->privdata);
    else
        to_push_callback(c, reply); /* e.g. a message racing its unsubscribe */
}

static void confirmation(arc_context *c, const arc_frame *f, arc_reply *reply)
{
    bool subscribe = f->cls == ARC_FRAME_SUBSCRIBE;
    arc_entry *head = arc__queue_head(&c->queue);
    bool ours = head != NULL && head->sub == f->kind &&
                head->kind == (subscribe ? ARC_ENTRY_SUB : ARC_ENTRY_UNSUB);
    arc_sub *s = is_name(f->name)
                     ? arc__pubsub_find(&c->subs, f->kind, f->name->str, f->name->len)
                     : NULL;
    if (ours && head->all) {
        /* Everything before this entry has been answered, so the table
         * now holds exactly what the server unsubscribes. */
        size_t n = arc__pubsub_count_before(&c->subs, f->kind, head->serial);
        head->expect = n > 0 && n < UINT32_MAX ? (uint32_t)n : 1;
        head->all = false;
    }
    arc_entry done;
    bool finished = false;
    if (ours && --head->expect == 0) {
        arc__queue_pop(&c->queue, &done);
        c->sub_inflight--;
        finished = true;
    }
    arc_reply_fn *fn = NULL;
    void *pd = NULL;
    if (s != NULL) {
        fn = s->fn;
        pd = s->privdata;
        if (subscribe) {
            s->serial = 0;
        } else {
            arc__pubsub_remove(&c->subs, f->kind, s);
            arc__pubsub_discard(&c->subs, s);
        }
    }
    update_sub_state(c);
    if (fn != NULL)
        arc__call_reply(c, fn, reply, ARC_OK, pd);
    else if (s == NULL && !ours)
        to_push_callback(c, reply); /* unsolicited, e.g. a slot moved */
    /* The unsubscribe command's own callback: once, after its last
     * confirmation. */
    if (finished && !subscribe && !c->free_requested && !arc__ended(c))
        arc__call_reply(c, done.fn, reply, ARC_OK, done.privdata);
}

/* A reply that is not a confirmation, for a (P|S)(UN)SUBSCRIBE: the server
 * refused the command (an ACL error, say). Its subscriptions never began. */
static void sub_refused(arc_context *c, arc_reply *reply)
{
    arc_entry e;
    arc__queue_pop(&c->queue, &e);
    c->sub_inflight--;
    if (e.kind == ARC_ENTRY_SUB) {
        arc_sub *s;
        while ((s = arc__pubsub_take_serial(&c->subs, e.sub, e.serial)) != NULL) {
            arc_reply_fn *fn = s->fn;
            void *pd = s->privdata;
            arc__pubsub_discard(&c->subs, s);
            arc__call_reply(c, fn, reply, ARC_OK, pd);
            if (c->free_requested || arc__ended(c))
                return;
        }
    }
    update_sub_state(c);
    if (e.kind == ARC_ENTRY_UNSUB)
        arc__call_reply(c, e.fn, reply, ARC_OK, e.privdata);
}

static void handshake_reply(arc_context *c, arc_reply *reply)
{
    c->handshake_left--;
    if (reply->type == ARC_REPLY_ERROR) {
        arc__fail(c, ARC_ERR_HANDSHAKE, 0, "handshake refused: %.*s",
                  reply->len > 200 ? 200 : (int)reply->len, reply->str);
        return;
    }
    if (reply->type == ARC_REPLY_MAP)
        c->resp = 3; /* only HELLO 3 answers with a map */
    if (c->handshake_left == 0 && c->state == ARC_STATE_HANDSHAKE)
        arc__ready(c);
}

static bool status_is(const arc_reply *r, const char *text)
{
    return r->type == ARC_REPLY_STATUS && r->len == strlen(text) &&
           memcmp(r->str, text, r->len) == 0;
}

static void to_head(arc_context *c, arc_reply *reply)
{
    arc_entry *head = arc__queue_head(&c->queue);
    if (head == NULL) {
        arc__fail(c, ARC_ERR_PROTOCOL, 0, "protocol error: a %s reply with no command pending",
                  arc_reply_type_name(reply->type));
        return;
    }
    arc_entry e;
    switch (head->kind) {
    case ARC_ENTRY_HANDSHAKE:
        arc__queue_pop(&c->queue, &e);
        handshake_reply(c, reply);
        return;
    case ARC_ENTRY_SUB:
    case ARC_ENTRY_UNSUB:
        sub_refused(c, reply);
        return;
    case ARC_ENTRY_MONITOR:
        arc__queue_pop(&c->queue, &e);
        c->monitor_inflight = false;
        if (reply->type != ARC_REPLY_ERROR) {
            c->monitor_fn = e.fn;
            c->monitor_privdata = e.privdata;
            arc__set_state(c, ARC_STATE_MONITORING);
        }
        arc__call_reply(c, e.fn, reply, ARC_OK, e.privdata);
        return;
    case ARC_ENTRY_RESET:
        arc__queue_pop(&c->queue, &e);
        if (reply->type != ARC_REPLY_ERROR) {
            /* The server dropped subscriptions, monitor and protocol; the
             * handshake queued behind RESET restores the protocol. */
            c->resp = 2;
            arc__end_subscriptions(c, ARC_OK);
            if (c->state == ARC_STATE_SUBSCRIBED || c->state == ARC_STATE_MONITORING)
                arc__set_state(c, ARC_STATE_READY);
        }
        if (!c->free_requested && !arc__ended(c))
            arc__call_reply(c, e.fn, reply, ARC_OK, e.privdata);
        return;
    case ARC_ENTRY_QUIT:
        arc__queue_pop(&c->queue, &e);
        /* The server closes after +OK: that end of stream is clean. */
        if (reply->type != ARC_REPLY_ERROR && c->state != ARC_STATE_DISCONNECTING)
            arc__set_state(c, ARC_STATE_DISCONNECTING);
        arc__call_reply(c, e.fn, reply, ARC_OK, e.privdata);
        return;
    default:
        arc__queue_pop(&c->queue, &e);
        arc__call_reply(c, e.fn, reply, ARC_OK, e.privdata);
        return;
    }
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

void arc__dispatch(arc_context *c, arc_reply *reply)
{
    if (reply->type == ARC_REPLY_PUSH) {
        if (!pubsub_frame(c, reply))
            to_push_callback(c, reply); /* e.g. client tracking invalidations */
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
     * once every command before the first SUBSCRIBE was answered, so an
     * array meant for an ordinary command is never taken for a message. */
    if (reply->type == ARC_REPLY_ARRAY && arc__in_sub_mode(c) &&
        (head == NULL || head->kind == ARC_ENTRY_SUB || head->kind == ARC_ENTRY_UNSUB ||
         head->kind == ARC_ENTRY_PING || head->kind == ARC_ENTRY_RESET ||
         head->kind == ARC_ENTRY_QUIT)) {
        if (pubsub_frame(c, reply))
            return;
    }
    to_head(c, reply);
}
