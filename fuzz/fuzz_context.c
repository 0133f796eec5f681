/* fuzz_context.c: a whole context over a socketpair, the fuzzer playing the
 * server and choosing what the application does in between: commands of
 * every kind, disconnects, frees, and bytes from the server. At the end
 * every accepted callback must have been called exactly once. */
#define _GNU_SOURCE
#include <arc/arc.h>

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CMDS 64

typedef struct track {
    int calls[MAX_CMDS];
    int accepted[MAX_CMDS];
    int n;
    int pubsub_accepted; /* subscription and monitor callbacks: any count */
} track;

typedef struct slot {
    track *t;
    int i;
} slot;

static void once_cb(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    (void)r;
    (void)status;
    slot *s = (slot *)pd;
    s->t->calls[s->i]++;
}

static void many_cb(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    (void)status;
    (void)pd;
    /* Touch the reply the way a user would. */
    volatile size_t sum = 0;
    if (r != NULL)
        for (size_t i = 0; i < r->elements; i++)
            sum += r->element[i]->len;
    (void)sum;
}

/* `many`: the callback may be called any number of times (subscriptions,
 * MONITOR); every other one exactly once. */
static const struct {
    const char *cmd;
    int many;
} commands[] = {
    {"GET k", 0},        {"SET k v", 0},       {"PING", 0},          {"SUBSCRIBE a b", 1},
    {"PSUBSCRIBE p*", 1}, {"SSUBSCRIBE s", 1},  {"UNSUBSCRIBE", 0},   {"UNSUBSCRIBE a", 0},
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
    arc_options o;
    memset(&o, 0, sizeof o);
    o.resp = (data[0] & 1) ? 3 : 2;
    if (data[0] & 2)
        o.password = "pw";
    o.limits.max_bulk = 4096;
    o.limits.max_elements = 256;
    arc_context *c = arc_connect_fd(sv[0], &o);
    if (c == NULL) {
        close(sv[0]);
        close(sv[1]);
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
        case 4: { /* a command */
            /* The format splits on spaces, so the command is the format. */
            const char *cmd = commands[(op / 8) % NCOMMANDS].cmd;
            if (commands[(op / 8) % NCOMMANDS].many) {
                if (arc_command(c, many_cb, NULL, cmd) == ARC_OK)
                    t.pubsub_accepted++;
            } else if (t.n < MAX_CMDS) {
                slots[t.n] = (slot){&t, t.n};
                t.accepted[t.n] = arc_command(c, once_cb, &slots[t.n], cmd) == ARC_OK;
                t.n++;
            }
            break;
        }
        case 5:
            arc_disconnect(c);
            break;
        case 6:
            if (op / 8 == 31) {
                arc_free(c);
                freed = 1;
            }
            break;
        default:
            break;
        }
        if (!freed)
            pump(c);
        /* Drain what the client wrote, so its socket never fills. */
        char sink[4096];
        while (recv(sv[1], sink, sizeof sink, 0) > 0)
            ;
    }
    if (!freed)
        arc_free(c);
    close(sv[1]);
    for (int k = 0; k < t.n; k++) {
        if (t.accepted[k] && t.calls[k] != 1)
            __builtin_trap(); /* invariant 1: exactly once */
        if (!t.accepted[k] && t.calls[k] != 0)
            __builtin_trap(); /* a refused command never calls back */
    }
    return 0;
}
