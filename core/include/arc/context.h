/* arc/context.h: the asynchronous connection: options, commands, states. */
#ifndef ARC_CONTEXT_H
#define ARC_CONTEXT_H

#include <arc/alloc.h>
#include <stdarg.h>

#include <arc/base.h>
#include <arc/reader.h>
#include <arc/reply.h>
#include <arc/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct arc_context arc_context;

/* The connection's states (DESIGN "Connection states"). */
typedef enum arc_state {
    ARC_STATE_INIT = 0,      /* only ever seen as a previous state */
    ARC_STATE_CONNECTING,    /* resolving and connecting, address by address */
    ARC_STATE_HELD,          /* no free file descriptor: retrying on a timer */
    ARC_STATE_HANDSHAKE,     /* HELLO / AUTH / SELECT / CLIENT SETNAME in flight */
    ARC_STATE_READY,         /* commands flow */
    ARC_STATE_SUBSCRIBED,    /* at least one subscription (RESP2: restricted) */
    ARC_STATE_MONITORING,    /* MONITOR was accepted */
    ARC_STATE_DISCONNECTING, /* clean disconnect: draining pending replies */
    ARC_STATE_CLOSED,        /* ended cleanly; terminal */
    ARC_STATE_FAILED,        /* ended by an error, see arc_context_failure(); terminal */
    ARC_STATE_WAITING,       /* the link was lost: waiting out the backoff before the
                                next attempt (arc_options.reconnect) */
} arc_state;

/* Called once per command with its reply (status ARC_OK, reply borrowed until
 * the callback returns), or with reply NULL and the reason the command got
 * none:
 *   ARC_ERR_NOT_SENT    the connection ended before the command was written:
 *                       it did not run;
 *   ARC_ERR_UNANSWERED  it was written and the connection ended before its
 *                       reply: it may have run (arc_context_failure() says
 *                       why the connection ended);
 *   ARC_ERR_TIMEOUT     its own timeout (arc_command_options) passed; the
 *                       connection stays and the late reply is dropped;
 *   ARC_ERR_CANCELLED   arc_cancel() was called for it;
 *   ARC_ERR_FREED       arc_free() was called.
 *
 * Subscriptions: a (P|S)SUBSCRIBE callback is called for each confirmation
 * and each message of its names, and then exactly once with reply NULL
 * when the last of the names it added has ended: unsubscribed (status
 * ARC_OK), RESET or a clean disconnect (ARC_OK), the server refused the
 * command (after the error reply itself), its timeout or arc_cancel (the
 * command's status), or the connection ended (one of the statuses above).
 * That NULL call is the place to free privdata. Subscribing to a name that
 * is already subscribed with another callback or privdata is refused with
 * ARC_ERR_DUPLICATE; with the same pair it is sent and confirmed again.
 * A MONITOR callback gets +OK, every line, then NULL. The callback given to
 * an unsubscribe command is called once, with its last confirmation. */
typedef void arc_reply_fn(arc_context *c, arc_reply *reply, int status, void *privdata);

/* Connect callback: with ARC_OK each time a connection becomes ready (once,
 * without a reconnect policy), or once with the reason when the context
 * ends without ever having been ready. */
typedef void arc_connect_fn(arc_context *c, int status, void *data);

/* Disconnect callback: each time a ready connection ends (once, without a
 * reconnect policy): ARC_OK after a clean disconnect (or QUIT), else the
 * failure status (ARC_ERR_FREED after arc_free()). With a reconnect policy
 * it is also called when a ready link is lost and a new one is about to be
 * tried; the state then says WAITING. */
typedef void arc_disconnect_fn(arc_context *c, int status, void *data);

/* Push callback: RESP3 pushes that are not pub/sub (e.g. client tracking
 * invalidations) and pub/sub messages for no known subscription. */
typedef void arc_push_fn(arc_context *c, arc_reply *reply, void *data);

/* State-change callback: after every change of state. */
typedef void arc_state_fn(arc_context *c, arc_state previous, arc_state now, void *data);

/* One address tried while connecting, and what came of it: the
 * connection's story, readable through arc_context_attempt(). */
typedef struct arc_attempt {
    char address[112];  /* "127.0.0.1:6379", "[::1]:6379" or the unix path */
    int family;         /* AF_INET, AF_INET6 or AF_UNIX */
    bool done;          /* false while this attempt is in progress */
    int status;         /* ARC_OK (connected) or why it failed, once done */
    int sys_errno;      /* the errno of the failure, 0 when none */
    int64_t started_ms; /* arc_now_ms() clock */
    long duration_ms;   /* from start to outcome, once done */
} arc_attempt;

/* Address family preference for a host that resolves to both. */
enum arc_family {
    ARC_FAMILY_ANY = 0, /* in the resolver's order */
    ARC_FAMILY_IPV4,    /* only IPv4 */
    ARC_FAMILY_IPV6,    /* only IPv6 */
    ARC_FAMILY_PREFER_IPV4,
    ARC_FAMILY_PREFER_IPV6,
};

/* A reconnect policy (arc_options.reconnect): a lost link waits, backing off,
 * and the same context connects again, replaying its handshake, its
 * subscriptions and MONITOR; commands never written wait and go out on the
 * new link. Zero fields mean the default. */
typedef struct arc_reconnect {
    long initial_delay_ms;   /* the first wait's ceiling; 0: 100 */
    long max_delay_ms;       /* the ceiling doubles up to this; 0: 5000. Each
                                wait is drawn uniformly below the ceiling
                                (full jitter) */
    unsigned max_attempts;   /* attempts in a row without a ready link before
                                the context fails; 0: for ever */
    /* Optional: decides per failure. `proposed` is the backoff's delay, or
     * -1 when the policy would not retry this failure (a refused handshake,
     * a protocol error, a TLS failure, out of memory). Returns the delay in
     * ms, or -1 to stop (the context then fails with that status). */
    long (*decide)(arc_context *c, int failure, unsigned attempt, long proposed, void *data);
    size_t max_offline_commands; /* commands accepted while down; 0: 100000 */
    bool fail_fast;          /* refuse commands while down (ARC_ERR_OFFLINE) */
    size_t max_offline_bytes; /* while down, a command is refused
                                (ARC_ERR_OFFLINE) once this many bytes of
                                commands wait; 0: 16 MiB */
    bool readonly_reconnects; /* a -READONLY error (a master demoted to a
                                replica by a failover) is passed to its
                                command and then ends the link with
                                ARC_ERR_READONLY, which is tried again */
} arc_reconnect;

/* Client-side caching (arc_options.tracking): CLIENT TRACKING ON with these
 * arguments is part of the handshake, so every new link has it again.
 * Invalidations arrive as pushes (on_push); RESP3 only (resp = 3: a RESP2
 * connection would need a second one to redirect to). */
enum arc_tracking_mode {
    ARC_TRACKING_DEFAULT = 0, /* every key read is tracked */
    ARC_TRACKING_OPTIN,       /* only after CLIENT CACHING yes */
    ARC_TRACKING_OPTOUT,      /* all but after CLIENT CACHING no */
};
typedef struct arc_tracking {
    bool bcast;                   /* BCAST: every key under the prefixes */
    const char *const *prefixes;  /* PREFIX each (BCAST); copied */
    size_t nprefixes;
    int mode;                     /* an arc_tracking_mode */
    bool noloop;                  /* NOLOOP: not for this client's own writes */
    /* Called when a new link is ready after a lost one: invalidations sent
     * while it was down are lost, so the whole cache must go. Gets the
     * options' data. NULL: not told. */
    void (*flush)(arc_context *c, void *data);
} arc_tracking;

/* Redis Sentinel as the address source (arc_options.sentinel): each link
 * first asks a sentinel, in turn, for the master's address (SENTINEL
 * GET-MASTER-ADDR-BY-NAME), then connects there and checks with ROLE that
 * it is a master. host and port of arc_options are not used. With a
 * reconnect policy every new link asks again, and -READONLY (a demoted
 * master) ends the link, so that a failover moves the context to the new
 * master. Every string is copied. */
typedef struct arc_sentinel_addr {
    const char *host;          /* a sentinel's host name or address */
    int port;                  /* 0: 26379 */
} arc_sentinel_addr;
typedef struct arc_sentinel {
    const char *master_name;   /* the name the sentinels monitor */
    const arc_sentinel_addr *addrs; /* the sentinels, tried in turn */
    size_t naddrs;
    const char *username;      /* AUTH to the sentinels (not the master's
                                  username/password); NULL: "default" */
    const char *password;      /* NULL: no AUTH to the sentinels */
} arc_sentinel;

/* Options of arc_connect(). Zero (or NULL) fields mean the default; the
 * struct only ever grows by appending fields, so `arc_options o = {0};`
 * stays valid. Every string is copied: the caller keeps ownership. */
typedef struct arc_options {
    const char *host;            /* TCP host name or address */
    int port;                    /* TCP port (0: 6379) */
    const char *unix_path;       /* a unix socket path instead of host/port */
    int family;                  /* an arc_family */
    long connect_timeout_ms;     /* resolve + connect + handshake; 0: none.
                                    Several addresses share it: each gets
                                    the time left divided by the addresses
                                    left, so a silent one cannot use it up */
    long command_timeout_ms;     /* liveness: no reply at all for this long
                                    while replies are due means the link is
                                    dead and the context fails; 0: none.
                                    A blocking command (BLPOP, XREAD BLOCK,
                                    WAIT, ...) at the head gets its own
                                    server-side timeout on top; bytes of a
                                    reply still arriving count as progress */
    int keepalive_s;             /* TCP keepalive idle seconds; 0: off */
    int resp;                    /* 2 or 3 (3 sends HELLO 3); 0: 2 */
    const char *username;        /* AUTH / HELLO AUTH user; NULL: "default" */
    const char *password;        /* NULL: no AUTH */
    int db;                      /* SELECT db when > 0 */
    const char *client_name;     /* CLIENT SETNAME (or HELLO SETNAME) */
    arc_reader_limits limits;    /* reader limits; zero fields: defaults */
    size_t max_output;           /* bytes of encoded commands waiting to be
                                    written; 0: ARC_DEFAULT_MAX_OUTPUT */
    const arc_allocator *allocator; /* NULL: the default; must outlive the context */

    arc_connect_fn *on_connect;
    arc_disconnect_fn *on_disconnect;
    arc_push_fn *on_push;
    arc_state_fn *on_state;
    void *data;                  /* passed to the four callbacks above */
    void (*data_free)(void *data); /* called on data when the context is freed */
    const struct arc_transport_kind *transport; /* NULL: plain sockets; TLS:
                                    arc_tls_transport() of <arc/tls.h>; the
                                    kind must outlive the context */
    const arc_reconnect *reconnect; /* NULL: a lost link ends the context;
                                    copied at creation */
    long health_check_ms;        /* a PING after this long without a byte
                                    from the server, so that a dead peer or
                                    a blackhole is found (TCP keepalive takes
                                    minutes); not while MONITOR or a blocking
                                    command runs; 0: off */
    long health_timeout_ms;      /* no byte within this long of that PING
                                    fails the link (ARC_ERR_TIMEOUT, tried
                                    again under a reconnect policy); 0: the
                                    same as health_check_ms */
    int keepalive_interval_s;    /* TCP_KEEPINTVL with keepalive_s; 0: 1/3
                                    of keepalive_s (at least 1) */
    int keepalive_count;         /* TCP_KEEPCNT with keepalive_s; 0: 3 */
    long tcp_user_timeout_ms;    /* TCP_USER_TIMEOUT: data sent and not
                                    acknowledged this long fails the link;
                                    0: the system's (minutes) */
    const arc_tracking *tracking; /* NULL: no client-side caching; copied */
    const arc_sentinel *sentinel; /* NULL: host/port or unix_path; copied */
} arc_options;

/* A command whose output would pass this is refused with ARC_ERR_LIMIT:
 * a server that stops reading cannot make the client buffer without bound. */
#define ARC_DEFAULT_MAX_OUTPUT (64u * 1024 * 1024)

/* Starts connecting: returns at once, and the connection is made from the
 * event loop (a host name is resolved off the loop, on a thread of its
 * own; IP addresses need no lookup). Returns a
 * context, or NULL when `opt` is NULL or memory ran out. Every other failure
 * (bad options included) is reported later, from the event loop, through
 * the state machine and on_connect, so that a caller has one path for
 * errors. Attach an event loop next.
 *
 * Ownership: the caller owns the context and always ends it with
 * arc_free(). A context that closed (CLOSED) or failed (FAILED) keeps its
 * state, reason and message readable until then. */
ARC_API arc_context *arc_connect(const arc_options *opt);

/* Adopts an already connected socket (it becomes the context's; it is made
 * non-blocking and closed with the context). Host, port and unix_path in
 * `opt` are ignored; the handshake options apply. NULL as arc_connect(),
 * and when fd < 0. */
ARC_API arc_context *arc_connect_fd(int fd, const arc_options *opt);

/* Queues a command; its callback will be called exactly once (see
 * arc_reply_fn). `fn` may be NULL to ignore the reply. A call that returns
 * an error never calls the callback:
 *   ARC_ERR_INVALID (bad format or arguments), ARC_ERR_NOMEM, ARC_ERR_LIMIT
 *   (max_output), ARC_ERR_DISCONNECTING, ARC_ERR_CLOSED, ARC_ERR_SUBSCRIBED
 *   (RESP2 subscribed mode allows only (P|S)(UN)SUBSCRIBE, PING, RESET,
 *   QUIT), ARC_ERR_MONITORING (only RESET and QUIT).
 * (P|S)SUBSCRIBE registers `fn` for each of its channels or patterns. */
/* No printf format attribute: see arc_format(). */
ARC_API int arc_command(arc_context *c, arc_reply_fn *fn, void *privdata, const char *fmt, ...);
ARC_API int arc_vcommand(arc_context *c, arc_reply_fn *fn, void *privdata, const char *fmt,
                         va_list ap);
ARC_API int arc_command_argv(arc_context *c, arc_reply_fn *fn, void *privdata, int argc,
                             const char *const *argv, const size_t *argvlen);
/* `cmd` must hold exactly one complete RESP command (see arc_format_check). */
ARC_API int arc_command_formatted(arc_context *c, arc_reply_fn *fn, void *privdata,
                                  const char *cmd, size_t len);

/* Options of one command (the *_with calls). Zero fields mean the
 * default; the struct only grows by appending fields. */
typedef struct arc_command_options {
    long timeout_ms;          /* > 0: the command's own deadline. When it
                                 passes, its callback gets NULL with
                                 ARC_ERR_TIMEOUT, the connection stays, and
                                 the reply is dropped when it comes. A
                                 command that changes the session's mode
                                 (the subscribe family, MONITOR, RESET,
                                 QUIT) still has its effect then. 0: none */
    uint64_t *id;             /* where to store the command's id, for
                                 arc_cancel(); NULL: not needed */
    bool retry;               /* written and unanswered when the link is
                                 lost (reconnect policy): sent again on the
                                 next link instead of ARC_ERR_UNANSWERED.
                                 Only for commands that may run twice */
} arc_command_options;

/* As arc_command() and friends, with per-command options (NULL: none). */
ARC_API int arc_command_with(arc_context *c, const arc_command_options *o, arc_reply_fn *fn,
                             void *privdata, const char *fmt, ...);
ARC_API int arc_vcommand_with(arc_context *c, const arc_command_options *o, arc_reply_fn *fn,
                              void *privdata, const char *fmt, va_list ap);
ARC_API int arc_command_argv_with(arc_context *c, const arc_command_options *o,
                                  arc_reply_fn *fn, void *privdata, int argc,
                                  const char *const *argv, const size_t *argvlen);
ARC_API int arc_command_formatted_with(arc_context *c, const arc_command_options *o,
                                       arc_reply_fn *fn, void *privdata, const char *cmd,
                                       size_t len);

/* Cancels a queued command by the id its *_with call stored: its callback
 * is called now, once, with NULL and ARC_ERR_CANCELLED, and its reply is
 * dropped when it comes (the command may still run: it may already be on
 * its way). ARC_OK, or ARC_ERR_INVALID when no pending command has that id
 * (answered, timed out, cancelled before, or never issued). */
ARC_API int arc_cancel(arc_context *c, uint64_t id);

/* Changes the timeouts of a live context: the connect timeout applies to
 * the connection attempt under way (counted from its start) and the
 * command timeout to replies still due (counted from this call when there
 * was none before, else as it was). Negative values are refused with
 * ARC_ERR_INVALID; 0 means none. ARC_ERR_CLOSED once the context ended. */
ARC_API int arc_set_timeouts(arc_context *c, long connect_timeout_ms, long command_timeout_ms);

/* Clean disconnect: new commands are refused (ARC_ERR_DISCONNECTING); the
 * pending ones get their replies; then the socket closes, the state becomes
 * CLOSED and on_disconnect is called with ARC_OK. Before READY the
 * connection attempt goes on: the queued commands are sent and answered
 * once it is up, then it closes (a failure ends it as usual). The context
 * stays until arc_free(). Safe inside callbacks. */
ARC_API void arc_disconnect(arc_context *c);

/* Ends the context now: pending callbacks are called with NULL and
 * ARC_ERR_FREED, on_connect (if not yet called) or on_disconnect (if it was
 * ready and not yet called) with ARC_ERR_FREED, the adapter's cleanup hook
 * runs, data_free is called on the options' data, then everything is freed.
 * Inside a callback, the teardown happens when the outermost callback
 * returns; the context must not be used after the call. NULL is ignored. */
ARC_API void arc_free(arc_context *c);

/* ---- observing the context; all take a context that is not yet freed ---- */
ARC_API arc_state arc_context_state(const arc_context *c);
ARC_API arc_state arc_context_previous_state(const arc_context *c);
/* Monotonic time of the last state change, in ms (CLOCK_MONOTONIC). */
ARC_API int64_t arc_context_state_since_ms(const arc_context *c);
/* The clock arc uses: CLOCK_MONOTONIC in ms. Adapters take their timer
 * deadlines from it, and "how long in this state" is
 * arc_now_ms() - arc_context_state_since_ms(c). */
ARC_API int64_t arc_now_ms(void);
/* The failure status (ARC_OK while none), its message ("" while none; valid
 * until the context is freed) and the errno of the failing system call. */
ARC_API int arc_context_failure(const arc_context *c);
ARC_API const char *arc_context_error(const arc_context *c);
ARC_API int arc_context_errno(const arc_context *c);
ARC_API const char *arc_state_name(arc_state s);
/* The addresses tried by the connection attempt under way (or the last
 * one), in order: how many, and the i-th (NULL when i is out of range). A
 * returned pointer stays valid until the next attempt starts or the
 * context is freed. */
ARC_API size_t arc_context_attempts(const arc_context *c);
ARC_API const arc_attempt *arc_context_attempt(const arc_context *c, size_t i);
/* The reconnect attempt under way or waited for (1 for the first after a
 * loss; 0 while connected or without a policy), and when the next attempt
 * starts (arc_now_ms() clock; -1 when none is waited for). */
ARC_API unsigned arc_context_reconnects(const arc_context *c);
ARC_API int64_t arc_context_next_attempt_ms(const arc_context *c);
/* Commands sent or queued whose replies have not yet come. */
ARC_API size_t arc_context_pending(const arc_context *c);
/* The RESP version in use: 2 or 3. */
ARC_API int arc_context_resp(const arc_context *c);
/* The options' data pointer. */
ARC_API void *arc_context_data(const arc_context *c);
/* The allocator the context (and its adapter) use; valid while it lives. */
ARC_API const arc_allocator *arc_context_allocator(const arc_context *c);

#ifdef __cplusplus
}
#endif

#endif
