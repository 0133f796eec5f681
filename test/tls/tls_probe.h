/* tls_probe.h (tests): what the TLS tests share: recorders, the poll loop,
 * the certificates and servers, and a probe, one context with a PING
 * queued whose end is checked in one call. */
#ifndef ARC_TEST_TLS_PROBE_H
#define ARC_TEST_TLS_PROBE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arc/adapters/poll.h>
#include <arc/arc.h>
#include <arc/tls.h>

#include "redis_server.h"
#include "tls_certs.h"

/* The scenario lists (trust.c, faults.c). */
extern const struct CMUnitTest tls_trust_tests[];
extern const size_t tls_trust_test_count;
extern const struct CMUnitTest tls_fault_tests[];
extern const size_t tls_fault_test_count;

/* Context callbacks, for arc_options.data = a conn. */
typedef struct conn {
    int connects, connect_status;
    int disconnects, disconnect_status;
} conn;
void on_connect(arc_context *c, int status, void *data);
void on_disconnect(arc_context *c, int status, void *data);

/* A reply callback's calls: how many, with NULL how many, the last status,
 * and a copy of the last reply (freed by rec_clear). */
typedef struct rec {
    int calls, nulls, status;
    arc_reply *last;
} rec;
void on_reply(arc_context *c, arc_reply *r, int status, void *privdata);
void rec_clear(rec *x);

int64_t now_ms(void);

/* The poll loop of the test under way (test_tls.c makes one per test). */
extern arc_poll_loop *probe_loop;

/* Runs the loop until `cond` holds; the test fails after `ms`. */
#define RUN_UNTIL(ms, cond)                                                            \
    do {                                                                               \
        int64_t run_end_ = now_ms() + (ms);                                            \
        while (!(cond) && now_ms() < run_end_)                                         \
            arc_poll_loop_run_once(probe_loop, 10);                                    \
        if (!(cond))                                                                   \
            fail_msg("timed out after %ld ms waiting for: %s", (long)(ms), #cond);    \
    } while (0)

void run_for(long ms);

/* CLOSED or FAILED. */
bool ended(const arc_context *c);

/* The harness certificates (the test fails without them). */
const test_tls_files *certs(void);

/* The shared TLS server (server_cert: "localhost", 127.0.0.1, ::1), which
 * listens on 127.0.0.2 too, an address its certificate does not name. */
extern test_redis *shared_server;

/* test_redis_start(), or the test fails. */
test_redis *tls_server_start(const test_redis_options *o);

/* arc_tls_new(), or the test fails with its reason. */
arc_tls *tls_config(const arc_tls_options *o);

/* A configuration that trusts the harness CA, with this handshake limit
 * (0: the default). */
arc_tls *tls_config_ca(long handshake_ms);

/* One context with a PING queued, and what came of it. */
typedef struct probe {
    arc_context *c;
    conn k;
    rec ping;
    int64_t started;
    long took; /* ms from arc_connect to the end, or to the PONG */
} probe;

/* Options for `host`:`port` over `tls` (a 5 s connect timeout). */
arc_options probe_options(arc_tls *tls, const char *host, int port);

/* Connects with `o` (its callbacks and data are the probe's) and queues
 * the PING. */
void probe_start(probe *p, arc_options *o);

/* The PONG came over TLS. */
void probe_pong(probe *p);

/* The context failed before READY with `status` and a message holding
 * `words` (NULL: any): on_connect once, no on_disconnect, the PING never
 * sent. */
void probe_failed(probe *p, int status, const char *words);

/* Frees the context: the callbacks due for that run once (on_disconnect
 * with ARC_ERR_FREED when it was ready), nothing runs twice. */
void probe_end(probe *p);

#endif
