/* test_reset.c: the server resets the connection while well over one read
 * chunk of replies is still unread. Whatever the loop, every command's
 * callback runs exactly once (with a reply or with NULL) and the context
 * ends FAILED within a few seconds; it must not wait for ever on a watcher
 * that the loop stopped on the error. Built once per adapter
 * (-DARC_RESET_<LOOP>). */
#define _GNU_SOURCE /* accept4; libuv also needs the POSIX types */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the loop under test: four functions, as in test/integration ---- */

#if defined(ARC_RESET_POLL)
#include <arc/adapters/poll.h>
#define LOOP_NAME "poll"
static void *loop_new(void)
{
    return arc_poll_loop_new();
}
static void loop_free(void *l)
{
    arc_poll_loop_free(l);
}
static int loop_attach(void *l, arc_context *c)
{
    return arc_poll_attach(c, l);
}
static void loop_run_once(void *l, long ms)
{
    arc_poll_loop_run_once(l, ms);
}

#elif defined(ARC_RESET_LIBEVENT)
#include <arc/adapters/libevent.h>
#define LOOP_NAME "libevent"
static void *loop_new(void)
{
    return event_base_new();
}
static void loop_free(void *l)
{
    event_base_free(l);
}
static int loop_attach(void *l, arc_context *c)
{
    return arc_libevent_attach(c, l);
}
static void loop_run_once(void *l, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(l, &tv);
    event_base_loop(l, EVLOOP_ONCE);
}

#elif defined(ARC_RESET_LIBEV)
#include <arc/adapters/libev.h>
#define LOOP_NAME "libev"
static void *loop_new(void)
{
    return ev_loop_new(EVFLAG_AUTO);
}
static void loop_free(void *l)
{
    ev_loop_destroy(l);
}
static int loop_attach(void *l, arc_context *c)
{
    return arc_libev_attach(c, l);
}
static void on_bound(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
}
static void loop_run_once(void *l, long ms)
{
    ev_timer bound;
    ev_timer_init(&bound, on_bound, (ev_tstamp)ms / 1000.0, 0.0);
    ev_now_update(l);
    ev_timer_start(l, &bound);
    ev_run(l, EVRUN_ONCE);
    ev_timer_stop(l, &bound);
}

#elif defined(ARC_RESET_LIBUV)
#include <arc/adapters/libuv.h>
#include <dlfcn.h>
#include <stdlib.h>
#define LOOP_NAME "libuv"

/* Interposed on libuv's own: while `refuse_poll_start` is set it fails as
 * libuv does when another handle holds the descriptor, so the adapter's
 * fallback for a handle it cannot restart is exercised too. */
static int refuse_poll_start;
int uv_poll_start(uv_poll_t *handle, int events, uv_poll_cb cb)
{
    static int (*real)(uv_poll_t *, int, uv_poll_cb);
    if (refuse_poll_start)
        return UV_EEXIST;
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "uv_poll_start");
    assert_non_null(real);
    return real(handle, events, cb);
}
typedef struct uvloop {
    uv_loop_t loop;
    uv_timer_t bound; /* wakes uv_run when nothing else does */
} uvloop;
static void *loop_new(void)
{
    uvloop *l = malloc(sizeof *l);
    assert_non_null(l);
    assert_int_equal(uv_loop_init(&l->loop), 0);
    uv_timer_init(&l->loop, &l->bound);
    return l;
}
static void loop_free(void *loop)
{
    uvloop *l = loop;
    uv_close((uv_handle_t *)&l->bound, NULL);
    uv_run(&l->loop, UV_RUN_DEFAULT); /* the adapter's close callbacks */
    assert_int_equal(uv_loop_close(&l->loop), 0);
    free(l);
}
static int loop_attach(void *l, arc_context *c)
{
    return arc_libuv_attach(c, &((uvloop *)l)->loop);
}
static void on_bound(uv_timer_t *t)
{
    (void)t;
}
static void loop_run_once(void *loop, long ms)
{
    uvloop *l = loop;
    uv_update_time(&l->loop);
    uv_timer_start(&l->bound, on_bound, (uint64_t)ms, 0);
    uv_run(&l->loop, UV_RUN_ONCE);
    uv_timer_stop(&l->bound);
}

#elif defined(ARC_RESET_GLIB)
#include <arc/adapters/glib.h>
#define LOOP_NAME "glib"
static void *loop_new(void)
{
    return g_main_context_new();
}
static void loop_free(void *l)
{
    while (g_main_context_iteration(l, FALSE))
        ;
    g_main_context_unref(l);
}
static int loop_attach(void *l, arc_context *c)
{
    return arc_glib_attach(c, l);
}
static gboolean on_bound(gpointer data)
{
    (void)data;
    return G_SOURCE_REMOVE;
}
static void loop_run_once(void *l, long ms)
{
    GSource *bound = g_timeout_source_new((guint)ms);
    g_source_set_callback(bound, on_bound, NULL, NULL);
    g_source_attach(bound, l);
    g_main_context_iteration(l, TRUE);
    g_source_destroy(bound);
    g_source_unref(bound);
}

#else
#error "build with one of -DARC_RESET_POLL, _LIBEVENT, _LIBEV, _LIBUV, _GLIB"
#endif

/* ---- the scenario ---- */

#define COMMANDS 2000
#define VALUE_LEN 1024
#define WAIT_MS 5000 /* bounded: the bug this pins is a hang */

typedef struct tally {
    int calls[COMMANDS];
    int done;
    int replies;
    int nulls;
} tally;

static tally T;

static void on_reply(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    (void)status;
    int *calls = pd;
    (*calls)++;
    T.done++;
    if (r != NULL) {
        assert_int_equal(r->type, ARC_REPLY_STRING);
        assert_int_equal(r->len, VALUE_LEN);
        T.replies++;
    } else {
        T.nulls++;
    }
}

static int listen_local(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 1), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Runs the client's loop until the server end has accepted and read every
 * command (counted by their '*' array headers: "GET k" has no other). */
static int accept_and_read_commands(void *loop, int lfd)
{
    int sfd = -1;
    int commands = 0;
    int64_t end = arc_now_ms() + WAIT_MS;
    while (commands < COMMANDS && arc_now_ms() < end) {
        loop_run_once(loop, 5);
        if (sfd < 0)
            sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (sfd < 0)
            continue;
        char buf[16384];
        ssize_t n;
        while ((n = recv(sfd, buf, sizeof buf, 0)) > 0)
            for (ssize_t i = 0; i < n; i++)
                commands += buf[i] == '*';
    }
    assert_true(sfd >= 0);
    assert_int_equal(commands, COMMANDS);
    return sfd;
}

/* Writes replies while the client does not read, until the socket takes no
 * more or all are out. */
static void write_replies(int sfd)
{
    static char reply[VALUE_LEN + 16];
    int head = snprintf(reply, sizeof reply, "$%d\r\n", VALUE_LEN);
    memset(reply + head, 'v', VALUE_LEN);
    memcpy(reply + head + VALUE_LEN, "\r\n", 2);
    size_t one = (size_t)head + VALUE_LEN + 2;
    size_t total = one * COMMANDS, sent = 0;
    while (sent < total) {
        ssize_t n = send(sfd, reply + sent % one, one - sent % one, MSG_NOSIGNAL);
        if (n < 0) {
            assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
            break;
        }
        sent += (size_t)n;
    }
}

/* The reset, with far more than one read chunk of replies unread at the
 * client; `before_reset` (may be NULL) runs just before it. */
static void reset_scenario(void (*before_reset)(void))
{
    memset(&T, 0, sizeof T);
    int port;
    int lfd = listen_local(&port);
    void *loop = loop_new();
    assert_non_null(loop);

    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = "127.0.0.1";
    o.port = port;
    arc_context *c = arc_connect(&o); /* no timeouts: nothing rescues a hang */
    assert_non_null(c);
    assert_int_equal(loop_attach(loop, c), ARC_OK);
    for (int i = 0; i < COMMANDS; i++)
        assert_int_equal(arc_command(c, on_reply, &T.calls[i], "GET k"), ARC_OK);

    int sfd = accept_and_read_commands(loop, lfd);
    /* Room for far more than one read chunk (64 KiB) at the client. */
    int rcvbuf = 4 * 1024 * 1024;
    assert_int_equal(setsockopt(arc_fd(c), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    write_replies(sfd);
    usleep(20000); /* loopback delivery */
    int unread = 0;
    assert_int_equal(ioctl(arc_fd(c), FIONREAD, &unread), 0);
    assert_true(unread > 256 * 1024);

    if (before_reset != NULL)
        before_reset();
    struct linger lg = {1, 0}; /* close() now sends a reset */
    assert_int_equal(setsockopt(sfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(sfd);

    int64_t end = arc_now_ms() + WAIT_MS;
    while ((T.done < COMMANDS || arc_context_state(c) != ARC_STATE_FAILED) && arc_now_ms() < end)
        loop_run_once(loop, 10);
    print_message("# %s: %d unread at the reset, %d replies, %d NULLs, state %s\n", LOOP_NAME,
                  unread, T.replies, T.nulls, arc_state_name(arc_context_state(c)));
    assert_int_equal(T.done, COMMANDS);
    assert_int_equal(arc_context_state(c), ARC_STATE_FAILED);
    arc_free(c);
    loop_free(loop);
    for (int i = 0; i < COMMANDS; i++)
        assert_int_equal(T.calls[i], 1); /* after arc_free too: exactly once */
    close(lfd);
}

static void reset_under_unread_replies(void **state)
{
    (void)state;
    reset_scenario(NULL);
}

#ifdef ARC_RESET_LIBUV
static void refuse(void)
{
    refuse_poll_start = 1;
}

/* libuv stops the handle on the error and will not start it again: the
 * adapter reads on until arc has met the error. */
static void reset_with_restart_refused(void **state)
{
    (void)state;
    reset_scenario(refuse);
    refuse_poll_start = 0;
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reset_under_unread_replies),
#ifdef ARC_RESET_LIBUV
        cmocka_unit_test(reset_with_restart_refused),
#endif
    };
    return cmocka_run_group_tests_name(LOOP_NAME, tests, NULL, NULL);
}
