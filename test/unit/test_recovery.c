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

/* A reconnecting session, READY on its first link. */
static void open_reconnecting(arc_options o)
{
    o.reconnect = &quick;
    open_ready(&o);
    allow_reconnect();
}

/* The link ends (the server closed it): the session waits out its backoff. */
static void lose_link(void)
{
    S.sc.at_end = ARC_IO_EOF;
    arc_handle_read(S.c);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_WAITING);
}

/* The backoff passes and the next link comes up (no handshake). */
static void next_link(void)
{
    int64_t at = arc_context_next_attempt_ms(S.c);
    assert_true(at >= 0);
    now_ms = at;
    arc_handle_timeout(S.c);
    flush(); /* the first writability confirms the socket */
    flush(); /* then what is due goes out */
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

#define TEST(f) cmocka_unit_test_teardown(f, end_test)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(replay_leaves_queued_subscribe_alone),
        TEST(replay_refused_fails),
    };
    return cmocka_run_group_tests_name("recovery", tests, NULL, NULL);
}
