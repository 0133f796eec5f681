/* test_alloc.c: allocation failures everywhere (DESIGN invariant 6).
 *
 * A whole context, its poll adapter entry and loop included, runs over a
 * socketpair against an in-process peer that answers like a server. The
 * allocator fails the Nth allocation, for N = 1, 2, ... until a run
 * completes without reaching N. Every run must end cleanly: each callback
 * that was accepted called exactly once, the connect callback once, nothing
 * left allocated. With libarc-tls, a context over TLS to a TLS
 * redis-server is swept too (sweep_tls). With a reconnect policy, the peer
 * closes the link under a subscription and commands, and a new peer takes
 * the next connection: the loss, the backoff, the replay and the commands
 * that waited are swept too (sweep_reconnect). A group of members with
 * two fan-outs and removals is swept too (sweep_group), and a cluster client
 * against one or two scripted nodes: its slot map, routing, a MOVED and a
 * split MGET (sweep_cluster). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "failing_alloc.h"

/* libev before libevent: libevent's EV_READ / EV_WRITE macros would change
 * the libev adapter's masks. */
#ifdef ARC_SWEEP_LIBEV
#include <arc/adapters/libev.h>
#endif
#ifdef ARC_SWEEP_LIBEVENT
#include <arc/adapters/libevent.h>
#endif
#ifdef ARC_SWEEP_LIBUV
#include <arc/adapters/libuv.h>
#endif
#ifdef ARC_SWEEP_GLIB
#include <arc/adapters/glib.h>
#endif
#include <arc/adapters/poll.h>
#include <arc/cluster.h>
#include <arc/group.h>
#ifdef ARC_SWEEP_TLS
#include <arc/tls.h>

#include "redis_server.h"
#include "tls_certs.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>


/* ---- the peer: reads commands, answers them ---- */

typedef struct peer {
    int fd;
    arc_reader *reader; /* the libc allocator: the peer never fails */
    int resp;
    bool sent_message;
    bool closed;
    char subs[4][16]; /* channels the client is subscribed to */
    int nsubs;
} peer;

static bool arg_is(const arc_reply *cmd, size_t i, const char *s)
{
    if (i >= cmd->elements)
        return false;
    const arc_reply *a = cmd->element[i];
    return a->len == strlen(s) && strncasecmp(a->str, s, a->len) == 0;
}

static void peer_send(peer *p, const char *s)
{
    size_t n = strlen(s), off = 0;
    while (off < n && !p->closed) {
        ssize_t w = send(p->fd, s + off, n - off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN)
                continue;
            p->closed = true; /* the client went away */
            return;
        }
        off += (size_t)w;
    }
}

static void peer_answer(peer *p, const arc_reply *cmd)
{
    bool r3 = p->resp == 3;
    if (arg_is(cmd, 0, "HELLO")) {
        p->resp = 3;
        peer_send(p, "%1\r\n$5\r\nproto\r\n:3\r\n");
    } else if (arg_is(cmd, 0, "GET")) {
        peer_send(p, "$3\r\nbar\r\n");
    } else if (arg_is(cmd, 0, "PING")) {
        peer_send(p, "+PONG\r\n");
    } else if (arg_is(cmd, 0, "SUBSCRIBE")) {
        for (size_t i = 1; i < cmd->elements && p->nsubs < 4; i++) {
            snprintf(p->subs[p->nsubs++], sizeof p->subs[0], "%s", cmd->element[i]->str);
            char buf[256];
            snprintf(buf, sizeof buf, "%s3\r\n$9\r\nsubscribe\r\n$%zu\r\n%s\r\n:%d\r\n",
                     r3 ? ">" : "*", strlen(p->subs[p->nsubs - 1]), p->subs[p->nsubs - 1],
                     p->nsubs);
            peer_send(p, buf);
        }
        if (!p->sent_message) {
            p->sent_message = true;
            peer_send(p, r3 ? ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"
                            : "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n");
            if (r3) /* a push that is not pub/sub, between replies */
                peer_send(p, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nkey\r\n");
        }
    } else if (arg_is(cmd, 0, "UNSUBSCRIBE")) {
        /* Without names: one confirmation per subscription, as Redis does. */
        while (p->nsubs > 0) {
            char buf[256];
            p->nsubs--;
            snprintf(buf, sizeof buf, "%s3\r\n$11\r\nunsubscribe\r\n$%zu\r\n%s\r\n:%d\r\n",
                     r3 ? ">" : "*", strlen(p->subs[p->nsubs]), p->subs[p->nsubs], p->nsubs);
            peer_send(p, buf);
        }
    } else if (arg_is(cmd, 0, "MONITOR")) {
        peer_send(p, "+OK\r\n+1700000000.000000 [0 127.0.0.1:1] \"get\" \"x\"\r\n");
    } else {
        peer_send(p, "+OK\r\n");
    }
}

static void peer_pump(peer *p)
{
    char buf[4096];
    while (!p->closed) {
        ssize_t n = recv(p->fd, buf, sizeof buf, 0);
        if (n == 0) {
            p->closed = true;
            return;
        }
        if (n < 0)
            return;
        assert_int_equal(arc_reader_feed(p->reader, buf, (size_t)n), ARC_OK);
        arc_reply *cmd;
        while (arc_reader_next(p->reader, &cmd) == ARC_OK && cmd != NULL)
            peer_answer(p, cmd);
    }
}

/* ---- the event loops: the adapters' own allocations are swept too ---- */

typedef struct sweep_loop {
    const char *name;
    void *(*make)(void);
    int (*attach)(arc_context *c, void *loop);
    void (*run_once)(void *loop); /* one pass, waiting 1 ms at most */
    void (*destroy)(void *loop);  /* every context is freed by then */
} sweep_loop;

/* The failing allocator of the run in progress: the poll loop's own
 * memory is swept with the context's. */
static const arc_allocator *run_alloc;
static void *poll_make(void) { return arc_poll_loop_new_with(run_alloc); }
static int poll_attach(arc_context *c, void *l) { return arc_poll_attach(c, l); }
static void poll_run(void *l) { arc_poll_loop_run_once(l, 1); }
static void poll_destroy(void *l) { arc_poll_loop_free(l); }
static const sweep_loop poll_loop = {"poll", poll_make, poll_attach, poll_run, poll_destroy};

#ifdef ARC_SWEEP_LIBEVENT
static void *libevent_make(void) { return event_base_new(); }
static int libevent_attach(arc_context *c, void *l) { return arc_libevent_attach(c, l); }
static void libevent_run(void *l)
{
    struct timeval tv = {0, 1000};
    event_base_loopexit(l, &tv);
    event_base_loop(l, EVLOOP_ONCE);
}
static void libevent_destroy(void *l) { event_base_free(l); }
static const sweep_loop libevent_loop = {"libevent", libevent_make, libevent_attach,
                                         libevent_run, libevent_destroy};
#endif

#ifdef ARC_SWEEP_LIBEV
static void *libev_make(void) { return ev_loop_new(EVFLAG_AUTO); }
static int libev_attach(arc_context *c, void *l) { return arc_libev_attach(c, l); }
static void libev_run(void *l) { ev_run(l, EVRUN_NOWAIT); usleep(1000); }
static void libev_destroy(void *l) { ev_loop_destroy(l); }
static const sweep_loop libev_loop = {"libev", libev_make, libev_attach, libev_run,
                                      libev_destroy};
#endif

#ifdef ARC_SWEEP_LIBUV
static void *libuv_make(void)
{
    uv_loop_t *l = malloc(sizeof *l);
    if (l != NULL && uv_loop_init(l) != 0) {
        free(l);
        l = NULL;
    }
    return l;
}
static int libuv_attach(arc_context *c, void *l) { return arc_libuv_attach(c, l); }
static void libuv_run(void *l) { uv_run(l, UV_RUN_NOWAIT); usleep(1000); }
/* The adapter frees its state from its handles' close callbacks: they run
 * here, before the leak check. */
static void libuv_destroy(void *l)
{
    uv_run(l, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(l), 0);
    free(l);
}
static const sweep_loop libuv_loop = {"libuv", libuv_make, libuv_attach, libuv_run,
                                      libuv_destroy};
#endif

#ifdef ARC_SWEEP_GLIB
/* GLib allocates its sources itself (g_source_new): only arc's side of
 * this adapter goes through the failing allocator. */
static void *glib_make(void) { return g_main_context_new(); }
static int glib_attach(arc_context *c, void *l) { return arc_glib_attach(c, l); }
static void glib_run(void *l)
{
    g_main_context_iteration(l, FALSE);
    usleep(1000);
}
static void glib_destroy(void *l)
{
    while (g_main_context_iteration(l, FALSE))
        ;
    g_main_context_unref(l);
}
static const sweep_loop glib_loop = {"glib", glib_make, glib_attach, glib_run, glib_destroy};
#endif

/* ---- the scenario ---- */

#define NCMD 8

typedef struct run {
    int calls[NCMD];
    int replies[NCMD];
    bool accepted[NCMD];
    int sub_calls;
    int sub_ends;  /* unsubscribe confirmations, one per name */
    int sub_nulls; /* the final NULL: once per subscribe command */
    int mon_calls;
    int mon_ends;
    int connects;
    int disconnects;
    int pushes;
} run;

typedef struct slot {
    run *r;
    int i;
} slot;

static void cmd_cb(arc_context *c, arc_reply *reply, int status, void *privdata)
{
    (void)c;
    (void)reply;
    (void)status;
    slot *s = privdata;
    s->r->calls[s->i]++;
    if (reply != NULL)
        s->r->replies[s->i]++;
}

static void sub_cb(arc_context *c, arc_reply *reply, int status, void *privdata)
{
    (void)c;
    (void)status;
    run *r = privdata;
    r->sub_calls++;
    if (reply == NULL)
        r->sub_nulls++;
    else if (reply->elements > 0 && reply->element[0]->len == 11 &&
             memcmp(reply->element[0]->str, "unsubscribe", 11) == 0)
        r->sub_ends++;
}

static void mon_cb(arc_context *c, arc_reply *reply, int status, void *privdata)
{
    (void)c;
    (void)status;
    run *r = privdata;
    r->mon_calls++;
    if (reply == NULL)
        r->mon_ends++;
}

static void on_connect(arc_context *c, int status, void *data)
{
    (void)c;
    (void)status;
    ((run *)data)->connects++;
}

static void on_disconnect(arc_context *c, int status, void *data)
{
    (void)c;
    (void)status;
    ((run *)data)->disconnects++;
}

static void on_push(arc_context *c, arc_reply *reply, void *data)
{
    (void)c;
    (void)reply;
    ((run *)data)->pushes++;
}

/* One run with allocation `fail_at` failing. Returns true when that
 * allocation was reached. */
static bool run_once(const sweep_loop *lp, int resp, bool monitor, bool tcp, bool lookup,
                     long fail_at)
{
    failing_alloc f = {0, fail_at, 0, 0};
    arc_allocator alloc = {failing_realloc, &f};
    run r;
    memset(&r, 0, sizeof r);
    slot slots[NCMD];
    for (int i = 0; i < NCMD; i++)
        slots[i] = (slot){&r, i};

    /* Over TCP the context resolves and connects itself (its address list
     * and connect path are swept too) and the peer accepts; otherwise the
     * context adopts one end of a socketpair. */
    int sv[2] = {-1, -1};
    int listener = -1, port = 0;
    peer p;
    memset(&p, 0, sizeof p);
    p.reader = arc_reader_new(NULL, NULL);
    p.resp = 2;
    assert_non_null(p.reader);
    if (tcp) {
        listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        struct sockaddr_in a = {.sin_family = AF_INET};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t al = sizeof a;
        assert_true(listener >= 0);
        assert_int_equal(bind(listener, (struct sockaddr *)&a, sizeof a), 0);
        assert_int_equal(listen(listener, 4), 0);
        assert_int_equal(getsockname(listener, (struct sockaddr *)&a, &al), 0);
        port = ntohs(a.sin_port);
        p.fd = -1;
    } else {
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        p.fd = sv[1];
        fcntl(sv[1], F_SETFL, O_NONBLOCK);
    }

    arc_options o;
    memset(&o, 0, sizeof o);
    o.resp = resp;
    o.password = "pw";
    o.db = 2;
    o.client_name = "sweep";
    o.allocator = &alloc;
    o.on_connect = on_connect;
    o.on_disconnect = on_disconnect;
    o.on_push = on_push;
    o.data = &r;
    o.command_timeout_ms = 5000;
    if (tcp) {
        /* A name goes through the resolver thread; an address does not. */
        o.host = lookup ? "localhost" : "127.0.0.1";
        o.family = ARC_FAMILY_IPV4;
        o.port = port;
        o.connect_timeout_ms = 5000;
    }
    run_alloc = &alloc;
    void *loop = lp->make();
    assert_true(loop != NULL || f.failed > 0);
    arc_context *c = loop == NULL ? NULL : tcp ? arc_connect(&o) : arc_connect_fd(sv[0], &o);
    if (c == NULL) {
        /* Refused at creation (or no loop): the socket is still ours,
         * nothing else ran. */
        assert_true(f.failed > 0);
        if (!tcp)
            close(sv[0]);
    } else if (lp->attach(c, loop) != ARC_OK) {
        assert_true(f.failed > 0);
        arc_free(c);
        c = NULL;
        assert_int_equal(r.connects, 1);
    }
    if (c != NULL) {
        int i = 0;
        r.accepted[i] = arc_command(c, cmd_cb, &slots[i], "SET %s %b", "k", "v\0v", (size_t)3) == ARC_OK;
        i++;
        r.accepted[i] = arc_command(c, cmd_cb, &slots[i], "GET k") == ARC_OK;
        i++;
        /* A command with a deadline of its own (never reached), and one
         * cancelled at once: its reply is read and dropped. */
        uint64_t id = 0;
        arc_command_options co = {.timeout_ms = 60000, .id = &id};
        int rc = arc_command_with(c, &co, cmd_cb, &slots[i], "GET k");
        r.accepted[i] = rc == ARC_OK;
        if (!r.accepted[i] && rc != ARC_ERR_NOMEM)
            fail_msg("command refused with %s, not ARC_ERR_NOMEM", arc_status_name(rc));
        i++;
        rc = arc_command_with(c, &co, cmd_cb, &slots[i], "GET k");
        r.accepted[i] = rc == ARC_OK;
        if (r.accepted[i])
            assert_int_equal(arc_cancel(c, id), ARC_OK);
        int cancelled = i++;
        bool subscribed = arc_command(c, sub_cb, &r, "SUBSCRIBE ch other") == ARC_OK;
        r.accepted[i] = arc_command(c, cmd_cb, &slots[i], "PING") == ARC_OK;
        i++;
        r.accepted[i] = arc_command(c, cmd_cb, &slots[i], "UNSUBSCRIBE") == ARC_OK;
        i++;
        bool monitoring =
            monitor && arc_command(c, mon_cb, &r, "MONITOR") == ARC_OK;
        for (int k = 0; k < 300 && arc_context_state(c) != ARC_STATE_FAILED; k++) {
            lp->run_once(loop);
            if (p.fd < 0 && listener >= 0)
                p.fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (p.fd >= 0)
                peer_pump(&p);
            if (k == 100)
                arc_disconnect(c);
            if (arc_context_state(c) == ARC_STATE_CLOSED)
                break;
        }
        bool clean = arc_context_state(c) == ARC_STATE_CLOSED;
        char why[300];
        snprintf(why, sizeof why, "%s: %s", arc_state_name(arc_context_state(c)),
                 arc_context_error(c));
        /* A run that hit a failed allocation and failed says so: nothing
         * else can have gone wrong against this peer. */
        if (arc_context_state(c) == ARC_STATE_FAILED &&
            arc_context_failure(c) != ARC_ERR_NOMEM)
            fail_msg("allocation %ld failing ended %s (%s), not ARC_ERR_NOMEM", fail_at, why,
                     arc_status_name(arc_context_failure(c)));
        arc_free(c);
        assert_int_equal(r.connects, 1);
        assert_true(r.disconnects <= 1);
        if (f.failed == 0) {
            /* Untouched: the whole scenario ran, every reply arrived. */
            if (!clean)
                fail_msg("untouched run ended %s", why);
            assert_int_equal(r.disconnects, 1);
            for (int k = 0; k < i; k++)
                assert_int_equal(r.replies[k], k == cancelled ? 0 : 1);
            assert_int_equal(r.sub_ends, 2);
            assert_int_equal(r.pushes, resp == 3 ? 1 : 0);
            if (monitor)
                assert_int_equal(r.mon_calls, 3); /* +OK, a line, NULL at the end */
        }
        if (subscribed) {
            assert_true(r.sub_calls >= 1);
            /* each of the two channels ends once, never twice, and the
             * command's callback gets exactly one final NULL */
            assert_true(r.sub_ends <= 2);
            assert_int_equal(r.sub_nulls, 1);
        }
        if (monitoring)
            assert_int_equal(r.mon_ends, r.mon_calls > 0 ? 1 : 0);
        for (int k = 0; k < i; k++)
            if (r.accepted[k] && r.calls[k] != 1)
                fail_msg("command %d called %d times (fail_at %ld)", k, r.calls[k], fail_at);
            else if (!r.accepted[k] && r.calls[k] != 0)
                fail_msg("refused command %d was called (fail_at %ld)", k, fail_at);
    }
    lp->destroy(loop);
    arc_reader_free(p.reader);
    if (p.fd >= 0)
        close(p.fd);
    if (listener >= 0)
        close(listener);
    if (f.live != 0)
        fail_msg("%ld blocks leaked with allocation %ld failing", f.live, fail_at);
    return f.calls >= fail_at;
}

static void sweep_over(const sweep_loop *lp, int resp, bool monitor, bool tcp, bool lookup)
{
    long n = 1;
    while (run_once(lp, resp, monitor, tcp, lookup, n))
        n++;
    /* The last run reached no failure: the whole scenario passed. */
    assert_true(n > 10);
    printf("# %s: swept %ld allocation points (RESP%d%s%s)\n", lp->name, n - 1, resp,
           monitor ? ", monitor" : "",
           tcp ? (lookup ? ", TCP connect by name" : ", TCP connect") : "");
}

static void sweep(const sweep_loop *lp, int resp, bool monitor)
{
    sweep_over(lp, resp, monitor, false, false);
}

/* Resolving and connecting: arc_connect to a listener of the test's own. */
static void sweep_tcp_connect(void **state)
{
    (void)state;
    sweep_over(&poll_loop, 2, false, true, false);
    sweep_over(&poll_loop, 3, true, true, false);
    sweep_over(&poll_loop, 2, false, true, true); /* the lookup thread's hand-over */
}

/* ---- with a reconnect policy: the peer closes, a new one answers ---- */

/* The next connection's peer starts from nothing, as a restarted server
 * would: no subscriptions, RESP2 until HELLO. */
static void peer_reset(peer *p, int fd)
{
    arc_reader_free(p->reader);
    memset(p, 0, sizeof *p);
    p->fd = fd;
    p->reader = arc_reader_new(NULL, NULL);
    p->resp = 2;
    assert_non_null(p->reader);
}

/* Subscription callbacks of the reconnect runs: a final NULL while the
 * context lives on would break docs/reconnect.md's promise that a kept
 * subscription never ends for a lost link. */
static int sub_nulls_alive;

static void rc_sub_cb(arc_context *c, arc_reply *reply, int status, void *privdata)
{
    arc_state st = arc_context_state(c);
    if (reply == NULL && st != ARC_STATE_CLOSED && st != ARC_STATE_FAILED)
        sub_nulls_alive++;
    sub_cb(c, reply, status, privdata);
}

enum { RC_SET, RC_GET, RC_PING, RC_LOST, RC_OFF1, RC_OFF2, RC_NCMD };

/* One run: commands and a subscription on the first link; one more command
 * written, then the peer closes; two commands issued while the link is
 * down; a new peer accepts the next connection, which replays the
 * subscription and sends the waiting commands; then a clean disconnect.
 * With `cut_handshake` the first connection after the loss is closed as
 * soon as it is accepted, in the middle of its handshake and replay, so a
 * third link does the work. True when allocation `fail_at` was reached. */
static bool run_reconnect_once(const sweep_loop *lp, int resp, bool cut_handshake,
                               long fail_at)
{
    failing_alloc f = {0, fail_at, 0, 0};
    arc_allocator alloc = {failing_realloc, &f};
    run r;
    memset(&r, 0, sizeof r);
    slot slots[NCMD];
    for (int i = 0; i < NCMD; i++)
        slots[i] = (slot){&r, i};
    sub_nulls_alive = 0;

    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    assert_true(listener >= 0);
    assert_int_equal(bind(listener, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(listener, 8), 0);
    assert_int_equal(getsockname(listener, (struct sockaddr *)&a, &al), 0);
    peer p;
    memset(&p, 0, sizeof p);
    peer_reset(&p, -1);

    /* Waits of a few ms, so that a run stays short. */
    arc_reconnect rc;
    memset(&rc, 0, sizeof rc);
    rc.initial_delay_ms = 1;
    rc.max_delay_ms = 4;
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = "127.0.0.1";
    o.port = ntohs(a.sin_port);
    o.resp = resp;
    o.password = "pw";
    o.db = 2;
    o.client_name = "sweep";
    o.allocator = &alloc;
    o.on_connect = on_connect;
    o.on_disconnect = on_disconnect;
    o.on_push = on_push;
    o.data = &r;
    o.connect_timeout_ms = 5000;
    o.command_timeout_ms = 5000;
    o.reconnect = &rc;
    run_alloc = &alloc;
    void *loop = lp->make();
    assert_true(loop != NULL || f.failed > 0);
    arc_context *c = loop == NULL ? NULL : arc_connect(&o);
    if (c == NULL) {
        assert_true(f.failed > 0);
    } else if (lp->attach(c, loop) != ARC_OK) {
        assert_true(f.failed > 0);
        arc_free(c);
        c = NULL;
        assert_int_equal(r.connects, 1);
    }
    if (c != NULL) {
        /* RESP2 allows only PING among these once subscribed. */
        const char *get = resp == 3 ? "GET k" : "PING";
        const char *set = resp == 3 ? "SET k v2" : "PING";
        r.accepted[RC_SET] = arc_command(c, cmd_cb, &slots[RC_SET], "SET k v") == ARC_OK;
        r.accepted[RC_GET] = arc_command(c, cmd_cb, &slots[RC_GET], "GET k") == ARC_OK;
        bool subscribed = arc_command(c, rc_sub_cb, &r, "SUBSCRIBE ch other") == ARC_OK;
        r.accepted[RC_PING] = arc_command(c, cmd_cb, &slots[RC_PING], "PING") == ARC_OK;

        /* 0: the first link until it has answered; 1: the link is down,
         * not accepted yet; 2: the second peer answers. */
        int stage = 0;
        bool disconnecting = false, cut = false;
        for (int k = 0; k < 600; k++) {
            arc_state st = arc_context_state(c);
            if (st == ARC_STATE_FAILED || st == ARC_STATE_CLOSED)
                break;
            lp->run_once(loop);
            if (p.fd < 0 && stage != 1)
                p.fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (p.fd >= 0 && stage == 2 && cut_handshake && !cut) {
                close(p.fd);
                peer_reset(&p, -1);
                cut = true;
            }
            if (p.fd >= 0)
                peer_pump(&p);
            st = arc_context_state(c);
            /* A subscription or a command refused for memory is not
             * waited for. */
            bool subs_in = !subscribed || p.nsubs == 2;
            if (stage == 0 && subs_in && (!r.accepted[RC_PING] || r.calls[RC_PING] > 0)) {
                /* One more command written, then the server goes away
                 * without reading it. */
                r.accepted[RC_LOST] =
                    arc_command(c, cmd_cb, &slots[RC_LOST], get) == ARC_OK;
                lp->run_once(loop);
                close(p.fd);
                peer_reset(&p, -1);
                stage = 1;
            } else if (stage == 1 && st != ARC_STATE_READY && st != ARC_STATE_SUBSCRIBED) {
                /* The loss is seen: these wait for the next link. */
                r.accepted[RC_OFF1] = arc_command(c, cmd_cb, &slots[RC_OFF1], set) == ARC_OK;
                r.accepted[RC_OFF2] = arc_command(c, cmd_cb, &slots[RC_OFF2], get) == ARC_OK;
                stage = 2;
            } else if (stage == 2 && !disconnecting && r.connects >= 2 && subs_in &&
                       (!r.accepted[RC_OFF1] || r.calls[RC_OFF1] > 0) &&
                       (!r.accepted[RC_OFF2] || r.calls[RC_OFF2] > 0)) {
                arc_disconnect(c);
                disconnecting = true;
            }
        }
        arc_state st = arc_context_state(c);
        bool clean = st == ARC_STATE_CLOSED;
        char why[300];
        snprintf(why, sizeof why, "%s: %s", arc_state_name(st), arc_context_error(c));
        if (st == ARC_STATE_FAILED && arc_context_failure(c) != ARC_ERR_NOMEM)
            fail_msg("allocation %ld failing ended %s (%s), not ARC_ERR_NOMEM", fail_at, why,
                     arc_status_name(arc_context_failure(c)));
        if (!clean && st != ARC_STATE_FAILED)
            fail_msg("allocation %ld failing: still %s at the end (stage %d)", fail_at, why,
                     stage);
        arc_free(c);
        /* on_connect: once per ready link, or once with the failure. */
        assert_true(r.connects >= 1 && r.connects <= 2);
        assert_true(r.disconnects <= r.connects);
        if (f.failed == 0) {
            if (!clean)
                fail_msg("untouched run ended %s", why);
            assert_int_equal(r.connects, 2);
            assert_int_equal(r.disconnects, 2); /* the lost link, the clean end */
            for (int k = 0; k < RC_NCMD; k++)
                if (k != RC_LOST)
                    assert_int_equal(r.replies[k], 1);
            /* each channel confirmed on both links */
            assert_true(r.sub_calls >= 5);
        }
        if (subscribed)
            assert_int_equal(r.sub_nulls, 1);
        if (sub_nulls_alive != 0)
            fail_msg("a subscription ended while the context lived on (fail_at %ld)", fail_at);
        for (int k = 0; k < RC_NCMD; k++)
            if (r.accepted[k] && r.calls[k] != 1)
                fail_msg("command %d called %d times (fail_at %ld)", k, r.calls[k], fail_at);
            else if (!r.accepted[k] && r.calls[k] != 0)
                fail_msg("refused command %d was called (fail_at %ld)", k, fail_at);
    }
    lp->destroy(loop);
    arc_reader_free(p.reader);
    if (p.fd >= 0)
        close(p.fd);
    close(listener);
    if (f.live != 0)
        fail_msg("%ld blocks leaked with allocation %ld failing (reconnect)", f.live, fail_at);
    return f.calls >= fail_at;
}

static void sweep_reconnect_over(const sweep_loop *lp, int resp, bool cut)
{
    long n = 1;
    while (run_reconnect_once(lp, resp, cut, n))
        n++;
    assert_true(n > 10);
    printf("# %s: swept %ld allocation points (RESP%d, a lost link and a reconnect%s)\n",
           lp->name, n - 1, resp, cut ? ", the next one lost in its handshake" : "");
}

static void sweep_reconnect(void **state)
{
    (void)state;
    for (int v = 0; v < 4; v++)
        sweep_reconnect_over(&poll_loop, v % 2 ? 3 : 2, v >= 2);
}

/* ---- a group: members, two fan-outs, removals ---- */

enum { GS_MEMBERS = 4, GS_PEERS = 8 };

/* What the group's callbacks saw in one run. */
typedef struct gsweep {
    int ids[GS_MEMBERS]; /* each member's data: its index */
    arc_member *member[GS_MEMBERS];
    int changes;
    int failed_not_nomem; /* members FAILED for another reason than memory */
    int calls[2][GS_MEMBERS], replies[2][GS_MEMBERS], done[2];
    int connects, disconnects, data_frees; /* the member with options of its own */
} gsweep;

/* A fan-out's privdata: the run and which of its two fan-outs. */
typedef struct gfan {
    gsweep *s;
    int which;
} gfan;

static gsweep *gs_now; /* the run, for the callbacks of the options member */

static void gs_change(arc_group *g, arc_member *m, arc_state prev, arc_state now, void *data)
{
    (void)g;
    (void)prev;
    gsweep *s = data;
    s->changes++;
    if (now == ARC_STATE_FAILED && arc_member_failure(m) != ARC_ERR_NOMEM)
        s->failed_not_nomem++;
}

static void gs_reply(arc_group *g, arc_member *m, arc_reply *reply, int status, void *privdata)
{
    gfan *fz = privdata;
    int id = *(const int *)arc_member_data(m);
    fz->s->calls[fz->which][id]++;
    if (reply != NULL && status == ARC_OK)
        fz->s->replies[fz->which][id]++;
    /* The second fan-out's last member removes itself from its callback. */
    if (fz->which == 1 && id == GS_MEMBERS - 1)
        arc_group_remove(g, m);
}

static void gs_done(arc_group *g, arc_fanout *f, void *privdata)
{
    (void)g;
    (void)f;
    gfan *fz = privdata;
    fz->s->done[fz->which]++;
}

static void gs_connect(arc_context *c, int status, void *data)
{
    (void)c;
    (void)status;
    (void)data;
    gs_now->connects++;
}

static void gs_disconnect(arc_context *c, int status, void *data)
{
    (void)c;
    (void)status;
    (void)data;
    gs_now->disconnects++;
}

static void gs_data_free(void *data)
{
    (void)data;
    gs_now->data_frees++;
}

/* One pass of the loop, and the peers: each connection the listener has
 * gets a peer of its own. */
static void gs_pump(const sweep_loop *lp, void *loop, int listener, peer *peers, int *npeers)
{
    lp->run_once(loop);
    while (*npeers < GS_PEERS) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            break;
        peer_reset(&peers[(*npeers)++], fd);
    }
    for (int k = 0; k < *npeers; k++)
        if (!peers[k].closed)
            peer_pump(&peers[k]);
}

/* One run: a group (its own memory and its members' from the failing
 * allocator), three members from the template and one with options of its
 * own, at most two connecting at once; GET to all with the replies kept;
 * the first member removed; PING to the rest, whose last member removes
 * itself from its callback; the group freed. Every fan-out that was taken
 * calls each member once and on_done once; a member that fails, fails for
 * memory; nothing leaks. True when allocation `fail_at` was reached. */
static bool run_group_once(const sweep_loop *lp, int resp, long fail_at)
{
    failing_alloc f = {0, fail_at, 0, 0};
    arc_allocator alloc = {failing_realloc, &f};
    gsweep s;
    memset(&s, 0, sizeof s);
    gs_now = &s;
    for (int i = 0; i < GS_MEMBERS; i++)
        s.ids[i] = i;

    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    assert_true(listener >= 0);
    assert_int_equal(bind(listener, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(listener, GS_PEERS), 0);
    assert_int_equal(getsockname(listener, (struct sockaddr *)&a, &al), 0);
    peer peers[GS_PEERS];
    memset(peers, 0, sizeof peers);
    int npeers = 0;

    arc_options mo;
    memset(&mo, 0, sizeof mo);
    mo.host = "127.0.0.1";
    mo.port = ntohs(a.sin_port);
    mo.resp = resp;
    mo.client_name = "sweep";
    mo.allocator = &alloc;
    mo.connect_timeout_ms = 5000;
    mo.command_timeout_ms = 5000;
    arc_group_options go = {.max_connecting = 2, .member_options = &mo, .on_change = gs_change,
                            .data = &s, .allocator = &alloc};
    run_alloc = &alloc;
    void *loop = lp->make();
    assert_true(loop != NULL || f.failed > 0);
    arc_group *g = loop == NULL ? NULL : arc_group_new(&go);
    if (g == NULL) {
        assert_true(f.failed > 0);
    } else {
        for (int i = 0; i < GS_MEMBERS - 1; i++)
            s.member[i] = arc_group_add(g, mo.host, mo.port, &s.ids[i]);
        arc_options own = mo;
        own.on_connect = gs_connect;
        own.on_disconnect = gs_disconnect;
        own.data = &s.ids[GS_MEMBERS - 1];
        own.data_free = gs_data_free;
        s.member[GS_MEMBERS - 1] = arc_group_add_options(g, &own);
        for (int i = 0; i < GS_MEMBERS; i++)
            if (s.member[i] == NULL)
                assert_true(f.failed > 0);
        /* A member the loop cannot take fails (ARC_ERR_NOMEM); the attach
         * fails only when the loop cannot take the group's own timer, and
         * then nothing runs: the fan-outs below count as refused. */
        int ra = arc_group_attach(g, lp->attach, loop);
        bool attached = ra == ARC_OK;
        if (!attached) {
            assert_int_equal(ra, ARC_ERR_NOMEM);
            assert_true(f.failed > 0);
        }

        gfan fan[2] = {{&s, 0}, {&s, 1}};
        arc_fanout *kept = NULL;
        arc_fanout_options fo;
        memset(&fo, 0, sizeof fo);
        fo.keep_replies = true;
        fo.on_reply = gs_reply;
        fo.on_done = gs_done;
        fo.privdata = &fan[0];
        fo.handle = &kept;
        int rc0 = attached ? arc_group_fanout(g, &fo, "GET %s", "k") : ARC_ERR_NOMEM;
        if (rc0 != ARC_OK) {
            assert_int_equal(rc0, ARC_ERR_NOMEM);
            assert_int_equal(s.calls[0][0] + s.done[0], 0);
            kept = NULL;
        }
        for (int k = 0; k < 2000 && rc0 == ARC_OK && s.done[0] == 0; k++)
            gs_pump(lp, loop, listener, peers, &npeers);
        if (rc0 == ARC_OK) {
            if (s.done[0] != 1)
                fail_msg("allocation %ld failing: the kept fan-out's on_done ran %d times",
                         fail_at, s.done[0]);
            size_t n = arc_fanout_size(kept);
            assert_int_equal(arc_fanout_answered(kept) + arc_fanout_failed(kept), n);
            for (size_t i = 0; i < n; i++) {
                int id = *(const int *)arc_member_data(arc_fanout_member(kept, i));
                if (s.calls[0][id] != 1)
                    fail_msg("allocation %ld failing: member %d called %d times", fail_at, id,
                             s.calls[0][id]);
                int st = arc_fanout_status(kept, i);
                const arc_reply *r = arc_fanout_reply(kept, i);
                if (st == ARC_OK) {
                    assert_non_null(r);
                    assert_int_equal(r->type, ARC_REPLY_STRING);
                    assert_string_equal(r->str, "bar");
                } else {
                    assert_null(r);
                    /* CLOSED: refused by a member that had already failed. */
                    if (st != ARC_ERR_NOMEM && st != ARC_ERR_NOT_SENT &&
                        st != ARC_ERR_UNANSWERED && st != ARC_ERR_CLOSED)
                        fail_msg("allocation %ld failing: member %d's GET ended %s", fail_at, id,
                                 arc_status_name(st));
                }
            }
            assert_int_equal(arc_fanout_free(kept), ARC_OK);
        }

        arc_group_remove(g, arc_group_next(g, NULL));
        size_t n1 = arc_group_size(g);
        fo.keep_replies = false;
        fo.privdata = &fan[1];
        fo.handle = NULL;
        int rc1 = attached ? arc_group_fanout(g, &fo, "PING") : ARC_ERR_NOMEM;
        if (rc1 != ARC_OK)
            assert_int_equal(rc1, ARC_ERR_NOMEM);
        for (int k = 0; k < 2000 && rc1 == ARC_OK && s.done[1] == 0; k++)
            gs_pump(lp, loop, listener, peers, &npeers);
        int called = 0;
        for (int i = 0; i < GS_MEMBERS; i++) {
            called += s.calls[1][i];
            assert_true(s.calls[1][i] <= 1);
        }
        if (rc1 == ARC_OK && (s.done[1] != 1 || (size_t)called != n1))
            fail_msg("allocation %ld failing: PING to %zu members: %d calls, on_done %d times",
                     fail_at, n1, called, s.done[1]);
        if (rc1 != ARC_OK && called + s.done[1] != 0)
            fail_msg("allocation %ld failing: a refused fan-out called back", fail_at);

        bool untouched = f.failed == 0;
        arc_group_free(g);
        if (s.failed_not_nomem != 0)
            fail_msg("allocation %ld failing: %d members failed, not for memory", fail_at,
                     s.failed_not_nomem);
        if (s.member[GS_MEMBERS - 1] != NULL) {
            assert_int_equal(s.data_frees, 1);
            assert_int_equal(s.connects, 1);
            assert_true(s.disconnects <= 1);
        }
        if (untouched) {
            /* Every member answered both fan-outs (the first one removed
             * before the second). */
            for (int i = 0; i < GS_MEMBERS; i++) {
                assert_int_equal(s.replies[0][i], 1);
                assert_int_equal(s.replies[1][i], i == 0 ? 0 : 1);
            }
            assert_int_equal(s.disconnects, 1);
        }
    }
    if (loop != NULL)
        lp->destroy(loop);
    for (int k = 0; k < npeers; k++) {
        arc_reader_free(peers[k].reader);
        close(peers[k].fd);
    }
    close(listener);
    if (f.live != 0)
        fail_msg("%ld blocks leaked with allocation %ld failing (group)", f.live, fail_at);
    return f.calls >= fail_at;
}

static void sweep_group_over(const sweep_loop *lp, int resp)
{
    long n = 1;
    while (run_group_once(lp, resp, n))
        n++;
    assert_true(n > 10);
    printf("# %s: swept %ld allocation points (RESP%d, a group: 4 members, 2 fan-outs, "
           "removals)\n",
           lp->name, n - 1, resp);
}

static void sweep_group(void **state)
{
    (void)state;
    sweep_group_over(&poll_loop, 2);
    sweep_group_over(&poll_loop, 3);
}

/* ---- a cluster: a slot map, routing, a redirect, a split MGET ---- */

enum { CS_PEERS = 16 };

/* The scripted cluster of one run: one shard with every slot on peer 0, or
 * two shards with the low half on peer 0 and the high half on peer 1. */
typedef struct csweep {
    int nshards;
    int port[2];
    int npeers;
    peer peers[CS_PEERS];
    int listener_of[CS_PEERS]; /* which listener each connection came to */
    int shards_asked, command_asked, moved_sent, ssubscribes;
} csweep;

/* The key GET is redirected for: its {b} tag puts it in slot 3300, on
 * peer 0 in both maps. */
static const char cs_moved_key[] = "{b}moved";

static void cs_bulk(peer *p, const char *s)
{
    char buf[128];
    snprintf(buf, sizeof buf, "$%zu\r\n%s\r\n", strlen(s), s);
    peer_send(p, buf);
}

/* CLUSTER SHARDS as a RESP2 server gives it: flat arrays for the maps. The
 * endpoint is "?", so the client uses the host it dialled, with each
 * shard's port. */
static void cs_send_shards(csweep *cs, peer *p)
{
    char buf[1024];
    size_t off = (size_t)snprintf(buf, sizeof buf, "*%d\r\n", cs->nshards);
    for (int s = 0; s < cs->nshards; s++) {
        int lo = cs->nshards == 1 ? 0 : s * 8192;
        int hi = cs->nshards == 1 ? 16383 : lo + 8191;
        off += (size_t)snprintf(buf + off, sizeof buf - off,
                                "*4\r\n$5\r\nslots\r\n*2\r\n:%d\r\n:%d\r\n$5\r\nnodes\r\n*1\r\n"
                                "*8\r\n$2\r\nid\r\n$6\r\nnode-%c\r\n$4\r\nport\r\n:%d\r\n"
                                "$8\r\nendpoint\r\n$1\r\n?\r\n$4\r\nrole\r\n$6\r\nmaster\r\n",
                                lo, hi, 'a' + s, cs->port[s]);
    }
    assert_true(off < sizeof buf);
    peer_send(p, buf);
}

static void cs_answer(csweep *cs, int k, const arc_reply *cmd)
{
    peer *p = &cs->peers[k];
    if (arg_is(cmd, 0, "CLUSTER") && arg_is(cmd, 1, "SHARDS")) {
        cs->shards_asked++;
        cs_send_shards(cs, p);
    } else if (arg_is(cmd, 0, "COMMAND")) {
        /* The client then keeps its built-in key table. */
        cs->command_asked++;
        peer_send(p, "-ERR unknown command 'COMMAND'\r\n");
    } else if (arg_is(cmd, 0, "GET") && arg_is(cmd, 1, cs_moved_key) && cs->nshards == 2 &&
               cs->listener_of[k] == 0) {
        /* Peer 0 says the key has moved to peer 1, every time: a client
         * that sent it back here after a refresh would be redirected again,
         * up to its limit. */
        char buf[128];
        snprintf(buf, sizeof buf, "-MOVED %u 127.0.0.1:%d\r\n",
                 arc_cluster_key_slot(cs_moved_key, strlen(cs_moved_key)), cs->port[1]);
        cs->moved_sent++;
        peer_send(p, buf);
    } else if (arg_is(cmd, 0, "SSUBSCRIBE") && cmd->elements == 2) {
        /* Confirmed, then one message on it. */
        const char *ch = cmd->element[1]->str;
        char buf[256];
        snprintf(buf, sizeof buf,
                 "*3\r\n$10\r\nssubscribe\r\n$%zu\r\n%s\r\n:1\r\n"
                 "*3\r\n$8\r\nsmessage\r\n$%zu\r\n%s\r\n$2\r\nhi\r\n",
                 strlen(ch), ch, strlen(ch), ch);
        cs->ssubscribes++;
        peer_send(p, buf);
    } else if (arg_is(cmd, 0, "SUNSUBSCRIBE") && cmd->elements == 2) {
        const char *ch = cmd->element[1]->str;
        char buf[128];
        snprintf(buf, sizeof buf, "*3\r\n$12\r\nsunsubscribe\r\n$%zu\r\n%s\r\n:0\r\n",
                 strlen(ch), ch);
        peer_send(p, buf);
    } else if (arg_is(cmd, 0, "MGET")) {
        /* Each key's value is its name: the split's reassembly is checked
         * key by key. */
        char buf[32];
        snprintf(buf, sizeof buf, "*%zu\r\n", cmd->elements - 1);
        peer_send(p, buf);
        for (size_t i = 1; i < cmd->elements; i++)
            cs_bulk(p, cmd->element[i]->str);
    } else {
        peer_answer(p, cmd);
    }
}

static void cs_pump(csweep *cs, void *loop, const int *listeners)
{
    poll_loop.run_once(loop);
    for (int l = 0; l < cs->nshards; l++)
        while (cs->npeers < CS_PEERS) {
            int fd = accept4(listeners[l], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0)
                break;
            cs->listener_of[cs->npeers] = l;
            peer_reset(&cs->peers[cs->npeers++], fd);
        }
    char buf[4096];
    for (int k = 0; k < cs->npeers; k++) {
        peer *p = &cs->peers[k];
        while (!p->closed) {
            ssize_t n = recv(p->fd, buf, sizeof buf, 0);
            if (n == 0)
                p->closed = true;
            if (n <= 0)
                break;
            assert_int_equal(arc_reader_feed(p->reader, buf, (size_t)n), ARC_OK);
            arc_reply *cmd;
            while (arc_reader_next(p->reader, &cmd) == ARC_OK && cmd != NULL)
                cs_answer(cs, k, cmd);
        }
    }
}

enum { CS_CMDS = 6, CS_RENAME = 4 };

/* What the commands' callbacks saw in one run. */
typedef struct cscall {
    int calls[CS_CMDS];
    int replies[CS_CMDS];
    int status[CS_CMDS]; /* the last callback's */
} cscall;

typedef struct csslot {
    cscall *r;
    int i;
    int kind; /* 0: GET, answered "bar"; 1: MGET a b c */
} csslot;

/* How often each failure status was seen over the sweep, for the report. */
static long cs_seen[64];

/* What the shard subscription's callback saw in one run. */
typedef struct cssub {
    int confirms, messages, finals, final_status;
} cssub;

static void cs_sub_cb(arc_cluster *cl, arc_reply *reply, int status, void *privdata)
{
    (void)cl;
    cssub *s = privdata;
    assert_int_equal(s->finals, 0); /* nothing after the NULL call */
    if (reply == NULL) {
        s->finals++;
        s->final_status = status;
        return;
    }
    /* No error reaches it: the peer never refuses. */
    assert_int_equal(reply->type, ARC_REPLY_ARRAY);
    assert_int_equal(reply->elements, 3);
    if (strcmp(reply->element[0]->str, "ssubscribe") == 0)
        s->confirms++;
    else if (strcmp(reply->element[0]->str, "smessage") == 0)
        s->messages++;
    else
        assert_string_equal(reply->element[0]->str, "sunsubscribe");
}

static void cs_cb(arc_cluster *cl, arc_reply *reply, int status, void *privdata)
{
    csslot *s = privdata;
    s->r->calls[s->i]++;
    s->r->status[s->i] = status;
    if (reply == NULL) {
        /* NOMEM: a node's context, a redirect's node or a split's copy ran
         * out. UNROUTED: the one seed's refresh failed (its connection or
         * its reply out of memory) before any map, so the commands waiting
         * for one are told. UNANSWERED: a node's context failed for memory
         * after the command was written; the cluster does not resend what
         * may have run. FREED: a cluster never attached (checked by the
         * run). Nothing else: NOT_SENT is resent by the cluster, and no
         * peer here redirects or refuses often enough for REDIRECTS. */
        if (status != ARC_ERR_NOMEM && status != ARC_ERR_UNROUTED &&
            status != ARC_ERR_UNANSWERED && status != ARC_ERR_FREED)
            fail_msg("command %d ended %s: %s", s->i, arc_status_name(status),
                     arc_cluster_error(cl));
        if (status > 0 && status < 64)
            cs_seen[status]++;
        return;
    }
    /* A reply is the right one: no error reaches the caller from this
     * cluster (MOVED is followed, COMMAND's error is the client's own). */
    assert_int_equal(status, ARC_OK);
    s->r->replies[s->i]++;
    if (s->kind == 0) {
        assert_int_equal(reply->type, ARC_REPLY_STRING);
        assert_string_equal(reply->str, "bar");
    } else {
        static const char *const keys[] = {"a", "b", "c"};
        assert_int_equal(reply->type, ARC_REPLY_ARRAY);
        assert_int_equal(reply->elements, 3);
        for (size_t i = 0; i < 3; i++) {
            assert_int_equal(reply->element[i]->type, ARC_REPLY_STRING);
            assert_string_equal(reply->element[i]->str, keys[i]);
        }
    }
}

static int cs_listen(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, CS_PEERS), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static bool cs_all_called(const cscall *r, const bool *accepted)
{
    for (int i = 0; i < CS_CMDS; i++)
        if (accepted[i] && r->calls[i] == 0)
            return false;
    return true;
}

/* Runs whose cluster the loop could not take, for the report. */
static long cs_unattached;

/* One run: a cluster (its own memory, its group's and its nodes' contexts
 * from the failing allocator) against `nshards` scripted peers; two GETs
 * queued before attach, one before the slot map, then an MGET across three
 * slots split, a RENAME across slots refused, a GET; pumped until every
 * callback ran; the cluster freed. Each accepted command is called back
 * once, a refused one never; nothing leaks. True when allocation `fail_at`
 * was reached. */
static bool run_cluster_once(int nshards, long fail_at)
{
    failing_alloc f = {0, fail_at, 0, 0};
    arc_allocator alloc = {failing_realloc, &f};
    csweep cs;
    memset(&cs, 0, sizeof cs);
    cs.nshards = nshards;
    int listeners[2] = {-1, -1};
    for (int l = 0; l < nshards; l++)
        listeners[l] = cs_listen(&cs.port[l]);
    cscall r;
    memset(&r, 0, sizeof r);
    bool accepted[CS_CMDS] = {false};
    csslot slots[CS_CMDS];
    for (int i = 0; i < CS_CMDS; i++)
        slots[i] = (csslot){&r, i, i == 3 ? 1 : 0};

    arc_options no;
    memset(&no, 0, sizeof no);
    no.resp = 2;
    no.allocator = &alloc;
    no.connect_timeout_ms = 5000;
    no.command_timeout_ms = 5000;
    arc_cluster_seed seed = {"127.0.0.1", cs.port[0]};
    arc_cluster_options co;
    memset(&co, 0, sizeof co);
    co.seeds = &seed;
    co.nseeds = 1;
    co.node_options = &no;
    co.allocator = &alloc;
    co.split_multikey = true;
    /* Short backoffs: a run that retries does not wait out the defaults.
     * More of them than the default: a node whose context failed for
     * memory is connected to again only after the next slot map, and the
     * ten default retries of 1 to 4 ms can pass before this loop has
     * served that map. */
    co.retry_delay_ms = 1;
    co.retry_max_delay_ms = 4;
    co.max_retries = 200;
    co.refresh_min_interval_ms = 1;
    run_alloc = &alloc;
    void *loop = poll_loop.make();
    assert_true(loop != NULL || f.failed > 0);
    arc_cluster *cl = loop == NULL ? NULL : arc_cluster_new(&co);
    if (cl == NULL) {
        assert_true(f.failed > 0);
    } else {
        /* Before the loop: they wait for the slot map. A refusal here can
         * only be memory (the encoder's buffer or the command's own). */
        int rc = arc_cluster_command(cl, cs_cb, &slots[0], "GET %s", "b");
        if (rc != ARC_OK)
            assert_int_equal(rc, ARC_ERR_NOMEM);
        accepted[0] = rc == ARC_OK;
        rc = arc_cluster_command(cl, cs_cb, &slots[1], "GET %s", cs_moved_key);
        if (rc != ARC_OK)
            assert_int_equal(rc, ARC_ERR_NOMEM);
        accepted[1] = rc == ARC_OK;
        /* Refused only when the loop cannot take the group's timer or the
         * cluster's ticker: then nothing runs, and what was accepted waits
         * for arc_cluster_free. */
        rc = arc_cluster_attach(cl, poll_loop.attach, loop);
        bool attached = rc == ARC_OK;
        if (!attached) {
            assert_int_equal(rc, ARC_ERR_NOMEM);
            assert_true(f.failed > 0);
        }
        /* Attached, before any reply: still no slot map. */
        rc = arc_cluster_command(cl, cs_cb, &slots[2], "GET %s", "a");
        if (rc != ARC_OK)
            assert_int_equal(rc, ARC_ERR_NOMEM);
        accepted[2] = rc == ARC_OK;
        for (int k = 0; k < 300 && attached && !arc_cluster_ready(cl); k++)
            cs_pump(&cs, loop, listeners);
        /* a, b and c are in three slots (15495, 3300, 7365): split in
         * three parts, on both peers when there are two. */
        rc = arc_cluster_command(cl, cs_cb, &slots[3], "MGET a b c");
        if (rc != ARC_OK)
            assert_int_equal(rc, ARC_ERR_NOMEM);
        accepted[3] = rc == ARC_OK;
        /* RENAME is no command the split knows: refused whatever the map,
         * before any memory of its own (the encoder's buffer may fail). */
        rc = arc_cluster_command(cl, cs_cb, &slots[CS_RENAME], "RENAME a b");
        if (rc != ARC_ERR_CROSSSLOT)
            assert_int_equal(rc, ARC_ERR_NOMEM);
        rc = arc_cluster_command(cl, cs_cb, &slots[5], "GET %s", "c");
        if (rc != ARC_OK)
            assert_int_equal(rc, ARC_ERR_NOMEM);
        accepted[5] = rc == ARC_OK;
        /* A shard channel in a's slot (on peer 1 when there are two), on
         * its node's second connection: kept through failures of memory
         * until it hears its message, then unsubscribed. */
        cssub sub;
        memset(&sub, 0, sizeof sub);
        rc = arc_cluster_subscribe(cl, ARC_CLUSTER_SHARD, "{a}news", 7, cs_sub_cb, &sub);
        if (rc != ARC_OK)
            assert_int_equal(rc, ARC_ERR_NOMEM);
        bool sub_accepted = rc == ARC_OK, unsubscribed = false;
        for (int k = 0; k < 600 && attached &&
                        (!cs_all_called(&r, accepted) || (sub_accepted && sub.finals == 0));
             k++) {
            if (sub_accepted && sub.messages > 0 && !unsubscribed) {
                rc = arc_cluster_unsubscribe(cl, ARC_CLUSTER_SHARD, "{a}news", 7);
                if (rc != ARC_OK)
                    assert_int_equal(rc, ARC_ERR_NOMEM);
                unsubscribed = rc == ARC_OK;
            }
            cs_pump(&cs, loop, listeners);
        }
        if (attached && sub_accepted && sub.finals == 0)
            fail_msg("allocation %ld failing (%d shards): the subscription did not end "
                     "(%d confirmations, %d messages)",
                     fail_at, nshards, sub.confirms, sub.messages);
        bool finished = cs_all_called(&r, accepted);
        bool untouched = f.failed == 0;
        bool ready = arc_cluster_ready(cl);
        arc_cluster_free(cl);
        if (sub_accepted && sub.finals != 1)
            fail_msg("allocation %ld failing (%d shards): the subscription's NULL call ran "
                     "%d times",
                     fail_at, nshards, sub.finals);
        /* Unsubscribed after its message, or never attached (FREED). */
        if (sub_accepted && sub.final_status != (attached ? ARC_OK : ARC_ERR_FREED))
            fail_msg("allocation %ld failing (%d shards): the subscription ended %s",
                     fail_at, nshards, arc_status_name(sub.final_status));
        /* Attached, every command ends by itself, whatever failed: none
         * waits for a slot map nothing will bring. Not attached, each one
         * accepted hears ARC_ERR_FREED from arc_cluster_free. */
        if (attached && !finished)
            fail_msg("allocation %ld failing (%d shards): commands still owed after 400 "
                     "passes of the loop",
                     fail_at, nshards);
        for (int i = 0; i < CS_CMDS; i++)
            if (!attached && accepted[i] && r.status[i] != ARC_ERR_FREED)
                fail_msg("allocation %ld failing (%d shards): command %d of a cluster never "
                         "attached ended %s",
                         fail_at, nshards, i, arc_status_name(r.status[i]));
        if (!attached)
            cs_unattached++;
        for (int i = 0; i < CS_CMDS; i++) {
            if (accepted[i] && r.calls[i] != 1)
                fail_msg("allocation %ld failing (%d shards): command %d called %d times",
                         fail_at, nshards, i, r.calls[i]);
            if (!accepted[i] && r.calls[i] != 0)
                fail_msg("allocation %ld failing (%d shards): refused command %d called back",
                         fail_at, nshards, i);
        }
        if (untouched) {
            assert_true(finished);
            assert_true(ready);
            for (int i = 0; i < CS_CMDS; i++) {
                assert_true(accepted[i] == (i != CS_RENAME));
                assert_int_equal(r.replies[i], i != CS_RENAME);
            }
            /* The map came from CLUSTER SHARDS, COMMAND was asked once and
             * refused, and the one GET for the moved key was redirected. */
            assert_true(cs.shards_asked >= 1);
            assert_int_equal(cs.command_asked, 1);
            assert_int_equal(cs.moved_sent, nshards == 2 ? 1 : 0);
            /* Each node's command connection, and the subscription's. */
            assert_int_equal(cs.npeers, nshards + 1);
            assert_int_equal(sub.confirms, 1);
            assert_int_equal(sub.messages, 1);
            assert_int_equal(cs.ssubscribes, 1);
        }
    }
    if (loop != NULL)
        poll_loop.destroy(loop);
    for (int k = 0; k < cs.npeers; k++) {
        arc_reader_free(cs.peers[k].reader);
        close(cs.peers[k].fd);
    }
    for (int l = 0; l < nshards; l++)
        close(listeners[l]);
    if (f.live != 0)
        fail_msg("%ld blocks leaked with allocation %ld failing (cluster, %d shards)", f.live,
                 fail_at, nshards);
    return f.calls >= fail_at;
}

static void sweep_cluster(void **state)
{
    (void)state;
    assert_true(arc_cluster_key_slot(cs_moved_key, strlen(cs_moved_key)) < 8192);
    for (int nshards = 1; nshards <= 2; nshards++) {
        memset(cs_seen, 0, sizeof cs_seen);
        cs_unattached = 0;
        long n = 1;
        while (run_cluster_once(nshards, n))
            n++;
        assert_true(n > 10);
        printf("# poll: swept %ld allocation points (a cluster of %d shard%s: routing, "
               "%ssplit MGET; %ld not attached); failures seen:",
               n - 1, nshards, nshards == 1 ? "" : "s", nshards == 2 ? "MOVED, " : "",
               cs_unattached);
        for (int s = 1; s < 64; s++)
            if (cs_seen[s] != 0)
                printf(" %s x%ld", arc_status_name(s), cs_seen[s]);
        printf("\n");
    }
}
#ifdef ARC_SWEEP_TLS
/* ---- over TLS, to a real TLS redis-server ----
 * The sweep's own peer cannot speak TLS, so the harness starts a server.
 * Only arc's allocations fail in turn: those through the context's
 * allocator, the TLS connection's state among them. OpenSSL allocates
 * through its own process-wide hooks (docs/tls.md "Memory"): its memory is
 * not the context's and is outside the sweep. */

static bool tls_done(const run *r, int n)
{
    for (int i = 0; i < n; i++)
        if (r->accepted[i] && r->calls[i] == 0)
            return false;
    return true;
}

/* Runs whose failed allocation was the TLS connection's own state. */
static int tls_state_failures;

static bool run_tls_once(arc_tls *tls, int port, int resp, long fail_at)
{
    failing_alloc f = {0, fail_at, 0, 0};
    arc_allocator alloc = {failing_realloc, &f};
    run r;
    memset(&r, 0, sizeof r);
    slot slots[NCMD];
    for (int i = 0; i < NCMD; i++)
        slots[i] = (slot){&r, i};
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = "localhost"; /* through the lookup thread; the certificate's name */
    o.family = ARC_FAMILY_IPV4;
    o.port = port;
    o.transport = arc_tls_transport(tls);
    o.resp = resp;
    o.db = 2;
    o.client_name = "sweep";
    o.allocator = &alloc;
    o.on_connect = on_connect;
    o.on_disconnect = on_disconnect;
    o.data = &r;
    o.connect_timeout_ms = 5000;
    o.command_timeout_ms = 5000;
    run_alloc = &alloc;
    void *loop = poll_loop.make();
    assert_true(loop != NULL || f.failed > 0);
    arc_context *c = loop == NULL ? NULL : arc_connect(&o);
    if (c != NULL && poll_loop.attach(c, loop) != ARC_OK) {
        assert_true(f.failed > 0);
        arc_free(c);
        c = NULL;
        assert_int_equal(r.connects, 1);
    }
    if (c == NULL) {
        assert_true(f.failed > 0);
    } else {
        int i = 0;
        r.accepted[i] = arc_command(c, cmd_cb, &slots[i], "SET %s %b", "k", "v\0v", (size_t)3) == ARC_OK;
        i++;
        r.accepted[i] = arc_command(c, cmd_cb, &slots[i], "GET k") == ARC_OK;
        i++;
        uint64_t id = 0;
        arc_command_options co = {.timeout_ms = 60000, .id = &id};
        r.accepted[i] = arc_command_with(c, &co, cmd_cb, &slots[i], "GET k") == ARC_OK;
        i++;
        r.accepted[i] = arc_command_with(c, &co, cmd_cb, &slots[i], "GET k") == ARC_OK;
        if (r.accepted[i])
            assert_int_equal(arc_cancel(c, id), ARC_OK);
        int cancelled = i++;
        r.accepted[i] = arc_command(c, cmd_cb, &slots[i], "PING") == ARC_OK;
        i++;
        /* The replies (or the failure), then a clean disconnect. */
        int64_t end = arc_now_ms() + 10000;
        while (!tls_done(&r, i) && arc_context_state(c) != ARC_STATE_FAILED &&
               arc_now_ms() < end)
            poll_loop.run_once(loop);
        bool was_tls = arc_tls_version_of(c) != NULL;
        arc_disconnect(c);
        while (arc_context_state(c) != ARC_STATE_CLOSED &&
               arc_context_state(c) != ARC_STATE_FAILED && arc_now_ms() < end)
            poll_loop.run_once(loop);
        bool clean = arc_context_state(c) == ARC_STATE_CLOSED;
        char why[300];
        snprintf(why, sizeof why, "%s: %s", arc_state_name(arc_context_state(c)),
                 arc_context_error(c));
        if (arc_context_state(c) == ARC_STATE_FAILED &&
            arc_context_failure(c) != ARC_ERR_NOMEM)
            fail_msg("allocation %ld failing ended %s (%s), not ARC_ERR_NOMEM", fail_at, why,
                     arc_status_name(arc_context_failure(c)));
        if (arc_context_state(c) == ARC_STATE_FAILED && strstr(why, "TLS") != NULL)
            tls_state_failures++;
        if (!clean && arc_context_state(c) != ARC_STATE_FAILED)
            fail_msg("allocation %ld failing: still %s after 10 s", fail_at, why);
        arc_free(c);
        assert_int_equal(r.connects, 1);
        assert_true(r.disconnects <= 1);
        if (f.failed == 0) {
            if (!clean)
                fail_msg("untouched run ended %s", why);
            assert_true(was_tls);
            assert_int_equal(r.disconnects, 1);
            for (int k = 0; k < i; k++)
                assert_int_equal(r.replies[k], k == cancelled ? 0 : 1);
        }
        for (int k = 0; k < i; k++)
            if (r.accepted[k] && r.calls[k] != 1)
                fail_msg("command %d called %d times (fail_at %ld)", k, r.calls[k], fail_at);
            else if (!r.accepted[k] && r.calls[k] != 0)
                fail_msg("refused command %d was called (fail_at %ld)", k, fail_at);
    }
    if (loop != NULL)
        poll_loop.destroy(loop);
    if (f.live != 0)
        fail_msg("%ld blocks leaked with allocation %ld failing (TLS)", f.live, fail_at);
    return f.calls >= fail_at;
}

static void sweep_tls(void **state)
{
    (void)state;
    const test_tls_files *files = test_tls_files_get();
    assert_non_null(files);
    test_redis *srv = test_redis_start(&(test_redis_options){.tls = 1});
    assert_non_null(srv);
    arc_tls_options to = {0};
    to.ca_file = files->ca_cert;
    char err[256];
    arc_tls *tls = arc_tls_new(&to, err, sizeof err);
    if (tls == NULL)
        fail_msg("arc_tls_new: %s", err);
    for (int resp = 2; resp <= 3; resp++) {
        long n = 1;
        tls_state_failures = 0;
        while (run_tls_once(tls, test_redis_tls_port(srv), resp, n))
            n++;
        assert_true(n > 10);
        /* The sweep reached the transport's own allocation. */
        assert_int_equal(tls_state_failures, 1);
        printf("# poll: swept %ld allocation points (RESP%d, TLS to a redis-server)\n", n - 1,
               resp);
    }
    arc_tls_free(tls);
    test_redis_stop(srv);
}
#endif

static void sweep_resp2(void **state)
{
    (void)state;
    sweep(&poll_loop, 2, false);
}

static void sweep_resp3(void **state)
{
    (void)state;
    sweep(&poll_loop, 3, false);
}

static void sweep_monitor(void **state)
{
    (void)state;
    sweep(&poll_loop, 3, true);
}

#ifdef ARC_SWEEP_LIBEVENT
static void sweep_libevent(void **state)
{
    (void)state;
    sweep(&libevent_loop, 2, false);
    sweep(&libevent_loop, 3, true);
    /* Each link has a new descriptor for the adapter to watch. */
    sweep_reconnect_over(&libevent_loop, 3, true);
    /* The group attaches each member through the adapter. */
    sweep_group_over(&libevent_loop, 3);
}
#endif
#ifdef ARC_SWEEP_LIBEV
static void sweep_libev(void **state)
{
    (void)state;
    sweep(&libev_loop, 2, false);
    sweep(&libev_loop, 3, true);
    /* Each link has a new descriptor for the adapter to watch. */
    sweep_reconnect_over(&libev_loop, 3, true);
    /* The group attaches each member through the adapter. */
    sweep_group_over(&libev_loop, 3);
}
#endif
#ifdef ARC_SWEEP_LIBUV
static void sweep_libuv(void **state)
{
    (void)state;
    sweep(&libuv_loop, 2, false);
    sweep(&libuv_loop, 3, true);
    /* Each link has a new descriptor for the adapter to watch. */
    sweep_reconnect_over(&libuv_loop, 3, true);
    /* The group attaches each member through the adapter. */
    sweep_group_over(&libuv_loop, 3);
}
#endif
#ifdef ARC_SWEEP_GLIB
static void sweep_glib(void **state)
{
    (void)state;
    sweep(&glib_loop, 2, false);
    sweep(&glib_loop, 3, true);
    /* Each link has a new descriptor for the adapter to watch. */
    sweep_reconnect_over(&glib_loop, 3, true);
    /* The group attaches each member through the adapter. */
    sweep_group_over(&glib_loop, 3);
}
#endif

/* The pure parts under the same sweep: a reader on a nested RESP3 reply,
 * and the encoder. */
static void sweep_reader(void **state)
{
    (void)state;
    static const char in[] = "|1\r\n+ttl\r\n:3\r\n%2\r\n+a\r\n*3\r\n:1\r\n$3\r\nxyz\r\n~1\r\n#t\r\n"
                             "+b\r\n$?\r\n;2\r\nab\r\n;1\r\nc\r\n;0\r\n";
    long n;
    for (n = 1;; n++) {
        failing_alloc f = {0, n, 0, 0};
        arc_allocator alloc = {failing_realloc, &f};
        arc_reader *r = arc_reader_new(NULL, &alloc);
        if (r != NULL) {
            /* A memory failure loses no byte and no state: the same call
             * again goes on where it stopped. */
            int rc = arc_reader_feed(r, in, sizeof in - 1);
            if (rc == ARC_ERR_NOMEM)
                rc = arc_reader_feed(r, in, sizeof in - 1);
            assert_int_equal(rc, ARC_OK);
            arc_reply *reply;
            rc = arc_reader_next(r, &reply);
            if (rc == ARC_ERR_NOMEM)
                rc = arc_reader_next(r, &reply);
            assert_int_equal(rc, ARC_OK);
            assert_non_null(reply);
            assert_int_equal(reply->type, ARC_REPLY_MAP);
            assert_int_equal(reply->elements, 4);
            assert_string_equal(reply->element[3]->str, "abc");
            assert_non_null(reply->attribute);
            arc_reader_free(r);
        }
        assert_int_equal(f.live, 0);
        if (f.calls < n)
            break;
    }
    printf("# reader, nested RESP3 reply: swept %ld allocation points\n", n - 1);
}

/* A bulk string long enough to grow as it arrives (arc__arena_grow), fed in
 * 4 KiB pieces: a failed growth is retried by the next call, no byte lost. */
static void sweep_reader_long_bulk(void **state)
{
    (void)state;
    enum { LEN = 300000 };
    static char in[LEN + 32];
    int hl = snprintf(in, sizeof in, "$%d\r\n", LEN);
    memset(in + hl, 'b', LEN);
    memcpy(in + hl + LEN, "\r\n", 2);
    size_t total = (size_t)hl + LEN + 2;
    long n;
    for (n = 1;; n++) {
        failing_alloc f = {0, n, 0, 0};
        arc_allocator alloc = {failing_realloc, &f};
        arc_reader *r = arc_reader_new(NULL, &alloc);
        arc_reply *reply = NULL;
        for (size_t off = 0; r != NULL && off < total; off += 4096) {
            size_t k = total - off < 4096 ? total - off : 4096;
            int rc = arc_reader_feed(r, in + off, k);
            if (rc == ARC_ERR_NOMEM)
                rc = arc_reader_feed(r, in + off, k);
            assert_int_equal(rc, ARC_OK);
            rc = arc_reader_next(r, &reply);
            if (rc == ARC_ERR_NOMEM)
                rc = arc_reader_next(r, &reply);
            assert_int_equal(rc, ARC_OK);
        }
        if (r != NULL) {
            assert_non_null(reply);
            assert_int_equal(reply->type, ARC_REPLY_STRING);
            assert_int_equal(reply->len, LEN);
            assert_int_equal(reply->str[0], 'b');
            assert_int_equal(reply->str[LEN - 1], 'b');
            assert_int_equal(reply->str[LEN], '\0');
            arc_reader_free(r);
        }
        assert_int_equal(f.live, 0);
        if (f.calls < n)
            break;
    }
    printf("# reader, 300 KB bulk: swept %ld allocation points\n", n - 1);
}

/* The encoder: every failure is ARC_ERR_NOMEM with the buffer unchanged. */
static void sweep_encoder(void **state)
{
    (void)state;
    static char big[100000];
    memset(big, 'v', sizeof big);
    const char *argv[] = {"SET", "key", big};
    const size_t lens[] = {3, 3, sizeof big};
    long n;
    for (n = 1;; n++) {
        failing_alloc f = {0, n, 0, 0};
        arc_allocator alloc = {failing_realloc, &f};
        arc_buffer *b = arc_buffer_new(0, &alloc);
        if (b != NULL) {
            int rc = arc_format(b, "SET %s %b %d", "k", "v", (size_t)1, 42);
            assert_true(rc == ARC_OK || rc == ARC_ERR_NOMEM);
            size_t before = arc_buffer_len(b);
            if (rc == ARC_ERR_NOMEM)
                assert_int_equal(before, 0);
            rc = arc_format_argv(b, 3, argv, lens);
            assert_true(rc == ARC_OK || rc == ARC_ERR_NOMEM);
            if (rc == ARC_ERR_NOMEM)
                assert_int_equal(arc_buffer_len(b), before);
            else
                assert_true(arc_buffer_len(b) > before + sizeof big);
            arc_buffer_free(b);
        }
        assert_int_equal(f.live, 0);
        if (f.calls < n)
            break;
    }
    printf("# encoder: swept %ld allocation points\n", n - 1);
}

/* arc_reply_dup: one block or NULL, never half a copy. */
static void sweep_reply_dup(void **state)
{
    (void)state;
    static const char in[] = "*2\r\n$3\r\nabc\r\n%1\r\n+k\r\n:7\r\n";
    arc_reader *r = arc_reader_new(NULL, NULL);
    assert_int_equal(arc_reader_feed(r, in, sizeof in - 1), ARC_OK);
    arc_reply *reply;
    assert_int_equal(arc_reader_next(r, &reply), ARC_OK);
    assert_non_null(reply);
    long n;
    for (n = 1;; n++) {
        failing_alloc f = {0, n, 0, 0};
        arc_allocator alloc = {failing_realloc, &f};
        arc_reply *copy = arc_reply_dup(reply, &alloc);
        if (copy != NULL) {
            assert_int_equal(copy->elements, 2);
            assert_string_equal(copy->element[0]->str, "abc");
            assert_int_equal(copy->element[1]->element[1]->integer, 7);
            arc_reply_free(copy);
        }
        assert_int_equal(f.live, 0);
        if (f.calls < n)
            break;
    }
    arc_reader_free(r);
    printf("# reply dup: swept %ld allocation points\n", n - 1);
}

/* DESIGN invariant 7: once warm, commands and replies cost no allocation.
 * 20,000 SETs, GETs and PINGs with up to 100 in flight, after 2,000 of
 * warm-up, through a context on the poll loop, with the allocator counting. */
static int steady_replies;
static bool steady_over; /* arc_free answers what is in flight with FREED */

static void steady_cb(arc_context *c, arc_reply *reply, int status, void *privdata)
{
    (void)privdata;
    if (steady_over) {
        assert_int_equal(status, ARC_ERR_FREED);
        return;
    }
    assert_int_equal(status, ARC_OK);
    assert_non_null(reply);
    steady_replies++;
    static const char *const argv[] = {"SET", "key", "0123456789abcdef"};
    int which = steady_replies % 3;
    int rc = which == 0   ? arc_command_argv(c, steady_cb, NULL, 3, argv, NULL)
             : which == 1 ? arc_command(c, steady_cb, NULL, "GET %s", "key")
                          : arc_command(c, steady_cb, NULL, "PING");
    assert_int_equal(rc, ARC_OK);
}

static void steady_state_allocates_nothing(void **state)
{
    (void)state;
    failing_alloc f = {0, 0, 0, 0};
    arc_allocator alloc = {failing_realloc, &f};
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    peer p;
    memset(&p, 0, sizeof p);
    p.fd = sv[1];
    p.reader = arc_reader_new(NULL, NULL);
    p.resp = 2;
    arc_options o;
    memset(&o, 0, sizeof o);
    o.allocator = &alloc;
    arc_context *c = arc_connect_fd(sv[0], &o);
    assert_non_null(c);
    arc_poll_loop *loop = arc_poll_loop_new();
    assert_int_equal(arc_poll_attach(c, loop), ARC_OK);
    steady_replies = 0;
    for (int i = 0; i < 100; i++)
        assert_int_equal(arc_command(c, steady_cb, NULL, "PING"), ARC_OK);
    long warm = 0;
    while (steady_replies < 22000) {
        arc_poll_loop_run_once(loop, 10);
        peer_pump(&p);
        if (warm == 0 && steady_replies >= 2000)
            warm = f.calls;
    }
    printf("# %ld allocations for the first 2000 replies, %ld for the next %d\n", warm,
           f.calls - warm, steady_replies - 2000);
    assert_int_equal(f.calls, warm);
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);
    steady_over = true;
    arc_free(c);
    steady_over = false;
    arc_poll_loop_free(loop);
    arc_reader_free(p.reader);
    close(sv[1]);
    assert_int_equal(f.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sweep_resp2),
        cmocka_unit_test(sweep_resp3),
        cmocka_unit_test(sweep_monitor),
        cmocka_unit_test(sweep_tcp_connect),
        cmocka_unit_test(sweep_reconnect),
        cmocka_unit_test(sweep_group),
        cmocka_unit_test(sweep_cluster),
#ifdef ARC_SWEEP_TLS
        cmocka_unit_test(sweep_tls),
#endif
        cmocka_unit_test(sweep_reader),
        cmocka_unit_test(sweep_reader_long_bulk),
        cmocka_unit_test(sweep_encoder),
        cmocka_unit_test(sweep_reply_dup),
        cmocka_unit_test(steady_state_allocates_nothing),
#ifdef ARC_SWEEP_LIBEVENT
        cmocka_unit_test(sweep_libevent),
#endif
#ifdef ARC_SWEEP_LIBEV
        cmocka_unit_test(sweep_libev),
#endif
#ifdef ARC_SWEEP_LIBUV
        cmocka_unit_test(sweep_libuv),
#endif
#ifdef ARC_SWEEP_GLIB
        cmocka_unit_test(sweep_glib),
#endif
    };
    return cmocka_run_group_tests_name("alloc", tests, NULL, NULL);
}
