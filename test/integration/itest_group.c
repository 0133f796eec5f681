/* itest_group.c (tests): what the group scenarios share (itest_group.h). */
#define _GNU_SOURCE
#include "itest_group.h"

#include <arc/cluster.h>

#include "silent_listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- servers of the scenarios' own ---- */

static test_redis *servers[GRP_NSERVERS];

test_redis *grp_server(int i)
{
    return servers[i];
}

/* SIGTERM to all first, so that they shut down side by side, then each is
 * reaped (test_redis_stop): one after the other, each stop would wait for
 * its own shutdown, about a second for the fifty. At exit, registered
 * after redis_server.c's own handler, so it runs first. */
static void servers_stop(void)
{
    for (int i = 0; i < GRP_NSERVERS; i++)
        if (servers[i] != NULL && test_redis_pid(servers[i]) > 0)
            kill(test_redis_pid(servers[i]), SIGTERM);
    for (int i = 0; i < GRP_NSERVERS; i++) {
        test_redis_stop(servers[i]);
        servers[i] = NULL;
    }
}

void grp_servers_up(void)
{
    static bool hooked;
    if (!hooked) {
        hooked = true;
        atexit(servers_stop);
    }
    for (int i = 0; i < GRP_NSERVERS; i++) {
        if (servers[i] == NULL && (servers[i] = test_redis_start(NULL)) == NULL)
            fail_msg("could not start server %d of %d", i + 1, GRP_NSERVERS);
        kill(test_redis_pid(servers[i]), SIGCONT);
    }
}

/* ---- addresses that do not answer ---- */

int grp_refused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

void grp_silent_full(grp_silent *s)
{
    s->nfillers = 0;
    s->fd = test_tcp_listener_silent(&s->port);
    assert_true(s->fd >= 0);
    /* A backlog of 0 holds one connection; whoever comes after waits. */
    assert_int_equal(listen(s->fd, 0), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (;;) {
        if (s->nfillers == GRP_FILLERS)
            fail_msg("the silent listener's queue took %d connections", GRP_FILLERS);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        assert_true(fd >= 0);
        s->filler[s->nfillers++] = fd;
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            continue;
        assert_int_equal(errno, EINPROGRESS);
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (poll(&p, 1, 50) == 0)
            return; /* this one hangs: the queue is full */
    }
}

void grp_silent_close(grp_silent *s)
{
    for (int i = 0; i < s->nfillers; i++)
        close(s->filler[i]);
    close(s->fd);
}

/* ---- members ---- */

static int ids[GRP_MAX_MEMBERS];

void *grp_id(int i)
{
    ids[i] = i;
    return &ids[i];
}

int grp_index(const arc_member *m)
{
    const int *p = arc_member_data(m);
    return p != NULL && *p >= 0 && *p < GRP_MAX_MEMBERS ? *p : -1;
}

static bool is_connecting(arc_state s)
{
    return s == ARC_STATE_CONNECTING || s == ARC_STATE_HELD || s == ARC_STATE_HANDSHAKE;
}

size_t grp_connecting(const arc_group *g)
{
    return arc_group_count(g, ARC_STATE_CONNECTING) + arc_group_count(g, ARC_STATE_HELD) +
           arc_group_count(g, ARC_STATE_HANDSHAKE);
}

size_t grp_counts_sum(const arc_group *g)
{
    size_t sum = 0;
    for (int s = 0; s < GRP_NSTATES; s++)
        sum += arc_group_count(g, (arc_state)s);
    return sum;
}

/* ---- on_change, recorded ---- */

void grp_on_change(arc_group *g, arc_member *m, arc_state prev, arc_state now, void *data)
{
    grp_watch *w = data;
    w->calls++;
    int i = grp_index(m);
    if (i < 0) {
        w->bad_index++;
        return;
    }
    if (w->per[i]++ == 0) {
        w->first_prev[i] = prev;
        w->first_now[i] = now;
    } else if (prev != w->now[i]) {
        w->bad_prev++;
    }
    w->now[i] = now;
    if (arc_member_state(m) != now)
        w->bad_state++;
    if (grp_counts_sum(g) != arc_group_size(g))
        w->bad_sum++;
    size_t connecting = grp_connecting(g), told = 0;
    for (int k = 0; k < GRP_MAX_MEMBERS; k++)
        told += w->per[k] > 0 && is_connecting(w->now[k]);
    if (connecting > w->most_connecting)
        w->most_connecting = connecting;
    if (told > w->most_connecting_told)
        w->most_connecting_told = told;
    if (now == ARC_STATE_HELD)
        w->held++;
    if (now == ARC_STATE_FAILED && arc_member_failure(m) == ARC_ERR_NOFD)
        w->nofd++;
    if (prev == ARC_STATE_INIT && now == ARC_STATE_CONNECTING)
        w->order[w->nstarted++] = i;
    if (w->then != NULL)
        w->then(g, m, prev, now);
}

void grp_assert_watch_sane(const grp_watch *w)
{
    if (w->bad_index || w->bad_prev || w->bad_state || w->bad_sum)
        fail_msg("on_change: %d calls for members not of the scenario, %d whose previous "
                 "state was not the last one told, %d where arc_member_state() disagreed, "
                 "%d where the counts did not add up to the size",
                 w->bad_index, w->bad_prev, w->bad_state, w->bad_sum);
}

/* ---- a fan-out's callbacks, recorded ---- */

int grp_info_port(const arc_reply *r)
{
    if (r == NULL || r->str == NULL)
        return 0;
    const char *p = memmem(r->str, r->len, "tcp_port:", 9);
    if (p == NULL)
        return 0;
    int port = 0;
    for (p += 9; p < r->str + r->len && *p >= '0' && *p <= '9'; p++)
        port = port * 10 + (*p - '0');
    return port;
}

static void on_fan_reply(arc_group *g, arc_member *m, arc_reply *r, int status, void *privdata)
{
    grp_fan *rec = privdata;
    rec->calls++;
    int i = grp_index(m);
    if (i < 0) {
        rec->bad_index++;
        return;
    }
    rec->per[i]++;
    rec->status[i] = status;
    rec->at_ms[i] = itest_now_ms();
    rec->pong[i] =
        r != NULL && r->type == ARC_REPLY_STATUS && r->len == 4 && memcmp(r->str, "PONG", 4) == 0;
    rec->port[i] = grp_info_port(r);
    rec->running++;
    if (rec->then != NULL)
        rec->then(g, m, r, status);
    rec->running--;
}

static void on_fan_done(arc_group *g, arc_fanout *f, void *privdata)
{
    grp_fan *rec = privdata;
    rec->done++;
    rec->calls_at_done = rec->calls;
    rec->done_nested += rec->running > 0;
    if (rec->f != NULL && rec->f != f)
        rec->bad_handle++;
    rec->answered_at_done = arc_fanout_answered(f);
    rec->failed_at_done = arc_fanout_failed(f);
    rec->pending_at_done = arc_fanout_pending(f);
    if (rec->then_done != NULL)
        rec->then_done(g, f);
}

arc_fanout_options grp_fan_to(grp_fan *rec, bool keep)
{
    memset(rec, 0, sizeof *rec);
    arc_fanout_options o;
    memset(&o, 0, sizeof o);
    o.keep_replies = keep;
    o.on_reply = on_fan_reply;
    o.on_done = on_fan_done;
    o.privdata = rec;
    o.handle = &rec->f;
    return o;
}

void grp_assert_done_once(const grp_fan *rec, int n, const char *what)
{
    if (rec->done != 1 || rec->calls_at_done != n || rec->calls != n || rec->bad_index ||
        rec->bad_handle || rec->done_nested)
        fail_msg("%s: on_done ran %d times (%d of them inside a member's callback), after %d "
                 "of %d member callbacks (%d in all; %d for members not of the scenario; %d "
                 "with another fan-out)",
                 what, rec->done, rec->done_nested, rec->calls_at_done, n, rec->calls,
                 rec->bad_index, rec->bad_handle);
    if (rec->pending_at_done != 0 || rec->answered_at_done + rec->failed_at_done != (size_t)n)
        fail_msg("%s: at on_done %zu answered, %zu failed, %zu pending of %d", what,
                 rec->answered_at_done, rec->failed_at_done, rec->pending_at_done, n);
}

void grp_assert_status(const grp_fan *rec, int i, int status)
{
    if (rec->per[i] != 1 || rec->status[i] != status)
        fail_msg("member %d: its fan-out callback ran %d times, last with %s; expected once "
                 "with %s",
                 i, rec->per[i], arc_status_name(rec->status[i]), arc_status_name(status));
}

void *grp_loop(itest *t)
{
    return t->drv->attach_loop ? t->drv->attach_loop(t->loop) : t->loop;
}

void grp_attach(itest *t, arc_group *g)
{
    assert_int_equal(arc_group_attach(g, t->drv->attach_fn, grp_loop(t)), ARC_OK);
}

/* ---- checks ---- */

void grp_assert_contains(const char *text, const char *part, const char *what)
{
    if (strstr(text, part) == NULL)
        fail_msg("%s: \"%s\" does not say \"%s\"", what, text, part);
}

void grp_assert_attempt(const arc_member *m, size_t i, const char *address, int status)
{
    const arc_attempt *a = arc_member_attempt(m, i);
    if (a == NULL)
        fail_msg("%s: no attempt %zu", arc_member_name(m), i);
    assert_string_equal(a->address, address);
    assert_true(a->done);
    if (a->status != status)
        fail_msg("%s: attempt %zu (%s) ended %s, expected %s", arc_member_name(m), i, a->address,
                 arc_status_name(a->status), arc_status_name(status));
}

int itest_cluster_attach(itest *t, struct arc_cluster *cl)
{
    return arc_cluster_attach(cl, t->drv->attach_fn, grp_loop(t));
}
