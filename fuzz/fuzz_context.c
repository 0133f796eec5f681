/* fuzz_context.c: a whole context over a socketpair, the fuzzer playing the
 * server and choosing what the application does in between: commands of
 * every kind (some with their own timeouts), cancels, disconnects, frees,
 * bytes from the server, and the passing of time (a clock of its own, so
 * that every deadline can fire). A second context resolves a name through
 * a resolver that fails, and is freed at a moment the fuzzer picks. At the
 * end every accepted callback must have been called exactly once, and
 * every accepted subscribe command's callback must have had exactly one
 * final NULL. */
#define _GNU_SOURCE
#include <arc/arc.h>

#include "async.h" /* arc__clock_set */
#include "net.h"   /* arc__net_set_resolver */

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

static void once_cb(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    (void)status;
    slot *s = (slot *)pd;
    s->t->calls[s->i]++;
    if (r == NULL)
        s->t->nulls[s->i]++;
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

static void pump(arc_context *c)
{
    /* Pull mode: whatever the context wants, once. */
    if (arc_want_write(c))
        arc_handle_write(c);
    if (arc_want_read(c))
        arc_handle_read(c);
    if (arc_next_timeout_ms(c) == 0)
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
    arc_context *c = arc_connect_fd(sv[0], &o);
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
    size_t i = 1;
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
            if (n > 0 && send(sv[1], data + i, n, MSG_NOSIGNAL) < 0)
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
            }
            break;
        default: /* time passes */
            fake_now += (op / 8) * 5;
            break;
        }
        if (!freed)
            pump(c);
        if (other != NULL)
            pump(other);
        /* Drain what the client wrote, so its socket never fills. */
        char sink[4096];
        while (recv(sv[1], sink, sizeof sink, 0) > 0)
            ;
    }
    if (!freed)
        arc_free(c);
    arc_free(other);
    close(sv[1]);
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
