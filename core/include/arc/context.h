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
} arc_state;

/* Called once per command with its reply (status ARC_OK, reply borrowed until
 * the callback returns), or with reply NULL and the reason the command got
 * none: the connection's failure status, or ARC_ERR_FREED after arc_free().
 *
 * A (P|S)SUBSCRIBE callback is called for each confirmation and message of
 * each of its names; the unsubscribe confirmation of a name is its last
 * call, and a name that ends without one gets a last call with NULL (status
 * ARC_OK after RESET or a clean disconnect, else the failure). A MONITOR
 * callback gets +OK, every line, then NULL. The callback given to an
 * unsubscribe command is called once, with its last confirmation. */
typedef void arc_reply_fn(arc_context *c, arc_reply *reply, int status, void *privdata);

/* Connect callback: once, with ARC_OK when the handshake is done, or with
 * the reason the connection failed before becoming ready. */
typedef void arc_connect_fn(arc_context *c, int status, void *data);

/* Disconnect callback: once, for a context that became ready: ARC_OK after a
 * clean disconnect (or QUIT), else the failure status (ARC_ERR_FREED after
 * arc_free()). */
typedef void arc_disconnect_fn(arc_context *c, int status, void *data);

/* Push callback: RESP3 pushes that are not pub/sub (e.g. client tracking
 * invalidations) and pub/sub messages for no known subscription. */
typedef void arc_push_fn(arc_context *c, arc_reply *reply, void *data);

/* State-change callback: after every change of state. */
typedef void arc_state_fn(arc_context *c, arc_state previous, arc_state now, void *data);

/* Address family preference for a host that resolves to both. */
enum arc_family {
    ARC_FAMILY_ANY = 0, /* in the resolver's order */
    ARC_FAMILY_IPV4,    /* only IPv4 */
    ARC_FAMILY_IPV6,    /* only IPv6 */
    ARC_FAMILY_PREFER_IPV4,
    ARC_FAMILY_PREFER_IPV6,
};

/* Options of arc_connect(). Zero (or NULL) fields mean the default; the
 * struct only ever grows by appending fields, so `arc_options o = {0};`
 * stays valid. Every string is copied: the caller keeps ownership. */
typedef struct arc_options {
    const char *host;            /* TCP host name or address */
    int port;                    /* TCP port (0: 6379) */
    const char *unix_path;       /* a unix socket path instead of host/port */
    int family;                  /* an arc_family */
    long connect_timeout_ms;     /* resolve + connect + handshake; 0: none */
    long command_timeout_ms;     /* oldest pending reply late by this: fail; 0: none */
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
} arc_options;

/* A command whose output would pass this is refused with ARC_ERR_LIMIT:
 * a server that stops reading cannot make the client buffer without bound. */
#define ARC_DEFAULT_MAX_OUTPUT (64u * 1024 * 1024)

/* Starts connecting (name resolution is blocking for now). Returns a
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
