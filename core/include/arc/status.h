/* arc/status.h: the one status enum every arc call returns, and its text. */
#ifndef ARC_STATUS_H
#define ARC_STATUS_H

#include <arc/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every fallible arc call returns one of these. ARC_OK is 0 so that
 * `if (arc_x(...) != ARC_OK)` and `if (arc_x(...))` both read naturally.
 * Values are stable: new ones are only appended. */
typedef enum arc_status {
    ARC_OK = 0,
    ARC_ERR_NOMEM,         /* an allocation failed */
    ARC_ERR_INVALID,       /* a bad argument: NULL where one is needed, bad format */
    ARC_ERR_PROTOCOL,      /* the server sent bytes that are not valid RESP */
    ARC_ERR_LIMIT,         /* a configured limit would be exceeded */
    ARC_ERR_NOADDR,        /* name resolution failed or gave no usable address */
    ARC_ERR_REFUSED,       /* every address refused the connection */
    ARC_ERR_TIMEOUT,       /* the connect or command timeout passed */
    ARC_ERR_IO,            /* a socket call failed; see the context's errno */
    ARC_ERR_EOF,           /* the server closed the connection */
    ARC_ERR_HANDSHAKE,     /* the server refused HELLO, AUTH, SELECT or SETNAME */
    ARC_ERR_NOFD,          /* no file descriptor was free until the timeout */
    ARC_ERR_DISCONNECTING, /* a clean disconnect was asked for: no new commands */
    ARC_ERR_CLOSED,        /* the context is closed or failed */
    ARC_ERR_SUBSCRIBED,    /* RESP2 subscribed mode allows only (P|S)(UN)SUBSCRIBE, PING, RESET */
    ARC_ERR_MONITORING,    /* a monitoring connection accepts no further commands */
    ARC_ERR_STATE,         /* the call does not fit the context's state */
    ARC_ERR_FREED,         /* the context was freed before the reply came */
    ARC_ERR_NOT_SENT,      /* the connection ended before the command was written:
                              it did not run */
    ARC_ERR_UNANSWERED,    /* the command was written, the connection ended before
                              its reply: it may have run */
    ARC_ERR_CANCELLED,     /* arc_cancel() was called for the command */
    ARC_ERR_DUPLICATE,     /* already subscribed to that name with another callback */
    ARC_ERR_TLS,           /* the TLS handshake or a TLS record failed; see the message */
    ARC_ERR_OFFLINE,       /* the link is down and reconnecting: the command was not
                              accepted (fail_fast, or too many waiting) */
    ARC_ERR_LOADING,       /* the server is not ready: loading its data set, or a
                              replica that lost its master (-LOADING, -MASTERDOWN
                              to the reconnect policy's ready check) */
    ARC_ERR_READONLY,      /* the server is a read-only replica now (-READONLY with
                              arc_reconnect.readonly_reconnects) */
    ARC_ERR_CROSSSLOT,     /* a cluster command's keys hash to different slots:
                              refused before sending */
    ARC_ERR_REDIRECTS,     /* a cluster command met more MOVED / ASK redirects, or
                              TRYAGAIN / CLUSTERDOWN / lost nodes, than allowed */
    ARC_ERR_UNROUTED,      /* no cluster node was known for the command (discovery
                              failed, or no node serves its slot) */
} arc_status;

/* A static, human-readable description of `status`; never NULL (unknown
 * values give "unknown status"). */
ARC_API const char *arc_strerror(int status);

/* The enum name of `status` as text, e.g. "ARC_ERR_EOF"; never NULL. */
ARC_API const char *arc_status_name(int status);

#ifdef __cplusplus
}
#endif

#endif
