/* async.h (internal): the context's layout, shared by the files that make
 * up the asynchronous client (async.c, command.c, dispatch.c, io.c). */
#ifndef ARC_CORE_ASYNC_H
#define ARC_CORE_ASYNC_H

#include <arc/context.h>
#include <arc/events.h>

#include "buffer.h"
#include "net.h"
#include "pubsub.h"
#include "queue.h"
#include "reader.h"

#include <stdint.h>

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
    int keepalive_s;
    int resp_wanted;
    int db;
    long connect_timeout_ms;
    long command_timeout_ms;
    arc_connect_fn *on_connect;
    arc_disconnect_fn *on_disconnect;
    arc_push_fn *on_push;
    arc_state_fn *on_state;
    void *data;
    void (*data_free)(void *data);

    /* The state machine. */
    arc_state state;
    arc_state previous;
    int64_t since_ms;
    int failure;         /* arc_status of the failure, ARC_OK while none */
    int sys_errno;
    char error[256];
    int deferred;        /* a failure found inside arc_connect, reported from
                            the loop so that no callback runs before the
                            caller has its pointer */
    bool connect_called;
    bool disconnect_called;
    bool in_connect;     /* inside arc_connect / arc_connect_fd */
    bool disconnect_asked; /* arc_disconnect before READY: close once ready
                              and drained */

    /* Connecting: addresses are tried in order, each on a new socket. */
    arc_addr *addrs;
    size_t naddrs;
    size_t next_addr;
    bool connecting;     /* a non-blocking connect is in flight on fd */
    int64_t connect_deadline; /* -1: none */
    int64_t held_until;       /* HELD, or a full unix accept queue: when to
                                 try the address again */
    int64_t busy_since;       /* first "accept queue full" for this address;
                                 -1 when not waiting on one */

    /* The connection. */
    int fd;
    int resp;            /* the protocol in use: 2 until HELLO 3 succeeds */
    arc_reader *reader;
    arc_buffer out;
    bool holding;        /* before READY only the handshake may be written */
    size_t hold;         /* handshake bytes at the front of `out` */
    arc_queue queue;
    size_t handshake_left;
    size_t sub_inflight; /* SUB / UNSUB entries in the queue */
    bool monitor_inflight;
    uint32_t serial;     /* numbers subscribe commands, see arc_sub.serial */
    arc_pubsub subs;
    arc_reply_fn *monitor_fn;
    void *monitor_privdata;
    int64_t ready_ms;

    /* The event loop, and what it was last told. */
    arc_event_hooks hooks;
    bool attached;
    int told_fd;
    bool told_read;
    bool told_write;
    int64_t told_deadline; /* -1: no timer */

    /* Callbacks on the stack; teardown waits until it is back to 0. */
    unsigned depth;
    bool free_requested;
};

/* ---- async.c ---- */
int64_t arc__now_ms(void);
void arc__set_state(arc_context *c, arc_state s);
/* Ends the context with `status` (ARC_OK: clean) and state `final`,
 * calling every pending callback once. No-op when already ended. */
void arc__terminate(arc_context *c, arc_state final, int status);
/* Records a failure and terminates with FAILED; the message is formatted. */
void arc__fail(arc_context *c, int status, int sys_errno, const char *fmt, ...)
    ARC_PRINTF(4, 5);
void arc__enter(arc_context *c);
/* Leaves an entry point; frees the context when it was the outermost one
 * and arc_free() was asked for. Returns false when the context is gone. */
bool arc__leave(arc_context *c);
bool arc__ended(const arc_context *c);
void arc__call_reply(arc_context *c, arc_reply_fn *fn, arc_reply *r, int status, void *pd);
/* The connection is up (TCP connected, or the handshake passed). */
void arc__connected(arc_context *c);
void arc__ready(arc_context *c);

/* ---- command.c ---- */
/* Encodes the handshake (HELLO / AUTH / SELECT / CLIENT SETNAME) at the end
 * of the output and queues its entries. Nothing is queued when none is
 * needed. ARC_ERR_NOMEM or ARC_ERR_LIMIT on failure. */
int arc__queue_handshake(arc_context *c);

/* ---- dispatch.c ---- */
/* Routes one reply: push or pub/sub frame, monitor line, or the callback at
 * the head of the queue. */
void arc__dispatch(arc_context *c, arc_reply *reply);
/* Calls every subscription and the monitor callback once with NULL. */
void arc__end_subscriptions(arc_context *c, int status);
bool arc__in_sub_mode(const arc_context *c);

/* ---- io.c ---- */
void arc__start_connect(arc_context *c);
void arc__close_socket(arc_context *c);
/* Tells the loop about fd, interest and timer changes (only changes). */
void arc__sync_loop(arc_context *c);
/* Output past this is sent from arc_command itself (see arc__write_through). */
#define ARC__WRITE_THROUGH (64u * 1024)
void arc__write_through(arc_context *c);
int64_t arc__deadline(const arc_context *c);

#endif
