/* test_glib_nested.c: a callback that runs a nested GLib main loop. arc
 * ignores re-entry, so its source must not keep waking the nested loop for
 * the socket it will not read; once the callback returns, reading goes on. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arc/adapters/glib.h>

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct nest {
    GMainContext *ctx;
    int peer;
    int calls;
    int nested_dispatches;
    char last[8];
} nest;

static void on_reply(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    nest *n = pd;
    assert_int_equal(status, ARC_OK);
    n->calls++;
    memcpy(n->last, r->str, r->len < 7 ? r->len : 7);
    n->last[r->len < 7 ? r->len : 7] = '\0';
    if (n->calls == 1) {
        /* The second reply is on the socket while the nested loop spins. */
        assert_int_equal(write(n->peer, "+two\r\n", 6), 6);
        for (int i = 0; i < 100; i++)
            n->nested_dispatches += g_main_context_iteration(n->ctx, FALSE);
    }
}

/* A context on `ctx` over a socketpair; *peer is the server's end. */
static arc_context *glib_pair(GMainContext *ctx, long command_timeout_ms, int *peer)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    arc_options o;
    memset(&o, 0, sizeof o);
    o.command_timeout_ms = command_timeout_ms;
    arc_context *c = arc_connect_fd(sv[0], &o);
    assert_non_null(c);
    assert_int_equal(arc_glib_attach(c, ctx), ARC_OK);
    *peer = sv[1];
    return c;
}

static void nested_loop_in_a_callback(void **state)
{
    (void)state;
    int sv[2];
    nest n = {.ctx = g_main_context_new()};
    arc_context *c = glib_pair(n.ctx, 0, &sv[1]);
    n.peer = sv[1];
    assert_int_equal(arc_command(c, on_reply, &n, "GET a"), ARC_OK);
    assert_int_equal(arc_command(c, on_reply, &n, "GET b"), ARC_OK);
    assert_int_equal(write(sv[1], "+one\r\n", 6), 6);
    for (int i = 0; i < 1000 && n.calls < 2; i++)
        g_main_context_iteration(n.ctx, TRUE);
    assert_int_equal(n.calls, 2);
    assert_string_equal(n.last, "two");
    /* One nested dispatch finds arc busy and holds the fd back; without
     * that, each of the 100 iterations would dispatch again. */
    assert_true(n.nested_dispatches <= 1);
    arc_free(c);
    while (g_main_context_iteration(n.ctx, FALSE))
        ;
    g_main_context_unref(n.ctx);
    close(sv[1]);
}

/* The same with the pending command's timeout expiring while the nested
 * loop runs: the nested loop is not woken over and over by the expired
 * timer, and the timeout still fires once the callback returns. */
typedef struct timed {
    GMainContext *ctx;
    int first, second, second_status;
    int nested_dispatches;
} timed;

static void on_second(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    (void)r;
    timed *t = pd;
    t->second++;
    t->second_status = status;
}

static void on_first(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    (void)r;
    timed *t = pd;
    assert_int_equal(status, ARC_OK);
    t->first++;
    /* 100 ms of nested iterations, well past the 20 ms timeout. */
    gint64 end = g_get_monotonic_time() + 100 * 1000;
    while (g_get_monotonic_time() < end) {
        t->nested_dispatches += g_main_context_iteration(t->ctx, FALSE);
        g_usleep(1000);
    }
}

static void nested_loop_while_a_timeout_expires(void **state)
{
    (void)state;
    int sv[2];
    timed t = {.ctx = g_main_context_new()};
    arc_context *c = glib_pair(t.ctx, 20, &sv[1]);
    assert_int_equal(arc_command(c, on_first, &t, "GET a"), ARC_OK);
    assert_int_equal(arc_command(c, on_second, &t, "GET b"), ARC_OK);
    assert_int_equal(write(sv[1], "+one\r\n", 6), 6);
    for (int i = 0; i < 1000 && t.second == 0; i++)
        g_main_context_iteration(t.ctx, TRUE);
    assert_int_equal(t.first, 1);
    assert_int_equal(t.second, 1);
    assert_int_equal(t.second_status, ARC_ERR_UNANSWERED); /* the liveness timeout */
    assert_int_equal(arc_context_failure(c), ARC_ERR_TIMEOUT);
    assert_true(t.nested_dispatches <= 2); /* one for the fd, one for the timer */
    arc_free(c);
    while (g_main_context_iteration(t.ctx, FALSE))
        ;
    g_main_context_unref(t.ctx);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nested_loop_in_a_callback),
        cmocka_unit_test(nested_loop_while_a_timeout_expires),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
