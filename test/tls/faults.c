/* faults.c (tests): TLS peers that fail: servers that do not speak TLS,
 * stop in the middle or die (in the middle of a reply, between replies,
 * under a pipeline, with SIGPIPE at its default action), and TLS over a
 * unix socket. */
#define _GNU_SOURCE
#include "tls_probe.h"

#include "fake_server.h"
#include "silent_listener.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- servers that do not speak TLS, or stop ---- */

/* A plaintext redis-server waits for a newline that a TLS hello may not
 * have; the handshake limit (500 ms here) ends it, or its error reply does
 * at once. Never a hang, never the connect timeout (5 s). */
static void plaintext_server(void **state)
{
    (void)state;
    arc_tls *tls = tls_config_ca(500);
    probe p;
    arc_options o = probe_options(tls, "localhost", test_redis_port(shared_server));
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
    arc_tls *tls = tls_config_ca(500);
    probe p;
    arc_options o = probe_options(tls, "127.0.0.1", port);
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
        arc_tls *tls = tls_config_ca(3000);
        probe p;
        arc_options o = probe_options(tls, "127.0.0.1", fake_port(f));
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
    arc_tls *tls = tls_config_ca(2000);
    probe p;
    arc_options o = probe_options(tls, "127.0.0.1", fake_port(f));
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
    test_redis *s = tls_server_start(&(test_redis_options){.tls = 1});
    enum { BIG = 4 << 20, GETS = 8 };
    char *value = malloc(BIG);
    assert_non_null(value);
    memset(value, 'x', BIG);
    arc_reply *r = test_redis_command(s, "SET big %b", value, (size_t)BIG);
    assert_non_null(r);
    arc_reply_free(r);
    free(value);
    arc_tls *tls = tls_config_ca(0);
    probe p;
    arc_options o = probe_options(tls, "localhost", test_redis_tls_port(s));
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
    test_redis *s = tls_server_start(&(test_redis_options){.tls = 1});
    arc_tls *tls = tls_config_ca(0);
    probe p;
    arc_options o = probe_options(tls, "localhost", test_redis_tls_port(s));
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
    to.ca_file = certs()->ca_cert;
    char err[256];
    arc_tls *tls = arc_tls_new(&to, err, sizeof err);
    if (l == NULL || tls == NULL)
        return 10;
    conn k = {0};
    arc_options o = probe_options(tls, "localhost", port);
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
        test_redis *s = tls_server_start(&(test_redis_options){.tls = 1});
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
    arc_tls *tls = tls_config_ca(0);
    probe p;
    arc_options o = probe_options(tls, NULL, 0);
    o.unix_path = test_redis_unix_path(shared_server);
    probe_start(&p, &o);
    probe_failed(&p, ARC_ERR_INVALID, "unix sockets");
    probe_end(&p);
    arc_tls_free(tls);
}

const struct CMUnitTest tls_fault_tests[] = {
    cmocka_unit_test(plaintext_server),
    cmocka_unit_test(silent_server),
    cmocka_unit_test(not_tls_bytes),
    cmocka_unit_test(stall_mid_handshake),
    cmocka_unit_test(no_sigpipe), /* first of those that kill servers: its
                                     child runs the leak check on what the
                                     parent holds too */
    cmocka_unit_test(killed_mid_reply),
    cmocka_unit_test(killed_while_idle),
    cmocka_unit_test(unix_socket),
};
const size_t tls_fault_test_count = sizeof tls_fault_tests / sizeof tls_fault_tests[0];
