/* tls_probe.c (tests): the TLS tests' recorders, servers and probe (see
 * tls_probe.h). */
#define _GNU_SOURCE
#include "tls_probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- recorders and the loop ---- */

void on_connect(arc_context *c, int status, void *data)
{
    (void)c;
    conn *k = data;
    k->connects++;
    k->connect_status = status;
}

void on_disconnect(arc_context *c, int status, void *data)
{
    (void)c;
    conn *k = data;
    k->disconnects++;
    k->disconnect_status = status;
}

void on_reply(arc_context *c, arc_reply *r, int status, void *privdata)
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

void rec_clear(rec *x)
{
    arc_reply_free(x->last);
    memset(x, 0, sizeof *x);
}

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

arc_poll_loop *probe_loop;

void run_for(long ms)
{
    int64_t end = now_ms() + ms;
    while (now_ms() < end)
        arc_poll_loop_run_once(probe_loop, 10);
}

bool ended(const arc_context *c)
{
    arc_state s = arc_context_state(c);
    return s == ARC_STATE_CLOSED || s == ARC_STATE_FAILED;
}

/* ---- servers and configurations ---- */

const test_tls_files *certs(void)
{
    const test_tls_files *f = test_tls_files_get();
    if (f == NULL)
        fail_msg("no test certificates (is the openssl program installed?)");
    return f;
}

test_redis *shared_server;

test_redis *tls_server_start(const test_redis_options *o)
{
    test_redis *s = test_redis_start(o);
    if (s == NULL)
        fail_msg("cannot start a TLS redis-server (see stderr)");
    return s;
}

arc_tls *tls_config(const arc_tls_options *o)
{
    char err[256];
    arc_tls *tls = arc_tls_new(o, err, sizeof err);
    if (tls == NULL)
        fail_msg("arc_tls_new: %s", err);
    return tls;
}

arc_tls *tls_config_ca(long handshake_ms)
{
    arc_tls_options o = {0};
    o.ca_file = certs()->ca_cert;
    o.handshake_timeout_ms = handshake_ms;
    return tls_config(&o);
}

/* ---- one context with a PING queued ---- */

arc_options probe_options(arc_tls *tls, const char *host, int port)
{
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = host;
    o.port = port;
    o.connect_timeout_ms = 5000;
    o.transport = arc_tls_transport(tls);
    return o;
}

void probe_start(probe *p, arc_options *o)
{
    memset(p, 0, sizeof *p);
    o->on_connect = on_connect;
    o->on_disconnect = on_disconnect;
    o->data = &p->k;
    p->started = now_ms();
    p->c = arc_connect(o);
    assert_non_null(p->c);
    assert_int_equal(arc_poll_attach(p->c, probe_loop), ARC_OK);
    assert_int_equal(arc_command(p->c, on_reply, &p->ping, "PING"), ARC_OK);
}

void probe_pong(probe *p)
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

void probe_failed(probe *p, int status, const char *words)
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

void probe_end(probe *p)
{
    /* arc_free of a context still connecting tells on_connect (FREED). */
    int connects = p->k.connects, disconnects = p->k.disconnects;
    bool was_ready = p->k.connect_status == ARC_OK && !ended(p->c);
    arc_free(p->c);
    run_for(10);
    assert_int_equal(p->k.connects, connects == 0 ? 1 : connects);
    assert_int_equal(p->k.disconnects, disconnects + (was_ready ? 1 : 0));
    assert_int_equal(p->ping.calls, 1);
    rec_clear(&p->ping);
}
