/* async.h (internal): the session (what arc_context is to the user) and the
 * link it holds, shared by the files that make up the asynchronous client:
 * async.c (the session's life and state), link.c (one connection attempt),
 * connect.c (its addresses, one by one), io.c (the loop's calls),
 * command.c (issuing), dispatch.c (replies). */
#ifndef ARC_CORE_ASYNC_H
#define ARC_CORE_ASYNC_H

#include <arc/context.h>
#include <arc/events.h>

#include "buffer.h"
#include "deadlines.h"
#include "net.h"
#include "pubsub.h"
#include "queue.h"
#include "reader.h"
#include "resolve.h"
#include "transport.h"

#include <stdint.h>
#include <string.h>

/* The steps of a link (DESIGN "Session, link, transport"). The session's
 * arc_state is derived from the step and the session's own phase and mode
 * (see derive_state in async.c); nothing else says where a link is. */
typedef enum arc_link_step {
    ARC_LINK_IDLE,       /* not started yet: the loop starts it (timer 0) */
    ARC_LINK_RESOLVING,  /* a lookup runs; fd is its completion descriptor */
    ARC_LINK_HELD,       /* no free descriptor: retry when `retry_at` comes */
    ARC_LINK_CONNECTING, /* a non-blocking connect on fd; fd < 0 while a full
                            unix accept queue is waited out until retry_at */
    ARC_LINK_SECURING,   /* the transport's own handshake (none for TCP) */
    ARC_LINK_HANDSHAKE,  /* HELLO / AUTH / SELECT / SETNAME in flight */
    ARC_LINK_UP,         /* commands flow */
    ARC_LINK_DOWN,       /* ended; `down_status` says why */
} arc_link_step;

typedef struct arc_retry arc_retry; /* retry.c */

/* Sentinel as the address source (sentinel.c); `on` once configured. */
typedef struct arc_sentinel_state {
    bool on;
    char *master_name;
    char *username;
    char *password;
    char **hosts;        /* the sentinels, copied */
    int *ports;
    size_t n;
    size_t at;           /* the sentinel asked next */
    size_t tried;        /* sentinels asked in this attempt */
    bool have_master;    /* master_host/port came from a sentinel for this attempt */
    bool redirect;       /* DOWN only to start again at once (the next sentinel,
                            or the master it named) */
    char master_host[64];
    int master_port;
    arc_context *watch;  /* a connection of our own to a sentinel, subscribed
                            to +switch-master (when the loop can attach it);
                            ours to free, also once it ended */
    struct watch_box *watch_box; /* its callback's view of us, while it runs */
} arc_sentinel_state;

typedef struct arc_link {
    arc_link_step step;
    const char *host;         /* where this link goes: the options' host, a
                                 sentinel, or the master a sentinel named */
    int port;
    bool asking;              /* this link asks a sentinel for the master */
    int fd;                   /* the descriptor the loop watches, or -1 */
    arc_transport tr;         /* valid from CONNECTING on */
    arc_reader *reader;
    arc_resolve_job *lookup;  /* while RESOLVING */

    /* Addresses, tried in order; each try is recorded in `attempts`. */
    arc_addr *addrs;
    size_t naddrs;
    size_t next_addr;
    arc_attempt *attempts;    /* one per address, filled as they are tried */
    size_t nattempts;

    int64_t deadline;         /* the whole connect (resolve to handshake); -1 */
    int64_t attempt_deadline; /* this address's share; -1 */
    int64_t retry_at;         /* HELD, or a full unix accept queue; -1 */
    int64_t secure_deadline;  /* SECURING: the transport's handshake limit; -1 */
    int64_t busy_since;       /* first "accept queue full" of this address; -1 */
    int64_t read_ms;          /* when the last read that brought bytes came */
    int64_t last_progress_ms; /* the last read that moved a reply on */
    int64_t health_sent_ms;   /* the health check's PING went out; -1: none */

    /* The RESP handshake of this link: its bytes go out before any
     * command, its replies are the first to come back. */
    arc_buffer hello;
    uint32_t hello_left;      /* handshake replies still due */

    /* What this link replays (a reconnect): subscriptions marked with
     * replay_serial, and how many of their confirmations are still due.
     * They come before any queued command's reply. */
    uint32_t replay_serial;
    size_t replay_due;

    int secure_want;          /* SECURING: what the transport waits for */
    bool read_wants_write;    /* a read needs writability first (TLS) */
    int write_errno;          /* a send failed: only reading goes on */
} arc_link;

/* What the session is doing, beside its link (see derive_state). */
typedef enum arc_phase {
    ARC_PHASE_OPEN,     /* commands are accepted */
    ARC_PHASE_DRAINING, /* arc_disconnect or QUIT: answer what is queued, close */
    ARC_PHASE_CLOSED,   /* ended cleanly */
    ARC_PHASE_FAILED,   /* ended by a failure */
} arc_phase;

struct arc_context {
    arc_allocator alloc;

    /* Options, copied at creation; user option values never share a field
     * with the internal state below. */
    char *host;
    char *unix_path;
    char *username;
    char *password;
    char *client_name;
    int port;
    int family;
    arc_net_tuning tuning;
    long health_check_ms;
    long health_timeout_ms;
    int resp_wanted;
    int db;
    long connect_timeout_ms;
    long command_timeout_ms;
    arc_reader_limits limits;
    bool tracking_on;     /* client-side caching: `tracking`, its prefixes copied */
    arc_tracking tracking;
    char **tracking_prefixes;
    arc_connect_fn *on_connect;
    arc_disconnect_fn *on_disconnect;
    arc_push_fn *on_push;
    arc_state_fn *on_state;
    void *data;
    void (*data_free)(void *data);
    int adopted_fd;      /* arc_connect_fd's socket until the link takes it; -1 */
    arc_resolver resolver; /* the seam in force at creation */
    const arc_transport_kind *transport; /* NULL: plain sockets */
    void *transport_session; /* the kind's state kept across links */
    const arc_transport_ops *adopted_ops; /* tests: a scripted transport */
    void *adopted_impl;
    int (*adopted_reopen)(void *impl); /* tests: the next link's descriptor */

    /* The observable state: derived, announced by arc__update_state only. */
    arc_state state;
    arc_state previous;
    int64_t since_ms;
    arc_phase phase;
    int failure;         /* arc_status of the failure, ARC_OK while none */
    int sys_errno;
    char error[256];
    bool ever_ready;     /* on_connect(ARC_OK) was called at least once */

    /* The reconnect policy (rc.initial_delay_ms > 0 once set up), and where
     * it stands: attempts since the last ready link, the backoff's end. */
    bool reconnecting_on;
    arc_reconnect rc;
    unsigned rc_attempt;
    int64_t rc_at;       /* -1: not waiting */
    uint64_t rc_rng;

    arc_sentinel_state snt;
    arc_link link;

    /* Commands: their bytes, and one queue entry each. Positions in the
     * output stream are absolute: out_sent bytes have left for the server
     * so far, an entry's `end` says where its command's bytes stop. */
    int resp;            /* the protocol in use: 2 until HELLO 3 succeeds */
    arc_buffer out;
    uint64_t out_sent;
    uint64_t last_end;   /* where the last popped entry's bytes ended */
    arc_queue queue;
    arc_deadlines deadlines; /* per-command deadlines, earliest first */
    size_t tombstones;   /* entries whose callback already ran */
    size_t handshake_left; /* HANDSHAKE entries queued behind a RESET */
    size_t sub_inflight; /* SUB entries in the queue */
    bool monitor_inflight;
    size_t blocking_inflight; /* BLOCKING entries in the queue */
    size_t gone;         /* GONE entries in the queue */
    arc_retry *retry_head; /* copies of RETRY entries, oldest first */
    arc_retry *retry_tail;
    uint32_t serial;     /* numbers subscribe commands, see arc_sub.serial */
    arc_pubsub subs;
    arc_reply_fn *monitor_fn;
    void *monitor_privdata;
    int64_t ready_ms;
    int64_t due_since_ms; /* when the queue last went from empty to not */
    int64_t idle_since_ms; /* when the queue last emptied; -1: busy or trimmed */

    /* The event loop, and what it was last told. Attached while
     * hooks.cleanup is set. */
    arc_event_hooks hooks;
    int told_fd;
    bool told_read;
    bool told_write;
    int64_t told_deadline; /* -1: no timer armed */

    /* Callbacks on the stack; teardown waits until it is back to 0. */
    unsigned depth;
    bool free_requested;

    /* Set only on a ticker (ticker.c): a context with no link at all, whose
     * one deadline is a timer of a group's or a cluster's. */
    struct arc_ticker *ticker;
};

/* How long a link HELD for want of a descriptor waits before it tries
 * again (for its lookup's pipe or for a socket). */
#define ARC_HOLD_RETRY_MS 50

/* ---- command.c ---- */
/* arc_command_formatted_with() for bytes libarc made or checked itself:
 * exactly one well-formed command, not parsed again. */
int arc__command_trusted(arc_context *c, const arc_command_options *o, arc_reply_fn *fn,
                         void *privdata, const char *cmd, size_t len);

/* ---- backoff.c ---- */
/* A wait drawn uniformly in [0, ceiling] (full jitter), the ceiling being
 * `initial` doubled per attempt after the first, up to `max`; `rng` is the
 * caller's xorshift state (never 0). */
long arc__backoff(uint64_t *rng, long initial, long max, unsigned attempt);

/* ---- ticker.c ---- */
/* A timer the loop drives for a group or a cluster, which have no loop
 * hooks of their own: a context that never connects, attached like any
 * other (through the same arc_attach_fn), whose timer calls `fire` once
 * `at` has passed. NULL when out of memory. Freed with arc_free(); `fire`
 * may re-arm it, or free it. */
arc_context *arc__ticker_new(const arc_allocator *alloc, void (*fire)(void *data), void *data);
/* Arms the ticker for `at_ms` (arc__now_ms() clock), replacing the time
 * armed before; -1 disarms. An earlier time than the one armed is told to
 * the loop at once. */
void arc__ticker_at(arc_context *c, int64_t at_ms);
int64_t arc__ticker_deadline(const arc_context *c);
/* Called by arc_handle_timeout for a ticker. */
void arc__ticker_due(arc_context *c, int64_t now);

/* ---- async.c ---- */
/* For tests: a context over a transport of the caller's (a script of bytes
 * in and bytes out) on descriptor `fd`, which only the loop watches; the
 * link takes the transport as connected and goes straight to its
 * handshake. The transport's close() is called when the link goes down;
 * `fd` is closed with it. NULL as arc_connect_fd(). */
arc_context *arc__connect_transport(const arc_options *opt, const arc_transport_ops *ops,
                                    void *impl, int fd);
/* For tests: lets a context made by arc__connect_transport reconnect. Each
 * link after the first asks reopen(impl) for its descriptor (the script
 * starts over on it); -1 fails that attempt with ARC_ERR_REFUSED. */
void arc__transport_reopen(arc_context *c, int (*reopen)(void *impl));
int64_t arc__now_ms(void);
/* For tests: replaces the monotonic clock (NULL restores it). */
void arc__clock_set(int64_t (*now)(void));
/* Derives the state from the link's step and the session's phase and mode,
 * and announces a change (the one place the state changes). */
void arc__update_state(arc_context *c);
/* Ends the session with `status` (ARC_OK: clean): the link goes down,
 * every pending callback is called once. No-op when already ended. */
void arc__terminate(arc_context *c, int status);
/* Records a failure (message formatted); then the link is lost and tried
 * again (a reconnect policy that retries this failure), or the session
 * terminates. */
void arc__fail(arc_context *c, int status, int sys_errno, const char *fmt, ...)
    ARC_PRINTF(4, 5);
void arc__enter(arc_context *c);
/* Leaves an entry point; frees the context when it was the outermost one
 * and arc_free() was asked for. Returns false when the context is gone. */
bool arc__leave(arc_context *c);
/* Inline: asked around every callback and every reply. */
static inline bool arc__ended(const arc_context *c)
{
    return c->phase == ARC_PHASE_CLOSED || c->phase == ARC_PHASE_FAILED;
}
/* Neither ended nor being freed: callbacks may still run. */
static inline bool arc__alive(const arc_context *c)
{
    return !c->free_requested && !arc__ended(c);
}
/* Runs a reply callback (none: nothing) one level deeper, so that what it
 * calls knows a callback is running; inline, as every reply comes here. */
static inline void arc__call_reply(arc_context *c, arc_reply_fn *fn, arc_reply *r, int status,
                                   void *pd)
{
    if (fn == NULL)
        return;
    c->depth++;
    fn(c, r, status, pd);
    c->depth--;
}
/* The link is up: READY (on_connect once), or DISCONNECTING. */
void arc__link_up(arc_context *c);
/* A clean disconnect completes once nothing is left to answer. */
void arc__maybe_close(arc_context *c);
/* Commands waiting for a reply, tombstones and handshake entries aside. */
size_t arc__live_entries(const arc_context *c);

/* Whether an error reply starts with this code ("LOADING", "READONLY"). */
static inline bool arc__error_code_is(const arc_reply *r, const char *code)
{
    size_t n = strlen(code);
    return r->type == ARC_REPLY_ERROR && r->len >= n && memcmp(r->str, code, n) == 0 &&
           (r->len == n || r->str[n] == ' ');
}

/* ---- link.c ---- */
void arc__link_init(arc_context *c);
/* A new attempt after a lost link: the old one's memory goes, the
 * subscriptions and MONITOR are replayed after the handshake. */
void arc__link_renew(arc_context *c);
/* Starts (or goes on with) the link from the IDLE step. */
void arc__link_start(arc_context *c);
/* The link's own next deadline (connect, attempt share, retry), -1: none. */
int64_t arc__link_deadline(const arc_context *c);
/* Its timer: whatever of its deadlines passed is acted on. */
void arc__link_timeout(arc_context *c, int64_t now);
/* Readiness while not UP: the lookup finished, a connect completed, the
 * transport's handshake moved. */
void arc__link_progress(arc_context *c);
/* One reply for the link's handshake; false when it is not the link's. */
bool arc__link_hello_reply(arc_context *c, arc_reply *reply);
/* Closes the descriptor and the transport, abandons a lookup; the link
 * is DOWN. The loop is told first (DESIGN rule 3). */
void arc__link_down(arc_context *c);
/* Frees what the link holds (the context is going away). */
void arc__link_release(arc_context *c);
void arc__link_set_step(arc_context *c, arc_link_step s);
/* Where the link goes, for messages: the unix path, [sentinel ]host:port,
 * or the adopted socket; into `buf`, which it returns. */
const char *arc__link_where(const arc_context *c, char *buf, size_t n);
/* The link's descriptor leaves the loop, then a socket is closed (with its
 * transport); a lookup's descriptor stays its job's. fd is -1 after. */
void arc__link_drop_fd(arc_context *c);
/* A connect completed on link.fd: a transport takes the socket and the
 * link goes on to SECURING (connect.c calls it). */
void arc__link_connected(arc_context *c);

/* ---- connect.c ---- */
/* The addresses of the link's target are known (`addrs`, n of them, now
 * the link's to free): they are tried in order. */
void arc__connect_addresses(arc_context *c, arc_addr *addrs, size_t n);
/* The pending connect on link.fd finished: the link goes on with it, or
 * with the next address; the session fails when none is left. */
void arc__connect_done(arc_context *c);
/* Records how the current address's attempt ended (once per attempt). */
void arc__connect_attempt_end(arc_context *c, int status, int err);
/* The link's timer, for connect.c's deadlines: the HELD or busy retry,
 * and the current address's share of the connect timeout. */
void arc__connect_timeout(arc_context *c, int64_t now);

/* ---- command.c ---- */
/* Encodes the handshake (HELLO / AUTH / SELECT / CLIENT SETNAME) into
 * `out`; *count is how many replies it asks for (0: none needed).
 * ARC_ERR_NOMEM or ARC_ERR_LIMIT, with `out` as it was. */
int arc__encode_handshake(const arc_context *c, arc_buffer *out, uint32_t *count);
/* The handshake again behind a RESET, as queue entries of kind HANDSHAKE. */
int arc__queue_handshake(arc_context *c);
/* Per-command deadlines that passed: each entry's callback gets
 * ARC_ERR_TIMEOUT and the entry stays as a tombstone. */
void arc__expire_commands(arc_context *c, int64_t now);
/* The earliest per-command deadline, -1: none. */
int64_t arc__commands_deadline(arc_context *c);
/* The connection-wide command timeout's deadline, -1: none. */
int64_t arc__liveness_deadline(const arc_context *c);

/* A PING whose reply nobody waits for (a tombstone from the start), for
 * the health check: ARC_ERR_NOMEM or ARC_ERR_LIMIT, and nothing queued. */
int arc__queue_unanswered_ping(arc_context *c);

/* ---- health.c ---- */
/* When the health check acts next (a PING, or failing the link); -1. */
int64_t arc__health_deadline(const arc_context *c);
void arc__health_check(arc_context *c, int64_t now);

/* ---- reconnect.c ---- */
void arc__reconnect_setup(arc_context *c, const arc_reconnect *r);
/* How long to wait before trying again after `status`, or -1: end. */
long arc__reconnect_delay(arc_context *c, int status);
/* The link is lost and another follows in `delay` ms (state WAITING). */
void arc__reconnect_after(arc_context *c, int status, long delay);
/* The backoff's timer: starts the next attempt when it is due. */
void arc__reconnect_due(arc_context *c, int64_t now);
/* What a new link says after its handshake, into `out`: every
 * subscription (marked unconfirmed again) and MONITOR if it was on. */
int arc__reconnect_encode_replay(arc_context *c, arc_buffer *out);
/* ARC_ERR_OFFLINE when a command may not wait for the next link; inline,
 * as every command asks and nearly always the link is up. */
int arc__reconnect_refusal_offline(const arc_context *c);
static inline int arc__reconnect_refusal(const arc_context *c)
{
    if (!c->reconnecting_on || c->rc_attempt == 0 || c->link.step == ARC_LINK_UP)
        return ARC_OK;
    return arc__reconnect_refusal_offline(c);
}

/* ---- sentinel.c ---- */
int arc__sentinel_setup(arc_context *c, const arc_sentinel *o); /* ARC_ERR_NOMEM */
void arc__sentinel_release(arc_context *c);
/* Why the sentinel options cannot work, or NULL. */
const char *arc__sentinel_bad_options(const arc_context *c);
/* Sets where the starting link goes (link.host/port, link.asking). */
void arc__sentinel_target(arc_context *c);
/* An asking link's whole conversation: [AUTH], SENTINEL GET-MASTER-ADDR-BY-NAME. */
int arc__sentinel_encode(const arc_context *c, arc_buffer *out, uint32_t *count);
/* ROLE at the end of a master link's handshake (sentinel on). */
int arc__sentinel_encode_role(const arc_context *c, arc_buffer *out, uint32_t *count);
/* One reply to an asking link (hello_left already counted down). */
void arc__sentinel_reply(arc_context *c, arc_reply *reply);
/* ROLE said master; else the link fails (ARC_ERR_READONLY) and false. */
bool arc__sentinel_role_ok(arc_context *c, const arc_reply *r);
/* An asking link failed: true when the next sentinel is tried instead
 * (the link is DOWN with redirect set); false when all were, with the
 * failure rewritten as ARC_ERR_NOADDR. */
bool arc__sentinel_next(arc_context *c);
/* The link was lost: the next one asks the sentinels again. */
void arc__sentinel_lost(arc_context *c);
/* A master link is up: make sure a sentinel's switch announcements reach
 * us (a watcher connection, when the loop offers attach_other). */
void arc__sentinel_watch(arc_context *c);
/* The watcher goes (the context ends). */
void arc__sentinel_unwatch(arc_context *c);

/* ---- retry.c ---- */
/* Keeps a copy of the bytes of the entry `id` (the newest): ARC_ERR_NOMEM. */
int arc__retry_keep(arc_context *c, uint64_t id, const char *bytes, size_t len);
/* The oldest copy goes (its entry was popped). */
void arc__retry_drop_oldest(arc_context *c);
void arc__retry_release(arc_context *c);
/* The copies of live entries the lost link wrote, in order, into `out`. */
int arc__retry_encode(arc_context *c, arc_buffer *out);

/* ---- dispatch.c ---- */
/* Pops the head, keeping the counts that describe the queue right. */
void arc__queue_take(arc_context *c, arc_entry *e);
/* Routes one reply: push or pub/sub frame, monitor line, or the callback at
 * the head of the queue. */
void arc__dispatch(arc_context *c, arc_reply *reply);
/* Calls every subscription owner and the monitor callback once with NULL. */
void arc__end_subscriptions(arc_context *c, int status);
/* Pops every entry, calling each live callback once with `status_for`'s
 * answer (the entry written or not). */
void arc__fail_entries(arc_context *c, int freed_status);

/* ---- io.c ---- */
/* Tells the loop about fd, interest and timer changes (only changes). */
void arc__sync_loop(arc_context *c);
/* Output past this is sent from arc_command itself (see arc__write_through). */
#define ARC__WRITE_THROUGH (64u * 1024)
void arc__write_through(arc_context *c);
int64_t arc__deadline(arc_context *c);
/* The transport's handshake moved or completed: go on (link.c calls it). */
bool arc__loop_attached(const arc_context *c);

#endif
