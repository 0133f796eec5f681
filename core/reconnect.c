/* reconnect.c: what a lost link means under a reconnect policy: which
 * failures are tried again, the backoff, and what the queue keeps. */
#include "async.h"

#include <arc/format.h>

#include <string.h>

#define DEFAULT_INITIAL_MS 100
#define DEFAULT_MAX_MS 5000
#define DEFAULT_OFFLINE_COMMANDS 100000
#define DEFAULT_OFFLINE_BYTES (16u * 1024 * 1024)

void arc__reconnect_setup(arc_context *c, const arc_reconnect *r)
{
    if (r == NULL)
        return;
    c->reconnecting_on = true;
    c->rc = *r;
    if (c->rc.initial_delay_ms <= 0)
        c->rc.initial_delay_ms = DEFAULT_INITIAL_MS;
    if (c->rc.max_delay_ms <= 0)
        c->rc.max_delay_ms = DEFAULT_MAX_MS;
    if (c->rc.max_delay_ms < c->rc.initial_delay_ms)
        c->rc.max_delay_ms = c->rc.initial_delay_ms;
    if (c->rc.max_offline_commands == 0)
        c->rc.max_offline_commands = DEFAULT_OFFLINE_COMMANDS;
    if (c->rc.max_offline_bytes == 0)
        c->rc.max_offline_bytes = DEFAULT_OFFLINE_BYTES;
    /* Seeded per context, so that many contexts losing one server spread
     * their attempts out instead of coming back together. */
    c->rc_rng = (uint64_t)(uintptr_t)c ^ ((uint64_t)arc__now_ms() << 20) ^ 0x9e3779b97f4a7c15u;
}

/* The failures a lost link is tried again for: the server went away, could
 * not be reached, was not ready yet or is a replica now. A refused
 * handshake, a protocol error, a TLS failure or no memory would only
 * repeat. */
static bool worth_retrying(int status)
{
    switch (status) {
    case ARC_ERR_EOF:
    case ARC_ERR_IO:
    case ARC_ERR_TIMEOUT:
    case ARC_ERR_REFUSED:
    case ARC_ERR_NOADDR:
    case ARC_ERR_LOADING:
    case ARC_ERR_READONLY:
        return true;
    default:
        return false;
    }
}

/* Full jitter: uniform below a ceiling that doubles per attempt. */
static long backoff(arc_context *c, unsigned attempt)
{
    return arc__backoff(&c->rc_rng, c->rc.initial_delay_ms, c->rc.max_delay_ms, attempt);
}

long arc__reconnect_delay(arc_context *c, int status)
{
    /* An adopted socket has nowhere to go back to (a test's scripted
     * transport may say where). */
    bool renewable = c->adopted_ops != NULL
                         ? c->adopted_reopen != NULL
                         : c->host != NULL || c->unix_path != NULL || c->snt.on;
    if (!c->reconnecting_on || c->phase != ARC_PHASE_OPEN || c->free_requested || !renewable)
        return -1;
    unsigned attempt = c->rc_attempt + 1;
    bool more = c->rc.max_attempts == 0 || attempt <= c->rc.max_attempts;
    long proposed = worth_retrying(status) && more ? backoff(c, attempt) : -1;
    if (c->rc.decide != NULL) {
        c->depth++;
        proposed = c->rc.decide(c, status, attempt, proposed, c->data);
        c->depth--;
        if (!arc__alive(c))
            return -1;
    }
    return proposed < 0 ? -1 : proposed;
}

/* The link went down and a new one follows: commands it wrote and that got
 * no reply may have run (ARC_ERR_UNANSWERED), unless marked retry: those
 * are sent again. One it wrote in part never ran, since the server drops a
 * command cut short (ARC_ERR_NOT_SENT, its rest dropped). Those never
 * written stay, in order, for the next link. The written entries that are
 * not kept become GONE, and go when they reach the head. */
static void settle_queue(arc_context *c)
{
    arc_queue *q = &c->queue;
    uint64_t start = c->last_end;
    for (size_t i = 0; i < arc__queue_len(q) && start < c->out_sent; i++) {
        arc_entry *e = arc__queue_at(q, i);
        bool whole = e->end <= c->out_sent;
        if (!whole) {
            /* Cut short: what is left of it goes, so that the next link
             * starts on a command boundary. */
            size_t rest = (size_t)(e->end - c->out_sent);
            arc__buffer_consume(&c->out, rest);
            c->out_sent = e->end;
        }
        start = e->end;
        if (e->flags & ARC_ENTRY_GONE)
            continue; /* settled when an earlier link was lost */
        bool dead = e->flags & ARC_ENTRY_DEAD;
        if (!dead && (e->flags & ARC_ENTRY_RETRY))
            continue; /* whole or cut short, its copy goes out again */
        arc_reply_fn *fn = e->fn;
        void *pd = e->privdata;
        bool told = !dead && e->kind != ARC_ENTRY_HANDSHAKE && e->kind != ARC_ENTRY_SUB;
        e->flags |= ARC_ENTRY_DEAD | ARC_ENTRY_GONE;
        e->fn = NULL;
        c->gone++;
        if (!dead)
            c->tombstones++;
        /* Subscriptions are replayed; tombstones are done. */
        if (told) {
            arc__call_reply(c, fn, NULL, whole ? ARC_ERR_UNANSWERED : ARC_ERR_NOT_SENT, pd);
            if (!arc__alive(c))
                return;
        }
    }
    /* Those at the head go now. */
    if (c->gone > 0 && (arc__queue_head(q)->flags & ARC_ENTRY_GONE)) {
        arc_entry g;
        arc__queue_take(c, &g);
    }
}

void arc__reconnect_after(arc_context *c, int status, long delay)
{
    bool was_ready = c->link.step == ARC_LINK_UP;
    arc__link_down(c);
    arc__sentinel_lost(c);
    c->resp = 2; /* until the new link's HELLO 3 */
    c->rc_attempt++;
    c->rc_at = arc__now_ms() + delay;
    arc__update_state(c); /* WAITING */
    if (arc__alive(c))
        settle_queue(c);
    /* Told even when a callback above asked for arc_free(): that link was
     * ready, and the teardown that follows sees it already down. */
    if (was_ready && !arc__ended(c) && c->on_disconnect != NULL) {
        c->depth++;
        c->on_disconnect(c, status, c->data);
        c->depth--;
    }
}

void arc__reconnect_due(arc_context *c, int64_t now)
{
    if (c->link.step != ARC_LINK_DOWN)
        return;
    if (c->snt.redirect) {
        /* Not a reconnect: the next sentinel, or the master one named. */
        c->snt.redirect = false;
    } else if (c->rc_at < 0 || now < c->rc_at) {
        return;
    }
    c->rc_at = -1;
    arc__link_renew(c);
    arc__update_state(c); /* CONNECTING */
    if (arc__alive(c))
        arc__link_start(c);
}

/* Encodes a (P|S)SUBSCRIBE of every name of one kind that the server held
 * or was asked for on the lost link, in batches, into `out`; the names'
 * owners get the new confirmations. A name whose own subscribe command is
 * still queued (serial >= `queued`) is left to that command. */
static int replay_kind(arc_context *c, arc_buffer *out, int kind, uint32_t queued)
{
    static const char *const verb[ARC_SUB_KINDS] = {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"};
    enum { BATCH = 64 };
    const char *argv[BATCH + 1];
    size_t lens[BATCH + 1];
    arc_subtable *t = &c->subs.table[kind];
    int argc = 0;
    for (size_t i = 0; i <= t->cap; i++) {
        arc_sub *s = i < t->cap ? t->slots[i] : NULL;
        if (s != NULL && (s->serial == 0 || s->serial < queued)) {
            if (argc == 0) {
                argv[0] = verb[kind];
                lens[0] = strlen(verb[kind]);
                argc = 1;
            }
            argv[argc] = s->name;
            lens[argc] = s->len;
            argc++;
            /* unconfirmed until the new link says so */
            arc__pubsub_unconfirm(&c->subs, kind, s, c->link.replay_serial);
            c->link.replay_due++;
        }
        if (argc > 0 && (argc == BATCH + 1 || i == t->cap)) {
            int rc = arc_format_argv(out, argc, argv, lens);
            if (rc != ARC_OK)
                return rc;
            argc = 0;
        }
    }
    return ARC_OK;
}

/* The serial of the first subscribe command still queued (none was
 * written: the lost link's were settled), UINT32_MAX when there is none. */
static uint32_t first_queued_subscribe(const arc_context *c)
{
    if (c->sub_inflight == 0)
        return UINT32_MAX;
    for (size_t i = 0; i < arc__queue_len(&c->queue); i++) {
        const arc_entry *e = arc__queue_at(&c->queue, i);
        if (e->kind == ARC_ENTRY_SUB && !(e->flags & ARC_ENTRY_GONE))
            return e->serial;
    }
    return UINT32_MAX;
}

/* What a new link says after its handshake, before any queued command:
 * every subscription, and MONITOR if it was on. */
int arc__reconnect_encode_replay(arc_context *c, arc_buffer *out)
{
    uint32_t queued = first_queued_subscribe(c);
    c->link.replay_serial = ++c->serial;
    c->link.replay_due = 0;
    for (int k = 0; k < ARC_SUB_KINDS; k++) {
        int rc = replay_kind(c, out, k, queued);
        if (rc != ARC_OK)
            return rc;
    }
    if (c->monitor_fn != NULL)
        return arc_format(out, "MONITOR");
    return ARC_OK;
}

/* arc__reconnect_refusal() while the link is down and a policy is on. */
int arc__reconnect_refusal_offline(const arc_context *c)
{
    if (c->rc.fail_fast || arc__live_entries(c) >= c->rc.max_offline_commands ||
        arc__buffer_len(&c->out) >= c->rc.max_offline_bytes)
        return ARC_ERR_OFFLINE;
    return ARC_OK;
}

unsigned arc_context_reconnects(const arc_context *c)
{
    return c ? c->rc_attempt : 0;
}

int64_t arc_context_next_attempt_ms(const arc_context *c)
{
    return c ? c->rc_at : -1;
}
