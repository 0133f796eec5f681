/* fuzz_context.c: a whole context over a socketpair, the fuzzer playing the
 * server and choosing what the application does in between: commands of
 * every kind (some with their own timeouts), cancels, disconnects, frees,
 * bytes from the server, and the passing of time (a clock of its own, so
 * that every deadline can fire). A second context resolves a name through
 * a resolver that fails, and is freed at a moment the fuzzer picks. At the
 * end every accepted callback must have been called exactly once, and
 * every accepted subscribe command's callback must have had exactly one
 * final NULL.
 *
 * With a reconnect policy (header bits 0xC0 == 0x40, then a second header
 * byte for the policy) the context runs over a transport of this file on
 * a socketpair that the fuzzer can end (EOF, a reset on read, a failed
 * write) as often as it likes; each new link gets a new socketpair, or is
 * refused. That reaches WAITING, the backoff on the fake clock, the replay
 * of subscriptions and MONITOR, the settling of unanswered commands,
 * fail_fast, the offline limits, max_attempts and a decide callback. There
 * a subscription may never get its final NULL for a lost link while the
 * context lives on.
 *
 * Input layout: byte 0 the header; in reconnect mode byte 1 the policy;
 * then one operation per byte (some take the bytes after them). Inputs
 * whose header is not in reconnect mode run exactly as before the mode
 * existed: no input of the corpus had 0x40 without 0x80. */
#define _GNU_SOURCE
#include <arc/arc.h>

#include "async.h" /* arc__clock_set */
#include "net.h"   /* arc__net_set_resolver */

#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CMDS 64

typedef struct track {
    int calls[MAX_CMDS];
    int nulls[MAX_CMDS];
    int accepted[MAX_CMDS];
    int many[MAX_CMDS];  /* subscribe family and MONITOR: any count of calls */
    uint64_t ids[MAX_CMDS];
    int n;
} track;

typedef struct slot {
    track *t;
    int i;
} slot;

/* Reconnect mode: the fuzzer's end of the link in use, and what it makes
 * the next transport calls and the next reopen do. */
typedef struct link_script {
    int server_fd; /* -1 once the fuzzer closed it */
    int refuse;    /* reopens still to refuse (ARC_ERR_REFUSED) */
    int read_fail; /* the next read fails with ECONNRESET */
    int write_fail; /* the next write fails with EPIPE */
    int links;
} link_script;

static link_script ls;
static int reconnect_mode;
static int freed_in_decide;
static arc_context *main_ctx;

static void once_cb(arc_context *c, arc_reply *r, int status, void *pd)
{
    slot *s = (slot *)pd;
    s->t->calls[s->i]++;
    if (r == NULL)
        s->t->nulls[s->i]++;
    /* docs/reconnect.md: a subscription is kept across a lost link and
     * never gets its final NULL for it while the context lives on; the
     * link-loss statuses come with that NULL only when the context ends. */
    if (reconnect_mode && r == NULL && s->t->many[s->i] == 2 &&
        (status == ARC_ERR_UNANSWERED || status == ARC_ERR_NOT_SENT)) {
        arc_state st = arc_context_state(c);
        if (st != ARC_STATE_CLOSED && st != ARC_STATE_FAILED)
            __builtin_trap();
    }
    /* Touch the reply the way a user would. */
    volatile size_t sum = 0;
    if (r != NULL)
        for (size_t i = 0; i < r->elements; i++)
            sum += r->element[i]->len;
    (void)sum;
}

static int64_t fake_now;

static int64_t fuzz_clock(void)
{
    return fake_now;
}

static int failing_gai(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res)
{
    (void)node;
    (void)service;
    (void)hints;
    *res = NULL;
    return EAI_NONAME;
}

static void no_free(struct addrinfo *res)
{
    (void)res;
}

/* ---- reconnect mode: a plain transport over the socketpair ---- */

static int fz_handshake(arc_transport *t)
{
    (void)t;
    return ARC_IO_OK;
}

static int fz_read(arc_transport *t, char *buf, size_t cap, size_t *n)
{
    if (ls.read_fail) {
        ls.read_fail = 0;
        t->err = ECONNRESET;
        return ARC_IO_ERROR;
    }
    ssize_t k = recv(t->fd, buf, cap, 0);
    if (k > 0) {
        *n = (size_t)k;
        return ARC_IO_OK;
    }
    if (k == 0)
        return ARC_IO_EOF;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return ARC_IO_WANT_READ;
    t->err = errno;
    return ARC_IO_ERROR;
}

static int fz_write(arc_transport *t, const char *buf, size_t len, size_t *n)
{
    if (ls.write_fail) {
        ls.write_fail = 0;
        t->err = EPIPE;
        return ARC_IO_ERROR;
    }
    ssize_t k = send(t->fd, buf, len, MSG_NOSIGNAL);
    if (k >= 0) {
        *n = (size_t)k;
        return ARC_IO_OK;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return ARC_IO_WANT_WRITE;
    t->err = errno;
    return ARC_IO_ERROR;
}

static size_t fz_pending(const arc_transport *t)
{
    (void)t;
    return 0;
}

static void fz_close(arc_transport *t)
{
    (void)t; /* the link closes the descriptor */
}

static const arc_transport_ops fz_ops = {
    "fuzz", fz_handshake, fz_read, fz_write, fz_pending, fz_close,
};

/* The next link: a new socketpair whose far end the fuzzer plays, unless
 * it asked for refusals. */
static int fz_reopen(void *impl)
{
    (void)impl;
    if (ls.refuse > 0) {
        ls.refuse--;
        return -1;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    if (ls.server_fd >= 0)
        close(ls.server_fd);
    ls.server_fd = sv[1];
    ls.links++;
    return sv[0];
}

/* decide modes (policy byte bits 6-7): 0 none; 1 the policy's answer;
 * 2 a short wait even where the policy would stop, then -1 from the third
 * attempt on; 3 always a wait that depends on failure and attempt, the
 * fifth attempt's call freeing the context instead. */
static int decide_mode;

static long fz_decide(arc_context *c, int failure, unsigned attempt, long proposed, void *data)
{
    (void)data;
    switch (decide_mode) {
    case 1:
        return proposed;
    case 2:
        if (attempt >= 3)
            return -1;
        return proposed >= 0 ? proposed : 5;
    default:
        if (attempt == 5 && c == main_ctx && !freed_in_decide) {
            freed_in_decide = 1;
            arc_free(c); /* deferred: the context is inside a call */
            return 7;
        }
        return (long)(((unsigned)failure * 13u + attempt * 7u) % 30u);
    }
}

static void fz_flush(arc_context *c, void *data)
{
    (void)c;
    (void)data;
}

/* Canned server words, so that the fuzzer need not spell every handshake
 * reply, confirmation and message byte by byte. The RESP2 and RESP3 forms
 * of pushes are both there; the context takes what its protocol allows. */
static const char *const canned[] = {
    "+OK\r\n",
    "+PONG\r\n",
    "%1\r\n$5\r\nproto\r\n:3\r\n",
    "-LOADING Redis is loading\r\n",
    "-MASTERDOWN no master\r\n",
    "-READONLY a replica\r\n",
    "-ERR no\r\n",
    "-NOPERM no\r\n",
    "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n",
    "*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n",
    "*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n",
    "*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n",
    ">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n",
    ">3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n",
    ">3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n",
    ">3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n",
    "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n",
    ">4\r\n$8\r\npmessage\r\n$2\r\np*\r\n$2\r\npq\r\n$2\r\nhi\r\n",
    ">3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$2\r\nhi\r\n",
    "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n",
    ">3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n",
    "*3\r\n$12\r\nsunsubscribe\r\n$1\r\ns\r\n:0\r\n",
    "+1700000000.000000 [0 127.0.0.1:1] \"get\" \"k\"\r\n",
    ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n",
    "$-1\r\n",
    "+RESET\r\n",
};
#define NCANNED (sizeof canned / sizeof canned[0])

static void server_send(const void *p, size_t n)
{
    if (ls.server_fd >= 0 && n > 0)
        (void)send(ls.server_fd, p, n, MSG_NOSIGNAL);
}

/* Case 6 below 30 in reconnect mode (a no-op otherwise): the link's end
 * in its forms, refusals of the next links, canned words. */
static void link_action(unsigned a)
{
    switch (a) {
    case 0: /* the server goes away: EOF */
        if (ls.server_fd >= 0) {
            close(ls.server_fd);
            ls.server_fd = -1;
        }
        break;
    case 1:
        ls.read_fail = 1;
        break;
    case 2:
        ls.write_fail = 1;
        break;
    case 3:
        ls.refuse++;
        break;
    default:
        if (a - 4 < NCANNED)
            server_send(canned[a - 4], strlen(canned[a - 4]));
        break;
    }
}

/* `many`: the callback may be called any number of times: 1 MONITOR (at
 * most one NULL), 2 a subscribe command (exactly one final NULL); every
 * other one exactly once. */
static const struct {
    const char *cmd;
    int many;
} commands[] = {
    {"GET k", 0},        {"SET k v", 0},       {"PING", 0},          {"SUBSCRIBE a b", 2},
    {"PSUBSCRIBE p*", 2}, {"SSUBSCRIBE s", 2},  {"UNSUBSCRIBE", 0},   {"UNSUBSCRIBE a", 0},
    {"PUNSUBSCRIBE", 0}, {"SUNSUBSCRIBE s", 0}, {"MONITOR", 1},       {"RESET", 0},
    {"QUIT", 0},         {"LRANGE l 0 -1", 0},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* Whether the main context is gone: decide (mode 3) may free it inside
 * any call, and the free is finished when that call returns. */
static int gone(const arc_context *c)
{
    return c == main_ctx && freed_in_decide;
}

static void pump(arc_context *c)
{
    /* Pull mode: whatever the context wants, once. */
    if (arc_want_write(c))
        arc_handle_write(c);
    if (!gone(c) && arc_want_read(c))
        arc_handle_read(c);
    if (!gone(c) && arc_next_timeout_ms(c) == 0)
        arc_handle_timeout(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        return 0;
    track t;
    memset(&t, 0, sizeof t);
    slot slots[MAX_CMDS];
    fake_now = 1000;
    arc__clock_set(fuzz_clock);
    arc_options o;
    memset(&o, 0, sizeof o);
    o.resp = (data[0] & 1) ? 3 : 2;
    if (data[0] & 2)
        o.password = "pw";
    if (data[0] & 8)
        o.command_timeout_ms = 50;
    o.limits.max_bulk = 4096;
    o.limits.max_elements = 256;
    memset(&ls, 0, sizeof ls);
    ls.server_fd = sv[1];
    ls.links = 1;
    freed_in_decide = 0;
    reconnect_mode = (data[0] & 0xc0) == 0x40 && size >= 2;
    size_t i = 1;
    arc_reconnect policy;
    memset(&policy, 0, sizeof policy);
    arc_tracking tr;
    memset(&tr, 0, sizeof tr);
    if (reconnect_mode) {
        /* The policy byte: bits 0-1 max_attempts (0, 1, 2, 4), 2
         * fail_fast, 3 three offline commands at most, 4 64 offline bytes
         * at most, 5 readonly_reconnects, 6-7 the decide mode. Header bit
         * 0x10: a health check; 0x20: tracking (RESP2 refuses it). */
        uint8_t pb = data[i++];
        static const unsigned attempts[] = {0, 1, 2, 4};
        policy.initial_delay_ms = 10;
        policy.max_delay_ms = 40;
        policy.max_attempts = attempts[pb & 3];
        policy.fail_fast = (pb & 4) != 0;
        if (pb & 8)
            policy.max_offline_commands = 3;
        if (pb & 16)
            policy.max_offline_bytes = 64;
        policy.readonly_reconnects = (pb & 32) != 0;
        decide_mode = pb >> 6;
        if (decide_mode != 0)
            policy.decide = fz_decide;
        o.reconnect = &policy;
        if (data[0] & 0x10)
            o.health_check_ms = 20;
        if (data[0] & 0x20) {
            tr.bcast = true;
            tr.flush = fz_flush;
            o.tracking = &tr;
        }
    }
    arc_context *c = reconnect_mode ? arc__connect_transport(&o, &fz_ops, NULL, sv[0])
                                    : arc_connect_fd(sv[0], &o);
    if (c != NULL && reconnect_mode)
        arc__transport_reopen(c, fz_reopen);
    main_ctx = c;
    arc_context *other = NULL;
    if (data[0] & 4) {
        /* Its lookup fails on a thread; freed before or after that is seen. */
        arc__net_set_resolver(failing_gai, no_free);
        arc_options r;
        memset(&r, 0, sizeof r);
        r.host = "fuzz.invalid";
        r.connect_timeout_ms = 100;
        other = arc_connect(&r);
        arc__net_set_resolver(NULL, NULL);
    }
    if (c == NULL) {
        close(sv[0]);
        close(sv[1]);
        arc_free(other);
        arc__clock_set(NULL);
        return 0;
    }
    int freed = 0;
    while (i < size && !freed) {
        uint8_t op = data[i++];
        switch (op % 8) {
        case 0:
        case 1:
        case 2: { /* the server sends the next (op / 8 + 1) bytes */
            size_t n = (size_t)(op / 8) + 1;
            if (n > size - i)
                n = size - i;
            if (n > 0 && (ls.server_fd < 0 || send(ls.server_fd, data + i, n, MSG_NOSIGNAL) < 0))
                n = 0;
            i += n;
            break;
        }
        case 3:
        case 4: { /* a command; case 4 with a timeout of its own */
            if (t.n >= MAX_CMDS)
                break;
            /* The format splits on spaces, so the command is the format. */
            size_t k = (op / 8) % NCOMMANDS;
            slots[t.n] = (slot){&t, t.n};
            t.many[t.n] = commands[k].many;
            arc_command_options co = {.id = &t.ids[t.n]};
            if (op % 8 == 4)
                co.timeout_ms = 1 + (op / 8) % 40;
            t.accepted[t.n] =
                arc_command_with(c, &co, once_cb, &slots[t.n], commands[k].cmd) == ARC_OK;
            t.n++;
            break;
        }
        case 5:
            if (op / 8 < 16) {
                arc_disconnect(c);
            } else if (t.n > 0) { /* cancel one of the commands issued */
                int k = (op / 8) % t.n;
                int rc = arc_cancel(c, t.ids[k]);
                if (rc == ARC_OK && !t.accepted[k])
                    __builtin_trap(); /* a refused command has no id to cancel */
            }
            break;
        case 6:
            if (op / 8 == 31) {
                arc_free(c);
                freed = 1;
            } else if (op / 8 == 30 && other != NULL) {
                arc_free(other);
                other = NULL;
            } else if (op / 8 < 30 && reconnect_mode) {
                link_action(op / 8);
            }
            break;
        default: /* time passes */
            fake_now += (op / 8) * 5;
            break;
        }
        if (freed_in_decide)
            freed = 1; /* decide freed it (mode 3): it went once the call returned */
        if (!freed)
            pump(c);
        if (freed_in_decide)
            freed = 1;
        if (other != NULL)
            pump(other);
        /* Drain what the client wrote, so its socket never fills. */
        char sink[4096];
        while (ls.server_fd >= 0 && recv(ls.server_fd, sink, sizeof sink, 0) > 0)
            ;
    }
    if (!freed)
        arc_free(c);
    arc_free(other);
    if (ls.server_fd >= 0)
        close(ls.server_fd);
    main_ctx = NULL;
    arc__clock_set(NULL);
    for (int k = 0; k < t.n; k++) {
        if (!t.accepted[k] && t.calls[k] != 0)
            __builtin_trap(); /* a refused command never calls back */
        if (!t.accepted[k])
            continue;
        if (!t.many[k] && t.calls[k] != 1)
            __builtin_trap(); /* invariant 1: exactly once */
        if (t.many[k] && (t.nulls[k] > 1 || t.calls[k] == 0))
            __builtin_trap(); /* a monitor ends at most once, and is told something */
        if (t.many[k] == 2 && t.nulls[k] != 1)
            __builtin_trap(); /* a subscribe command's callback: one final NULL */
    }
    return 0;
}
