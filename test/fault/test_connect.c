/* test_connect.c: connecting under faults, with the scripted fake server:
 * every resolved address tried in order (the loop told of each socket),
 * refusals, a backlog that never answers, a stalled handshake, descriptor
 * exhaustion (HELD), and a command timeout that traffic cannot postpone. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arc/arc.h>

#include "fake_resolver.h"
#include "fake_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- a one-context loop over the hooks that records every set_fd ---- */

typedef struct watch {
    arc_context *c;
    int fd;
    bool rd, wr, dead;
    int64_t deadline;
    int fds_seen[16];
    int nfds;
    int timer_calls;
    int refuse_fd; /* set_fd of a socket answers this status (0: ARC_OK) */
} watch;

static int w_add_read(void *d)
{
    ((watch *)d)->rd = true;
    return ARC_OK;
}
static void w_del_read(void *d) { ((watch *)d)->rd = false; }
static int w_add_write(void *d)
{
    ((watch *)d)->wr = true;
    return ARC_OK;
}
static void w_del_write(void *d) { ((watch *)d)->wr = false; }
static void w_cleanup(void *d) { ((watch *)d)->dead = true; }

static int w_set_fd(void *d, int fd)
{
    watch *w = d;
    /* Rule 3: interest was dropped before the socket changed. */
    assert_false(w->rd);
    assert_false(w->wr);
    w->fd = fd;
    if (w->nfds < 16)
        w->fds_seen[w->nfds++] = fd;
    return fd >= 0 && w->refuse_fd ? w->refuse_fd : ARC_OK;
}

static int w_timer(void *d, long ms)
{
    watch *w = d;
    w->timer_calls++;
    w->deadline = ms < 0 ? -1 : arc_now_ms() + ms;
    return ARC_OK;
}

static void attach_refusing(watch *w, arc_context *c, int refuse_fd)
{
    memset(w, 0, sizeof *w);
    w->refuse_fd = refuse_fd;
    w->c = c;
    w->fd = -1;
    w->deadline = -1;
    arc_event_hooks h = {w, w_add_read, w_del_read, w_add_write, w_del_write,
                         w_set_fd, w_timer, w_cleanup, NULL};
    assert_int_equal(arc_attach(c, &h), ARC_OK);
}

static void attach(watch *w, arc_context *c)
{
    attach_refusing(w, c, ARC_OK);
}

static void step(watch *w, int max_ms)
{
    if (w->dead)
        return;
    int64_t now = arc_now_ms();
    int wait = max_ms;
    if (w->deadline >= 0 && w->deadline - now < wait)
        wait = w->deadline > now ? (int)(w->deadline - now) : 0;
    struct pollfd p = {w->fd, (short)((w->rd ? POLLIN : 0) | (w->wr ? POLLOUT : 0)), 0};
    poll(&p, w->fd >= 0 && p.events ? 1 : 0, wait);
    if (w->deadline >= 0 && arc_now_ms() >= w->deadline) {
        w->deadline = -1;
        arc_handle_timeout(w->c);
    }
    if (!w->dead && p.fd == w->fd && (p.revents & (POLLIN | POLLERR | POLLHUP)) && w->rd)
        arc_handle_read(w->c);
    if (!w->dead && p.fd == w->fd && (p.revents & (POLLOUT | POLLERR | POLLHUP)) && w->wr)
        arc_handle_write(w->c);
}

static bool ended(arc_context *c)
{
    arc_state s = arc_context_state(c);
    return s == ARC_STATE_CLOSED || s == ARC_STATE_FAILED;
}

#define RUN_UNTIL(w, ms, cond)                                                         \
    do {                                                                               \
        int64_t end_ = arc_now_ms() + (ms);                                            \
        while (!(cond) && arc_now_ms() < end_)                                         \
            step(w, 5);                                                                \
        if (!(cond))                                                                   \
            fail_msg("timed out waiting for %s", #cond);                               \
    } while (0)

typedef struct rec {
    int calls, nulls, status, connects, connect_status;
    bool pong;
} rec;

static void on_reply(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    rec *k = pd;
    k->calls++;
    k->status = status;
    if (r == NULL)
        k->nulls++;
    else if (r->type == ARC_REPLY_STATUS && strcmp(r->str, "PONG") == 0)
        k->pong = true;
}

static void on_connect(arc_context *c, int status, void *data)
{
    (void)c;
    rec *k = data;
    k->connects++;
    k->connect_status = status;
}

static const char pong_script[] = "ACCEPT\nEXPECT_COMMAND 1\nSEND +PONG\\r\\n\nDRAIN\n";

/* Every address in order, each on a new socket announced with set_fd; the
 * third answers. */
static void tries_every_address(void **state)
{
    (void)state;
    fake_server *f = fake_start(pong_script);
    assert_non_null(f);
    static const char *const hosts[] = {"127.0.0.2", "127.0.0.3", "127.0.0.1", NULL};
    fake_resolver_on(hosts, fake_port(f));
    rec k = {0};
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = "several.test";
    o.port = fake_port(f);
    o.connect_timeout_ms = 3000;
    o.on_connect = on_connect;
    o.data = &k;
    arc_context *c = arc_connect(&o);
    fake_resolver_off();
    watch w;
    attach(&w, c);
    rec ping = {0};
    assert_int_equal(arc_command(c, on_reply, &ping, "PING"), ARC_OK);
    RUN_UNTIL(&w, 3000, ping.calls == 1 || ended(c));
    assert_true(ping.pong);
    assert_int_equal(k.connects, 1);
    assert_int_equal(k.connect_status, ARC_OK);
    /* Announced: a socket per address, with -1 between them. */
    int sockets = 0;
    for (int i = 0; i < w.nfds; i++)
        if (w.fds_seen[i] >= 0)
            sockets++;
    assert_true(sockets >= 2); /* refused ones may fail in connect() at once */
    assert_int_equal(w.fds_seen[w.nfds - 1], arc_fd(c));
    arc_free(c);
    assert_true(w.dead); /* cleanup ran */
    assert_int_equal(fake_finish(f, 5000), 0);
}

/* All refuse: REFUSED, and the message names where. */
static void all_addresses_refuse(void **state)
{
    (void)state;
    fake_server *f = fake_start("EXIT 0\n");
    assert_non_null(f);
    int port = fake_port(f);
    assert_int_equal(fake_finish(f, 5000), 0); /* nobody listens there now */
    static const char *const hosts[] = {"127.0.0.2", "127.0.0.1", NULL};
    fake_resolver_on(hosts, port);
    rec k = {0};
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = "nobody.test";
    o.port = port;
    o.on_connect = on_connect;
    o.data = &k;
    arc_context *c = arc_connect(&o);
    fake_resolver_off();
    watch w;
    attach(&w, c);
    rec ping = {0};
    assert_int_equal(arc_command(c, on_reply, &ping, "PING"), ARC_OK);
    RUN_UNTIL(&w, 3000, ended(c));
    assert_int_equal(k.connects, 1);
    assert_int_equal(k.connect_status, ARC_ERR_REFUSED);
    assert_int_equal(ping.calls, 1);
    assert_int_equal(ping.status, ARC_ERR_NOT_SENT);
    assert_non_null(strstr(arc_context_error(c), "nobody.test"));
    assert_int_equal(arc_context_state(c), ARC_STATE_FAILED);
    arc_free(c);
}

/* A server whose accept queue is full never completes the connect; the
 * connect timeout ends it, within bounds. */
static void connect_timeout_on_full_backlog(void **state)
{
    (void)state;
    fake_server *f = fake_start("BACKLOG_FULL\n");
    assert_non_null(f);
    rec k = {0};
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = "127.0.0.1";
    o.port = fake_port(f);
    o.connect_timeout_ms = 300;
    o.on_connect = on_connect;
    o.data = &k;
    int64_t start = arc_now_ms();
    arc_context *c = arc_connect(&o);
    watch w;
    attach(&w, c);
    RUN_UNTIL(&w, 3000, k.connects == 1);
    int64_t took = arc_now_ms() - start;
    assert_int_equal(k.connect_status, ARC_ERR_TIMEOUT);
    assert_true(took >= 290 && took < 1300);
    arc_free(c);
    fake_stop(f);
}

/* The connect timeout covers the handshake: a server that accepts and then
 * says nothing to HELLO fails it. */
static void handshake_stall_times_out(void **state)
{
    (void)state;
    fake_server *f = fake_start("ACCEPT\nSTALL\n");
    assert_non_null(f);
    rec k = {0};
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = "127.0.0.1";
    o.port = fake_port(f);
    o.resp = 3;
    o.connect_timeout_ms = 300;
    o.on_connect = on_connect;
    o.data = &k;
    arc_context *c = arc_connect(&o);
    watch w;
    attach(&w, c);
    RUN_UNTIL(&w, 3000, k.connects == 1);
    assert_int_equal(k.connect_status, ARC_ERR_TIMEOUT);
    assert_int_equal(arc_context_previous_state(c), ARC_STATE_HANDSHAKE);
    assert_non_null(strstr(arc_context_error(c), "handshake"));
    arc_free(c);
    fake_stop(f);
}

/* Traffic never postpones a timeout: pushes every 20 ms while the one
 * command waits for a reply that never comes. */
static void pushes_do_not_postpone_the_command_timeout(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    rec k = {0};
    arc_options o;
    memset(&o, 0, sizeof o);
    o.command_timeout_ms = 200;
    o.on_connect = on_connect;
    o.data = &k;
    arc_context *c = arc_connect_fd(sv[0], &o);
    watch w;
    attach(&w, c);
    RUN_UNTIL(&w, 1000, k.connects == 1);
    rec get = {0};
    assert_int_equal(arc_command(c, on_reply, &get, "GET never"), ARC_OK);
    int64_t start = arc_now_ms(), last = 0;
    while (!ended(c) && arc_now_ms() - start < 3000) {
        if (arc_now_ms() - last >= 20) {
            const char push[] = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n";
            assert_true(send(sv[1], push, sizeof push - 1, MSG_NOSIGNAL) > 0);
            last = arc_now_ms();
        }
        step(&w, 5);
    }
    int64_t took = arc_now_ms() - start;
    assert_int_equal(get.calls, 1);
    assert_int_equal(get.status, ARC_ERR_UNANSWERED);
    assert_int_equal(arc_context_failure(c), ARC_ERR_TIMEOUT);
    assert_true(took >= 190 && took < 1000);
    arc_free(c);
    close(sv[1]);
}

/* Out of descriptors: HELD, retried on the timer, and connected once one is
 * free; with none free until the connect timeout, ARC_ERR_NOFD. Runs in a
 * child so that the lowered limit stays there. */
static int held_child(int port, bool release)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    struct rlimit low = rl;
    /* Fill every descriptor below a lowered limit. */
    low.rlim_cur = 64;
    if (setrlimit(RLIMIT_NOFILE, &low) != 0)
        return 10;
    int fds[64], n = 0;
    int fd;
    while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0 && n < 64)
        fds[n++] = fd;
    rec k = {0};
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = "127.0.0.1";
    o.port = port;
    o.connect_timeout_ms = release ? 3000 : 300;
    o.on_connect = on_connect;
    o.data = &k;
    arc_context *c = arc_connect(&o);
    if (c == NULL)
        return 11;
    watch w;
    attach(&w, c);
    /* The connect starts from the loop, and holds at once. */
    for (int i = 0; i < 10 && arc_context_state(c) != ARC_STATE_HELD; i++)
        step(&w, 5);
    if (arc_context_state(c) != ARC_STATE_HELD)
        return 12;
    int64_t start = arc_now_ms();
    while (arc_now_ms() - start < 200 && k.connects == 0)
        step(&w, 5);
    if (k.connects != 0 || arc_context_state(c) != ARC_STATE_HELD)
        return 13;
    if (release) {
        for (int i = 0; i < n; i++)
            close(fds[i]);
        rec ping = {0};
        arc_command(c, on_reply, &ping, "PING");
        start = arc_now_ms();
        while (arc_now_ms() - start < 3000 && ping.calls == 0)
            step(&w, 5);
        if (!ping.pong || k.connect_status != ARC_OK)
            return 14;
    } else {
        start = arc_now_ms();
        while (arc_now_ms() - start < 3000 && k.connects == 0)
            step(&w, 5);
        if (k.connect_status != ARC_ERR_NOFD || arc_context_failure(c) != ARC_ERR_NOFD)
            return 15;
    }
    arc_free(c);
    return 0;
}

static void held_without_descriptors(void **state)
{
    (void)state;
    for (int release = 0; release < 2; release++) {
        fake_server *f = fake_start(pong_script);
        assert_non_null(f);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            _exit(held_child(fake_port(f), release));
        int st = 0;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fail_msg("child (release=%d) ended with %d", release,
                     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        fake_stop(f);
    }
}

/* A loop that cannot watch the socket (libuv out of memory for its
 * uv_poll_t, say) fails the context with that status instead of leaving
 * it unwatched, with no timeout to end it. */
static void hook_failure_fails_the_context(void **state)
{
    (void)state;
    fake_server *f = fake_start(pong_script);
    assert_non_null(f);
    rec k = {0};
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = "127.0.0.1";
    o.port = fake_port(f);
    o.on_connect = on_connect;
    o.data = &k;
    arc_context *c = arc_connect(&o);
    watch w;
    attach_refusing(&w, c, ARC_ERR_NOMEM);
    rec ping = {0};
    assert_int_equal(arc_command(c, on_reply, &ping, "PING"), ARC_OK);
    RUN_UNTIL(&w, 2000, ended(c));
    assert_int_equal(arc_context_state(c), ARC_STATE_FAILED);
    assert_int_equal(arc_context_failure(c), ARC_ERR_NOMEM);
    assert_non_null(strstr(arc_context_error(c), "event loop"));
    assert_int_equal(k.connects, 1);
    assert_int_equal(k.connect_status, ARC_ERR_NOMEM);
    assert_int_equal(ping.calls, 1);
    assert_int_equal(ping.status, ARC_ERR_NOT_SENT);
    assert_int_equal(w.fd, -1); /* the socket was let go before it closed */
    arc_free(c);
    assert_true(w.dead);
    fake_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hook_failure_fails_the_context),
        cmocka_unit_test(tries_every_address),
        cmocka_unit_test(all_addresses_refuse),
        cmocka_unit_test(connect_timeout_on_full_backlog),
        cmocka_unit_test(handshake_stall_times_out),
        cmocka_unit_test(pushes_do_not_postpone_the_command_timeout),
        cmocka_unit_test(held_without_descriptors),
    };
    return cmocka_run_group_tests_name("connect", tests, NULL, NULL);
}
