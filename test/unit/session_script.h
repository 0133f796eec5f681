/* session_script.h (tests): a whole context over a scripted transport
 * (bytes in from a script, bytes out into a buffer) on an injected clock,
 * driven by hand the way a loop without an adapter would; shared by the
 * unit tests of the session (test_session.c) and of reconnecting
 * (test_recovery.c). One session at a time, in S. */
#ifndef ARC_TEST_SESSION_SCRIPT_H
#define ARC_TEST_SESSION_SCRIPT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "async.h"

#include <stdbool.h>

/* ---- memory: live blocks and live bytes ---- */
typedef struct counter {
    long blocks;
    size_t bytes;
} counter;

/* ---- the scripted transport ---- */

typedef struct script {
    char in[4096];
    size_t in_len, in_pos;
    size_t piece;        /* the most bytes one read returns; 0: no cap */
    bool report_pending; /* pending() reports what is left of `in` */
    int at_end;          /* once `in` is drained: WANT_READ, EOF or ERROR */
    int read_errno;
    char out[8192];
    size_t out_len;
    size_t write_room;   /* bytes write still takes before WANT_WRITE */
    int write_errno;     /* nonzero: write fails with ARC_IO_ERROR */
    int reads, data_reads, writes, closes;
} script;

/* ---- one session per test ---- */

struct session {
    counter mem;
    arc_allocator alloc;
    script sc;
    arc_context *c;
    int connects, connect_status;
    int disconnects, disconnect_status, disconnect_seq;
    int pushes;
    int links;      /* links started (allow_reconnect) */
    bool abandoned; /* a failed test's leftovers are being freed */
};

extern struct session S;
extern int seq;       /* orders callbacks across a test */
extern int64_t now_ms; /* the injected clock */

/* ---- reply callbacks: each records its calls in a `call` ---- */

typedef struct call {
    int n;
    int status;
    bool has_reply;
    int type;
    char str[64];
    int seq;
} call;

int64_t fake_clock(void);
/* A session over the script (S.sc) with the options of `base` and the
 * counting allocator, the fake clock and S's callbacks; not started. */
arc_context *open_session(const arc_options *base);
/* The link starts from a 0 ms timer. */
void start(void);
/* A session with no handshake: READY once started. */
arc_context *open_ready(const arc_options *base);
/* Lets the session reconnect: each new link gets a new descriptor and a
 * fresh script (S.sc emptied, its counts kept); S.links counts them. */
void allow_reconnect(void);
void script_bytes(const char *bytes, size_t n);
void script_in(const char *bytes);
/* What the loop does when the socket is writable (if it was asked to). */
void flush(void);
/* Bytes arrive, and the loop reports readability. */
void deliver(const char *bytes);
void expect_out(const char *want);
/* Frees the context: nothing leaks and the transport was closed once per
 * link. */
void finish(void);
/* After every test: the real clock again; frees what a failed test left. */
int end_test(void **state);
void record(arc_context *c, arc_reply *r, int status, void *privdata);
void expect_reply(const call *k, int type, const char *str);
void expect_none(const call *k, int status);

#define GET_A "*2\r\n$3\r\nGET\r\n$1\r\na\r\n"
#define GET_B "*2\r\n$3\r\nGET\r\n$1\r\nb\r\n"
#define GET_C "*2\r\n$3\r\nGET\r\n$1\r\nc\r\n"

#endif
