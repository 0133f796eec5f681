/* scenarios_reconnect.c (tests): the reconnect policy (arc_options.reconnect
 * in arc/context.h) against a server that is killed, restarted, stopped and
 * refusing, on every loop (see itest.c for the lists). Each scenario checks
 * that every callback it arms runs exactly once, and that the shared server
 * is up again before the first assertion that could fail. */
#define _GNU_SOURCE
#include "itest.h"

#include "fake_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* How late a timer may fire on a busy or instrumented (valgrind) loop. */
#define SLACK_MS 250

/* ---- watching one context ---- */

enum { TRAIL_MAX = 64, STATUS_MAX = 8 };

/* One state change, as on_state saw it. */
typedef struct change {
    arc_state now;
    int64_t since_ms; /* arc_context_state_since_ms() */
    int64_t next_ms;  /* arc_context_next_attempt_ms() */
    unsigned attempt; /* arc_context_reconnects() */
    int failure;      /* arc_context_failure() */
    char error[96];   /* arc_context_error(), cut short */
} change;

typedef struct rwatch {
    int connects, connect_ok, connect_status;
    int disconnects;
    int disconnect_status[STATUS_MAX];
    arc_state disconnect_state[STATUS_MAX]; /* the state during the call */
    int nchanges;
    change trail[TRAIL_MAX];
    int data_frees;
    /* What the callbacks do besides counting. */
    arc_state free_in_state; /* arc_free on entering it; INIT: never */
    bool free_in_disconnect;
    bool disconnect_in_disconnect;
    void (*on_change)(arc_context *c, struct rwatch *w, arc_state now);
    void *user;
} rwatch;

static void rw_connect(arc_context *c, int status, void *data)
{
    (void)c;
    rwatch *w = data;
    w->connects++;
    w->connect_status = status;
    if (status == ARC_OK)
        w->connect_ok++;
}

static void rw_disconnect(arc_context *c, int status, void *data)
{
    rwatch *w = data;
    if (w->disconnects < STATUS_MAX) {
        w->disconnect_status[w->disconnects] = status;
        w->disconnect_state[w->disconnects] = arc_context_state(c);
    }
    w->disconnects++;
    if (w->free_in_disconnect)
        arc_free(c);
    else if (w->disconnect_in_disconnect)
        arc_disconnect(c);
}

static void rw_state(arc_context *c, arc_state prev, arc_state now, void *data)
{
    (void)prev;
    rwatch *w = data;
    if (w->nchanges < TRAIL_MAX) {
        change *ch = &w->trail[w->nchanges];
        ch->now = now;
        ch->since_ms = arc_context_state_since_ms(c);
        ch->next_ms = arc_context_next_attempt_ms(c);
        ch->attempt = arc_context_reconnects(c);
        ch->failure = arc_context_failure(c);
        snprintf(ch->error, sizeof ch->error, "%s", arc_context_error(c));
    }
    w->nchanges++;
    if (w->on_change != NULL)
        w->on_change(c, w, now);
    if (w->free_in_state != ARC_STATE_INIT && now == w->free_in_state)
        arc_free(c);
}

static void rw_data_free(void *data)
{
    rwatch *w = data;
    w->data_frees++;
}

static arc_options rc_options(const itest *t, rwatch *w, const arc_reconnect *rc, int resp)
{
    arc_options o = itest_options(t);
    o.resp = resp;
    o.on_connect = rw_connect;
    o.on_disconnect = rw_disconnect;
    o.on_state = rw_state;
    o.data = w;
    o.data_free = rw_data_free;
    o.reconnect = rc;
    return o;
}

static arc_context *rc_ready(itest *t, rwatch *w, const arc_options *o)
{
    arc_context *c = itest_connect(t, o);
    ITEST_RUN_UNTIL(t, 5000, w->connects == 1);
    assert_int_equal(w->connect_status, ARC_OK);
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);
    return c;
}

static int count_state(const rwatch *w, arc_state s)
{
    int n = 0;
    for (int i = 0; i < w->nchanges && i < TRAIL_MAX; i++)
        n += w->trail[i].now == s;
    return n;
}

static const char *trail_text(const rwatch *w, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < w->nchanges && i < TRAIL_MAX && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%s", i ? " " : "",
                               arc_state_name(w->trail[i].now));
    return buf;
}

static void fail_with_trail(const rwatch *w, const char *what)
{
    char got[1024];
    int last = w->nchanges < TRAIL_MAX ? w->nchanges : TRAIL_MAX;
    fail_msg("%s: states %s (last failure %s: %s)", what, trail_text(w, got, sizeof got),
             last > 0 ? arc_status_name(w->trail[last - 1].failure) : "none",
             last > 0 ? w->trail[last - 1].error : "");
}

/* The state changes are exactly `want`, in order. */
static void assert_trail(const rwatch *w, const arc_state *want, int n, const char *what)
{
    bool same = w->nchanges == n;
    for (int i = 0; same && i < n; i++)
        same = w->trail[i].now == want[i];
    if (!same)
        fail_with_trail(w, what);
}

/* The context did not end (it should have waited instead); the trail says
 * how it went. */
static void assert_not_ended(const rwatch *w, const arc_context *c, const char *what)
{
    arc_state s = arc_context_state(c);
    if (s == ARC_STATE_CLOSED || s == ARC_STATE_FAILED)
        fail_with_trail(w, what);
}

static bool is_ready_state(arc_state s)
{
    return s == ARC_STATE_READY || s == ARC_STATE_SUBSCRIBED || s == ARC_STATE_MONITORING;
}

/* The wait's ceiling for an attempt: the first delay doubled per attempt,
 * up to the maximum. */
static long ceiling_for(const arc_reconnect *rc, unsigned attempt)
{
    long ceiling = rc->initial_delay_ms;
    for (unsigned i = 1; i < attempt; i++)
        ceiling = ceiling * 2 > rc->max_delay_ms ? rc->max_delay_ms : ceiling * 2;
    return ceiling;
}

/* Every WAITING in the trail: it waits for the next attempt of the run
 * since the last ready link (1, 2, ...), says why, and sets the attempt
 * within the jitter's ceiling; the attempt that follows (CONNECTING) is
 * never early and at most SLACK_MS late. Returns how many there were. */
static int assert_waits(const rwatch *w, const arc_reconnect *rc, const char *what)
{
    unsigned run = 0;
    int waits = 0;
    if (w->nchanges > TRAIL_MAX)
        fail_msg("%s: %d state changes; the trail keeps %d", what, w->nchanges, TRAIL_MAX);
    for (int i = 0; i < w->nchanges && i < TRAIL_MAX; i++) {
        const change *ch = &w->trail[i];
        if (is_ready_state(ch->now))
            run = 0;
        if (ch->now != ARC_STATE_WAITING)
            continue;
        waits++;
        run++;
        long delay = (long)(ch->next_ms - ch->since_ms);
        if (ch->attempt != run || ch->next_ms < 0 || ch->failure == ARC_OK || ch->error[0] == '\0')
            fail_msg("%s: WAITING #%d: attempt %u (expected %u), next %lld, failure %s", what,
                     waits, ch->attempt, run, (long long)ch->next_ms, arc_status_name(ch->failure));
        if (delay < -2 || delay > ceiling_for(rc, run))
            fail_msg("%s: WAITING #%d waits %ld ms; the ceiling of attempt %u is %ld", what, waits,
                     delay, run, ceiling_for(rc, run));
        if (i + 1 < w->nchanges && i + 1 < TRAIL_MAX &&
            w->trail[i + 1].now == ARC_STATE_CONNECTING) {
            int64_t late = w->trail[i + 1].since_ms - ch->next_ms;
            if (late < 0 || late > SLACK_MS)
                fail_msg("%s: attempt %u started %lld ms after its time", what, run,
                         (long long)late);
        }
    }
    return waits;
}

/* ---- the server ---- */

/* The loop runs until `cond` or `ms`, and never fails: for the stretches
 * where the shared server is down or stopped. */
#define RUN_UP_TO(t, ms, cond)                                                                     \
    do {                                                                                           \
        int64_t run_end_ = itest_now_ms() + (ms);                                                  \
        while (!(cond) && itest_now_ms() < run_end_)                                               \
            (t)->drv->run_once((t)->loop, 5);                                                      \
    } while (0)

/* kill -9: the server vanishes as after a crash, its sockets reset. */
static void server_kill(itest *t)
{
    int pid = test_redis_pid(t->redis);
    assert_true(pid > 0);
    assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
}

/* Blocks until the new server answers; nothing runs on the loop meanwhile.
 * It starts empty: the harness's servers keep no data. */
static void server_restart(itest *t)
{
    assert_int_equal(test_redis_restart(t->redis), 0);
}

/* While the server is down, its ports stay taken by sockets that do not
 * listen: a connect is refused as if nobody were there, yet no other
 * process's server can land on the port, and no connect of ours can be
 * given it as its own source port (a TCP self-connect, which would read
 * the commands back as their replies). SO_REUSEADDR: past the old
 * server's TIME_WAITs. */
typedef struct port_hold {
    int fd[2];
    bool held;
} port_hold;

static int hold_one(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Until the killed process's listening socket is gone. */
    int64_t end = itest_now_ms() + 2000;
    while (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (errno != EADDRINUSE || itest_now_ms() >= end) {
            close(fd);
            return -1;
        }
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return fd;
}

/* kill -9, then hold the ports; never fails (the server is down): the
 * caller checks `held` once it is up again. */
static port_hold server_kill_and_hold(itest *t)
{
    server_kill(t);
    port_hold h;
    int ports[2] = {test_redis_port(t->redis), test_redis_tls_port(t->redis)};
    h.held = true;
    for (int i = 0; i < 2; i++) {
        h.fd[i] = ports[i] > 0 ? hold_one(ports[i]) : -1;
        h.held = h.held && (ports[i] == 0 || h.fd[i] >= 0);
    }
    return h;
}

static void server_release_and_restart(itest *t, port_hold *h)
{
    for (int i = 0; i < 2; i++)
        if (h->fd[i] >= 0)
            close(h->fd[i]);
    server_restart(t);
    if (!h->held)
        fail_msg("the dead server's ports could not be held");
}




static bool ended(const arc_context *c)
{
    arc_state s = arc_context_state(c);
    return s == ARC_STATE_CLOSED || s == ARC_STATE_FAILED;
}

static bool lost_link_status(int status)
{
    return status == ARC_ERR_EOF || status == ARC_ERR_IO;
}

/* ---- a load of INCRs kept at a depth ---- */

/* A load on `c`, issuing at once. */
static itest_load *load_new(arc_context *c, const rwatch *w, long depth)
{
    itest_load *l = itest_load_new(c, &w->connect_ok, "rc-counter", depth, ITEST_LOAD_MAX);
    itest_load_more(l);
    return l;
}

/* ---- 1: kill -9 and restart under load ---- */

/* 256 INCRs in flight when the server dies; the load goes on until 2000
 * more replies came from the new server. Commands written to the dead one
 * get UNANSWERED, one cut short NOT_SENT, the rest go out on the new link.
 * The new server starts from nothing, so its counter counts exactly the
 * INCRs it ran: its replies are 1, 2, 3, ... and the final value is their
 * number; no UNANSWERED one ran there. */
static void restart_under_load(void **state)
{
    itest *t = *state;
    static rwatch w;
    w = (rwatch){0};
    arc_reconnect rc = {.initial_delay_ms = 20, .max_delay_ms = 200};
    arc_options o = rc_options(t, &w, &rc, 2);
    o.db = 2;
    o.client_name = "arc-rc-load"; /* a handshake to replay */
    arc_context *c = rc_ready(t, &w, &o);
    itest_load *l = load_new(c, &w, 256);
    ITEST_RUN_UNTIL(t, 10000, l->ok_on_link[1] >= 1000);
    server_kill(t);
    server_restart(t);
    ITEST_RUN_UNTIL(t, 10000, l->ok_on_link[2] >= 2000);
    l->stop = true;
    ITEST_RUN_UNTIL(t, 5000, l->callbacks == l->issued);
    itest_run_for(t, 20);

    itest_tally y = itest_load_tally(l, "restart under load");
    assert_int_equal(y.ok, l->ok_on_link[1] + l->ok_on_link[2]);
    assert_int_equal(l->ok_on_link[3], 0);
    assert_true(y.not_sent <= 1); /* one loss, at most one command cut short */
    /* Replies count up from 1 on each server, without a gap; in issue
     * order the commands are: answered by the old server, UNANSWERED, at
     * most one NOT_SENT, answered by the new one. */
    long on[4] = {0, 0, 0, 0};
    long bad = 0, backwards = 0;
    int phase = 0;
    for (long i = 0; i < l->issued; i++) {
        const itest_load_slot *s = &l->slot[i];
        int p = s->status == ARC_ERR_UNANSWERED ? 1
                : s->status == ARC_ERR_NOT_SENT ? 2
                : s->link == 1                  ? 0
                                                : 3;
        backwards += p < phase;
        phase = p > phase ? p : phase;
        if (s->status == ARC_OK)
            bad += s->value != ++on[s->link];
    }
    if (bad != 0 || backwards != 0)
        fail_msg("%ld INCR replies out of sequence, %ld commands out of place", bad, backwards);

    /* The new server's counter, asked through the new link (db 2). */
    static itest_rec info, get;
    info = get = (itest_rec){0};
    assert_int_equal(arc_command(c, itest_rec_cb, &info, "CLIENT INFO"), ARC_OK);
    assert_int_equal(arc_command(c, itest_rec_cb, &get, "GET rc-counter"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, get.calls == 1);
    char want[32];
    snprintf(want, sizeof want, "%ld", l->ok_on_link[2]);
    itest_assert_str(itest_last(&get), ARC_REPLY_STRING, want);
    const char *ci = itest_last(&info)->str;
    if (strstr(ci, " db=2 ") == NULL || strstr(ci, " name=arc-rc-load ") == NULL)
        fail_msg("the handshake was not replayed: %s", ci);

    static const arc_state trail[] = {ARC_STATE_HANDSHAKE,  ARC_STATE_READY,     ARC_STATE_WAITING,
                                      ARC_STATE_CONNECTING, ARC_STATE_HANDSHAKE, ARC_STATE_READY};
    assert_trail(&w, trail, 6, "restart under load");
    assert_int_equal(assert_waits(&w, &rc, "restart under load"), 1);
    assert_true(lost_link_status(w.trail[2].failure));
    assert_int_equal(arc_context_reconnects(c), 0);
    assert_int_equal(arc_context_next_attempt_ms(c), -1);
    assert_int_equal(w.connects, 2);
    assert_int_equal(w.connect_ok, 2);
    assert_int_equal(w.disconnects, 1);
    assert_true(lost_link_status(w.disconnect_status[0]));
    assert_int_equal(w.disconnect_state[0], ARC_STATE_WAITING);
    arc_free(c);
    assert_int_equal(l->callbacks, l->issued);
    assert_int_equal(w.disconnects, 2);
    assert_int_equal(w.disconnect_status[1], ARC_ERR_FREED);
    assert_int_equal(w.connects, 2);
    assert_int_equal(w.data_frees, 1);
    free(l);
    itest_rec_clear(&info);
    itest_rec_clear(&get);
}

/* ---- 2: subscriptions and MONITOR survive a restart ---- */

typedef struct mon_log {
    int calls, oks, marked, nulls, null_status, after_null;
} mon_log;

static void on_monitor(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)c;
    mon_log *m = privdata;
    m->calls++;
    m->after_null += m->nulls;
    if (r == NULL) {
        m->nulls++;
        m->null_status = status;
    } else if (r->type == ARC_REPLY_STATUS && r->len == 2 && memcmp(r->str, "OK", 2) == 0) {
        m->oks++;
    } else if (m->oks >= 2 && r->str != NULL && memmem(r->str, r->len, "\"rc-mark\"", 9)) {
        m->marked++; /* a line of the new link */
    }
}

typedef struct sub_run {
    rwatch w;
    arc_context *c;
    itest_rec chan, pat, shard;
    char ch[16], pattern[16], pat_target[16], sh[16], name[24];
} sub_run;

static bool resubscribed(const sub_run *s)
{
    return itest_count_kind(&s->chan, "subscribe") == 2 && itest_count_kind(&s->pat, "psubscribe") == 2 &&
           itest_count_kind(&s->shard, "ssubscribe") == 2 &&
           arc_context_state(s->c) == ARC_STATE_SUBSCRIBED;
}

/* The server restarts (SIGTERM, then a new process on the same port) under
 * a channel, a pattern and a shard channel, each with its own callback, in
 * both protocols, and under MONITOR on a third context. The new link
 * replays the handshake (CLIENT SETNAME) and every name: each callback
 * gets a new confirmation and then messages, and no final NULL until
 * arc_free gives each exactly one. MONITOR gets a new +OK, then lines. */

/* One message to each name; each reaches exactly one subscriber. */
static void publish_each(itest *t, const sub_run *s)
{
    assert_int_equal(itest_admin_int(t, "PUBLISH %s x", s->ch), 1);
    assert_int_equal(itest_admin_int(t, "PUBLISH %s x", s->pat_target), 1);
    assert_int_equal(itest_admin_int(t, "SPUBLISH %s x", s->sh), 1);
}

static void subscriptions_survive(void **state)
{
    itest *t = *state;
    arc_reconnect rc = {.initial_delay_ms = 20, .max_delay_ms = 200};
    static sub_run runs[2];
    memset(runs, 0, sizeof runs);
    for (int i = 0; i < 2; i++) {
        sub_run *s = &runs[i];
        int resp = i + 2;
        snprintf(s->ch, sizeof s->ch, "rc-ch-%d", resp);
        snprintf(s->pattern, sizeof s->pattern, "rc-p%d:*", resp);
        snprintf(s->pat_target, sizeof s->pat_target, "rc-p%d:x", resp);
        snprintf(s->sh, sizeof s->sh, "rc-sh-%d", resp);
        snprintf(s->name, sizeof s->name, "arc-rc-sub-%d", resp);
        arc_options o = rc_options(t, &s->w, &rc, resp);
        o.client_name = s->name;
        s->c = itest_connect(t, &o);
        ITEST_RUN_UNTIL(t, 5000, s->w.connect_ok == 1);
        assert_int_equal(arc_command(s->c, itest_rec_cb, &s->chan, "SUBSCRIBE %s", s->ch), ARC_OK);
        assert_int_equal(arc_command(s->c, itest_rec_cb, &s->pat, "PSUBSCRIBE %s", s->pattern),
                         ARC_OK);
        assert_int_equal(arc_command(s->c, itest_rec_cb, &s->shard, "SSUBSCRIBE %s", s->sh),
                         ARC_OK);
    }
    static rwatch mw;
    static mon_log mon;
    mw = (rwatch){0};
    mon = (mon_log){0};
    arc_options mo = rc_options(t, &mw, &rc, 2);
    arc_context *m = rc_ready(t, &mw, &mo);
    assert_int_equal(arc_command(m, on_monitor, &mon, "MONITOR"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, mon.oks == 1 && runs[0].shard.calls == 1 && runs[1].shard.calls == 1);
    for (int i = 0; i < 2; i++) {
        sub_run *s = &runs[i];
        assert_int_equal(arc_context_state(s->c), ARC_STATE_SUBSCRIBED);
        publish_each(t, s);
        ITEST_RUN_UNTIL(t, 5000, s->chan.calls == 2 && s->pat.calls == 2 && s->shard.calls == 2);
    }

    server_restart(t);
    ITEST_RUN_UNTIL(t, 5000,
                    (resubscribed(&runs[0]) && resubscribed(&runs[1]) && mon.oks == 2) ||
                        ended(runs[0].c) || ended(runs[1].c) || ended(m));
    assert_not_ended(&runs[0].w, runs[0].c, "subscribed, RESP2");
    assert_not_ended(&runs[1].w, runs[1].c, "subscribed, RESP3");
    assert_not_ended(&mw, m, "monitoring");
    assert_int_equal(arc_context_state(m), ARC_STATE_MONITORING);
    arc_reply *list = itest_admin(t, "CLIENT LIST", NULL);
    for (int i = 0; i < 2; i++) {
        sub_run *s = &runs[i];
        char name[40];
        snprintf(name, sizeof name, " name=%s ", s->name);
        if (list->str == NULL || strstr(list->str, name) == NULL)
            fail_msg("RESP%d: the handshake was not replayed (no%s)", i + 2, name);
        /* The server has the names again: each PUBLISH reaches one. */
        publish_each(t, s);
        ITEST_RUN_UNTIL(t, 5000, s->chan.calls == 4 && s->pat.calls == 4 && s->shard.calls == 4);
        assert_int_equal(itest_count_kind(&s->chan, "message"), 2);
        assert_int_equal(itest_count_kind(&s->pat, "pmessage"), 2);
        assert_int_equal(itest_count_kind(&s->shard, "smessage"), 2);
        /* The new confirmation, then the new message. */
        assert_true(itest_kind_is(s->chan.replies[2], "subscribe"));
        assert_true(itest_kind_is(s->chan.replies[3], "message"));
        assert_true(itest_kind_is(s->pat.replies[2], "psubscribe"));
        assert_true(itest_kind_is(s->pat.replies[3], "pmessage"));
        assert_true(itest_kind_is(s->shard.replies[2], "ssubscribe"));
        assert_true(itest_kind_is(s->shard.replies[3], "smessage"));
        assert_int_equal(s->chan.nulls + s->pat.nulls + s->shard.nulls, 0);
        static const arc_state trail[] = {
            ARC_STATE_HANDSHAKE,  ARC_STATE_READY,     ARC_STATE_SUBSCRIBED, ARC_STATE_WAITING,
            ARC_STATE_CONNECTING, ARC_STATE_HANDSHAKE, ARC_STATE_READY,      ARC_STATE_SUBSCRIBED};
        assert_trail(&s->w, trail, 8, i == 0 ? "subscribed, RESP2" : "subscribed, RESP3");
        assert_int_equal(s->w.connect_ok, 2);
        assert_int_equal(s->w.disconnects, 1);
        assert_int_equal(s->w.disconnect_status[0], ARC_ERR_EOF);
        assert_int_equal(s->w.disconnect_state[0], ARC_STATE_WAITING);
    }
    arc_reply_free(list);
    arc_reply *r = itest_admin(t, "PUBLISH rc-mark x", NULL);
    arc_reply_free(r);
    ITEST_RUN_UNTIL(t, 5000, mon.marked == 1);
    assert_int_equal(mon.nulls, 0);
    assert_int_equal(mw.connect_ok, 2);
    assert_int_equal(mw.disconnects, 1);
    assert_int_equal(count_state(&mw, ARC_STATE_WAITING), 1);

    /* At the end, one final NULL each. */
    for (int i = 0; i < 2; i++) {
        sub_run *s = &runs[i];
        int calls = s->chan.calls + s->pat.calls + s->shard.calls;
        arc_free(s->c);
        assert_int_equal(s->chan.calls + s->pat.calls + s->shard.calls, calls + 3);
        const itest_rec *each[3] = {&s->chan, &s->pat, &s->shard};
        for (int k = 0; k < 3; k++) {
            assert_int_equal(each[k]->nulls, 1);
            assert_int_equal(each[k]->status, ARC_ERR_FREED);
        }
        assert_int_equal(s->w.disconnects, 2);
        assert_int_equal(s->w.data_frees, 1);
        itest_rec_clear(&s->chan);
        itest_rec_clear(&s->pat);
        itest_rec_clear(&s->shard);
    }
    arc_free(m);
    assert_int_equal(mon.nulls, 1);
    assert_int_equal(mon.null_status, ARC_ERR_FREED);
    assert_int_equal(mon.after_null, 0);
    assert_int_equal(mw.disconnects, 2);
}

/* ---- 3: commands while the server is down ---- */

/* Replies recorded with the order they came in and when. */
enum { SEQ_MAX = 8 };
typedef struct seq {
    itest_rec rec[SEQ_MAX];
    int order[SEQ_MAX * 2];
    int n;
    int64_t at[SEQ_MAX];
} seq;

static void note_order(arc_context *c, arc_reply *r, int status, itest_rec *rec)
{
    (void)c;
    (void)r;
    (void)status;
    seq *s = rec->user;
    int i = (int)(rec - s->rec);
    if (s->n < SEQ_MAX * 2)
        s->order[s->n++] = i;
    s->at[i] = itest_now_ms();
}

static void seq_init(seq *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < SEQ_MAX; i++) {
        s->rec[i].then = note_order;
        s->rec[i].user = s;
    }
}

static void seq_clear(seq *s)
{
    for (int i = 0; i < SEQ_MAX; i++)
        itest_rec_clear(&s->rec[i]);
}

/* fail_fast: a command tried on every change of state while down. */
typedef struct offline_probe {
    int tries, offline;
    itest_rec rec;
} offline_probe;

static void try_while_down(arc_context *c, rwatch *w, arc_state now)
{
    offline_probe *p = w->user;
    if (w->disconnects == 0 || is_ready_state(now))
        return; /* not down: before the loss, or ready again */
    p->tries++;
    p->offline += arc_command(c, itest_rec_cb, &p->rec, "PING") == ARC_ERR_OFFLINE;
}

static bool all_waiting(arc_context *const *c, int n)
{
    for (int i = 0; i < n; i++)
        if (arc_context_state(c[i]) != ARC_STATE_WAITING)
            return false;
    return true;
}

/* Three contexts lose the server for ~300 ms: the default one accepts
 * commands and sends them, in order, once it is back (a per-command
 * timeout still fires while down); fail_fast refuses them at once; with
 * max_offline_commands 5 the sixth is refused. Failed attempts are not
 * ready links: on_connect and on_disconnect do not see them. */
static void queued_while_down(void **state)
{
    itest *t = *state;
    arc_reconnect rc = {.initial_delay_ms = 20, .max_delay_ms = 200};
    arc_reconnect fast = rc, few = rc;
    fast.fail_fast = true;
    few.max_offline_commands = 5;
    static rwatch wn, wf, wm;
    static offline_probe probe;
    wn = wf = wm = (rwatch){0};
    probe = (offline_probe){0};
    wf.user = &probe;
    wf.on_change = try_while_down;
    arc_options on = rc_options(t, &wn, &rc, 2), of = rc_options(t, &wf, &fast, 2),
                om = rc_options(t, &wm, &few, 2);
    arc_context *ctx[3];
    arc_context *n = ctx[0] = rc_ready(t, &wn, &on);
    arc_context *f = ctx[1] = rc_ready(t, &wf, &of);
    arc_context *m = ctx[2] = rc_ready(t, &wm, &om);
    /* While up, the offline bound does not count. */
    static seq up, sn, sm;
    seq_init(&up);
    for (int i = 0; i < SEQ_MAX; i++)
        assert_int_equal(arc_command(m, itest_rec_cb, &up.rec[i], "PING"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, up.n == SEQ_MAX);

    port_hold hold = server_kill_and_hold(t);
    RUN_UP_TO(t, 2000, all_waiting(ctx, 3));
    bool waited = all_waiting(ctx, 3);
    int64_t down_at = itest_now_ms();
    seq_init(&sn);
    seq_init(&sm);
    int rn[6];
    arc_command_options quick = {.timeout_ms = 100};
    rn[0] = arc_command(n, itest_rec_cb, &sn.rec[0], "SET rc-q v1");
    rn[1] = arc_command(n, itest_rec_cb, &sn.rec[1], "INCR rc-n");
    rn[2] = arc_command_with(n, &quick, itest_rec_cb, &sn.rec[2], "INCR rc-t");
    rn[3] = arc_command(n, itest_rec_cb, &sn.rec[3], "INCR rc-n");
    rn[4] = arc_command(n, itest_rec_cb, &sn.rec[4], "INCR rc-n");
    rn[5] = arc_command(n, itest_rec_cb, &sn.rec[5], "GET rc-q");
    size_t n_pending = arc_context_pending(n);
    static itest_rec fping, after_f, after_m;
    fping = after_f = after_m = (itest_rec){0};
    int rf = arc_command(f, itest_rec_cb, &fping, "PING");
    size_t f_pending = arc_context_pending(f);
    int rm[6];
    for (int i = 0; i < 6; i++)
        rm[i] = arc_command(m, itest_rec_cb, &sm.rec[i], "INCR rc-m");
    size_t m_pending = arc_context_pending(m);
    itest_run_for(t, 300);
    int calls_while_down = sn.n + sm.n + fping.calls;
    unsigned attempts = arc_context_reconnects(n);
    int failure = arc_context_failure(n);
    int64_t up_at = itest_now_ms();
    server_release_and_restart(t, &hold);

    assert_not_ended(&wn, n, "queued while down");
    assert_not_ended(&wf, f, "queued while down, fail_fast");
    assert_not_ended(&wm, m, "queued while down, max_offline_commands 5");
    assert_true(waited);
    for (int i = 0; i < 6; i++)
        if (rn[i] != ARC_OK)
            fail_msg("command %d while down: %s", i, arc_status_name(rn[i]));
    assert_int_equal(n_pending, 6);
    /* The per-command timeout ran while down, and only it answered. */
    assert_int_equal(calls_while_down, 1);
    itest_assert_null_once(&sn.rec[2], ARC_ERR_TIMEOUT, "a timed command while down");
    if (sn.at[2] - down_at < 90 || sn.at[2] >= up_at)
        fail_msg("the timeout fired %lld ms after the command (down for %lld ms)",
                 (long long)(sn.at[2] - down_at), (long long)(up_at - down_at));
    assert_true(attempts >= 2);
    assert_int_equal(failure, ARC_ERR_REFUSED);
    assert_int_equal(rf, ARC_ERR_OFFLINE);
    assert_int_equal(f_pending, 0);
    /* Refused in WAITING and CONNECTING alike, until ready again. */
    assert_true(probe.tries >= 3);
    assert_int_equal(probe.offline, probe.tries);
    assert_int_equal(probe.rec.calls, 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(rm[i], ARC_OK);
    assert_int_equal(rm[5], ARC_ERR_OFFLINE);
    assert_int_equal(m_pending, 5);

    ITEST_RUN_UNTIL(t, 5000, sn.n == 6 && sm.n == 5 && arc_context_state(f) == ARC_STATE_READY);
    /* Sent on the new link in the order they were issued. */
    static const int order[] = {2, 0, 1, 3, 4, 5};
    assert_memory_equal(sn.order, order, sizeof order);
    itest_assert_str(itest_last(&sn.rec[0]), ARC_REPLY_STATUS, "OK");
    assert_int_equal(itest_last(&sn.rec[1])->integer, 1);
    assert_int_equal(itest_last(&sn.rec[3])->integer, 2);
    assert_int_equal(itest_last(&sn.rec[4])->integer, 3);
    itest_assert_str(itest_last(&sn.rec[5]), ARC_REPLY_STRING, "v1");
    for (int i = 0; i < 5; i++) {
        assert_int_equal(sm.order[i], i);
        assert_int_equal(itest_last(&sm.rec[i])->integer, i + 1);
    }
    assert_int_equal(sm.rec[5].calls, 0);
    assert_int_equal(fping.calls, 0);
    /* Up again: both take commands. */
    assert_int_equal(arc_command(f, itest_rec_cb, &after_f, "PING"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, arc_context_state(m) == ARC_STATE_READY);
    assert_int_equal(arc_command(m, itest_rec_cb, &after_m, "INCR rc-m"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, after_f.calls == 1 && after_m.calls == 1);
    itest_assert_str(itest_last(&after_f), ARC_REPLY_STATUS, "PONG");
    assert_int_equal(itest_last(&after_m)->integer, 6);

    rwatch *ws[3] = {&wn, &wf, &wm};
    arc_reconnect *rcs[3] = {&rc, &fast, &few};
    for (int i = 0; i < 3; i++) {
        int waits = assert_waits(ws[i], rcs[i], "queued while down");
        assert_true(waits >= 2);
        /* After the loss, every failed attempt was refused. */
        for (int k = 0, seen = 0; k < ws[i]->nchanges && k < TRAIL_MAX; k++) {
            const change *ch = &ws[i]->trail[k];
            if (ch->now != ARC_STATE_WAITING)
                continue;
            if (seen++ == 0)
                assert_true(lost_link_status(ch->failure));
            else
                assert_int_equal(ch->failure, ARC_ERR_REFUSED);
        }
        assert_int_equal(ws[i]->trail[ws[i]->nchanges - 1].now, ARC_STATE_READY);
        assert_int_equal(ws[i]->connects, 2);
        assert_int_equal(ws[i]->connect_ok, 2);
        assert_int_equal(ws[i]->disconnects, 1);
        assert_true(lost_link_status(ws[i]->disconnect_status[0]));
        arc_free(ctx[i]);
        assert_int_equal(ws[i]->disconnects, 2);
        assert_int_equal(ws[i]->data_frees, 1);
    }
    assert_int_equal(sn.n + sm.n + fping.calls + after_f.calls + after_m.calls, 13);
    seq_clear(&up);
    seq_clear(&sn);
    seq_clear(&sm);
    itest_rec_clear(&fping);
    itest_rec_clear(&after_f);
    itest_rec_clear(&after_m);
}

/* ---- 4: max_attempts, and the waits between attempts ---- */

/* Eight contexts lose the server and try its port, where nobody listens
 * any more, three times each: then they fail with ARC_ERR_REFUSED. Each
 * wait lies below its ceiling (20, 40, then 60 = max_delay_ms instead of
 * 80); with 24 waits, some fall below half their ceiling (full jitter,
 * not a fixed delay) and some of the second and third pass the first
 * ceiling (it doubles). Both fail by chance with odds below one in a
 * million. */
enum { FLEET = 8 };

static void max_attempts_then_fail(void **state)
{
    itest *t = *state;
    arc_reconnect rc = {.initial_delay_ms = 20, .max_delay_ms = 60, .max_attempts = 3};
    static rwatch w[FLEET];
    arc_context *c[FLEET];
    memset(w, 0, sizeof w);
    for (int i = 0; i < FLEET; i++) {
        arc_options o = rc_options(t, &w[i], &rc, 2);
        c[i] = rc_ready(t, &w[i], &o);
    }
    port_hold hold = server_kill_and_hold(t);
    int64_t end = itest_now_ms() + 3000;
    for (int i = 0; i < FLEET; i++)
        RUN_UP_TO(t, end - itest_now_ms(), ended(c[i]));
    server_release_and_restart(t, &hold);
    itest_run_for(t, 50);

    /* The first link's ready check (a PING) is its HANDSHAKE. */
    static const arc_state trail[] = {
        ARC_STATE_HANDSHAKE, ARC_STATE_READY,      ARC_STATE_WAITING,
        ARC_STATE_CONNECTING, ARC_STATE_WAITING,   ARC_STATE_CONNECTING,
        ARC_STATE_WAITING,   ARC_STATE_CONNECTING, ARC_STATE_FAILED};
    int below_half = 0, past_first = 0;
    for (int i = 0; i < FLEET; i++) {
        assert_trail(&w[i], trail, 9, "three attempts");
        assert_int_equal(assert_waits(&w[i], &rc, "three attempts"), 3);
        assert_true(lost_link_status(w[i].trail[2].failure));
        assert_int_equal(w[i].trail[4].failure, ARC_ERR_REFUSED);
        assert_int_equal(w[i].trail[6].failure, ARC_ERR_REFUSED);
        assert_int_equal(w[i].trail[8].failure, ARC_ERR_REFUSED);
        for (unsigned k = 1; k <= 3; k++) {
            const change *ch = &w[i].trail[2 * k];
            long delay = (long)(ch->next_ms - ch->since_ms);
            below_half += delay * 2 < ceiling_for(&rc, k);
            past_first += k > 1 && delay > rc.initial_delay_ms;
        }
        assert_int_equal(arc_context_state(c[i]), ARC_STATE_FAILED);
        assert_int_equal(arc_context_failure(c[i]), ARC_ERR_REFUSED);
        assert_int_equal(w[i].connects, 1);
        assert_int_equal(w[i].connect_ok, 1);
        assert_int_equal(w[i].disconnects, 1);
        assert_true(lost_link_status(w[i].disconnect_status[0]));
        itest_rec late = {0};
        assert_int_equal(arc_command(c[i], itest_rec_cb, &late, "PING"), ARC_ERR_CLOSED);
        arc_free(c[i]);
        assert_int_equal(w[i].disconnects, 1); /* no ready link to end */
        assert_int_equal(w[i].connects, 1);
        assert_int_equal(w[i].data_frees, 1);
        assert_int_equal(late.calls, 0);
    }
    if (below_half == 0 || past_first == 0)
        fail_msg("waits: %d below half their ceiling, %d past the first ceiling", below_half,
                 past_first);
}

/* ---- 5: failures that are not tried again, and decide ---- */

typedef struct decisions {
    int n;
    int failure[8];
    unsigned attempt[8];
    long proposed[8];
    long on_handshake; /* what decide answers for ARC_ERR_HANDSHAKE */
    bool stop_others;  /* -1 for the rest, else the proposal */
} decisions;

static long decide_log(arc_context *c, int failure, unsigned attempt, long proposed, void *data)
{
    (void)c;
    rwatch *w = data;
    decisions *d = w->user;
    if (d->n < 8) {
        d->failure[d->n] = failure;
        d->attempt[d->n] = attempt;
        d->proposed[d->n] = proposed;
    }
    d->n++;
    if (failure == ARC_ERR_HANDSHAKE)
        return d->on_handshake;
    return d->stop_others ? -1 : proposed;
}

/* A PING issued from on_state on entering WAITING, the first time. */
typedef struct waiting_ping {
    itest_rec rec;
    bool issued;
    int rc;
} waiting_ping;

static void ping_when_waiting(arc_context *c, rwatch *w, arc_state now)
{
    waiting_ping *p = w->user;
    if (now == ARC_STATE_WAITING && !p->issued) {
        p->issued = true;
        p->rc = arc_command(c, itest_rec_cb, &p->rec, "PING");
    }
}



/* Failures that would only repeat end the context without waiting: a
 * wrong password (from the start, or after a change while connected) and
 * a protocol error. decide can retry them anyway (here every 50 ms, until
 * arc_disconnect while WAITING ends it CLOSED), and can stop a failure
 * the policy would retry (FAILED with it). */
static void not_retried(void **state)
{
    itest *t = *state;
    arc_reconnect rc = {.initial_delay_ms = 20, .max_delay_ms = 200};
    itest_admin_ok(t, "ACL SETUSER rc-user reset on >rc-right ~* &* +@all", NULL);

    /* A wrong password from the start: FAILED at once, never WAITING. */
    for (int resp = 2; resp <= 3; resp++) {
        static rwatch w;
        w = (rwatch){0};
        arc_options o = rc_options(t, &w, &rc, resp);
        o.username = "rc-user";
        o.password = "rc-wrong";
        arc_context *c = itest_connect(t, &o);
        static itest_rec ping;
        ping = (itest_rec){0};
        assert_int_equal(arc_command(c, itest_rec_cb, &ping, "PING"), ARC_OK);
        ITEST_RUN_UNTIL(t, 5000, ended(c));
        itest_run_for(t, 100);
        assert_int_equal(arc_context_state(c), ARC_STATE_FAILED);
        assert_int_equal(arc_context_failure(c), ARC_ERR_HANDSHAKE);
        assert_non_null(strstr(arc_context_error(c), "WRONGPASS"));
        static const arc_state trail[] = {ARC_STATE_HANDSHAKE, ARC_STATE_FAILED};
        assert_trail(&w, trail, 2, "wrong password");
        assert_int_equal(w.connects, 1);
        assert_int_equal(w.connect_status, ARC_ERR_HANDSHAKE);
        assert_int_equal(w.disconnects, 0);
        itest_assert_null_once(&ping, ARC_ERR_NOT_SENT, "a command before a refused handshake");
        arc_free(c);
        assert_int_equal(w.connects + w.disconnects, 1);
        assert_int_equal(w.data_frees, 1);
        itest_rec_clear(&ping);
    }

    /* The password changed while connected: the lost link is tried again
     * once, its handshake is refused, and that ends it. A command issued
     * while waiting never went out. */
    {
        static rwatch w;
        static waiting_ping ping;
        w = (rwatch){0};
        ping = (waiting_ping){0};
        w.user = &ping;
        w.on_change = ping_when_waiting;
        arc_options o = rc_options(t, &w, &rc, 2);
        o.username = "rc-user";
        o.password = "rc-right";
        arc_context *c = itest_connect(t, &o);
        ITEST_RUN_UNTIL(t, 5000, w.connect_ok == 1);
        itest_admin_ok(t, "ACL SETUSER rc-user resetpass >rc-new", NULL);
        assert_int_equal(itest_admin_int(t, "CLIENT KILL USER rc-user", NULL), 1);
        ITEST_RUN_UNTIL(t, 5000, ended(c));
        itest_run_for(t, 100);
        static const arc_state trail[] = {ARC_STATE_HANDSHAKE, ARC_STATE_READY,
                                          ARC_STATE_WAITING,   ARC_STATE_CONNECTING,
                                          ARC_STATE_HANDSHAKE, ARC_STATE_FAILED};
        assert_trail(&w, trail, 6, "password changed");
        assert_int_equal(w.trail[2].failure, ARC_ERR_EOF);
        assert_int_equal(arc_context_failure(c), ARC_ERR_HANDSHAKE);
        assert_int_equal(w.connects, 1);
        assert_int_equal(w.disconnects, 1);
        assert_int_equal(w.disconnect_status[0], ARC_ERR_EOF);
        assert_true(ping.issued);
        assert_int_equal(ping.rc, ARC_OK);
        itest_assert_null_once(&ping.rec, ARC_ERR_NOT_SENT, "a command issued while waiting");
        arc_free(c);
        assert_int_equal(w.disconnects, 1);
        assert_int_equal(w.data_frees, 1);
        itest_rec_clear(&ping.rec);
    }

    /* decide retries the refused handshake every 50 ms; arc_disconnect
     * while waiting ends it (CLOSED). */
    {
        static rwatch w;
        static decisions d;
        w = (rwatch){0};
        d = (decisions){.on_handshake = 50};
        w.user = &d;
        arc_reconnect with = rc;
        with.decide = decide_log;
        arc_options o = rc_options(t, &w, &with, 2);
        o.username = "rc-user";
        o.password = "rc-wrong";
        arc_context *c = itest_connect(t, &o);
        ITEST_RUN_UNTIL(t, 5000, d.n == 2 && arc_context_state(c) == ARC_STATE_WAITING);
        assert_int_equal(arc_context_reconnects(c), 2);
        arc_disconnect(c);
        assert_int_equal(arc_context_state(c), ARC_STATE_CLOSED);
        itest_run_for(t, 100);
        static const arc_state trail[] = {ARC_STATE_HANDSHAKE,  ARC_STATE_WAITING,
                                          ARC_STATE_CONNECTING, ARC_STATE_HANDSHAKE,
                                          ARC_STATE_WAITING,    ARC_STATE_CLOSED};
        assert_trail(&w, trail, 6, "decide retries a refused handshake");
        assert_int_equal(d.n, 2);
        for (int i = 0; i < 2; i++) {
            assert_int_equal(d.failure[i], ARC_ERR_HANDSHAKE);
            assert_int_equal(d.attempt[i], (unsigned)i + 1);
            assert_int_equal(d.proposed[i], -1); /* the policy alone would stop */
            const change *ch = &w.trail[1 + 3 * i];
            assert_int_equal(ch->attempt, (unsigned)i + 1);
            assert_int_equal(ch->failure, ARC_ERR_HANDSHAKE);
            long delay = (long)(ch->next_ms - ch->since_ms);
            if (delay < 45 || delay > 50)
                fail_msg("decide said 50 ms; the wait is %ld ms", delay);
        }
        assert_true(w.trail[2].since_ms >= w.trail[1].next_ms);
        assert_int_equal(w.connects, 1);
        assert_int_equal(w.connect_status, ARC_ERR_CLOSED); /* never ready */
        assert_int_equal(w.disconnects, 0);
        arc_free(c);
        assert_int_equal(w.connects + w.disconnects, 1);
        assert_int_equal(w.data_frees, 1);
    }

    /* decide stops a failure the policy would retry: FAILED with it. */
    {
        static rwatch w;
        static decisions d;
        w = (rwatch){0};
        d = (decisions){.on_handshake = -1, .stop_others = true};
        w.user = &d;
        arc_reconnect with = rc;
        with.decide = decide_log;
        arc_options o = rc_options(t, &w, &with, 2);
        arc_context *c = rc_ready(t, &w, &o);
        itest_kill_client(t, itest_client_id(t, c));
        ITEST_RUN_UNTIL(t, 5000, ended(c));
        itest_run_for(t, 50);
        assert_int_equal(d.n, 1);
        assert_int_equal(d.failure[0], ARC_ERR_EOF);
        assert_int_equal(d.attempt[0], 1);
        assert_true(d.proposed[0] >= 0 && d.proposed[0] <= rc.initial_delay_ms);
        static const arc_state trail[] = {ARC_STATE_HANDSHAKE, ARC_STATE_READY, ARC_STATE_FAILED};
        assert_trail(&w, trail, 3, "decide stops");
        assert_int_equal(arc_context_failure(c), ARC_ERR_EOF);
        assert_int_equal(w.disconnects, 1);
        assert_int_equal(w.disconnect_status[0], ARC_ERR_EOF);
        arc_free(c);
        assert_int_equal(w.disconnects, 1);
        assert_int_equal(w.data_frees, 1);
    }

    /* A protocol error is not tried again either (plain TCP: the fake
     * server speaks no TLS). */
    {
        /* The ready check's PING is answered; the command after it gets
         * garbage. */
        fake_server *fk = fake_start("ACCEPT\nEXPECT_COMMAND 1\nSEND \"+PONG\\r\\n\"\n"
                                     "EXPECT_COMMAND 1\nSEND \"@bad\\r\\n\"\nDRAIN\n");
        assert_non_null(fk);
        static rwatch w;
        w = (rwatch){0};
        arc_options o = rc_options(t, &w, &rc, 2);
        o.host = "127.0.0.1";
        o.port = fake_port(fk);
        o.transport = NULL;
        arc_context *c = itest_connect(t, &o);
        static itest_rec ping;
        ping = (itest_rec){0};
        assert_int_equal(arc_command(c, itest_rec_cb, &ping, "PING"), ARC_OK);
        ITEST_RUN_UNTIL(t, 5000, ended(c));
        assert_int_equal(fake_finish(fk, 5000), 0);
        itest_run_for(t, 50);
        static const arc_state trail[] = {ARC_STATE_HANDSHAKE, ARC_STATE_READY, ARC_STATE_FAILED};
        assert_trail(&w, trail, 3, "protocol error");
        assert_int_equal(arc_context_failure(c), ARC_ERR_PROTOCOL);
        itest_assert_null_once(&ping, ARC_ERR_UNANSWERED, "the command the garbage answered");
        assert_int_equal(w.disconnects, 1);
        assert_int_equal(w.disconnect_status[0], ARC_ERR_PROTOCOL);
        arc_free(c);
        assert_int_equal(w.data_frees, 1);
        itest_rec_clear(&ping);
    }
    itest_admin_int(t, "ACL DELUSER rc-user", NULL);
}

/* ---- 6: arc_disconnect and arc_free while waiting ---- */

/* A wait long enough to act in it: the jitter could draw 0. */
static long wait_long(arc_context *c, int failure, unsigned attempt, long proposed, void *data)
{
    (void)c;
    (void)failure;
    (void)attempt;
    (void)data;
    return proposed < 0 ? proposed : 5000;
}

enum waiting_end {
    END_DISCONNECT,         /* arc_disconnect from the test, while WAITING */
    END_FREE,               /* arc_free from the test, while WAITING */
    END_FREE_IN_DISCONNECT, /* arc_free from on_disconnect (state WAITING) */
    END_DISCONNECT_IN_DISCONNECT,
    END_FREE_IN_STATE, /* arc_free from on_state(WAITING) */
};

static void waiting_end_run(itest *t, enum waiting_end how)
{
    static const char *const names[] = {"arc_disconnect", "arc_free", "arc_free in on_disconnect",
                                        "arc_disconnect in on_disconnect",
                                        "arc_free in on_state(WAITING)"};
    const char *what = names[how];
    arc_reconnect rc = {.decide = wait_long};
    static rwatch w;
    w = (rwatch){0};
    w.free_in_disconnect = how == END_FREE_IN_DISCONNECT;
    w.disconnect_in_disconnect = how == END_DISCONNECT_IN_DISCONNECT;
    w.free_in_state = how == END_FREE_IN_STATE ? ARC_STATE_WAITING : ARC_STATE_INIT;
    arc_options o = rc_options(t, &w, &rc, 3);
    arc_context *c = rc_ready(t, &w, &o);
    long long id = itest_client_id(t, c);
    static itest_rec sub, blpop, q[3], timed;
    sub = blpop = timed = (itest_rec){0};
    memset(q, 0, sizeof q);
    assert_int_equal(arc_command(c, itest_rec_cb, &sub, "SUBSCRIBE rc-w"), ARC_OK);
    ITEST_RUN_UNTIL(t, 5000, sub.calls == 1);
    assert_int_equal(arc_command(c, itest_rec_cb, &blpop, "BLPOP rc-nothing 0"), ARC_OK);
    itest_run_for(t, 30);
    itest_kill_client(t, id);
    bool freed_inside = how >= END_FREE_IN_DISCONNECT && how != END_DISCONNECT_IN_DISCONNECT;
    if (freed_inside) {
        ITEST_RUN_UNTIL(t, 5000, w.data_frees == 1);
        c = NULL;
    } else if (how == END_DISCONNECT_IN_DISCONNECT) {
        ITEST_RUN_UNTIL(t, 5000, ended(c));
    } else {
        ITEST_RUN_UNTIL(t, 5000, w.disconnects == 1);
        assert_int_equal(arc_context_state(c), ARC_STATE_WAITING);
        itest_assert_null_once(&blpop, ARC_ERR_UNANSWERED, what);
        for (int i = 0; i < 3; i++)
            assert_int_equal(arc_command(c, itest_rec_cb, &q[i], "INCR rc-w"), ARC_OK);
        arc_command_options soon = {.timeout_ms = 200};
        assert_int_equal(arc_command_with(c, &soon, itest_rec_cb, &timed, "PING"), ARC_OK);
        assert_int_equal(arc_context_pending(c), 4);
        if (how == END_DISCONNECT) {
            arc_disconnect(c);
            assert_int_equal(arc_context_state(c), ARC_STATE_CLOSED); /* at once */
        } else {
            arc_free(c);
            c = NULL;
        }
        int end_status = how == END_DISCONNECT ? ARC_ERR_NOT_SENT : ARC_ERR_FREED;
        for (int i = 0; i < 3; i++)
            itest_assert_null_once(&q[i], end_status, what);
        itest_assert_null_once(&timed, end_status, what);
    }
    itest_run_for(t, 300); /* past the timed command's deadline: no second call */
    if (c != NULL) {
        assert_int_equal(arc_context_state(c), ARC_STATE_CLOSED);
        itest_rec late = {0};
        assert_int_equal(arc_command(c, itest_rec_cb, &late, "PING"), ARC_ERR_CLOSED);
        arc_free(c);
        assert_int_equal(late.calls, 0);
    }
    /* Every callback once: the subscription's final NULL, the written
     * command's, one on_disconnect for the one ready link, data_free. */
    bool by_free = how != END_DISCONNECT && how != END_DISCONNECT_IN_DISCONNECT;
    itest_rec s = sub;
    int confirmations = itest_count_kind(&sub, "subscribe");
    itest_rec_clear(&sub); /* the one recorder holding a reply: a failure below leaks nothing */
    if (s.nulls != 1 || confirmations != 1 || s.calls != 2 ||
        s.status != (by_free ? ARC_ERR_FREED : ARC_OK))
        fail_msg("%s: the subscription: %d calls, %d NULL, last %s", what, s.calls, s.nulls,
                 arc_status_name(s.status));
    if (blpop.calls != 1 || blpop.nulls != 1 ||
        (blpop.status != ARC_ERR_UNANSWERED && blpop.status != ARC_ERR_FREED))
        fail_msg("%s: the written command: %d calls, last %s", what, blpop.calls,
                 arc_status_name(blpop.status));
    for (int i = 0; i < 3; i++)
        assert_true(q[i].calls <= 1);
    assert_true(timed.calls <= 1);
    assert_int_equal(w.connects, 1);
    if (w.disconnects != 1)
        fail_msg("%s: on_disconnect called %d times for one ready link", what, w.disconnects);
    if (w.disconnect_status[0] != ARC_ERR_EOF && w.disconnect_status[0] != ARC_ERR_FREED)
        fail_msg("%s: on_disconnect with %s", what, arc_status_name(w.disconnect_status[0]));
    assert_int_equal(w.data_frees, 1);
    assert_int_equal(count_state(&w, ARC_STATE_CONNECTING), 0); /* no attempt was made */
}

static void disconnect_and_free_while_waiting(void **state)
{
    itest *t = *state;
    for (int how = END_DISCONNECT; how <= END_FREE_IN_STATE; how++)
        waiting_end_run(t, (enum waiting_end)how);
}

/* ---- 7: SIGSTOP past the command timeout ---- */

/* The server stops for 800 ms under load: no reply for command_timeout_ms
 * (300) means the link is lost (ARC_ERR_TIMEOUT); attempts meanwhile reach
 * the kernel's backlog but no answer. After SIGCONT a link is ready again.
 * Commands written to a stalled link may still run once the server wakes,
 * so the counter lies between the INCR replies and those plus the
 * UNANSWERED ones; replies only ever increase. */
static void sigstop_run(itest *t, int resp)
{
    const char *what = resp == 2 ? "SIGSTOP, RESP2" : "SIGSTOP, RESP3";
    static rwatch w;
    w = (rwatch){0};
    arc_reconnect rc = {.initial_delay_ms = 20, .max_delay_ms = 200};
    arc_options o = rc_options(t, &w, &rc, resp);
    o.command_timeout_ms = 300;
    arc_context *c = rc_ready(t, &w, &o);
    int first = w.nchanges;
    itest_load *l = load_new(c, &w, 32);
    l->rising = true; /* one server throughout, stopped but not restarted */
    ITEST_RUN_UNTIL(t, 5000, l->ok >= 500);
    int pid = test_redis_pid(t->redis);
    assert_true(pid > 0);
    assert_int_equal(kill((pid_t)pid, SIGSTOP), 0);
    int64_t stopped_at = arc_now_ms();
    itest_run_for(t, 800);
    kill((pid_t)pid, SIGCONT);
    int waits_while_stopped = count_state(&w, ARC_STATE_WAITING);
    long ok_at_cont = l->ok;
    ITEST_RUN_UNTIL(t, 10000, l->ok >= ok_at_cont + 500);
    l->stop = true;
    ITEST_RUN_UNTIL(t, 5000, l->callbacks == l->issued);
    itest_run_for(t, 20);

    if (waits_while_stopped == 0)
        fail_msg("%s: no WAITING while the server was stopped", what);
    int lost = first;
    while (lost < w.nchanges && w.trail[lost].now != ARC_STATE_WAITING)
        lost++;
    assert_int_equal(w.trail[lost].failure, ARC_ERR_TIMEOUT);
    int64_t found = w.trail[lost].since_ms - stopped_at;
    if (found < 250 || found > 300 + SLACK_MS)
        fail_msg("%s: the stalled link was given up after %lld ms (timeout 300)", what,
                 (long long)found);
    assert_waits(&w, &rc, what);
    assert_int_equal(w.trail[w.nchanges - 1].now, ARC_STATE_READY);
    int readies = count_state(&w, ARC_STATE_READY);
    assert_int_equal(w.connects, readies);
    assert_int_equal(w.connect_ok, readies);
    assert_int_equal(w.disconnects, readies - 1);
    for (int i = 0; i < w.disconnects && i < STATUS_MAX; i++) {
        assert_int_equal(w.disconnect_status[i], ARC_ERR_TIMEOUT);
        assert_int_equal(w.disconnect_state[i], ARC_STATE_WAITING);
    }

    itest_tally y = itest_load_tally(l, what); /* with `rising`: replies only went up */
    assert_true(y.unanswered >= 1); /* replies were due: that is the timeout */
    assert_true(y.not_sent <= w.disconnects);
    itest_load_assert_counter(t, l, &y, what);
    arc_free(c);
    assert_int_equal(w.disconnects, readies);
    if (readies <= STATUS_MAX)
        assert_int_equal(w.disconnect_status[readies - 1], ARC_ERR_FREED);
    assert_int_equal(w.data_frees, 1);
    free(l);
    arc_reply *r = itest_admin(t, "DEL rc-counter", NULL);
    arc_reply_free(r);
}

static void sigstop_past_timeout(void **state)
{
    itest *t = *state;
    sigstop_run(t, 2);
    sigstop_run(t, 3);
}

const struct CMUnitTest itest_reconnect_scenarios[] = {
    cmocka_unit_test(restart_under_load),   cmocka_unit_test(subscriptions_survive),
    cmocka_unit_test(queued_while_down),    cmocka_unit_test(max_attempts_then_fail),
    cmocka_unit_test(not_retried),          cmocka_unit_test(disconnect_and_free_while_waiting),
    cmocka_unit_test(sigstop_past_timeout),
};
const size_t itest_reconnect_scenario_count =
    sizeof itest_reconnect_scenarios / sizeof itest_reconnect_scenarios[0];
