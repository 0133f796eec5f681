/* trust.c (tests): whom a TLS context trusts: the chain, the host name,
 * the IP address, verification off, the client's own certificate (mutual
 * TLS), resumed sessions, and the configurations arc_tls_new() refuses. */
#define _GNU_SOURCE
#include "tls_probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- verification ---- */

static void wrong_ca(void **state)
{
    (void)state;
    arc_tls_options o = {0};
    o.ca_file = certs()->other_ca_cert;
    arc_tls *tls = tls_config(&o);
    probe p;
    arc_options ao = probe_options(tls, "localhost", test_redis_tls_port(shared_server));
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
    o.ca_dir = certs()->ca_dir;
    arc_tls *tls = tls_config(&o);
    probe p;
    arc_options ao = probe_options(tls, "localhost", test_redis_tls_port(shared_server));
    probe_start(&p, &ao);
    probe_pong(&p);
    probe_end(&p);
    arc_tls_free(tls);
}

/* A server with another certificate: one issued by the CA but for
 * another name, and one that expired. */
static void server_with(const char *cert, const char *key, const char *words)
{
    test_redis *s = tls_server_start(&(test_redis_options){
        .tls = 1, .tls_cert_file = cert, .tls_key_file = key});
    arc_tls *tls = tls_config_ca(0);
    probe p;
    arc_options o = probe_options(tls, "localhost", test_redis_tls_port(s));
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
    server_with(certs()->wrong_name_cert, certs()->wrong_name_key, "hostname mismatch");
}

static void expired(void **state)
{
    (void)state;
    server_with(certs()->expired_cert, certs()->expired_key, "expired");
}

/* An address is checked against the certificate's IP SANs: 127.0.0.1 is
 * one, 127.0.0.2 (where the server listens too) is not. */
static void ip_address(void **state)
{
    (void)state;
    arc_tls *tls = tls_config_ca(0);
    probe ok, bad;
    arc_options o = probe_options(tls, "127.0.0.1", test_redis_tls_port(shared_server));
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
    o.ca_file = certs()->other_ca_cert;
    o.verify = ARC_TLS_VERIFY_NONE;
    arc_tls *tls = tls_config(&o);
    probe p;
    arc_options ao = probe_options(tls, "127.0.0.2", test_redis_tls_port(shared_server));
    probe_start(&p, &ao);
    probe_pong(&p);
    probe_end(&p);
    arc_tls_free(tls);
}

/* ---- mutual TLS ---- */

static void mutual_tls(void **state)
{
    (void)state;
    const test_tls_files *f = certs();
    test_redis *s = tls_server_start(&(test_redis_options){.tls = 1, .tls_auth_clients = 1});
    /* Without a certificate. With TLS 1.3 the client's side of the
     * handshake may end before the server checks it: the refusal can come
     * after READY, as the first read. */
    arc_tls *none = tls_config_ca(0);
    probe p;
    arc_options o = probe_options(none, "localhost", test_redis_tls_port(s));
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
    arc_tls *mine = tls_config(&to);
    o = probe_options(mine, "localhost", test_redis_tls_port(s));
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
    arc_tls *tls = tls_config_ca(0);
    probe first, second, other;
    arc_options o = probe_options(tls, "localhost", test_redis_tls_port(shared_server));
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
    arc_tls *fresh = tls_config_ca(0);
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
    arc_options plain = probe_options(NULL, "127.0.0.1", test_redis_port(shared_server));
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
    const test_tls_files *f = certs();
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

const struct CMUnitTest tls_trust_tests[] = {
    cmocka_unit_test(wrong_ca),
    cmocka_unit_test(ca_dir),
    cmocka_unit_test(wrong_host_name),
    cmocka_unit_test(expired),
    cmocka_unit_test(ip_address),
    cmocka_unit_test(verify_none),
    cmocka_unit_test(mutual_tls),
    cmocka_unit_test(resumption),
    cmocka_unit_test(new_refusals),
};
const size_t tls_trust_test_count = sizeof tls_trust_tests / sizeof tls_trust_tests[0];
