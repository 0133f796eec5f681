/* test_recovery.c: a reconnecting context over a scripted transport (each
 * link a fresh script) on an injected clock: what a new link replays, and
 * in which order; what the commands of a lost link get. */
#define _GNU_SOURCE
#include "session_script.h"

#include <arc/events.h>

#include <string.h>

static const arc_reconnect quick = {.initial_delay_ms = 10, .max_delay_ms = 10};

#define SUB_A "*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n"
#define SUB_B "*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\nb\r\n"
#define PING "*1\r\n$4\r\nPING\r\n"
#define CONFIRM_A "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
#define CONFIRM_B "*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"
#define PONG2 "*2\r\n$4\r\npong\r\n$0\r\n\r\n"

/* A link under a reconnect policy starts with the ready check, a PING:
 * it is taken off what was sent, and answered. */
static void pass_ready_check(void)
{
    size_t n = strlen(PING);
    assert_true(S.sc.out_len >= n);
    assert_memory_equal(S.sc.out, PING, n);
    memmove(S.sc.out, S.sc.out + n, S.sc.out_len - n);
    S.sc.out_len -= n;
    assert_int_equal(arc_context_state(S.c), ARC_STATE_HANDSHAKE);
    deliver("+PONG\r\n");
    flush();
}

/* A reconnecting session (policy `quick` unless o has one), READY on its
 * first link. */
static void open_reconnecting(arc_options o)
{
    if (o.reconnect == NULL)
        o.reconnect = &quick;
    open_session(&o);
    allow_reconnect();
    start();
    flush();
    flush();
    pass_ready_check();
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
}

/* The link ends (the server closed it): the session waits out its backoff. */
static void lose_link(void)
{
    S.sc.at_end = ARC_IO_EOF;
    arc_handle_read(S.c);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_WAITING);
}

/* The backoff passes and the next link comes up (no handshake but the
 * ready check). */
static void next_link(void)
{
    int64_t at = arc_context_next_attempt_ms(S.c);
    assert_true(at >= 0);
    now_ms = at;
    arc_handle_timeout(S.c);
    flush(); /* the first writability confirms the socket */
    flush(); /* then what is due goes out */
    pass_ready_check();
}

typedef struct subscriber {
    int confirms, messages, ends, end_status;
} subscriber;

static void on_sub(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)c;
    subscriber *s = privdata;
    if (r == NULL) {
        s->ends++;
        s->end_status = status;
    } else if (r->type == ARC_REPLY_ARRAY && r->elements > 0 &&
               strncmp(r->element[0]->str, "subscribe", r->element[0]->len) == 0) {
        s->confirms++;
    } else {
        s->messages++;
    }
}

/* A subscription made while the link was down goes out with its own
 * command, after the replay of those the server held, and each confirmation
 * reaches the right place: the replay's are nobody's in the queue. */
static void replay_leaves_queued_subscribe_alone(void **state)
{
    (void)state;
    open_reconnecting((arc_options){0});
    subscriber a = {0}, b = {0};
    assert_int_equal(arc_command(S.c, on_sub, &a, "SUBSCRIBE a"), ARC_OK);
    flush();
    deliver(CONFIRM_A);
    assert_int_equal(a.confirms, 1);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_SUBSCRIBED);

    lose_link();
    assert_int_equal(arc_command(S.c, on_sub, &b, "SUBSCRIBE b"), ARC_OK);
    call ping = {0};
    assert_int_equal(arc_command(S.c, record, &ping, "PING"), ARC_OK);
    next_link();
    assert_int_equal(S.links, 2);
    expect_out(SUB_A SUB_B PING);

    deliver(CONFIRM_A);
    assert_int_equal(a.confirms, 2);
    assert_int_equal(arc_context_pending(S.c), 2); /* b's command and PING */
    deliver(CONFIRM_B);
    assert_int_equal(b.confirms, 1);
    assert_int_equal(arc_context_pending(S.c), 1);
    deliver(PONG2);
    assert_int_equal(ping.n, 1);
    assert_int_equal(ping.type, ARC_REPLY_ARRAY);
    assert_int_equal(arc_context_pending(S.c), 0);
    deliver("*3\r\n$7\r\nmessage\r\n$1\r\nb\r\n$2\r\nhi\r\n");
    assert_int_equal(b.messages, 1);
    assert_int_equal(a.ends + b.ends, 0);
    finish();
    assert_int_equal(a.ends, 1);
    assert_int_equal(b.ends, 1);
}

/* A server that will not take the subscriptions back ends the session
 * with its words; the queued command behind the replay is not mistaken for
 * the refused one. */
static void replay_refused_fails(void **state)
{
    (void)state;
    open_reconnecting((arc_options){0});
    subscriber a = {0};
    assert_int_equal(arc_command(S.c, on_sub, &a, "SUBSCRIBE a"), ARC_OK);
    flush();
    deliver(CONFIRM_A);
    lose_link();
    call ping = {0};
    assert_int_equal(arc_command(S.c, record, &ping, "PING"), ARC_OK);
    next_link();
    expect_out(SUB_A PING);
    deliver("-NOPERM this user has no permissions to access the 'a' channel\r\n");
    assert_int_equal(arc_context_state(S.c), ARC_STATE_FAILED);
    assert_int_equal(arc_context_failure(S.c), ARC_ERR_HANDSHAKE);
    assert_non_null(strstr(arc_context_error(S.c), "NOPERM"));
    expect_none(&ping, ARC_ERR_UNANSWERED);
    assert_int_equal(a.ends, 1);
    assert_int_equal(a.end_status, ARC_ERR_HANDSHAKE);
    finish();
}

/* ---- the health check ---- */

/* After health_check_ms of silence a PING goes out that no callback waits
 * for; its answer (any byte) starts the count again. */
static void health_ping_after_silence(void **state)
{
    (void)state;
    open_ready(&(arc_options){.health_check_ms = 1000, .health_timeout_ms = 300});
    assert_int_equal(arc_next_timeout_ms(S.c), 1000);
    now_ms += 999;
    arc_handle_timeout(S.c);
    flush();
    expect_out("");
    now_ms += 1;
    arc_handle_timeout(S.c);
    flush();
    expect_out(PING);
    assert_int_equal(arc_context_pending(S.c), 0); /* nobody's command */
    assert_int_equal(arc_next_timeout_ms(S.c), 300);
    now_ms += 200;
    deliver("+PONG\r\n");
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    assert_int_equal(arc_next_timeout_ms(S.c), 1000);
    /* A reply to a command is as good a sign of life. */
    call get = {0};
    now_ms += 600;
    assert_int_equal(arc_command(S.c, record, &get, "GET a"), ARC_OK);
    flush();
    deliver("$1\r\nx\r\n");
    expect_reply(&get, ARC_REPLY_STRING, "x");
    assert_int_equal(arc_next_timeout_ms(S.c), 1000);
    finish();
}

/* No byte within health_timeout_ms of the PING: the link is dead, and the
 * command waiting on it gets ARC_ERR_UNANSWERED. */
static void health_silence_fails(void **state)
{
    (void)state;
    open_ready(&(arc_options){.health_check_ms = 1000});
    call get = {0};
    assert_int_equal(arc_command(S.c, record, &get, "GET a"), ARC_OK);
    flush();
    now_ms += 1000;
    arc_handle_timeout(S.c);
    flush();
    expect_out(GET_A PING);
    now_ms += 999;
    arc_handle_timeout(S.c);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    now_ms += 1;
    arc_handle_timeout(S.c);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_FAILED);
    assert_int_equal(arc_context_failure(S.c), ARC_ERR_TIMEOUT);
    assert_non_null(strstr(arc_context_error(S.c), "health check"));
    expect_none(&get, ARC_ERR_UNANSWERED);
    finish();
}

/* Under a reconnect policy the dead link is replaced. */
static void health_failure_reconnects(void **state)
{
    (void)state;
    open_reconnecting((arc_options){.health_check_ms = 100, .health_timeout_ms = 100});
    now_ms += 100;
    arc_handle_timeout(S.c);
    now_ms += 100;
    arc_handle_timeout(S.c);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_WAITING);
    assert_int_equal(S.disconnects, 1);
    assert_int_equal(S.disconnect_status, ARC_ERR_TIMEOUT);
    next_link();
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    assert_int_equal(S.connects, 2);
    finish();
}

/* A blocking command's reply comes when it comes, and a monitor's lines
 * too: no PING is sent behind them. */
static void health_waits_for_blocking(void **state)
{
    (void)state;
    open_ready(&(arc_options){.health_check_ms = 100});
    call pop = {0};
    assert_int_equal(arc_command(S.c, record, &pop, "BLPOP q 0"), ARC_OK);
    flush();
    assert_int_equal(arc_next_timeout_ms(S.c), -1); /* BLPOP 0 waits for ever */
    now_ms += 5000;
    arc_handle_timeout(S.c);
    flush();
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    assert_null(strstr(S.sc.out, "PING"));
    deliver("*2\r\n$1\r\nq\r\n$1\r\nv\r\n");
    assert_int_equal(pop.n, 1);
    assert_int_equal(arc_next_timeout_ms(S.c), 100); /* then the check again */
    finish();
}

/* ---- the ready check, -READONLY, the offline bound ---- */

/* A server still loading its data answers the ready check with -LOADING:
 * the link waits and tries again, and the command queued meanwhile never
 * sees -LOADING. */
static void loading_waits(void **state)
{
    (void)state;
    arc_options o = {.reconnect = &quick};
    open_session(&o);
    allow_reconnect();
    call get = {0};
    assert_int_equal(arc_command(S.c, record, &get, "GET a"), ARC_OK);
    start();
    flush();
    flush();
    expect_out(PING);
    deliver("-LOADING Redis is loading the dataset in memory\r\n");
    assert_int_equal(arc_context_state(S.c), ARC_STATE_WAITING);
    assert_int_equal(arc_context_failure(S.c), ARC_ERR_LOADING);
    assert_non_null(strstr(arc_context_error(S.c), "LOADING"));
    assert_int_equal(S.connects, 0);
    assert_int_equal(get.n, 0);
    next_link();
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    assert_int_equal(S.connects, 1);
    expect_out(GET_A);
    deliver("$1\r\nv\r\n");
    expect_reply(&get, ARC_REPLY_STRING, "v");
    finish();
}

static const arc_reconnect readonly_policy = {
    .initial_delay_ms = 10, .max_delay_ms = 10, .readonly_reconnects = true};

/* With readonly_reconnects, -READONLY reaches its command and then the link
 * goes: the server became a replica, and the next link looks again. */
static void readonly_reconnects(void **state)
{
    (void)state;
    open_reconnecting((arc_options){.reconnect = &readonly_policy});
    call set = {0}, get = {0};
    assert_int_equal(arc_command(S.c, record, &set, "SET a 1"), ARC_OK);
    assert_int_equal(arc_command(S.c, record, &get, "GET a"), ARC_OK);
    flush();
    deliver("-READONLY You can't write against a read only replica.\r\n");
    assert_int_equal(set.n, 1);
    assert_int_equal(set.type, ARC_REPLY_ERROR);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_WAITING);
    assert_int_equal(arc_context_failure(S.c), ARC_ERR_READONLY);
    expect_none(&get, ARC_ERR_UNANSWERED);
    next_link();
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    finish();
}

/* Without it, -READONLY is only a command's error. */
static void readonly_is_an_error_by_default(void **state)
{
    (void)state;
    open_reconnecting((arc_options){0});
    call set = {0};
    assert_int_equal(arc_command(S.c, record, &set, "SET a 1"), ARC_OK);
    flush();
    deliver("-READONLY You can't write against a read only replica.\r\n");
    assert_int_equal(set.type, ARC_REPLY_ERROR);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    finish();
}

static const arc_reconnect small_offline = {
    .initial_delay_ms = 10, .max_delay_ms = 10, .max_offline_bytes = 30};

/* While down, commands wait up to max_offline_bytes; then ARC_ERR_OFFLINE. */
static void offline_bytes_bound(void **state)
{
    (void)state;
    open_reconnecting((arc_options){.reconnect = &small_offline});
    lose_link();
    call a = {0}, b = {0};
    assert_int_equal(arc_command(S.c, record, &a, "GET a"), ARC_OK);
    assert_int_equal(arc_command(S.c, record, &b, "GET b"), ARC_OK);
    assert_int_equal(arc_command(S.c, record, NULL, "GET c"), ARC_ERR_OFFLINE);
    next_link();
    expect_out(GET_A GET_B);
    deliver("$1\r\n1\r\n$1\r\n2\r\n");
    expect_reply(&a, ARC_REPLY_STRING, "1");
    expect_reply(&b, ARC_REPLY_STRING, "2");
    call c3 = {0};
    assert_int_equal(arc_command(S.c, record, &c3, "GET c"), ARC_OK);
    finish();
    expect_none(&c3, ARC_ERR_FREED);
}

/* ---- client-side caching ---- */

static int flushes, flush_connects;

static void on_flush(arc_context *c, void *data)
{
    (void)c;
    struct session *s = data;
    flushes++;
    flush_connects = s->connects; /* on_connect comes after */
}

#define HELLO3 "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"
#define TRACKING                                                                           \
    "*9\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\nON\r\n$5\r\nBCAST\r\n$6\r\nPREFIX\r\n" \
    "$5\r\nuser:\r\n$6\r\nPREFIX\r\n$2\r\ns:\r\n$6\r\nNOLOOP\r\n"
#define HELLO3_REPLY "%1\r\n$5\r\nproto\r\n:3\r\n"

/* CLIENT TRACKING is part of every link's handshake, and a link that
 * replaces a lost one tells the cache to go before on_connect. */
static void tracking_in_handshake_and_flush(void **state)
{
    (void)state;
    static const char *const prefixes[] = {"user:", "s:"};
    arc_tracking tr = {.bcast = true, .prefixes = prefixes, .nprefixes = 2, .noloop = true,
                       .flush = on_flush};
    flushes = flush_connects = 0;
    arc_options o = {.resp = 3, .reconnect = &quick, .tracking = &tr};
    open_session(&o);
    allow_reconnect();
    tr.prefixes = NULL; /* copied: the caller's array may go */
    start();
    flush();
    flush();
    const char *want = HELLO3 TRACKING PING;
    expect_out(want);
    deliver(HELLO3_REPLY "+OK\r\n+PONG\r\n");
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    assert_int_equal(flushes, 0); /* a first link has nothing to forget */
    deliver(">2\r\n$10\r\ninvalidate\r\n*1\r\n$6\r\nuser:1\r\n");
    assert_int_equal(S.pushes, 1);

    lose_link();
    now_ms = arc_context_next_attempt_ms(S.c);
    arc_handle_timeout(S.c);
    flush();
    flush();
    expect_out(want);
    deliver(HELLO3_REPLY "+OK\r\n+PONG\r\n");
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    assert_int_equal(flushes, 1);
    assert_int_equal(flush_connects, 1);
    assert_int_equal(S.connects, 2);
    finish();
}

/* RESP2 would need a second connection for the invalidations. */
static void tracking_needs_resp3(void **state)
{
    (void)state;
    arc_tracking tr = {.mode = ARC_TRACKING_OPTIN};
    arc_options o = {.tracking = &tr};
    open_session(&o);
    start();
    assert_int_equal(arc_context_state(S.c), ARC_STATE_FAILED);
    assert_int_equal(arc_context_failure(S.c), ARC_ERR_INVALID);
    assert_non_null(strstr(arc_context_error(S.c), "resp = 3"));
    assert_int_equal(S.connects, 1);
    assert_int_equal(S.connect_status, ARC_ERR_INVALID);
    arc_free(S.c);
    S.c = NULL;
    assert_int_equal(S.mem.blocks, 0);
}

/* ---- commands marked retry ---- */

/* A command marked retry that the lost link wrote goes out again on the
 * next one, ahead of those never written; one not marked may have run. A
 * second loss before the new link sent it keeps it all the same. */
static void retry_sends_again(void **state)
{
    (void)state;
    open_reconnecting((arc_options){0});
    call a = {0}, b = {0}, c3 = {0}, d = {0};
    arc_command_options again = {.retry = true};
    assert_int_equal(arc_command_with(S.c, &again, record, &a, "GET a"), ARC_OK);
    assert_int_equal(arc_command(S.c, record, &b, "GET b"), ARC_OK);
    assert_int_equal(arc_command_with(S.c, &again, record, &d, "GET a"), ARC_OK);
    flush();
    expect_out(GET_A GET_B GET_A);
    lose_link();
    expect_none(&b, ARC_ERR_UNANSWERED);
    assert_int_equal(a.n + d.n, 0);
    assert_int_equal(arc_context_pending(S.c), 2);
    assert_int_equal(arc_command(S.c, record, &c3, "GET c"), ARC_OK);

    /* Lost again before anything was sent. */
    int64_t at = arc_context_next_attempt_ms(S.c);
    now_ms = at;
    arc_handle_timeout(S.c);
    S.sc.at_end = ARC_IO_EOF;
    arc_handle_read(S.c);
    flush();
    assert_int_equal(arc_context_state(S.c), ARC_STATE_WAITING);
    assert_int_equal(a.n + d.n + c3.n, 0);

    next_link();
    expect_out(GET_A GET_A GET_C);
    deliver("$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    expect_reply(&a, ARC_REPLY_STRING, "1");
    expect_reply(&d, ARC_REPLY_STRING, "2");
    expect_reply(&c3, ARC_REPLY_STRING, "3");
    assert_int_equal(arc_context_pending(S.c), 0);
    finish();
}

/* A retried command whose own timeout passed is done: not sent again. */
static void retry_not_after_timeout(void **state)
{
    (void)state;
    open_reconnecting((arc_options){0});
    call a = {0}, b = {0};
    arc_command_options again = {.retry = true, .timeout_ms = 50};
    assert_int_equal(arc_command_with(S.c, &again, record, &a, "GET a"), ARC_OK);
    again.timeout_ms = 0;
    assert_int_equal(arc_command_with(S.c, &again, record, &b, "GET b"), ARC_OK);
    flush();
    now_ms += 50;
    arc_handle_timeout(S.c);
    expect_none(&a, ARC_ERR_TIMEOUT);
    lose_link();
    next_link();
    expect_out(GET_B);
    deliver("$1\r\n2\r\n");
    expect_reply(&b, ARC_REPLY_STRING, "2");
    assert_int_equal(a.n, 1);
    finish();
}

#define TEST(f) cmocka_unit_test_teardown(f, end_test)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(replay_leaves_queued_subscribe_alone),
        TEST(replay_refused_fails),
        TEST(health_ping_after_silence),
        TEST(health_silence_fails),
        TEST(health_failure_reconnects),
        TEST(health_waits_for_blocking),
        TEST(loading_waits),
        TEST(readonly_reconnects),
        TEST(readonly_is_an_error_by_default),
        TEST(offline_bytes_bound),
        TEST(tracking_in_handshake_and_flush),
        TEST(tracking_needs_resp3),
        TEST(retry_sends_again),
        TEST(retry_not_after_timeout),
    };
    return cmocka_run_group_tests_name("recovery", tests, NULL, NULL);
}
