/* command.c: issuing commands: encode, classify, refuse or queue; their
 * per-command deadlines, cancels, and the handshake's commands. */
#include "async.h"

#include "alloc.h"
#include "cmdview.h"

#include <arc/format.h>

#include <limits.h>
#include <string.h>

#define SPECIAL(name, kind, sub) {name, sizeof name - 1, kind, sub}
static const struct {
    const char *name;
    uint8_t len;
    uint8_t kind;
    uint8_t sub;
} special[] = {
    SPECIAL("subscribe", ARC_ENTRY_SUB, ARC_SUB_CHANNEL),
    SPECIAL("psubscribe", ARC_ENTRY_SUB, ARC_SUB_PATTERN),
    SPECIAL("ssubscribe", ARC_ENTRY_SUB, ARC_SUB_SHARD),
    SPECIAL("unsubscribe", ARC_ENTRY_UNSUB, ARC_SUB_CHANNEL),
    SPECIAL("punsubscribe", ARC_ENTRY_UNSUB, ARC_SUB_PATTERN),
    SPECIAL("sunsubscribe", ARC_ENTRY_UNSUB, ARC_SUB_SHARD),
    SPECIAL("monitor", ARC_ENTRY_MONITOR, 0),
    SPECIAL("reset", ARC_ENTRY_RESET, 0),
    SPECIAL("quit", ARC_ENTRY_QUIT, 0),
    SPECIAL("ping", ARC_ENTRY_PING, 0),
};
#undef SPECIAL

/* The first letters of the names in `special`, as bits of letter - 'a'. */
#define SPECIAL_FIRST                                                                      \
    ((1u << ('m' - 'a')) | (1u << ('p' - 'a')) | (1u << ('q' - 'a')) | (1u << ('r' - 'a')) | \
     (1u << ('s' - 'a')) | (1u << ('u' - 'a')))
#define SPECIAL_SHORTEST 4 /* "quit", "ping" */

/* Commands whose name starts so may wait server-side (BLPOP, XREAD, WAIT,
 * ...): arc__blocking_wait reads their arguments to know. */
static bool may_block(const char *name, size_t len)
{
    char first = len ? (char)(name[0] | 0x20) : 0;
    return first == 'b' || first == 'x' || first == 'w';
}

/* Every command passes here, with its name alone. Its first letter and
 * length send the common ones (GET, SET, HSET, ...) past every compare. */
static void classify(const char *name, size_t len, arc_entry *e)
{
    e->kind = ARC_ENTRY_REPLY;
    e->sub = 0;
    unsigned first = len >= SPECIAL_SHORTEST ? (unsigned)((name[0] | 0x20) - 'a') : 32;
    if (first >= 32 || !((SPECIAL_FIRST >> first) & 1))
        return;
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
        if (len == special[i].len && arc__ascii_ieq(name, len, special[i].name)) {
            e->kind = special[i].kind;
            e->sub = special[i].sub;
            return;
        }
    }
}

/* The walk over the arguments after the name of the command encoded at
 * out[mark, end), with the name; false when the bytes are not a command
 * (the encoder made them, so only a raw one can be). */
static bool walk_command(const arc_context *c, size_t mark, const char **name, size_t *len,
                         arc_cmdview *args)
{
    return arc__cmdview_begin(args, arc__buffer_head(&c->out) + mark,
                              arc__buffer_len(&c->out) - mark) &&
           arc__cmdview_next(args, name, len);
}

/* Registers the names of a (P|S)SUBSCRIBE under one owner (its callback).
 * All allocations happen before any subscription is touched, so a failure
 * leaves the table as it was. A name already held by another callback is
 * refused (ARC_ERR_DUPLICATE); held by the same one, it stays with its
 * owner and is simply confirmed again. */
static int register_subs(arc_context *c, arc_entry *e, const arc_cmdview *args)
{
    arc_cmdview it;
    const char *name;
    size_t len;
    size_t fresh = 0;
    arc_reply_fn *fn = e->fn;
    void *privdata = e->privdata;
    for (it = *args; arc__cmdview_next(&it, &name, &len);) {
        arc_sub *s = arc__pubsub_find(&c->subs, e->sub, name, len);
        if (s == NULL) {
            fresh++;
        } else if (s->owner->fn != fn || s->owner->privdata != privdata || s->owner->ended) {
            return ARC_ERR_DUPLICATE;
        }
    }
    /* A SUB entry keeps its owner where other entries keep privdata. */
    e->fn = NULL;
    e->privdata = NULL;
    if (fresh == 0)
        return ARC_OK; /* every name is already held by this callback */
    if (arc__pubsub_reserve(&c->subs, e->sub, fresh) != ARC_OK)
        return ARC_ERR_NOMEM;
    /* One owner per (callback, privdata) pair, so that a privdata gets one
     * final NULL however many commands subscribed under it. A command that
     * joins an existing owner does not own it: its own timeout or cancel
     * ends nothing. */
    arc_sub_owner *owner = arc__pubsub_owner_find(&c->subs, fn, privdata);
    bool joined = owner != NULL;
    if (!joined && (owner = arc__pubsub_owner_new(&c->subs, fn, privdata)) == NULL)
        return ARC_ERR_NOMEM;
    arc_sub *made = NULL;
    for (it = *args; arc__cmdview_next(&it, &name, &len);) {
        bool repeated = false; /* SUBSCRIBE a a */
        for (arc_sub *m = made; m != NULL; m = m->next)
            if (m->len == len && memcmp(m->name, name, len) == 0)
                repeated = true;
        if (repeated || arc__pubsub_find(&c->subs, e->sub, name, len) != NULL)
            continue;
        arc_sub *s = arc__pubsub_new(&c->subs, name, len, owner);
        if (s == NULL) {
            while (made != NULL) {
                arc_sub *next = made->next;
                arc__pubsub_discard(&c->subs, made);
                made = next;
            }
            if (!joined)
                arc__pubsub_owner_free(&c->subs, owner);
            return ARC_ERR_NOMEM;
        }
        s->serial = e->serial;
        s->next = made;
        made = s;
    }
    while (made != NULL) {
        arc_sub *next = made->next;
        made->next = NULL;
        arc__pubsub_insert(&c->subs, e->sub, made);
        owner->refs++;
        made = next;
    }
    e->privdata = joined ? NULL : owner;
    owner->queued = owner->queued || !joined;
    return ARC_OK;
}

/* A HELLO that switches protocol would leave the context parsing one
 * protocol while the server speaks another: the protocol is an option. */
static bool switches_protocol(const arc_context *c, const char *name, size_t len,
                              const arc_cmdview *args)
{
    if (len != 5 || !arc__ascii_ieq(name, len, "hello"))
        return false;
    arc_cmdview it = *args;
    const char *v;
    size_t vlen;
    if (!arc__cmdview_next(&it, &v, &vlen))
        return false;
    return !(vlen == 1 && v[0] == (c->resp_wanted == 3 ? '3' : '2'));
}

static int refusal(const arc_context *c, const arc_entry *e)
{
    bool exits = e->kind == ARC_ENTRY_RESET || e->kind == ARC_ENTRY_QUIT;
    if ((c->monitor_fn != NULL || c->monitor_inflight) && !exits)
        return ARC_ERR_MONITORING;
    /* RESP2 subscribed mode (DESIGN "Pub/sub and monitor rules"): the server
     * would answer anything else with an error, or not in order. An
     * unsubscribe in flight does not enter that mode. */
    bool subscribed = arc__pubsub_total(&c->subs) > 0 || c->sub_inflight > 0;
    if (c->resp_wanted == 2 && subscribed && !exits && e->kind != ARC_ENTRY_SUB &&
        e->kind != ARC_ENTRY_UNSUB && e->kind != ARC_ENTRY_PING)
        return ARC_ERR_SUBSCRIBED;
    return ARC_OK;
}

/* The encoded command sits at out[mark, end): check it against the state,
 * register what it starts, queue its entry. On error it is cut away.
 * `name` is its name when the caller has it (the argv form): the bytes are
 * then walked only for the commands whose arguments matter here; NULL has
 * the name read from the bytes. */
static int queue_encoded(arc_context *c, arc_reply_fn *fn, void *privdata, size_t mark,
                         const arc_command_options *o, const char *name, size_t len)
{
    arc_entry e = {.fn = fn, .privdata = privdata, .expect = 1, .kind = ARC_ENTRY_REPLY};
    arc_cmdview args = {NULL, NULL, 0};
    const char *walked;
    int rc = ARC_ERR_INVALID;
    if (name == NULL && !walk_command(c, mark, &name, &len, &args))
        goto undo;
    classify(name, len, &e);
    /* What reads the arguments: a wait, the names of a (un)subscribe, the
     * protocol of a HELLO. */
    bool blocks = may_block(name, len);
    if (args.p == NULL && (blocks || e.kind == ARC_ENTRY_SUB || e.kind == ARC_ENTRY_UNSUB ||
                           len == 5) &&
        !walk_command(c, mark, &walked, &len, &args))
        goto undo;
    if (blocks && arc__blocking_wait(name, len, &args, &e.block_ms))
        e.flags |= ARC_ENTRY_BLOCKING;
    rc = refusal(c, &e);
    if (rc != ARC_OK)
        goto undo;
    rc = ARC_ERR_INVALID;
    if (switches_protocol(c, name, len, &args))
        goto undo;
    if (e.kind == ARC_ENTRY_SUB || e.kind == ARC_ENTRY_UNSUB) {
        if (e.kind == ARC_ENTRY_SUB && args.left == 0)
            goto undo; /* the server would answer one error, not confirmations */
        if (args.left > UINT32_MAX)
            goto undo;
        e.expect = (uint32_t)args.left;
        if (args.left == 0)
            e.flags |= ARC_ENTRY_ALL;
        e.serial = ++c->serial;
        if (e.kind == ARC_ENTRY_SUB && (rc = register_subs(c, &e, &args)) != ARC_OK)
            goto undo;
        if (e.kind == ARC_ENTRY_SUB)
            c->sub_inflight++;
    }
    if (e.kind == ARC_ENTRY_MONITOR)
        c->monitor_inflight = true;
    if (e.flags & ARC_ENTRY_BLOCKING)
        c->blocking_inflight++;
    if (e.kind == ARC_ENTRY_RESET)
        e.serial = ++c->serial; /* what it ends: subscriptions made before it */
    uint64_t id = arc__queue_next_id(&c->queue);
    bool keep = o != NULL && o->retry && c->reconnecting_on && e.kind == ARC_ENTRY_REPLY;
    if (keep) {
        rc = arc__retry_keep(c, id, arc__buffer_head(&c->out) + mark,
                             arc__buffer_len(&c->out) - mark);
        if (rc != ARC_OK)
            goto undo;
        e.flags |= ARC_ENTRY_RETRY;
    }
    e.end = c->out_sent + arc__buffer_len(&c->out);
    if (c->command_timeout_ms && arc__live_entries(c) == 0)
        c->due_since_ms = arc__now_ms();
    arc__queue_put(&c->queue, &e); /* reserved by the caller */
    c->idle_since_ms = -1;
    if (o != NULL && o->timeout_ms > 0)
        arc__deadlines_push(&c->deadlines, arc__now_ms() + o->timeout_ms, id);
    if (o != NULL && o->id != NULL)
        *o->id = id;
    if (e.kind == ARC_ENTRY_RESET) {
        /* RESET drops the protocol, user, db and name; the handshake that
         * set them up goes right behind it, ahead of any later command. */
        rc = arc__queue_handshake(c);
        if (rc != ARC_OK) {
            arc__queue_unpush(&c->queue);
            goto undo;
        }
    }
    return ARC_OK;
undo:
    arc__buffer_truncate(&c->out, mark);
    return rc;
}

/* ENC_TRUSTED: bytes libarc made or checked itself (a cluster's resend, a
 * group's fan-out), one command each: not parsed again. */
typedef enum { ENC_FORMAT, ENC_ARGV, ENC_RAW, ENC_TRUSTED } enc_kind;

typedef struct encoding {
    enc_kind kind;
    const char *fmt;
    va_list *ap;
    int argc;
    const char *const *argv;
    const size_t *argvlen;
    const char *raw;
    size_t rawlen;
} encoding;

static int issue(arc_context *c, const arc_command_options *o, arc_reply_fn *fn,
                 void *privdata, const encoding *enc)
{
    if (c == NULL || (o != NULL && o->timeout_ms < 0))
        return ARC_ERR_INVALID;
    if (!arc__alive(c))
        return ARC_ERR_CLOSED;
    if (c->phase != ARC_PHASE_OPEN)
        return ARC_ERR_DISCONNECTING;
    int refused = arc__reconnect_refusal(c);
    if (refused != ARC_OK)
        return refused;
    /* Room for the entry, its deadline (and a RESET's handshake) first, so
     * that nothing after encoding can fail half-way. */
    if (arc__queue_reserve(&c->queue) != ARC_OK)
        return ARC_ERR_NOMEM;
    if (o != NULL && o->timeout_ms > 0 && arc__deadlines_reserve(&c->deadlines) != ARC_OK)
        return ARC_ERR_NOMEM;
    size_t mark = arc__buffer_len(&c->out);
    int rc;
    size_t count = 1;
    switch (enc->kind) {
    case ENC_FORMAT: {
        va_list ap;
        va_copy(ap, *enc->ap);
        rc = arc_vformat(&c->out, enc->fmt, ap);
        va_end(ap);
        break;
    }
    case ENC_ARGV:
        rc = arc_format_argv(&c->out, enc->argc, enc->argv, enc->argvlen);
        break;
    case ENC_TRUSTED:
        rc = arc_buffer_append(&c->out, enc->raw, enc->rawlen);
        break;
    default:
        rc = arc_format_check(enc->raw, enc->rawlen, &count);
        if (rc == ARC_OK && count != 1)
            rc = ARC_ERR_INVALID; /* one callback answers one command */
        if (rc == ARC_OK)
            rc = arc_buffer_append(&c->out, enc->raw, enc->rawlen);
        break;
    }
    if (rc != ARC_OK)
        return rc;
    const char *name = NULL;
    size_t len = 0;
    if (enc->kind == ENC_ARGV) {
        name = enc->argv[0];
        len = enc->argvlen ? enc->argvlen[0] : strlen(name);
    }
    rc = queue_encoded(c, fn, privdata, mark, o, name, len);
    if (rc != ARC_OK)
        return rc;
    if (arc__buffer_len(&c->out) >= ARC__WRITE_THROUGH)
        arc__write_through(c);
    if (c->depth == 0) {
        arc__enter(c);
        arc__leave(c); /* announces write interest */
    }
    return ARC_OK;
}

int arc_vcommand_with(arc_context *c, const arc_command_options *o, arc_reply_fn *fn,
                      void *privdata, const char *fmt, va_list ap)
{
    if (fmt == NULL)
        return ARC_ERR_INVALID;
    va_list copy;
    va_copy(copy, ap);
    encoding enc = {ENC_FORMAT, fmt, &copy, 0, NULL, NULL, NULL, 0};
    int rc = issue(c, o, fn, privdata, &enc);
    va_end(copy);
    return rc;
}

int arc_vcommand(arc_context *c, arc_reply_fn *fn, void *privdata, const char *fmt, va_list ap)
{
    return arc_vcommand_with(c, NULL, fn, privdata, fmt, ap);
}

int arc_command(arc_context *c, arc_reply_fn *fn, void *privdata, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = arc_vcommand_with(c, NULL, fn, privdata, fmt, ap);
    va_end(ap);
    return rc;
}

int arc_command_with(arc_context *c, const arc_command_options *o, arc_reply_fn *fn,
                     void *privdata, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = arc_vcommand_with(c, o, fn, privdata, fmt, ap);
    va_end(ap);
    return rc;
}

int arc_command_argv_with(arc_context *c, const arc_command_options *o, arc_reply_fn *fn,
                          void *privdata, int argc, const char *const *argv,
                          const size_t *argvlen)
{
    encoding enc = {ENC_ARGV, NULL, NULL, argc, argv, argvlen, NULL, 0};
    return issue(c, o, fn, privdata, &enc);
}

int arc_command_argv(arc_context *c, arc_reply_fn *fn, void *privdata, int argc,
                     const char *const *argv, const size_t *argvlen)
{
    /* Not through arc_command_argv_with: one call less on the hot path. */
    encoding enc = {ENC_ARGV, NULL, NULL, argc, argv, argvlen, NULL, 0};
    return issue(c, NULL, fn, privdata, &enc);
}

int arc_command_formatted_with(arc_context *c, const arc_command_options *o, arc_reply_fn *fn,
                               void *privdata, const char *cmd, size_t len)
{
    if (cmd == NULL)
        return ARC_ERR_INVALID;
    encoding enc = {ENC_RAW, NULL, NULL, 0, NULL, NULL, cmd, len};
    return issue(c, o, fn, privdata, &enc);
}

int arc__command_trusted(arc_context *c, const arc_command_options *o, arc_reply_fn *fn,
                         void *privdata, const char *cmd, size_t len)
{
    encoding enc = {ENC_TRUSTED, NULL, NULL, 0, NULL, NULL, cmd, len};
    return issue(c, o, fn, privdata, &enc);
}

int arc_command_formatted(arc_context *c, arc_reply_fn *fn, void *privdata, const char *cmd,
                          size_t len)
{
    return arc_command_formatted_with(c, NULL, fn, privdata, cmd, len);
}

/* ---- ending one command early: its own timeout, or a cancel ---- */

/* The callback runs now and the entry stays in the FIFO as a tombstone,
 * so that its reply, when it comes, is read and dropped and every later
 * reply still meets its own callback. A subscribe command's owner ends
 * too: its names stay registered (the server holds them once confirmed)
 * but their frames are dropped. */
static void end_early(arc_context *c, arc_entry *e, int status)
{
    arc_reply_fn *fn = e->fn;
    void *pd = e->privdata;
    e->flags |= ARC_ENTRY_DEAD;
    e->fn = NULL;
    c->tombstones++;
    if (e->kind == ARC_ENTRY_SUB) {
        arc_sub_owner *owner = pd;
        if (owner == NULL || owner->ended)
            return;
        owner->ended = true;
        fn = owner->fn;
        pd = owner->privdata;
    }
    arc__call_reply(c, fn, NULL, status, pd);
}

int arc_cancel(arc_context *c, uint64_t id)
{
    if (c == NULL || !arc__alive(c))
        return ARC_ERR_INVALID;
    arc_entry *e = arc__queue_find(&c->queue, id);
    if (e == NULL || (e->flags & ARC_ENTRY_DEAD) || e->kind == ARC_ENTRY_HANDSHAKE)
        return ARC_ERR_INVALID;
    arc__enter(c);
    end_early(c, e, ARC_ERR_CANCELLED);
    arc__leave(c);
    return ARC_OK;
}

void arc__expire_commands(arc_context *c, int64_t now)
{
    const arc_deadline *d;
    while (arc__alive(c) && (d = arc__deadlines_top(&c->deadlines)) != NULL && d->at <= now) {
        uint64_t id = d->id;
        arc__deadlines_pop(&c->deadlines);
        arc_entry *e = arc__queue_find(&c->queue, id);
        if (e != NULL && !(e->flags & ARC_ENTRY_DEAD))
            end_early(c, e, ARC_ERR_TIMEOUT);
    }
}

int64_t arc__commands_deadline(arc_context *c)
{
    /* Items of answered commands are dropped as they surface, so the top
     * is a live deadline (or none). */
    const arc_deadline *d;
    while ((d = arc__deadlines_top(&c->deadlines)) != NULL) {
        arc_entry *e = arc__queue_find(&c->queue, d->id);
        if (e != NULL && !(e->flags & ARC_ENTRY_DEAD))
            return d->at;
        arc__deadlines_pop(&c->deadlines);
    }
    return -1;
}

int64_t arc__liveness_deadline(const arc_context *c)
{
    if (!c->command_timeout_ms || c->link.step != ARC_LINK_UP ||
        arc__queue_len(&c->queue) == 0)
        return -1;
    /* Subscriptions and a monitor wait for nothing in particular; only
     * replies that are due count. */
    const arc_entry *head = arc__queue_head(&c->queue);
    int64_t from = c->link.last_progress_ms > c->due_since_ms ? c->link.last_progress_ms
                                                              : c->due_since_ms;
    if (from < c->ready_ms)
        from = c->ready_ms;
    if (head->flags & ARC_ENTRY_BLOCKING) {
        if (head->block_ms == 0)
            return -1; /* waits for ever by design */
        return from + (int64_t)head->block_ms + c->command_timeout_ms;
    }
    return from + c->command_timeout_ms;
}

/* ---- the handshake ---- */

/* CLIENT TRACKING ON and its options; each new link (and RESET) says it
 * again, so that caching is part of the session. */
static int encode_tracking(const arc_context *c, arc_buffer *out)
{
    const arc_tracking *t = &c->tracking;
    size_t argc = 3 + (t->bcast ? 1 : 0) + 2 * t->nprefixes + 2;
    const char **argv = arc_mem_alloc(&c->alloc, arc__mul_size(argc, sizeof *argv));
    if (argv == NULL)
        return ARC_ERR_NOMEM;
    size_t n = 0;
    argv[n++] = "CLIENT";
    argv[n++] = "TRACKING";
    argv[n++] = "ON";
    if (t->bcast)
        argv[n++] = "BCAST";
    for (size_t i = 0; i < t->nprefixes; i++) {
        argv[n++] = "PREFIX";
        argv[n++] = c->tracking_prefixes[i];
    }
    if (t->mode == ARC_TRACKING_OPTIN)
        argv[n++] = "OPTIN";
    else if (t->mode == ARC_TRACKING_OPTOUT)
        argv[n++] = "OPTOUT";
    if (t->noloop)
        argv[n++] = "NOLOOP";
    int rc = n > INT_MAX ? ARC_ERR_LIMIT : arc_format_argv(out, (int)n, argv, NULL);
    arc_mem_free(&c->alloc, (void *)argv);
    return rc;
}

int arc__encode_handshake(const arc_context *c, arc_buffer *out, uint32_t *count)
{
    size_t mark = arc__buffer_len(out);
    const char *argv[8];
    int argc = 0;
    int rc = ARC_OK;
    uint32_t n = 0;
    const char *user = c->username ? c->username : "default";

    if (c->resp_wanted == 3) {
        argv[argc++] = "HELLO";
        argv[argc++] = "3";
        if (c->password) {
            argv[argc++] = "AUTH";
            argv[argc++] = user;
            argv[argc++] = c->password;
        }
        if (c->client_name) {
            argv[argc++] = "SETNAME";
            argv[argc++] = c->client_name;
        }
        rc = arc_format_argv(out, argc, argv, NULL);
        n++;
    } else if (c->password) {
        argv[argc++] = "AUTH";
        if (c->username)
            argv[argc++] = c->username;
        argv[argc++] = c->password;
        rc = arc_format_argv(out, argc, argv, NULL);
        n++;
    }
    if (rc == ARC_OK && c->db > 0) {
        rc = arc_format(out, "SELECT %d", c->db);
        n++;
    }
    if (rc == ARC_OK && c->resp_wanted == 2 && c->client_name) {
        const char *setname[] = {"CLIENT", "SETNAME", c->client_name};
        rc = arc_format_argv(out, 3, setname, NULL);
        n++;
    }
    if (rc == ARC_OK && c->tracking_on) {
        rc = encode_tracking(c, out);
        n++;
    }
    if (rc != ARC_OK) {
        arc__buffer_truncate(out, mark);
        return rc;
    }
    *count = n;
    return ARC_OK;
}

/* Queues an entry of the context's own, whose one reply no callback
 * waits for, ending where the output ends now: the commands it answers
 * were just encoded there. The caller reserved the room. */
static void put_internal(arc_context *c, uint8_t kind, uint8_t flags)
{
    arc_entry e = {.expect = 1, .kind = kind, .flags = flags};
    e.end = c->out_sent + arc__buffer_len(&c->out);
    arc__queue_put(&c->queue, &e);
    c->idle_since_ms = -1; /* the queue holds something */
}

int arc__queue_handshake(arc_context *c)
{
    size_t mark = arc__buffer_len(&c->out);
    uint32_t n = 0;
    int rc = arc__encode_handshake(c, &c->out, &n);
    if (rc != ARC_OK)
        return rc;
    size_t queued = arc__queue_len(&c->queue);
    for (uint32_t i = 0; i < n; i++) {
        rc = arc__queue_reserve(&c->queue);
        if (rc != ARC_OK) {
            while (arc__queue_len(&c->queue) > queued)
                arc__queue_unpush(&c->queue);
            c->handshake_left -= i;
            arc__buffer_truncate(&c->out, mark);
            return rc;
        }
        /* Each entry ends where the whole handshake does: none of it is
         * sent without the rest. */
        put_internal(c, ARC_ENTRY_HANDSHAKE, 0);
        c->handshake_left++;
    }
    return ARC_OK;
}

int arc__queue_unanswered_ping(arc_context *c)
{
    int rc = arc__queue_reserve(&c->queue);
    if (rc == ARC_OK)
        rc = arc_format(&c->out, "PING"); /* leaves `out` as it was on failure */
    if (rc != ARC_OK)
        return rc;
    /* PING, so that RESP2 subscribed mode's ["pong", ""] is known for it. */
    put_internal(c, ARC_ENTRY_PING, ARC_ENTRY_DEAD);
    c->tombstones++;
    return ARC_OK;
}
