/* arc/transport.h: how a transport library (arc-tls, say) plugs into a
 * context. Applications do not need this header: they pass the kind a
 * transport library gives them in arc_options.transport. */
#ifndef ARC_TRANSPORT_H
#define ARC_TRANSPORT_H

#include <arc/alloc.h>
#include <arc/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The outcome of a transport call. */
enum arc_io {
    ARC_IO_OK,         /* done (read / write: *n bytes moved, n > 0) */
    ARC_IO_WANT_READ,  /* nothing now: call again once readable */
    ARC_IO_WANT_WRITE, /* nothing now: call again once writable */
    ARC_IO_EOF,        /* read: the peer closed cleanly */
    ARC_IO_ERROR,      /* failed for good: see status, err and why */
};

typedef struct arc_transport arc_transport;

/* What a link reads and writes through, once its socket is connected. The
 * link owns the descriptor: a transport uses it and never closes it. */
typedef struct arc_transport_ops {
    const char *name; /* "plain", "TLS": used in messages */
    /* Advances the transport's own handshake (none for plain sockets). */
    int (*handshake)(arc_transport *t);
    int (*read)(arc_transport *t, char *buf, size_t cap, size_t *n);
    /* A write that answered WANT_* is repeated with the same bytes first
     * (more may follow them). */
    int (*write)(arc_transport *t, const char *buf, size_t len, size_t *n);
    /* Bytes read from the socket and held, not yet returned by read (TLS
     * records): the link reads again before it waits for readiness. */
    size_t (*pending)(const arc_transport *t);
    /* Releases the transport's state (a TLS close_notify is sent when it
     * can be without blocking); the descriptor stays open. */
    void (*close)(arc_transport *t);
} arc_transport_ops;

/* Filled by the link (fd) and the transport (the rest). The struct only
 * grows by appending fields. */
struct arc_transport {
    const arc_transport_ops *ops;
    void *impl;       /* the transport's own state */
    int fd;
    int status;       /* for ARC_IO_ERROR: an arc_status (0: ARC_ERR_IO) */
    int err;          /* errno of the last ARC_IO_ERROR (0 when it has none) */
    char why[200];    /* a sentence for that error ("" : strerror(err)) */
    long handshake_ms; /* set by open(): the most the handshake may take
                          (0: only the connect timeout bounds it). A
                          server that stays silent that long is taken not
                          to speak the transport's protocol */
    unsigned window_parts; /* set by open(): with many commands in flight,
                              the replies of one read are dispatched in
                              this many parts, each part's new commands
                              written before the next is parsed (0: 8). A
                              transport whose every write has a fixed cost
                              (a TLS record) asks for fewer, larger ones */
};

/* A kind of transport: makes one for each socket a context connects. */
typedef struct arc_transport_kind {
    const char *name;
    void *data; /* the kind's own (e.g. a TLS configuration); outlives contexts */
    /* A socket to `host` (NULL for an adopted socket) connected: set t->ops
     * and t->impl, allocating through `alloc`. `session` is the context's
     * slot for what outlives one connection (a TLS session to resume); it
     * starts NULL. Returns ARC_OK or an arc_status, with t->why said. */
    int (*open)(void *data, arc_transport *t, const char *host, const arc_allocator *alloc,
                void **session);
    /* Frees a session slot's content when the context goes away. */
    void (*session_free)(void *data, void *session);
    /* Whether the kind works over unix sockets. */
    bool unix_sockets;
} arc_transport_kind;

/* The state (impl) of the transport the context's current connection
 * uses, when it runs `ops` (NULL otherwise, or while not connected): for a
 * transport library's own getters. `context` is an arc_context. */
ARC_API void *arc_context_transport(const void *context, const arc_transport_ops *ops);

#ifdef __cplusplus
}
#endif

#endif
