/* transport.h (internal): what a link reads and writes through. TCP and
 * unix sockets are one transport (transport_tcp.c); TLS is another, in its
 * own library. The link owns the descriptor; a transport only uses it. */
#ifndef ARC_CORE_TRANSPORT_H
#define ARC_CORE_TRANSPORT_H

#include <stddef.h>

/* The outcome of a transport call. */
enum arc_io {
    ARC_IO_OK,         /* done (read / write: *n bytes moved, n > 0) */
    ARC_IO_WANT_READ,  /* nothing now: call again once readable */
    ARC_IO_WANT_WRITE, /* nothing now: call again once writable */
    ARC_IO_EOF,        /* read: the peer closed cleanly */
    ARC_IO_ERROR,      /* failed for good: see err and why */
};

typedef struct arc_transport arc_transport;

typedef struct arc_transport_ops {
    const char *name;
    /* Advances the transport's own handshake once the socket connected. */
    int (*handshake)(arc_transport *t);
    int (*read)(arc_transport *t, char *buf, size_t cap, size_t *n);
    int (*write)(arc_transport *t, const char *buf, size_t len, size_t *n);
    /* Bytes read from the socket and held, not yet returned by read (TLS
     * records): the link reads again before it waits for readiness. */
    size_t (*pending)(const arc_transport *t);
    /* Releases the transport's state; the descriptor stays open. */
    void (*close)(arc_transport *t);
} arc_transport_ops;

struct arc_transport {
    const arc_transport_ops *ops;
    void *impl;       /* the transport's own state */
    int fd;
    int err;          /* errno of the last ARC_IO_ERROR (0 when it has none) */
    const char *why;  /* a static text for that error, or NULL: strerror(err) */
};

/* Plain stream sockets: send with MSG_NOSIGNAL, recv. */
extern const arc_transport_ops arc__transport_plain;

#endif
