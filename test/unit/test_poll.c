/* test_poll.c: the poll adapter on its own: EINTR, a context freeing another
 * from inside the same pass, its timer, run() returning when all ended. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arc/adapters/poll.h>

#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

typedef struct rec {
    int calls, status;
    arc_context *victim;
} rec;

static void on_reply(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    (void)r;
    rec *k = pd;
    k->calls++;
    k->status = status;
    if (k->victim != NULL && status == ARC_OK) {
        arc_free(k->victim); /* another context of the same loop */
        k->victim = NULL;
    }
}

static arc_context *pair_context(int *peer, long command_timeout_ms)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    arc_options o;
    memset(&o, 0, sizeof o);
    o.command_timeout_ms = command_timeout_ms;
    arc_context *c = arc_connect_fd(sv[0], &o);
    assert_non_null(c);
    *peer = sv[1];
    return c;
}

static void on_alarm(int sig)
{
    (void)sig;
}

/* A signal during poll() is not an error. */
static void eintr_is_not_an_error(void **state)
{
    (void)state;
    arc_poll_loop *loop = arc_poll_loop_new();
    int peer;
    arc_context *c = pair_context(&peer, 0);
    assert_int_equal(arc_poll_attach(c, loop), ARC_OK);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: poll() returns EINTR */
    sigaction(SIGALRM, &sa, NULL);
    /* The link's start (a 0 ms timer), then the connect confirmation. */
    for (int i = 0; i < 10 && arc_context_state(c) != ARC_STATE_READY; i++)
        arc_poll_loop_run_once(loop, 0);
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);
    /* Armed only now, and 100 ms ahead: under valgrind on a loaded machine
     * the call above can take longer than a short timer, which then fired
     * before poll() started waiting. */
    struct itimerval it = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
    int64_t start = arc_now_ms();
    int rc = arc_poll_loop_run_once(loop, 10000);
    assert_int_equal(rc, 1);
    assert_true(arc_now_ms() - start < 5000); /* woken by the signal */
    signal(SIGALRM, SIG_DFL);
    arc_poll_loop_free(loop); /* frees c */
    close(peer);
}

/* The first context's reply callback frees the second, whose socket is
 * ready in the same pass: the loop must skip it. */
static void free_another_in_the_same_pass(void **state)
{
    (void)state;
    arc_poll_loop *loop = arc_poll_loop_new();
    int p1, p2;
    arc_context *a = pair_context(&p1, 0), *b = pair_context(&p2, 0);
    assert_int_equal(arc_poll_attach(a, loop), ARC_OK);
    assert_int_equal(arc_poll_attach(b, loop), ARC_OK);
    rec ra = {0, 0, NULL}, rb = {0, 0, NULL};
    assert_int_equal(arc_command(a, on_reply, &ra, "PING"), ARC_OK);
    assert_int_equal(arc_command(b, on_reply, &rb, "PING"), ARC_OK);
    for (int i = 0; i < 5; i++)
        arc_poll_loop_run_once(loop, 10);
    ra.victim = b;
    rb.victim = a;
    assert_int_equal(write(p1, "+PONG\r\n", 7), 7);
    assert_int_equal(write(p2, "+PONG\r\n", 7), 7);
    arc_poll_loop_run_once(loop, 100);
    /* Whichever ran first freed the other, whose command got FREED. */
    assert_int_equal(ra.calls, 1);
    assert_int_equal(rb.calls, 1);
    assert_true((ra.status == ARC_OK) != (rb.status == ARC_OK));
    assert_int_equal(arc_poll_loop_count(loop), 1);
    arc_poll_loop_free(loop);
    close(p1);
    close(p2);
}

/* The adapter's timer fires the command timeout; run() then returns since
 * the only context has ended. */
static void timer_fires_and_run_returns(void **state)
{
    (void)state;
    arc_poll_loop *loop = arc_poll_loop_new();
    int peer;
    arc_context *c = pair_context(&peer, 100);
    assert_int_equal(arc_poll_attach(c, loop), ARC_OK);
    rec r = {0, 0, NULL};
    assert_int_equal(arc_command(c, on_reply, &r, "GET x"), ARC_OK);
    int64_t start = arc_now_ms();
    assert_int_equal(arc_poll_loop_run(loop), 0);
    int64_t took = arc_now_ms() - start;
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, ARC_ERR_UNANSWERED);
    assert_int_equal(arc_context_failure(c), ARC_ERR_TIMEOUT);
    assert_true(took >= 95 && took < 1000);
    assert_int_equal(arc_context_state(c), ARC_STATE_FAILED);
    arc_free(c);
    assert_int_equal(arc_poll_loop_count(loop), 0);
    arc_poll_loop_free(loop);
    close(peer);
}

static void attach_rules(void **state)
{
    (void)state;
    arc_poll_loop *loop = arc_poll_loop_new();
    int peer;
    arc_context *c = pair_context(&peer, 0);
    assert_int_equal(arc_poll_attach(c, NULL), ARC_ERR_INVALID);
    assert_int_equal(arc_poll_attach(NULL, loop), ARC_ERR_INVALID);
    assert_int_equal(arc_poll_attach(c, loop), ARC_OK);
    assert_int_equal(arc_poll_attach(c, loop), ARC_ERR_STATE); /* once */
    assert_int_equal(arc_poll_loop_count(loop), 1);
    arc_poll_loop_free(loop);
    close(peer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eintr_is_not_an_error),
        cmocka_unit_test(free_another_in_the_same_pass),
        cmocka_unit_test(timer_fires_and_run_returns),
        cmocka_unit_test(attach_rules),
    };
    return cmocka_run_group_tests_name("poll", tests, NULL, NULL);
}
