/* scenarios_group.c (tests): groups (<arc/group.h>) on every loop, their
 * table: many members of every kind (live by TCP and by unix socket,
 * refused, silent, a name that does not resolve, one whose first address
 * refuses) with the changed-iterator, the counts and the addresses tried;
 * the connect-in-flight limit; members HELD for want of descriptors; the
 * names; TLS members. scenarios_fanout.c has the fan-outs' corners.
 *
 * The many-members scenario uses fifty servers of the scenarios' own
 * (itest_group.h); the others use the shared server through
 * itest_options(), which makes their members TLS ones in the TLS group.
 * Recorders live in static storage, as in the other lists: a scenario that
 * fails half-way leaves its group to the loop's teardown, whose callbacks
 * must find them. */
#define _GNU_SOURCE
#include "itest_group.h"

#include "fake_resolver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#ifdef ARC_ITEST_TLS
#include <arc/tls.h>
#endif

/* ---- many members of every kind ---- */

enum kind { LIVE_TCP, LIVE_UNIX, REFUSED, SILENT, NOADDR, TWO_ADDRESSES };

/* Fifty live servers, every fifth by its unix socket, and among them a
 * refused port, a silent listener with a full queue, a name that does not
 * resolve and a name whose first address refuses: INFO to all, with a
 * command timeout and a 400 ms connect timeout. Each member ends as it
 * should, with its failure and message and the addresses it tried; each
 * callback runs once, on_done last; the kept replies say which server
 * answered; the changed-iterator reports each change once. */
static void group_fanout_to_many(void **state)
{
    itest *t = *state;
    grp_servers_up();
    static grp_silent s;
    grp_silent_full(&s);
    int refused = grp_refused_port();
    char refused_at[32], silent_at[32], two_first[32], two_second[32];
    snprintf(refused_at, sizeof refused_at, "127.0.0.1:%d", refused);
    snprintf(silent_at, sizeof silent_at, "127.0.0.1:%d", s.port);
    snprintf(two_first, sizeof two_first, "127.0.0.1:%d", refused);
    snprintf(two_second, sizeof two_second, "127.0.0.1:%d", test_redis_port(grp_server(0)));
    const char *const two_hosts[] = {two_first, two_second, NULL};

    enum { N = GRP_NSERVERS + 4 };
    enum kind kind[N];
    int server[N];
    for (int i = 0, next = 0; i < N; i++) {
        static const enum kind odd[] = {REFUSED, SILENT, NOADDR, TWO_ADDRESSES};
        bool is_odd = i % 12 == 7; /* 7, 19, 31, 43 */
        kind[i] = is_odd ? odd[i / 12] : next % 5 == 4 ? LIVE_UNIX : LIVE_TCP;
        server[i] = kind[i] == TWO_ADDRESSES ? 0 : is_odd ? -1 : next++;
    }

    arc_options mo;
    memset(&mo, 0, sizeof mo); /* plain TCP: these servers have no TLS port */
    mo.connect_timeout_ms = 400;
    static grp_watch w;
    memset(&w, 0, sizeof w);
    arc_group_options go = {.member_options = &mo, .on_change = grp_on_change, .data = &w};
    arc_group *g = arc_group_new(&go);
    assert_non_null(g);
    arc_member *m[N];
    char want_name[N][128];
    for (int i = 0; i < N; i++) {
        const test_redis *srv = server[i] >= 0 ? grp_server(server[i]) : NULL;
        switch (kind[i]) {
        case LIVE_TCP:
            m[i] = arc_group_add(g, "127.0.0.1", test_redis_port(srv), grp_id(i));
            snprintf(want_name[i], sizeof want_name[i], "127.0.0.1:%d", test_redis_port(srv));
            break;
        case LIVE_UNIX:
            m[i] = arc_group_add_unix(g, test_redis_unix_path(srv), grp_id(i));
            snprintf(want_name[i], sizeof want_name[i], "%s", test_redis_unix_path(srv));
            break;
        case REFUSED:
            m[i] = arc_group_add(g, "127.0.0.1", refused, grp_id(i));
            snprintf(want_name[i], sizeof want_name[i], "%s", refused_at);
            break;
        case SILENT:
            m[i] = arc_group_add(g, "127.0.0.1", s.port, grp_id(i));
            snprintf(want_name[i], sizeof want_name[i], "%s", silent_at);
            break;
        case NOADDR: {
            /* The real resolver says no (".invalid" is never a name): with
             * a connect timeout of its own, so that a slow DNS server makes
             * the scenario slower, never a TIMEOUT instead of NOADDR. */
            arc_options no = mo;
            no.host = "no-such-host.invalid";
            no.connect_timeout_ms = 10000;
            no.data = grp_id(i);
            m[i] = arc_group_add_options(g, &no);
            snprintf(want_name[i], sizeof want_name[i], "no-such-host.invalid:6379");
            break;
        }
        case TWO_ADDRESSES:
            /* The member's context keeps the fake; the others never see it. */
            fake_resolver_on(two_hosts, 0);
            m[i] = arc_group_add(g, "two-addresses.test", 6379, grp_id(i));
            fake_resolver_off();
            snprintf(want_name[i], sizeof want_name[i], "two-addresses.test:6379");
            break;
        }
        assert_non_null(m[i]);
        assert_int_equal(arc_member_state(m[i]), ARC_STATE_INIT);
        assert_string_equal(arc_member_name(m[i]), want_name[i]);
        assert_int_equal(arc_member_attempts(m[i]), 0);
    }
    /* Nothing runs before the group is attached. */
    assert_int_equal(w.calls, 0);
    assert_int_equal(arc_group_size(g), N);
    assert_int_equal(arc_group_count(g, ARC_STATE_INIT), N);
    assert_null(arc_group_next_changed(g, NULL));
    arc_member *walk = arc_group_next(g, NULL);
    for (int i = 0; i < N; i++, walk = arc_group_next(g, walk))
        assert_ptr_equal(walk, m[i]);
    assert_null(walk);

    int64_t attached = arc_now_ms();
    grp_attach(t, g);
    void *loop = grp_loop(t);
    assert_int_equal(arc_group_attach(g, t->drv->attach_fn, loop), ARC_ERR_STATE);
    /* All started (fewer than the default limit), in the order added; the
     * first look sees each of them once, as from INIT. */
    assert_int_equal(arc_group_count(g, ARC_STATE_CONNECTING), N);
    assert_int_equal(w.nstarted, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(w.order[i], i);
        arc_state prev = ARC_STATE_FAILED;
        assert_ptr_equal(arc_group_next_changed(g, &prev), m[i]);
        assert_int_equal(prev, ARC_STATE_INIT);
        assert_int_equal(arc_member_previous(m[i]), ARC_STATE_CONNECTING);
    }
    assert_null(arc_group_next_changed(g, NULL));

    static grp_fan rec;
    arc_fanout_options fo = grp_fan_to(&rec, true);
    fo.timeout_ms = 3000;
    int64_t start = itest_now_ms();
    assert_int_equal(arc_group_fanout(g, &fo, "INFO %s", "server"), ARC_OK);
    assert_non_null(rec.f);
    assert_int_equal(rec.calls, 0);
    assert_int_equal(arc_fanout_size(rec.f), N);
    assert_int_equal(arc_fanout_pending(rec.f), N);
    assert_int_equal(arc_fanout_status(rec.f, 0), ARC_ERR_STATE);
    assert_null(arc_fanout_reply(rec.f, 0));
    assert_int_equal(arc_fanout_free(rec.f), ARC_ERR_STATE); /* not complete yet */
    ITEST_RUN_UNTIL(t, 15000, rec.done > 0);
    itest_run_for(t, 20);

    grp_assert_done_once(&rec, N, "INFO to all");
    assert_int_equal(arc_fanout_answered(rec.f), GRP_NSERVERS + 1);
    assert_int_equal(arc_fanout_failed(rec.f), 3);
    assert_int_equal(arc_fanout_pending(rec.f), 0);
    grp_assert_watch_sane(&w);
    for (int i = 0; i < N; i++) {
        arc_member *x = m[i];
        const char *name = want_name[i];
        assert_ptr_equal(arc_fanout_member(rec.f, (size_t)i), x);
        assert_int_equal(w.first_prev[i], ARC_STATE_INIT);
        assert_int_equal(w.first_now[i], ARC_STATE_CONNECTING);
        assert_int_equal(w.now[i], arc_member_state(x));
        /* Each changed state since the attach: the last change's time. */
        assert_true(arc_member_since_ms(x) >= attached);
        assert_true(arc_member_since_ms(x) <= arc_now_ms());
        switch (kind[i]) {
        case LIVE_TCP:
        case LIVE_UNIX:
        case TWO_ADDRESSES: {
            int port = test_redis_port(grp_server(server[i]));
            grp_assert_status(&rec, i, ARC_OK);
            assert_int_equal(arc_fanout_status(rec.f, (size_t)i), ARC_OK);
            if (rec.port[i] != port || grp_info_port(arc_fanout_reply(rec.f, (size_t)i)) != port)
                fail_msg("%s: INFO answered by the server at port %d (kept: %d), not %d", name,
                         rec.port[i], grp_info_port(arc_fanout_reply(rec.f, (size_t)i)), port);
            assert_int_equal(arc_member_state(x), ARC_STATE_READY);
            assert_int_equal(arc_member_failure(x), ARC_OK);
            assert_string_equal(arc_member_error(x), "");
            if (kind[i] == TWO_ADDRESSES) {
                assert_int_equal(arc_member_attempts(x), 2);
                grp_assert_attempt(x, 0, two_first, ARC_ERR_REFUSED);
                grp_assert_attempt(x, 1, two_second, ARC_OK);
            } else {
                assert_int_equal(arc_member_attempts(x), 1);
                grp_assert_attempt(x, 0, name, ARC_OK);
                assert_int_equal(arc_member_attempt(x, 0)->family,
                                 kind[i] == LIVE_UNIX ? AF_UNIX : AF_INET);
            }
            assert_null(arc_member_attempt(x, arc_member_attempts(x)));
            break;
        }
        case REFUSED:
            grp_assert_status(&rec, i, ARC_ERR_NOT_SENT);
            assert_int_equal(arc_member_state(x), ARC_STATE_FAILED);
            assert_int_equal(arc_member_failure(x), ARC_ERR_REFUSED);
            grp_assert_contains(arc_member_error(x), refused_at, name);
            grp_assert_contains(arc_member_error(x), strerror(ECONNREFUSED), name);
            assert_int_equal(arc_member_attempts(x), 1);
            grp_assert_attempt(x, 0, refused_at, ARC_ERR_REFUSED);
            assert_int_equal(arc_member_attempt(x, 0)->sys_errno, ECONNREFUSED);
            break;
        case SILENT:
            grp_assert_status(&rec, i, ARC_ERR_NOT_SENT);
            if (rec.at_ms[i] - start < 390 || rec.at_ms[i] - start > 3000)
                fail_msg("the silent member failed after %lld ms, not about 400",
                         (long long)(rec.at_ms[i] - start));
            assert_int_equal(arc_member_state(x), ARC_STATE_FAILED);
            assert_int_equal(arc_member_failure(x), ARC_ERR_TIMEOUT);
            grp_assert_contains(arc_member_error(x), "timed out after 400 ms", name);
            assert_int_equal(arc_member_attempts(x), 1);
            grp_assert_attempt(x, 0, silent_at, ARC_ERR_TIMEOUT);
            break;
        case NOADDR:
            grp_assert_status(&rec, i, ARC_ERR_NOT_SENT);
            assert_int_equal(arc_member_state(x), ARC_STATE_FAILED);
            assert_int_equal(arc_member_failure(x), ARC_ERR_NOADDR);
            grp_assert_contains(arc_member_error(x), "no-such-host.invalid", name);
            assert_int_equal(arc_member_attempts(x), 0);
            break;
        }
    }
    assert_int_equal(arc_group_count(g, ARC_STATE_READY), GRP_NSERVERS + 1);
    assert_int_equal(arc_group_count(g, ARC_STATE_FAILED), 3);
    assert_int_equal(grp_counts_sum(g), arc_group_size(g));

    /* The second look: each member once, as from CONNECTING (the state at
     * the first look) to what it is now; then nothing. */
    int seen[N] = {0};
    arc_state prev;
    for (arc_member *c; (c = arc_group_next_changed(g, &prev)) != NULL;) {
        int i = grp_index(c);
        assert_true(i >= 0 && i < N);
        seen[i]++;
        assert_int_equal(prev, ARC_STATE_CONNECTING);
        assert_int_equal(arc_member_previous(c), arc_member_state(c));
    }
    for (int i = 0; i < N; i++)
        if (seen[i] != 1)
            fail_msg("%s: reported %d times by the second look", want_name[i], seen[i]);
    assert_null(arc_group_next_changed(g, NULL));

    assert_int_equal(arc_fanout_free(rec.f), ARC_OK);
    int changes = w.calls;
    arc_group_free(g);
    itest_run_for(t, 20);
    assert_int_equal(rec.calls, N);
    assert_int_equal(w.calls, changes); /* members removed are no longer told */
    grp_silent_close(&s);
}

/* ---- the connect-in-flight limit ---- */

/* 20 members, at most 4 making their connection at any time (by the
 * group's counts and by the states on_change told), each started in the
 * order added, and every one answers the fan-out issued before attaching. */
static void group_max_connecting(void **state)
{
    itest *t = *state;
    enum { N = 20, LIMIT = 4 };
    arc_options mo = itest_options(t);
    static grp_watch w;
    memset(&w, 0, sizeof w);
    arc_group_options go = {
        .max_connecting = LIMIT, .member_options = &mo, .on_change = grp_on_change, .data = &w};
    arc_group *g = arc_group_new(&go);
    assert_non_null(g);
    for (int i = 0; i < N; i++)
        assert_non_null(arc_group_add(g, mo.host, mo.port, grp_id(i)));
    static grp_fan rec;
    arc_fanout_options fo = grp_fan_to(&rec, false);
    assert_int_equal(arc_group_fanout(g, &fo, "PING"), ARC_OK);
    assert_int_equal(rec.calls, 0);

    grp_attach(t, g);
    assert_int_equal(arc_group_count(g, ARC_STATE_CONNECTING), LIMIT);
    assert_int_equal(arc_group_count(g, ARC_STATE_INIT), N - LIMIT);
    ITEST_RUN_UNTIL(t, 10000, rec.done > 0);
    grp_assert_done_once(&rec, N, "PING to 20, 4 at a time");
    grp_assert_watch_sane(&w);
    if (w.most_connecting != LIMIT || w.most_connecting_told != LIMIT)
        fail_msg("at most %zu members connecting by the counts, %zu by on_change; the limit "
                 "is %d",
                 w.most_connecting, w.most_connecting_told, LIMIT);
    assert_int_equal(w.nstarted, N);
    for (int i = 0; i < N; i++) {
        if (w.order[i] != i)
            fail_msg("the %dth member to start was member %d", i + 1, w.order[i]);
        grp_assert_status(&rec, i, ARC_OK);
        assert_true(rec.pong[i]);
    }
    assert_int_equal(arc_group_count(g, ARC_STATE_READY), N);
    arc_group_free(g);
}

/* ---- HELD: no descriptor free ---- */

/* Lowers RLIMIT_NOFILE so that exactly `nfree` descriptors are free below
 * it (holes among the open ones count), keeping the old limit in *old.
 * Valgrind emulates the limit for the process it runs, which is enough. */
static bool limit_free_descriptors(int nfree, struct rlimit *old)
{
    if (getrlimit(RLIMIT_NOFILE, old) != 0)
        return false;
    int fd = 0, free_ones = 0;
    for (; (rlim_t)fd < old->rlim_cur && free_ones < nfree; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
            free_ones++;
    struct rlimit low = *old;
    low.rlim_cur = (rlim_t)fd;
    return free_ones == nfree && setrlimit(RLIMIT_NOFILE, &low) == 0;
}

/* Runs body(arg) with only `nfree` descriptors free and puts the limit
 * back whatever it did. The body must not fail the test itself (cmocka's
 * failure jumps past the restore): it returns what went wrong, NULL for
 * nothing, and this fails once the limit is back. */
static void with_free_descriptors(int nfree, const char *(*body)(void *arg), void *arg)
{
    struct rlimit old;
    if (!limit_free_descriptors(nfree, &old))
        fail_msg("cannot lower RLIMIT_NOFILE: %s", strerror(errno));
    const char *why = body(arg);
    int rc = setrlimit(RLIMIT_NOFILE, &old);
    assert_int_equal(rc, 0);
    if (why != NULL)
        fail_msg("with %d descriptors free: %s", nfree, why);
}

typedef struct held_run {
    itest *t;
    arc_group *g;
    const grp_fan *rec;
} held_run;

static size_t ended(const arc_group *g)
{
    return arc_group_count(g, ARC_STATE_CLOSED) + arc_group_count(g, ARC_STATE_FAILED);
}

static const char *held_body(void *arg)
{
    held_run *h = arg;
    itest *t = h->t;
    void *loop = grp_loop(t);
    if (arc_group_attach(h->g, t->drv->attach_fn, loop) != ARC_OK)
        return "arc_group_attach failed";
    /* Until the fan-out is done and every member left has ended (the
     * checks after say whether it was as it should). */
    int64_t end = itest_now_ms() + 20000;
    while ((h->rec->done == 0 || ended(h->g) < arc_group_size(h->g)) && itest_now_ms() < end)
        t->drv->run_once(t->loop, 10);
    if (h->rec->done == 0)
        return "the fan-out was not done after 20 s";
    if (ended(h->g) < arc_group_size(h->g))
        return "the members closed had not all ended after 20 s";
    return NULL;
}

/* After its reply each member lets its descriptor go: closed (even ones)
 * or removed (odd ones) from inside its fan-out callback. */
static void close_or_remove(arc_group *g, arc_member *m, arc_reply *r, int status)
{
    (void)r;
    (void)status;
    if (grp_index(m) % 2 == 0)
        arc_member_close(m);
    else
        arc_group_remove(g, m);
}

/* 30 members and 8 descriptors: most wait HELD, retrying on their timer,
 * and each gets its turn as the ones served let theirs go; every member
 * answers, none fails for want of a descriptor (ARC_ERR_NOFD). By address
 * (a name would need a lookup's pipe), TLS in the TLS group. */
static void group_held_until_descriptors_free(void **state)
{
    itest *t = *state;
    enum { N = 30 };
    arc_options mo = itest_options(t);
    mo.host = "127.0.0.1";
    mo.transport = itest_transport_as_localhost(t);
    static grp_watch w;
    memset(&w, 0, sizeof w);
    arc_group_options go = {.member_options = &mo, .on_change = grp_on_change, .data = &w};
    arc_group *g = arc_group_new(&go);
    assert_non_null(g);
    for (int i = 0; i < N; i++)
        assert_non_null(arc_group_add(g, mo.host, mo.port, grp_id(i)));
    static grp_fan rec;
    arc_fanout_options fo = grp_fan_to(&rec, false);
    rec.then = close_or_remove;
    assert_int_equal(arc_group_fanout(g, &fo, "PING"), ARC_OK);

    held_run h = {t, g, &rec};
    with_free_descriptors(8, held_body, &h);
    grp_assert_done_once(&rec, N, "PING with 8 descriptors");
    grp_assert_watch_sane(&w);
    if (w.held == 0)
        fail_msg("no member was HELD: 30 members had 8 descriptors");
    assert_int_equal(w.nofd, 0);
    for (int i = 0; i < N; i++) {
        grp_assert_status(&rec, i, ARC_OK);
        assert_true(rec.pong[i]);
    }
    assert_int_equal(arc_group_size(g), N / 2);
    for (arc_member *x = arc_group_next(g, NULL); x != NULL; x = arc_group_next(g, x)) {
        assert_int_equal(grp_index(x) % 2, 0);
        assert_int_equal(arc_member_state(x), ARC_STATE_CLOSED);
        assert_int_equal(arc_member_failure(x), ARC_OK);
    }
    arc_group_free(g);
}

/* ---- names ---- */

/* arc_member_name() is the address as given: host:port (6379 for port 0),
 * [v6]:port, the unix path, a host name as long as DNS allows (253), and
 * for full options their host or path. Nothing connects: the group is
 * never attached. */
static void group_member_names(void **state)
{
    (void)state;
    arc_group *g = arc_group_new(NULL);
    assert_non_null(g);
    char host[254];
    for (size_t i = 0; i < sizeof host - 1; i++)
        host[i] = i % 64 == 63 ? '.' : (char)('a' + i % 26);
    host[sizeof host - 1] = '\0';
    char want[300];
    snprintf(want, sizeof want, "%s:6380", host);
    arc_member *m = arc_group_add(g, host, 6380, NULL);
    assert_non_null(m);
    assert_string_equal(arc_member_name(m), want);
    assert_string_equal(arc_member_name(arc_group_add(g, "10.0.0.1", 0, NULL)), "10.0.0.1:6379");
    assert_string_equal(arc_member_name(arc_group_add(g, "::1", 7000, NULL)), "[::1]:7000");
    char path[108];
    memset(path, 'p', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    assert_string_equal(arc_member_name(arc_group_add_unix(g, path, NULL)), path);
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = host;
    o.port = 7001;
    snprintf(want, sizeof want, "%s:7001", host);
    assert_string_equal(arc_member_name(arc_group_add_options(g, &o)), want);
    o.unix_path = "/tmp/x.sock";
    assert_string_equal(arc_member_name(arc_group_add_options(g, &o)), "/tmp/x.sock");
    assert_int_equal(arc_group_size(g), 6);
    assert_int_equal(arc_group_count(g, ARC_STATE_INIT), 6);
    arc_group_free(g);
}

/* ---- TLS members ---- */

/* Members made from itest_options(): in the TLS group each one's link is
 * TLS (arc_tls_version_of) and a member with options of its own sent to
 * the server's plain port times out securing its link; in the plain group
 * they are plain TCP. Every member's INFO names the shared server. */
static void group_tls_members(void **state)
{
    itest *t = *state;
    enum { N = 6 };
    arc_options mo = itest_options(t);
    mo.connect_timeout_ms = 2000;
    static grp_watch w;
    memset(&w, 0, sizeof w);
    arc_group_options go = {.member_options = &mo, .on_change = grp_on_change, .data = &w};
    arc_group *g = arc_group_new(&go);
    assert_non_null(g);
    for (int i = 0; i < N; i++)
        assert_non_null(arc_group_add(g, mo.host, mo.port, grp_id(i)));
    /* TLS to a port that speaks plain RESP, which waits for a newline that
     * the TLS hello never sends: the member's own 300 ms end it. */
    arc_member *bad = NULL;
    arc_options bo = mo;
    bo.port = test_redis_port(t->redis);
    bo.connect_timeout_ms = 300;
    bo.data = grp_id(N);
    if (itest_tls(t))
        assert_non_null(bad = arc_group_add_options(g, &bo));
    static grp_fan rec;
    arc_fanout_options fo = grp_fan_to(&rec, false);
    assert_int_equal(arc_group_fanout(g, &fo, "INFO server"), ARC_OK);
    grp_attach(t, g);
    ITEST_RUN_UNTIL(t, 5000, rec.done > 0);
    int n = N + (bad != NULL);
    grp_assert_done_once(&rec, n, "INFO to the TLS members");
    grp_assert_watch_sane(&w);
    for (arc_member *x = arc_group_next(g, NULL); x != NULL; x = arc_group_next(g, x)) {
        int i = grp_index(x);
        if (x == bad) {
            grp_assert_status(&rec, i, ARC_ERR_NOT_SENT);
            assert_int_equal(arc_member_state(x), ARC_STATE_FAILED);
            if (arc_member_failure(x) != ARC_ERR_TIMEOUT)
                fail_msg("TLS to a plain port failed with %s: %s",
                         arc_status_name(arc_member_failure(x)), arc_member_error(x));
            grp_assert_contains(arc_member_error(x), "(securing)", "the plain port over TLS");
            continue;
        }
        grp_assert_status(&rec, i, ARC_OK);
        assert_int_equal(rec.port[i], test_redis_port(t->redis));
        assert_int_equal(arc_member_state(x), ARC_STATE_READY);
#ifdef ARC_ITEST_TLS
        const char *version = arc_tls_version_of(arc_member_context(x));
        if (itest_tls(t) ? version == NULL : version != NULL)
            fail_msg("member %d: TLS version %s in the %s group", i, version ? version : "none",
                     itest_tls(t) ? "TLS" : "plain");
#endif
    }
    arc_group_free(g);
}

/* Members made by a host name are HELD, as those made by an address are,
 * when no descriptor is free: the lookup's pipe (core/resolve.c) comes
 * before any socket, and its EMFILE holds the link too (it used to fail
 * it with ARC_ERR_NOFD, "cannot start resolving"). */
static const char *done_body(void *arg)
{
    held_run *h = arg;
    itest *t = h->t;
    void *loop = grp_loop(t);
    if (arc_group_attach(h->g, t->drv->attach_fn, loop) != ARC_OK)
        return "arc_group_attach failed";
    int64_t end = itest_now_ms() + 20000;
    while (h->rec->done == 0 && itest_now_ms() < end)
        t->drv->run_once(t->loop, 10);
    return h->rec->done ? NULL : "the fan-out was not done after 20 s";
}

static void group_held_by_name(void **state)
{
    itest *t = *state;
    enum { N = 30 };
    static const char *const hosts[] = {"127.0.0.1", NULL};
    arc_options mo = itest_options(t);
    mo.transport = itest_transport_as_localhost(t);
    static grp_watch w;
    memset(&w, 0, sizeof w);
    arc_group_options go = {.member_options = &mo, .on_change = grp_on_change, .data = &w};
    arc_group *g = arc_group_new(&go);
    assert_non_null(g);
    fake_resolver_on(hosts, mo.port);
    for (int i = 0; i < N; i++)
        assert_non_null(arc_group_add(g, "held-by-name.test", mo.port, grp_id(i)));
    fake_resolver_off();
    static grp_fan rec;
    arc_fanout_options fo = grp_fan_to(&rec, false);
    rec.then = close_or_remove;
    assert_int_equal(arc_group_fanout(g, &fo, "PING"), ARC_OK);
    held_run h = {t, g, &rec};
    with_free_descriptors(8, done_body, &h);
    const char *said = "";
    for (arc_member *x = arc_group_next(g, NULL); x != NULL; x = arc_group_next(g, x))
        if (arc_member_failure(x) == ARC_ERR_NOFD)
            said = arc_member_error(x);
    if (w.nofd != 0)
        fail_msg("%d of %d members failed with ARC_ERR_NOFD, %d were HELD; one said: %s",
                 w.nofd, N, w.held, said);
    for (int i = 0; i < N; i++)
        grp_assert_status(&rec, i, ARC_OK);
    arc_group_free(g);
}

/* A member added to a group already attached starts from the loop: no
 * callback runs inside arc_group_add, so on_change never meets a member
 * its caller does not hold yet. */
static void group_add_starts_from_the_loop(void **state)
{
    itest *t = *state;
    arc_options mo = itest_options(t);
    static grp_watch w;
    memset(&w, 0, sizeof w);
    arc_group_options go = {.member_options = &mo, .on_change = grp_on_change, .data = &w};
    arc_group *g = arc_group_new(&go);
    assert_non_null(g);
    grp_attach(t, g);
    arc_member *m = arc_group_add(g, mo.host, mo.port, grp_id(0));
    assert_non_null(m);
    assert_int_equal(w.calls, 0);
    assert_int_equal(arc_member_state(m), ARC_STATE_INIT);
    ITEST_RUN_UNTIL(t, 5000, arc_member_state(m) == ARC_STATE_READY);
    assert_int_equal(w.nstarted, 1);
    assert_int_equal(w.first_prev[0], ARC_STATE_INIT);
    assert_int_equal(w.first_now[0], ARC_STATE_CONNECTING);
    arc_group_free(g);
}

const struct CMUnitTest itest_group_scenarios[] = {
    cmocka_unit_test(group_held_by_name),
    cmocka_unit_test(group_add_starts_from_the_loop),
    cmocka_unit_test(group_fanout_to_many),
    cmocka_unit_test(group_max_connecting),
    cmocka_unit_test(group_held_until_descriptors_free),
    cmocka_unit_test(group_member_names),
    cmocka_unit_test(group_tls_members),
};
const size_t itest_group_scenario_count =
    sizeof itest_group_scenarios / sizeof itest_group_scenarios[0];
