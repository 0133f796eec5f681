/* test_tls.c: libarc-tls under faults, against TLS redis-servers the
 * harness starts: each wrong certificate, servers that do not speak TLS or
 * stop in the middle, mutual TLS, session resumption, the configurations
 * arc_tls_new() refuses, and a dead peer under a write (no SIGPIPE). Each
 * case ends with a state and status, a message a person can act on, and
 * every callback called exactly once. The poll loop is enough here: the
 * integration scenarios run over TLS on every loop (the <loop>-tls groups). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arc/adapters/poll.h>
#include <arc/arc.h>
#include <arc/tls.h>

#include "fake_server.h"
#include "redis_server.h"
#include "silent_listener.h"
#include "tls_certs.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- recorders and the loop ---- */

typedef struct conn {
    int connects, connect_status;
    int disconnects, disconnect_status;
} conn;

static void on_connect(arc_context *c, int status, void *data)
{
    (void)c;
    conn *k = data;
    k->connects++;
    k->connect_status = status;
}

static void on_disconnect(arc_context *c, int status, void *data)
{
    (void)c;
    conn *k = data;
    k->disconnects++;
    k->disconnect_status = status;
}

/* A reply callback's calls: how many, with NULL how many, the last
 * status, and a copy of the last reply. */
typedef struct rec {
    int calls, nulls, status;
    arc_reply *last;
} rec;

static void on_reply(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)c;
    rec *x = privdata;
    x->calls++;
    x->status = status;
    if (r == NULL) {
        x->nulls++;
    } else {
        arc_reply_free(x->last);
        x->last = arc_reply_dup(r, NULL);
    }
}

static void rec_clear(rec *x)
{
    arc_reply_free(x->last);
    memset(x, 0, sizeof *x);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static arc_poll_loop *loop; /* one per test, made by the setup */

#define RUN_UNTIL(ms, cond)                                                            \
    do {                                                                               \
        int64_t run_end_ = now_ms() + (ms);                                            \
        while (!(cond) && now_ms() < run_end_)                                         \
            arc_poll_loop_run_once(loop, 10);                                          \
        if (!(cond))                                                                   \
            fail_msg("timed out after %ld ms waiting for: %s", (long)(ms), #cond);    \
    } while (0)

static void run_for(long ms)
{
    int64_t end = now_ms() + ms;
    while (now_ms() < end)
        arc_poll_loop_run_once(loop, 10);
}

static bool ended(const arc_context *c)
{
    arc_state s = arc_context_state(c);
    return s == ARC_STATE_CLOSED || s == ARC_STATE_FAILED;
}

/* ---- servers and configurations ---- */

static const test_tls_files *files(void)
{
    const test_tls_files *f = test_tls_files_get();
    if (f == NULL)
        fail_msg("no test certificates (is the openssl program installed?)");
    return f;
}

/* The shared TLS server (server_cert, for "localhost", 127.0.0.1 and ::1),
 * listening on 127.0.0.2 too: an address its certificate does not name. */
static test_redis *shared;

static test_redis *tls_server(const test_redis_options *o)
{
    test_redis *s = test_redis_start(o);
    if (s == NULL)
        fail_msg("cannot start a TLS redis-server (see stderr)");
    return s;
}

static arc_tls *tls_with(const arc_tls_options *o)
{
    char err[256];
    arc_tls *tls = arc_tls_new(o, err, sizeof err);
    if (tls == NULL)
        fail_msg("arc_tls_new: %s", err);
    return tls;
}

/* A configuration that trusts the harness CA, with this handshake limit
 * (0: the default). */
static arc_tls *tls_ca(long handshake_ms)
{
    arc_tls_options o = {0};
    o.ca_file = files()->ca_cert;
    o.handshake_timeout_ms = handshake_ms;
    return tls_with(&o);
}

/* ---- one context with a PING queued ---- */

typedef struct probe {
    arc_context *c;
    conn k;
    rec ping;
    int64_t started;
    long took; /* ms from arc_connect to the end, or to READY */
} probe;

static arc_options options(arc_tls *tls, const char *host, int port)
{
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = host;
    o.port = port;
    o.connect_timeout_ms = 5000;
    o.transport = arc_tls_transport(tls);
    return o;
}

static void probe_start(probe *p, arc_options *o)
{
    memset(p, 0, sizeof *p);
    o->on_connect = on_connect;
    o->on_disconnect = on_disconnect;
    o->data = &p->k;
    p->started = now_ms();
    p->c = arc_connect(o);
    assert_non_null(p->c);
    assert_int_equal(arc_poll_attach(p->c, loop), ARC_OK);
    assert_int_equal(arc_command(p->c, on_reply, &p->ping, "PING"), ARC_OK);
}

/* The context got its PONG over TLS. */
static void probe_pong(probe *p)
{
    RUN_UNTIL(5000, p->ping.calls == 1);
    p->took = (long)(now_ms() - p->started);
    if (p->k.connect_status != ARC_OK)
        fail_msg("connect failed: %s: %s", arc_status_name(p->k.connect_status),
                 arc_context_error(p->c));
    assert_int_equal(p->k.connects, 1);
    assert_non_null(p->ping.last);
    assert_int_equal(p->ping.last->type, ARC_REPLY_STATUS);
    assert_string_equal(p->ping.last->str, "PONG");
    assert_non_null(arc_tls_version_of(p->c));
}

/* The context failed before READY with `status` and a message holding
 * `words`: on_connect once, no on_disconnect, the PING not sent. */
static void probe_failed(probe *p, int status, const char *words)
{
    RUN_UNTIL(10000, ended(p->c) && p->ping.calls == 1);
    p->took = (long)(now_ms() - p->started);
    const char *msg = arc_context_error(p->c);
    printf("# %s after %ld ms: %s\n", arc_status_name(arc_context_failure(p->c)), p->took, msg);
    if (arc_context_failure(p->c) != status)
        fail_msg("failed with %s, not %s: %s", arc_status_name(arc_context_failure(p->c)),
                 arc_status_name(status), msg);
    if (words != NULL && strstr(msg, words) == NULL)
        fail_msg("the message does not say \"%s\": %s", words, msg);
    assert_int_equal(arc_context_state(p->c), ARC_STATE_FAILED);
    assert_int_equal(p->k.connects, 1);
    assert_int_equal(p->k.connect_status, status);
    assert_int_equal(p->k.disconnects, 0);
    assert_int_equal(p->ping.nulls, 1);
    assert_int_equal(p->ping.status, ARC_ERR_NOT_SENT);
    assert_false(arc_tls_resumed(p->c));
}

/* Frees the context; no callback runs again. */
static void probe_end(probe *p)
{
    int connects = p->k.connects, disconnects = p->k.disconnects;
    bool was_ready = p->k.connect_status == ARC_OK && !ended(p->c);
    arc_free(p->c);
    run_for(10);
    assert_int_equal(p->k.connects, connects == 0 ? 1 : connects);
    assert_int_equal(p->k.disconnects, disconnects + (was_ready ? 1 : 0));
    assert_int_equal(p->ping.calls, 1);
    rec_clear(&p->ping);
}

/* ---- verification ---- */

static void wrong_ca(void **state)
{
    (void)state;
    arc_tls_options o = {0};
    o.ca_file = files()->other_ca_cert;
    arc_tls *tls = tls_with(&o);
    probe p;
    arc_options ao = options(tls, "localhost", test_redis_tls_port(shared));
    probe_start(&p, &ao);
    probe_failed(&p, ARC_ERR_TLS, "certificate verify failed");
    probe_end(&p);
    arc_tls_free(tls);
}

/* The harness CA as a hashed directory (ca_dir) works like the file. */
static void ca_dir(void **state)
{
    (void)state;
    arc_tls_options o = {0};
    o.ca_dir = files()->ca_dir;
    arc_tls *tls = tls_with(&o);
    probe p;
    arc_options ao = options(tls, "localhost", test_redis_tls_port(shared));
    probe_start(&p, &ao);
    probe_pong(&p);
    probe_end(&p);
    arc_tls_free(tls);
}

/* A server with another certificate: one issued by the CA but for
 * another name, and one that expired. */
static void server_with(const char *cert, const char *key, const char *words)
{
    test_redis *s = tls_server(&(test_redis_options){
        .tls = 1, .tls_cert_file = cert, .tls_key_file = key});
    arc_tls *tls = tls_ca(0);
    probe p;
    arc_options o = options(tls, "localhost", test_redis_tls_port(s));
    probe_start(&p, &o);
    probe_failed(&p, ARC_ERR_TLS, "certificate verify failed");
    if (strstr(arc_context_error(p.c), words) == NULL)
        fail_msg("the message does not say \"%s\": %s", words, arc_context_error(p.c));
    probe_end(&p);
    arc_tls_free(tls);
    test_redis_stop(s);
}

static void wrong_host_name(void **state)
{
    (void)state;
    server_with(files()->wrong_name_cert, files()->wrong_name_key, "hostname mismatch");
}

static void expired(void **state)
{
    (void)state;
    server_with(files()->expired_cert, files()->expired_key, "expired");
}

/* An address is checked against the certificate's IP SANs: 127.0.0.1 is
 * one, 127.0.0.2 (where the server listens too) is not. */
static void ip_address(void **state)
{
    (void)state;
    arc_tls *tls = tls_ca(0);
    probe ok, bad;
    arc_options o = options(tls, "127.0.0.1", test_redis_tls_port(shared));
    probe_start(&ok, &o);
    o.host = "127.0.0.2";
    probe_start(&bad, &o);
    probe_pong(&ok);
    probe_failed(&bad, ARC_ERR_TLS, "certificate verify failed");
    if (strstr(arc_context_error(bad.c), "IP address mismatch") == NULL)
        fail_msg("the message does not say \"IP address mismatch\": %s",
                 arc_context_error(bad.c));
    probe_end(&ok);
    probe_end(&bad);
    arc_tls_free(tls);
}

/* Verification off: a server no trusted CA issued, at an address its
 * certificate does not name, is accepted. */
static void verify_none(void **state)
{
    (void)state;
    arc_tls_options o = {0};
    o.ca_file = files()->other_ca_cert;
    o.verify = ARC_TLS_VERIFY_NONE;
    arc_tls *tls = tls_with(&o);
    probe p;
    arc_options ao = options(tls, "127.0.0.2", test_redis_tls_port(shared));
    probe_start(&p, &ao);
    probe_pong(&p);
    probe_end(&p);
    arc_tls_free(tls);
}

/* ---- servers that do not speak TLS, or stop ---- */

/* A plaintext redis-server waits for a newline that a TLS hello may not
 * have; the handshake limit (500 ms here) ends it, or its error reply does
 * at once. Never a hang, never the connect timeout (5 s). */
static void plaintext_server(void **state)
{
    (void)state;
    arc_tls *tls = tls_ca(500);
    probe p;
    arc_options o = options(tls, "localhost", test_redis_port(shared));
    probe_start(&p, &o);
    probe_failed(&p, ARC_ERR_TLS, "does not seem to speak TLS");
    if (p.took >= 1500)
        fail_msg("took %ld ms with a handshake limit of 500 ms", p.took);
    probe_end(&p);
    arc_tls_free(tls);
}

/* A listener that accepts and never says a word: the handshake limit. */
static void silent_server(void **state)
{
    (void)state;
    int port = 0;
    int fd = test_tcp_listener_silent(&port);
    assert_true(fd >= 0);
    arc_tls *tls = tls_ca(500);
    probe p;
    arc_options o = options(tls, "127.0.0.1", port);
    probe_start(&p, &o);
    probe_failed(&p, ARC_ERR_TLS, "does not seem to speak TLS");
    if (p.took < 450 || p.took >= 1500)
        fail_msg("took %ld ms with a handshake limit of 500 ms", p.took);
    assert_int_equal(arc_context_errno(p.c), ETIMEDOUT);
    probe_end(&p);
    arc_tls_free(tls);
    close(fd);
}

/* Bytes that are not TLS instead of a ServerHello: a failure at once, long
 * before the handshake limit (3 s), with OpenSSL's reason. */
static void not_tls_bytes(void **state)
{
    (void)state;
    static const struct {
        const char *script;
        const char *words; /* NULL: any reason OpenSSL gives */
    } cases[] = {
        /* DRAIN: the hello is read, so the close is a FIN, not a reset. */
        {"ACCEPT\nSEND \"-ERR not tls\\r\\n\"\nDRAIN\n", "does not seem to speak TLS"},
        {"ACCEPT\nSEND \"\\x8f\\x3a\\x00\\xd1\\x7e\\x42\\x99\\x05\\xee\\x10\\x6b\\xc3\"\nDRAIN\n",
         NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake_server *f = fake_start(cases[i].script);
        assert_non_null(f);
        arc_tls *tls = tls_ca(3000);
        probe p;
        arc_options o = options(tls, "127.0.0.1", fake_port(f));
        probe_start(&p, &o);
        probe_failed(&p, ARC_ERR_TLS, cases[i].words);
        assert_true(strlen(arc_context_error(p.c)) > strlen("TLS handshake"));
        if (p.took >= 1000)
            fail_msg("took %ld ms: not at once", p.took);
        probe_end(&p);
        assert_int_equal(fake_finish(f, 5000), 0);
        arc_tls_free(tls);
    }
}

/* A server that starts its ServerHello and stalls: the connect timeout
 * (300 ms) ends it, well before the handshake limit (2 s). */
static void stall_mid_handshake(void **state)
{
    (void)state;
    /* A handshake record of 122 bytes announced, 2 of them sent. */
    fake_server *f = fake_start("ACCEPT\nSEND \"\\x16\\x03\\x03\\x00\\x7a\\x02\\x00\"\nSTALL\n");
    assert_non_null(f);
    arc_tls *tls = tls_ca(2000);
    probe p;
    arc_options o = options(tls, "127.0.0.1", fake_port(f));
    o.connect_timeout_ms = 300;
    probe_start(&p, &o);
    probe_failed(&p, ARC_ERR_TIMEOUT, "timed out after 300 ms");
    if (p.took < 280 || p.took >= 1000)
        fail_msg("took %ld ms with a connect timeout of 300 ms", p.took);
    probe_end(&p);
    assert_int_equal(fake_stop(f), 0);
    arc_tls_free(tls);
}

/* The server dies (SIGKILL) while a large reply streams in: the context
 * fails with EOF or a TLS status, the replies that came are delivered, the
 * rest end UNANSWERED, each callback once. */
static void killed_mid_reply(void **state)
{
    (void)state;
    test_redis *s = tls_server(&(test_redis_options){.tls = 1});
    enum { BIG = 4 << 20, GETS = 8 };
    char *value = malloc(BIG);
    assert_non_null(value);
    memset(value, 'x', BIG);
    arc_reply *r = test_redis_command(s, "SET big %b", value, (size_t)BIG);
    assert_non_null(r);
    arc_reply_free(r);
    free(value);
    arc_tls *tls = tls_ca(0);
    probe p;
    arc_options o = options(tls, "localhost", test_redis_tls_port(s));
    probe_start(&p, &o);
    rec gets[GETS];
    memset(gets, 0, sizeof gets);
    for (int i = 0; i < GETS; i++)
        assert_int_equal(arc_command(p.c, on_reply, &gets[i], "GET big"), ARC_OK);
    RUN_UNTIL(10000, gets[0].calls == 1);
    assert_int_equal(kill(test_redis_pid(s), SIGKILL), 0);
    RUN_UNTIL(10000, ended(p.c));
    int why = arc_context_failure(p.c);
    printf("# %s: %s\n", arc_status_name(why), arc_context_error(p.c));
    assert_int_equal(arc_context_state(p.c), ARC_STATE_FAILED);
    if (why != ARC_ERR_EOF && why != ARC_ERR_TLS)
        fail_msg("failed with %s (%s), not EOF or TLS", arc_status_name(why),
                 arc_context_error(p.c));
    assert_int_equal(p.k.connects, 1);
    assert_int_equal(p.k.connect_status, ARC_OK);
    assert_int_equal(p.k.disconnects, 1);
    assert_int_equal(p.k.disconnect_status, why);
    assert_int_equal(p.ping.calls, 1);
    assert_int_equal(p.ping.status, ARC_OK);
    int answered = 0;
    for (int i = 0; i < GETS; i++) {
        assert_int_equal(gets[i].calls, 1);
        if (gets[i].status == ARC_OK) {
            assert_int_equal(gets[i].last->len, BIG);
            answered++;
        } else {
            assert_int_equal(gets[i].status, ARC_ERR_UNANSWERED);
        }
    }
    if (answered == GETS)
        fail_msg("every reply came before the server died: nothing was cut");
    printf("# %d of %d replies of 4 MiB came before the kill\n", answered, GETS);
    probe_end(&p);
    for (int i = 0; i < GETS; i++)
        assert_int_equal(gets[i].calls, 1);
    for (int i = 0; i < GETS; i++)
        rec_clear(&gets[i]);
    arc_tls_free(tls);
    test_redis_stop(s);
}

/* A server that dies between replies (SIGKILL: no close_notify) ends the
 * stream like EOF: ARC_ERR_EOF, as on plain TCP; the blocked command was
 * sent and is UNANSWERED. */
static void killed_while_idle(void **state)
{
    (void)state;
    test_redis *s = tls_server(&(test_redis_options){.tls = 1});
    arc_tls *tls = tls_ca(0);
    probe p;
    arc_options o = options(tls, "localhost", test_redis_tls_port(s));
    probe_start(&p, &o);
    rec pop = {0};
    assert_int_equal(arc_command(p.c, on_reply, &pop, "BLPOP nothing 0"), ARC_OK);
    probe_pong(&p);
    run_for(50);
    assert_int_equal(kill(test_redis_pid(s), SIGKILL), 0);
    RUN_UNTIL(5000, ended(p.c));
    printf("# %s: %s\n", arc_status_name(arc_context_failure(p.c)), arc_context_error(p.c));
    assert_int_equal(arc_context_failure(p.c), ARC_ERR_EOF);
    assert_int_equal(p.k.disconnects, 1);
    assert_int_equal(p.k.disconnect_status, ARC_ERR_EOF);
    assert_int_equal(pop.calls, 1);
    assert_int_equal(pop.status, ARC_ERR_UNANSWERED);
    probe_end(&p);
    assert_int_equal(pop.calls, 1);
    rec_clear(&pop);
    arc_tls_free(tls);
    test_redis_stop(s);
}

/* ---- mutual TLS ---- */

static void mutual_tls(void **state)
{
    (void)state;
    const test_tls_files *f = files();
    test_redis *s = tls_server(&(test_redis_options){.tls = 1, .tls_auth_clients = 1});
    /* Without a certificate. With TLS 1.3 the client's side of the
     * handshake may end before the server checks it: the refusal can come
     * after READY, as the first read. */
    arc_tls *none = tls_ca(0);
    probe p;
    arc_options o = options(none, "localhost", test_redis_tls_port(s));
    probe_start(&p, &o);
    RUN_UNTIL(5000, ended(p.c) && p.ping.calls == 1);
    int why = arc_context_failure(p.c);
    const char *msg = arc_context_error(p.c);
    printf("# without a certificate: %s: %s\n", arc_status_name(why), msg);
    assert_int_equal(arc_context_state(p.c), ARC_STATE_FAILED);
    if (why != ARC_ERR_TLS && why != ARC_ERR_EOF)
        fail_msg("failed with %s, not TLS or EOF: %s", arc_status_name(why), msg);
    if (strstr(msg, "certificate") == NULL && strstr(msg, "handshake") == NULL)
        fail_msg("the message says nothing of a certificate or the handshake: %s", msg);
    assert_int_equal(p.k.connects, 1);
    if (p.k.connect_status == ARC_OK) {
        assert_int_equal(p.k.disconnects, 1);
        assert_int_equal(p.k.disconnect_status, why);
        /* The refusal may be read before the PING is written. */
        assert_true(p.ping.status == ARC_ERR_UNANSWERED || p.ping.status == ARC_ERR_NOT_SENT);
    } else {
        assert_int_equal(p.k.connect_status, why);
        assert_int_equal(p.k.disconnects, 0);
        assert_int_equal(p.ping.status, ARC_ERR_NOT_SENT);
    }
    assert_int_equal(p.ping.nulls, 1);
    probe_end(&p);
    arc_tls_free(none);

    /* With the client certificate the CA issued. */
    arc_tls_options to = {0};
    to.ca_file = f->ca_cert;
    to.cert_file = f->client_cert;
    to.key_file = f->client_key;
    arc_tls *mine = tls_with(&to);
    o = options(mine, "localhost", test_redis_tls_port(s));
    probe_start(&p, &o);
    probe_pong(&p);
    probe_end(&p);
    arc_tls_free(mine);
    test_redis_stop(s);
}

/* ---- session resumption ---- */

static void resumption(void **state)
{
    (void)state;
    arc_tls *tls = tls_ca(0);
    probe first, second, other;
    arc_options o = options(tls, "localhost", test_redis_tls_port(shared));
    probe_start(&first, &o);
    probe_pong(&first);
    assert_false(arc_tls_resumed(first.c));
    probe_end(&first);
    /* The configuration kept the session the server gave: the next
     * context to the same host resumes it. */
    probe_start(&second, &o);
    probe_pong(&second);
    assert_true(arc_tls_resumed(second.c));
    probe_end(&second);
    /* Another configuration knows no session. */
    arc_tls *fresh = tls_ca(0);
    o.transport = arc_tls_transport(fresh);
    probe_start(&other, &o);
    probe_pong(&other);
    assert_false(arc_tls_resumed(other.c));
    printf("# %s; full handshake + PING %ld ms, resumed %ld ms\n",
           arc_tls_version_of(other.c), other.took, second.took);
    probe_end(&other);
    arc_tls_free(fresh);
    arc_tls_free(tls);

    /* A plain context: neither resumed nor TLS. */
    arc_options plain = options(NULL, "127.0.0.1", test_redis_port(shared));
    plain.transport = NULL;
    probe_start(&other, &plain);
    RUN_UNTIL(5000, other.ping.calls == 1);
    assert_int_equal(other.ping.status, ARC_OK);
    assert_false(arc_tls_resumed(other.c));
    assert_null(arc_tls_version_of(other.c));
    probe_end(&other);
}

/* ---- configurations arc_tls_new() refuses ---- */

static void refused(const arc_tls_options *o, const char *words, const char *words2)
{
    char err[256];
    memset(err, 'x', sizeof err);
    arc_tls *tls = arc_tls_new(o, err, sizeof err);
    if (tls != NULL) {
        arc_tls_free(tls);
        fail_msg("arc_tls_new accepted what it should refuse (%s)", words);
    }
    assert_non_null(memchr(err, '\0', sizeof err));
    printf("# %s\n", err);
    if (strstr(err, words) == NULL || (words2 != NULL && strstr(err, words2) == NULL))
        fail_msg("the reason does not say \"%s\"%s%s: %s", words, words2 ? " and " : "",
                 words2 ? words2 : "", err);
}

static void new_refusals(void **state)
{
    (void)state;
    const test_tls_files *f = files();
    arc_tls_options o = {0};
    o.ca_file = "/nonexistent/ca.pem";
    refused(&o, "CA", "/nonexistent/ca.pem");

    memset(&o, 0, sizeof o);
    o.ca_file = f->ca_cert;
    o.cert_file = f->client_cert;
    o.key_file = f->server_key; /* a key, but not the certificate's */
    refused(&o, "key", "does not match");

    o.cert_file = "/nonexistent/client.pem";
    o.key_file = NULL;
    refused(&o, "client certificate", NULL);

    memset(&o, 0, sizeof o);
    o.ca_file = f->ca_cert;
    o.ciphers = "NO-SUCH-CIPHER:NOR-THIS";
    refused(&o, "cipher list", NULL);

    memset(&o, 0, sizeof o);
    o.ciphersuites = "TLS_NO_SUCH_SUITE";
    refused(&o, "TLS 1.3 cipher suites", NULL);

    memset(&o, 0, sizeof o);
    o.verify = 7;
    refused(&o, "verify", NULL);

    memset(&o, 0, sizeof o);
    o.min_version = 9;
    refused(&o, "min_version", NULL);

    /* No room for a reason is no reason to crash. */
    o.min_version = 9;
    assert_null(arc_tls_new(&o, NULL, 0));
}

/* ---- no SIGPIPE ---- */

/* In a child with SIGPIPE at its default action (death): the server stops
 * reading (SIGSTOP), a pipeline of 32 MiB (more than the kernel's socket
 * buffers hold) fills the socket, and the server is killed (SIGKILL): the
 * writes go on into a connection it reset. Or, before the kill, the
 * socket's sending side is shut (shutdown(SHUT_WR)), which makes the next
 * send fail with EPIPE for certain: the error that raises SIGPIPE. Exits 0
 * when the context failed; a SIGPIPE kills the child instead. */
enum sigpipe_how { KILL_SERVER, SHUT_WRITES };

static int sigpipe_child(int port, pid_t server, enum sigpipe_how how)
{
    signal(SIGPIPE, SIG_DFL);
    arc_poll_loop *l = arc_poll_loop_new();
    arc_tls_options to = {0};
    to.ca_file = files()->ca_cert;
    char err[256];
    arc_tls *tls = arc_tls_new(&to, err, sizeof err);
    if (l == NULL || tls == NULL)
        return 10;
    conn k = {0};
    arc_options o = options(tls, "localhost", port);
    o.on_connect = on_connect;
    o.on_disconnect = on_disconnect;
    o.data = &k;
    arc_context *c = arc_connect(&o);
    if (c == NULL || arc_poll_attach(c, l) != ARC_OK)
        return 11;
    int64_t end = now_ms() + 5000;
    while (k.connects == 0 && now_ms() < end)
        arc_poll_loop_run_once(l, 10);
    if (k.connect_status != ARC_OK)
        return 12;
    kill(server, SIGSTOP);
    enum { PIECE = 64 << 10, PIECES = 512 }; /* 32 MiB */
    char *value = malloc(PIECE);
    if (value == NULL)
        return 13;
    memset(value, 'v', PIECE);
    int accepted = 0;
    for (int i = 0; i < PIECES; i++)
        accepted += arc_command(c, NULL, NULL, "SET k%d %b", i, value, (size_t)PIECE) == ARC_OK;
    free(value);
    if (accepted != PIECES)
        return 14;
    for (int i = 0; i < 20; i++)
        arc_poll_loop_run_once(l, 10);
    if (arc_context_state(c) != ARC_STATE_READY)
        return 15; /* the socket should be full, the context waiting to write */
    if (how == SHUT_WRITES) {
        /* The next send fails with EPIPE; the context then reads what the
         * server still sends until it closes (see the link scenario
         * replies_read_after_failed_send), which the kill below makes it
         * do. The failure it reports is that read's. */
        shutdown(arc_fd(c), SHUT_WR);
        for (int i = 0; i < 10; i++)
            arc_poll_loop_run_once(l, 10);
    }
    kill(server, SIGKILL);
    end = now_ms() + 5000;
    while (!ended(c) && now_ms() < end)
        arc_poll_loop_run_once(l, 10);
    int rc = 0;
    if (arc_context_state(c) != ARC_STATE_FAILED)
        rc = 16;
    else if (k.disconnects != 1 || k.disconnect_status != arc_context_failure(c))
        rc = 17;
    fprintf(stderr, "# child: %s (%s): %s\n", arc_status_name(arc_context_failure(c)),
            strerror(arc_context_errno(c)), arc_context_error(c));
    arc_free(c);
    arc_poll_loop_free(l);
    arc_tls_free(tls);
    return rc;
}

static void no_sigpipe(void **state)
{
    (void)state;
    for (int how = KILL_SERVER; how <= SHUT_WRITES; how++) {
        test_redis *s = tls_server(&(test_redis_options){.tls = 1});
        fflush(stdout);
        fflush(stderr);
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0)
            _exit(sigpipe_child(test_redis_tls_port(s), test_redis_pid(s), how));
        int st = 0;
        while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
        }
        if (WIFSIGNALED(st))
            fail_msg("%s: the process was killed by signal %d (%s)",
                     how == KILL_SERVER ? "server killed" : "writes shut", WTERMSIG(st),
                     strsignal(WTERMSIG(st)));
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fail_msg("%s: the child exited %d (see sigpipe_child)",
                     how == KILL_SERVER ? "server killed" : "writes shut", WEXITSTATUS(st));
        test_redis_stop(s);
    }
}

/* ---- TLS needs TCP ---- */

static void unix_socket(void **state)
{
    (void)state;
    arc_tls *tls = tls_ca(0);
    probe p;
    arc_options o = options(tls, NULL, 0);
    o.unix_path = test_redis_unix_path(shared);
    probe_start(&p, &o);
    probe_failed(&p, ARC_ERR_INVALID, "unix sockets");
    probe_end(&p);
    arc_tls_free(tls);
}

/* ---- the harness ---- */

static int setup(void **state)
{
    (void)state;
    loop = arc_poll_loop_new();
    return loop != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    arc_poll_loop_free(loop);
    loop = NULL;
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    static const char *const bind_two[] = {"--bind", "127.0.0.1", "127.0.0.2", NULL};
    if (test_tls_files_get() == NULL)
        return -1;
    shared = test_redis_start(&(test_redis_options){.tls = 1, .extra_args = bind_two});
    return shared != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    test_redis_stop(shared);
    return 0;
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(wrong_ca),
        T(ca_dir),
        T(wrong_host_name),
        T(expired),
        T(ip_address),
        T(verify_none),
        T(plaintext_server),
        T(silent_server),
        T(not_tls_bytes),
        T(stall_mid_handshake),
        T(no_sigpipe), /* first of those that kill servers: its child runs
                          the leak check on what the parent holds too */
        T(killed_mid_reply),
        T(killed_while_idle),
        T(mutual_tls),
        T(resumption),
        T(new_refusals),
        T(unix_socket),
    };
#undef T
    return cmocka_run_group_tests_name("tls", tests, group_setup, group_teardown);
}
