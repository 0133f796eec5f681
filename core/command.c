/* command.c: issuing commands: encode, classify, refuse or queue. */
#include "async.h"

#include "alloc.h"

#include <arc/format.h>

#include <string.h>

/* A view over one encoded command (*N then N bulk strings). The bytes were
 * produced by the encoder or passed arc_format_check, so the walk only
 * needs to stay inside them, not to diagnose. */
typedef struct cmd_iter {
    const char *p;
    const char *end;
    size_t left;
} cmd_iter;

static bool read_num(cmd_iter *it, char type, size_t *out)
{
    if (it->p >= it->end || *it->p != type)
        return false;
    it->p++;
    size_t v = 0;
    while (it->p < it->end && *it->p >= '0' && *it->p <= '9')
        v = v * 10 + (size_t)(*it->p++ - '0');
    if (it->end - it->p < 2)
        return false;
    it->p += 2;
    *out = v;
    return true;
}

static bool cmd_begin(cmd_iter *it, const char *p, size_t n)
{
    it->p = p;
    it->end = p + n;
    return read_num(it, '*', &it->left);
}

static bool cmd_next(cmd_iter *it, const char **arg, size_t *len)
{
    if (it->left == 0 || !read_num(it, '$', len) || (size_t)(it->end - it->p) < *len + 2)
        return false;
    *arg = it->p;
    it->p += *len + 2;
    it->left--;
    return true;
}

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

/* Every command passes here; the length test keeps the common ones (GET,
 * SET, HSET, ...) from a case-folding compare with each special name. */
static void classify(const char *name, size_t len, arc_entry *e)
{
    e->kind = ARC_ENTRY_REPLY;
    e->sub = 0;
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
        if (len == special[i].len && arc__ascii_ieq(name, len, special[i].name)) {
            e->kind = special[i].kind;
            e->sub = special[i].sub;
            return;
        }
    }
}

/* Registers the callback of a (P|S)SUBSCRIBE for each of its names. All
 * allocations happen before any existing subscription is touched, so a
 * failure leaves the table as it was. */
static int register_subs(arc_context *c, const arc_entry *e, const cmd_iter *args)
{
    cmd_iter it;
    const char *name;
    size_t len;
    size_t fresh = 0;
    for (it = *args; cmd_next(&it, &name, &len);)
        if (arc__pubsub_find(&c->subs, e->sub, name, len) == NULL)
            fresh++;
    if (arc__pubsub_reserve(&c->subs, e->sub, fresh) != ARC_OK)
        return ARC_ERR_NOMEM;
    for (it = *args; cmd_next(&it, &name, &len);) {
        if (arc__pubsub_find(&c->subs, e->sub, name, len) != NULL)
            continue;
        arc_sub *s = arc__pubsub_new(&c->subs, name, len, e->fn, e->privdata);
        if (s == NULL) {
            /* Undo this command's insertions: they carry its serial and
             * were not in the table before it. */
            cmd_iter undo;
            for (undo = *args; cmd_next(&undo, &name, &len) && undo.p <= it.p;) {
                arc_sub *t = arc__pubsub_find(&c->subs, e->sub, name, len);
                if (t != NULL && t->serial == e->serial && t->fresh) {
                    arc__pubsub_remove(&c->subs, e->sub, t);
                    arc__pubsub_discard(&c->subs, t);
                }
            }
            return ARC_ERR_NOMEM;
        }
        s->serial = e->serial;
        s->fresh = true;
        arc__pubsub_insert(&c->subs, e->sub, s);
    }
    /* Subscribing again to a name replaces its callback; the old one gets
     * no further calls. */
    for (it = *args; cmd_next(&it, &name, &len);) {
        arc_sub *s = arc__pubsub_find(&c->subs, e->sub, name, len);
        if (s->fresh) {
            s->fresh = false;
            continue;
        }
        if (s->serial != e->serial) {
            s->fn = e->fn;
            s->privdata = e->privdata;
            s->serial = e->serial;
        }
    }
    return ARC_OK;
}

static int refusal(const arc_context *c, const arc_entry *e)
{
    if (c->free_requested || arc__ended(c))
        return ARC_ERR_CLOSED;
    if (c->state == ARC_STATE_DISCONNECTING || c->disconnect_asked)
        return ARC_ERR_DISCONNECTING;
    bool exits = e->kind == ARC_ENTRY_RESET || e->kind == ARC_ENTRY_QUIT;
    if ((c->state == ARC_STATE_MONITORING || c->monitor_inflight) && !exits)
        return ARC_ERR_MONITORING;
    /* RESP2 subscribed mode (DESIGN "Pub/sub and monitor rules"): the server
     * would answer anything else with an error, or not in order. */
    if (c->resp_wanted == 2 && arc__in_sub_mode(c) && !exits &&
        e->kind != ARC_ENTRY_SUB && e->kind != ARC_ENTRY_UNSUB && e->kind != ARC_ENTRY_PING)
        return ARC_ERR_SUBSCRIBED;
    return ARC_OK;
}

/* The encoded command sits at out[mark, end): check it against the state,
 * register what it starts, queue its entry. On error it is cut away. */
static int queue_encoded(arc_context *c, arc_reply_fn *fn, void *privdata, size_t mark)
{
    arc_entry e = {.fn = fn, .privdata = privdata, .expect = 1, .kind = ARC_ENTRY_REPLY};
    cmd_iter args;
    const char *name;
    size_t len;
    int rc = ARC_ERR_INVALID;
    if (!cmd_begin(&args, arc__buffer_head(&c->out) + mark, arc__buffer_len(&c->out) - mark) ||
        !cmd_next(&args, &name, &len))
        goto undo;
    classify(name, len, &e);
    rc = refusal(c, &e);
    if (rc != ARC_OK)
        goto undo;
    if (e.kind == ARC_ENTRY_SUB || e.kind == ARC_ENTRY_UNSUB) {
        rc = ARC_ERR_INVALID;
        if (e.kind == ARC_ENTRY_SUB && args.left == 0)
            goto undo; /* the server would answer one error, not confirmations */
        if (args.left > UINT32_MAX)
            goto undo;
        e.expect = (uint32_t)args.left;
        e.all = args.left == 0;
        e.serial = ++c->serial;
        if (e.kind == ARC_ENTRY_SUB && (rc = register_subs(c, &e, &args)) != ARC_OK)
            goto undo;
        c->sub_inflight++;
    }
    if (e.kind == ARC_ENTRY_MONITOR)
        c->monitor_inflight = true;
    if (c->command_timeout_ms)
        e.queued_ms = arc__now_ms();
    arc__queue_push(&c->queue, &e); /* reserved by the caller: cannot fail */
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

typedef enum { ENC_FORMAT, ENC_ARGV, ENC_RAW } enc_kind;

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

static int issue(arc_context *c, arc_reply_fn *fn, void *privdata, const encoding *enc)
{
    if (c == NULL)
        return ARC_ERR_INVALID;
    if (c->free_requested || arc__ended(c))
        return ARC_ERR_CLOSED;
    if (c->state == ARC_STATE_DISCONNECTING || c->disconnect_asked)
        return ARC_ERR_DISCONNECTING;
    /* Room for the entry (and a RESET's handshake) first, so that nothing
     * after encoding can fail half-way. */
    if (arc__queue_reserve(&c->queue) != ARC_OK)
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
    rc = queue_encoded(c, fn, privdata, mark);
    if (rc != ARC_OK)
        return rc;
    if (arc__buffer_len(&c->out) >= ARC__WRITE_THROUGH)
        arc__write_through(c);
    arc__enter(c);
    arc__leave(c); /* announces write interest */
    return ARC_OK;
}

int arc_vcommand(arc_context *c, arc_reply_fn *fn, void *privdata, const char *fmt, va_list ap)
{
    if (fmt == NULL)
        return ARC_ERR_INVALID;
    va_list copy;
    va_copy(copy, ap);
    encoding enc = {ENC_FORMAT, fmt, &copy, 0, NULL, NULL, NULL, 0};
    int rc = issue(c, fn, privdata, &enc);
    va_end(copy);
    return rc;
}

int arc_command(arc_context *c, arc_reply_fn *fn, void *privdata, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = arc_vcommand(c, fn, privdata, fmt, ap);
    va_end(ap);
    return rc;
}

int arc_command_argv(arc_context *c, arc_reply_fn *fn, void *privdata, int argc,
                     const char *const *argv, const size_t *argvlen)
{
    encoding enc = {ENC_ARGV, NULL, NULL, argc, argv, argvlen, NULL, 0};
    return issue(c, fn, privdata, &enc);
}

int arc_command_formatted(arc_context *c, arc_reply_fn *fn, void *privdata, const char *cmd,
                          size_t len)
{
    if (cmd == NULL)
        return ARC_ERR_INVALID;
    encoding enc = {ENC_RAW, NULL, NULL, 0, NULL, NULL, cmd, len};
    return issue(c, fn, privdata, &enc);
}

static int handshake_cmd(arc_context *c, int argc, const char *const *argv)
{
    int rc = arc__queue_reserve(&c->queue);
    if (rc != ARC_OK)
        return rc;
    rc = arc_format_argv(&c->out, argc, argv, NULL);
    if (rc != ARC_OK)
        return rc;
    arc_entry e = {.expect = 1, .kind = ARC_ENTRY_HANDSHAKE};
    /* Handshakes also follow RESET, long after READY: the command timeout
     * must count from now, not from the epoch. */
    if (c->command_timeout_ms)
        e.queued_ms = arc__now_ms();
    arc__queue_push(&c->queue, &e);
    c->handshake_left++;
    return ARC_OK;
}

int arc__queue_handshake(arc_context *c)
{
    size_t mark = arc__buffer_len(&c->out);
    size_t queued = arc__queue_len(&c->queue);
    size_t left = c->handshake_left;
    const char *argv[8];
    int argc = 0;
    int rc = ARC_OK;
    char db[24];
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
        rc = handshake_cmd(c, argc, argv);
    } else if (c->password) {
        argv[argc++] = "AUTH";
        if (c->username)
            argv[argc++] = c->username;
        argv[argc++] = c->password;
        rc = handshake_cmd(c, argc, argv);
    }
    if (rc == ARC_OK && c->db > 0) {
        /* Integer to decimal without the printf family. */
        char tmp[24];
        size_t n = 0;
        for (unsigned v = (unsigned)c->db; v; v /= 10)
            tmp[n++] = (char)('0' + v % 10);
        for (size_t i = 0; i < n; i++)
            db[i] = tmp[n - 1 - i];
        db[n] = '\0';
        const char *sel[] = {"SELECT", db};
        rc = handshake_cmd(c, 2, sel);
    }
    if (rc == ARC_OK && c->resp_wanted == 2 && c->client_name) {
        const char *setname[] = {"CLIENT", "SETNAME", c->client_name};
        rc = handshake_cmd(c, 3, setname);
    }
    if (rc != ARC_OK) {
        arc__buffer_truncate(&c->out, mark);
        while (arc__queue_len(&c->queue) > queued)
            arc__queue_unpush(&c->queue);
        c->handshake_left = left;
        return rc;
    }
    if (c->state == ARC_STATE_INIT) {
        c->holding = c->handshake_left > 0;
        c->hold = arc__buffer_len(&c->out);
    }
    return ARC_OK;
}
