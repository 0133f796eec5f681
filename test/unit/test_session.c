/* test_session.c: a whole context over a scripted transport (bytes in from
 * a script, bytes out into a buffer) on an injected clock, driven by hand
 * the way a loop without an adapter would: the handshake, per-command and
 * connection-wide timeouts, cancel, how pending callbacks end, the
 * transport's pending(), a failed send, the idle trim. No socket carries
 * data and nothing sleeps. */
#define _GNU_SOURCE
#include "session_script.h"

#include <arc/events.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

/* ---- the handshake ---- */

/* RESP3 with a password, a name and a db: HELLO 3 AUTH ... SETNAME ...,
 * then SELECT, and nothing else until both are answered; the command
 * queued before the link started goes out after them. */
static void handshake_goes_first(void **state)
{
    (void)state;
    arc_options o = {.resp = 3, .password = "secret", .client_name = "app", .db = 2};
    open_session(&o);
    call get = {0};
    assert_int_equal(arc_command(S.c, record, &get, "GET a"), ARC_OK);
    assert_int_equal(S.sc.writes, 0);
    start();
    assert_int_equal(arc_context_state(S.c), ARC_STATE_HANDSHAKE);
    assert_true(arc_want_write(S.c));
    assert_true(arc_want_read(S.c));
    arc_handle_write(S.c);
    const char *hello = "*7\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n"
                        "$6\r\nsecret\r\n$7\r\nSETNAME\r\n$3\r\napp\r\n"
                        "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n";
    expect_out(hello);
    assert_false(arc_want_write(S.c));
    arc_handle_write(S.c);
    arc_handle_read(S.c);
    expect_out(hello);

    deliver("%1\r\n$6\r\nserver\r\n$5\r\nredis\r\n");
    assert_int_equal(arc_context_state(S.c), ARC_STATE_HANDSHAKE);
    assert_false(arc_want_write(S.c));
    expect_out(hello);
    assert_int_equal(S.connects, 0);
    assert_int_equal(get.n, 0);

    deliver("+OK\r\n");
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    assert_int_equal(S.connects, 1);
    assert_int_equal(S.connect_status, ARC_OK);
    assert_int_equal(arc_context_resp(S.c), 3);
    assert_int_equal(get.n, 0);
    flush();
    char both[512];
    snprintf(both, sizeof both, "%s%s", hello, GET_A);
    expect_out(both);

    deliver("$1\r\nv\r\n");
    expect_reply(&get, ARC_REPLY_STRING, "v");
    finish();
}

/* RESP2: AUTH user password, SELECT, CLIENT SETNAME, three replies. */
static void handshake_resp2(void **state)
{
    (void)state;
    arc_options o = {.username = "u", .password = "p", .client_name = "n", .db = 3};
    open_session(&o);
    call get = {0};
    assert_int_equal(arc_command(S.c, record, &get, "GET a"), ARC_OK);
    start();
    flush();
    const char *hello = "*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$1\r\np\r\n"
                        "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"
                        "*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$1\r\nn\r\n";
    expect_out(hello);
    deliver("+OK\r\n+OK\r\n");
    assert_int_equal(arc_context_state(S.c), ARC_STATE_HANDSHAKE);
    expect_out(hello);
    deliver("+OK\r\n");
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    assert_int_equal(arc_context_resp(S.c), 2);
    flush();
    char both[512];
    snprintf(both, sizeof both, "%s%s", hello, GET_A);
    expect_out(both);
    deliver("$1\r\nv\r\n");
    expect_reply(&get, ARC_REPLY_STRING, "v");
    finish();
}

/* An error reply to the handshake fails the context; the command queued
 * behind it was never written. */
static void handshake_refused(void **state)
{
    (void)state;
    arc_options o = {.resp = 3, .password = "wrong", .db = 1};
    open_session(&o);
    call get = {0};
    assert_int_equal(arc_command(S.c, record, &get, "GET a"), ARC_OK);
    start();
    flush();
    const char *hello = "*5\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n"
                        "$5\r\nwrong\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n";
    expect_out(hello);
    deliver("-WRONGPASS invalid username-password pair\r\n");
    assert_int_equal(arc_context_state(S.c), ARC_STATE_FAILED);
    assert_int_equal(arc_context_failure(S.c), ARC_ERR_HANDSHAKE);
    assert_int_equal(S.connects, 1);
    assert_int_equal(S.connect_status, ARC_ERR_HANDSHAKE);
    assert_int_equal(S.disconnects, 0);
    expect_none(&get, ARC_ERR_NOT_SENT);
    expect_out(hello);
    assert_false(arc_want_read(S.c));
    assert_false(arc_want_write(S.c));
    assert_int_equal(arc_next_timeout_ms(S.c), -1);
    finish();
}

/* ---- a command's own timeout ---- */

static void command_timeout_on_time(void **state)
{
    (void)state;
    arc_options o = {0};
    open_ready(&o);
    call a = {0}, b = {0}, c = {0};
    arc_command_options to = {.timeout_ms = 100};
    assert_int_equal(arc_command_with(S.c, &to, record, &a, "GET a"), ARC_OK);
    assert_int_equal(arc_command(S.c, record, &b, "GET b"), ARC_OK);
    flush();
    expect_out(GET_A GET_B);
    assert_int_equal(arc_next_timeout_ms(S.c), 100);

    now_ms += 99;
    arc_handle_timeout(S.c);
    assert_int_equal(a.n, 0);
    assert_int_equal(arc_next_timeout_ms(S.c), 1);

    now_ms += 1;
    arc_handle_timeout(S.c);
    expect_none(&a, ARC_ERR_TIMEOUT);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    assert_int_equal(arc_context_failure(S.c), ARC_OK);
    assert_int_equal(arc_context_pending(S.c), 1);
    arc_handle_timeout(S.c);
    assert_int_equal(a.n, 1);

    deliver("$4\r\nlate\r\n"); /* a's reply: dropped */
    assert_int_equal(a.n, 1);
    assert_int_equal(b.n, 0);
    deliver("$2\r\nvb\r\n");
    expect_reply(&b, ARC_REPLY_STRING, "vb");
    assert_int_equal(a.n, 1);

    assert_int_equal(arc_command(S.c, record, &c, "GET c"), ARC_OK);
    flush();
    expect_out(GET_A GET_B GET_C);
    deliver("$2\r\nvc\r\n");
    expect_reply(&c, ARC_REPLY_STRING, "vc");
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    finish();
}

/* Several timeouts issued out of order: the timer follows the earliest
 * live one, skipping those of commands already answered or timed out. */
static void earliest_deadline_first(void **state)
{
    (void)state;
    arc_options o = {0};
    open_ready(&o);
    call a = {0}, b = {0}, c = {0}, d = {0};
    arc_command_options t500 = {.timeout_ms = 500}, t200 = {.timeout_ms = 200},
                         t300 = {.timeout_ms = 300};
    assert_int_equal(arc_command_with(S.c, &t500, record, &a, "GET a"), ARC_OK);
    assert_int_equal(arc_command_with(S.c, &t200, record, &b, "GET b"), ARC_OK);
    assert_int_equal(arc_command_with(S.c, &t300, record, &c, "GET c"), ARC_OK);
    assert_int_equal(arc_command(S.c, record, &d, "GET d"), ARC_OK);
    flush();
    assert_int_equal(arc_next_timeout_ms(S.c), 200);

    now_ms += 150;
    deliver("$2\r\nva\r\n");
    expect_reply(&a, ARC_REPLY_STRING, "va");
    assert_int_equal(arc_next_timeout_ms(S.c), 50);

    now_ms += 50;
    arc_handle_timeout(S.c);
    expect_none(&b, ARC_ERR_TIMEOUT);
    assert_int_equal(c.n, 0);
    assert_int_equal(arc_next_timeout_ms(S.c), 100);

    now_ms += 50;
    deliver("$2\r\nvb\r\n$2\r\nvc\r\n");
    assert_int_equal(b.n, 1);
    expect_reply(&c, ARC_REPLY_STRING, "vc");
    /* a's deadline (at 500) is stale and d has none: no timer. */
    assert_int_equal(arc_next_timeout_ms(S.c), -1);
    now_ms += 1000;
    arc_handle_timeout(S.c);
    assert_int_equal(d.n, 0);
    deliver("$2\r\nvd\r\n");
    expect_reply(&d, ARC_REPLY_STRING, "vd");
    assert_int_equal(a.n, 1);
    assert_int_equal(b.n, 1);
    assert_int_equal(c.n, 1);
    finish();
}

/* ---- the connection-wide command timeout (liveness) ---- */

/* A reply trickling in, one byte per 50 ms under a 100 ms timeout, is
 * progress: the link is slow, not dead. */
static void liveness_trickle_is_progress(void **state)
{
    (void)state;
    arc_options o = {.command_timeout_ms = 100};
    open_ready(&o);
    call get = {0};
    assert_int_equal(arc_command(S.c, record, &get, "GET a"), ARC_OK);
    flush();
    assert_int_equal(arc_next_timeout_ms(S.c), 100);
    const char *reply = "$5\r\nhello\r\n";
    size_t n = strlen(reply);
    for (size_t i = 0; i < n; i++) {
        now_ms += 50;
        arc_handle_timeout(S.c);
        assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
        assert_int_equal(get.n, 0);
        script_bytes(reply + i, 1);
        arc_handle_read(S.c);
        arc_handle_timeout(S.c);
        assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
        if (i + 1 < n && arc_next_timeout_ms(S.c) != 100)
            fail_msg("after byte %zu (0x%02x) of the reply the timer is %ld ms away, not 100",
                     i, (unsigned char)reply[i], arc_next_timeout_ms(S.c));
    }
    expect_reply(&get, ARC_REPLY_STRING, "hello");
    now_ms += 500;
    arc_handle_timeout(S.c);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    finish();
}

/* Nothing arrives: at 100 ms the context fails; the command written is
 * UNANSWERED, the one the transport would not take yet is NOT_SENT. */
static void liveness_fires_when_silent(void **state)
{
    (void)state;
    arc_options o = {.command_timeout_ms = 100};
    open_ready(&o);
    call a = {0}, b = {0};
    assert_int_equal(arc_command(S.c, record, &a, "GET a"), ARC_OK);
    assert_int_equal(arc_command(S.c, record, &b, "GET b"), ARC_OK);
    S.sc.write_room = strlen(GET_A);
    arc_handle_write(S.c);
    expect_out(GET_A);
    assert_true(arc_want_write(S.c));
    int writes = S.sc.writes;
    arc_handle_write(S.c); /* WANT_WRITE */
    assert_int_equal(S.sc.writes, writes + 1);
    expect_out(GET_A);
    assert_int_equal(arc_next_timeout_ms(S.c), 100);

    now_ms += 99;
    arc_handle_timeout(S.c);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    assert_int_equal(a.n + b.n, 0);

    now_ms += 1;
    arc_handle_timeout(S.c);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_FAILED);
    assert_int_equal(arc_context_failure(S.c), ARC_ERR_TIMEOUT);
    expect_none(&a, ARC_ERR_UNANSWERED);
    expect_none(&b, ARC_ERR_NOT_SENT);
    assert_int_equal(S.disconnects, 1);
    assert_int_equal(S.disconnect_status, ARC_ERR_TIMEOUT);
    finish();
}

/* RESP3 pushes (an invalidation) while a reply is late answer nothing:
 * the deadline stays where the command put it. */
static void liveness_pushes_are_not_progress(void **state)
{
    (void)state;
    arc_options o = {.resp = 3, .command_timeout_ms = 100};
    open_session(&o);
    start();
    flush();
    deliver("%1\r\n$5\r\nproto\r\n:3\r\n");
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    assert_int_equal(arc_context_resp(S.c), 3);
    call get = {0};
    assert_int_equal(arc_command(S.c, record, &get, "GET a"), ARC_OK);
    flush();
    assert_int_equal(arc_next_timeout_ms(S.c), 100);

    now_ms += 60;
    deliver(">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
    assert_int_equal(S.pushes, 1);
    assert_int_equal(get.n, 0);
    assert_int_equal(arc_next_timeout_ms(S.c), 40);

    now_ms += 39;
    arc_handle_timeout(S.c);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    now_ms += 1;
    arc_handle_timeout(S.c);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_FAILED);
    assert_int_equal(arc_context_failure(S.c), ARC_ERR_TIMEOUT);
    expect_none(&get, ARC_ERR_UNANSWERED);
    finish();
}

/* BLPOP k 1 at the head waits 1 s on the server: the liveness timeout of
 * 100 ms counts from its end, 1000 + 100. */
static void liveness_blocking_head(void **state)
{
    (void)state;
    arc_options o = {.command_timeout_ms = 100};
    open_ready(&o);
    call blpop = {0};
    assert_int_equal(arc_command(S.c, record, &blpop, "BLPOP k 1"), ARC_OK);
    flush();
    assert_int_equal(arc_next_timeout_ms(S.c), 1100);
    now_ms += 1099;
    arc_handle_timeout(S.c);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    assert_int_equal(blpop.n, 0);
    now_ms += 1;
    arc_handle_timeout(S.c);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_FAILED);
    assert_int_equal(arc_context_failure(S.c), ARC_ERR_TIMEOUT);
    expect_none(&blpop, ARC_ERR_UNANSWERED);
    finish();
}

/* BLPOP k 0 waits for ever by design: no liveness deadline at all. */
static void liveness_blocking_for_ever(void **state)
{
    (void)state;
    arc_options o = {.command_timeout_ms = 100};
    open_ready(&o);
    call blpop = {0};
    assert_int_equal(arc_command(S.c, record, &blpop, "BLPOP k 0"), ARC_OK);
    flush();
    assert_int_equal(arc_next_timeout_ms(S.c), -1);
    now_ms += 3600 * 1000;
    arc_handle_timeout(S.c);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);
    deliver("*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
    expect_reply(&blpop, ARC_REPLY_ARRAY, "");
    finish();
}

/* ---- cancel ---- */

static void cancel_by_id(void **state)
{
    (void)state;
    arc_options o = {0};
    open_ready(&o);
    call a = {0}, b = {0}, c = {0};
    uint64_t ida = 0, idb = 0, idc = 0;
    arc_command_options oa = {.id = &ida}, ob = {.id = &idb}, oc = {.id = &idc};
    assert_int_equal(arc_command_with(S.c, &oa, record, &a, "GET a"), ARC_OK);
    assert_int_equal(arc_command_with(S.c, &ob, record, &b, "GET b"), ARC_OK);
    flush();
    assert_int_equal(arc_command_with(S.c, &oc, record, &c, "GET c"), ARC_OK);
    assert_true(ida != 0 && idb != 0 && idc != 0);
    assert_true(ida != idb && idb != idc && ida != idc);

    assert_int_equal(arc_cancel(S.c, idb), ARC_OK);
    expect_none(&b, ARC_ERR_CANCELLED);
    assert_int_equal(arc_cancel(S.c, idb), ARC_ERR_INVALID); /* cancelled before */
    assert_int_equal(arc_context_pending(S.c), 2);
    /* An unwritten command that was cancelled: its callback is done too. */
    assert_int_equal(arc_cancel(S.c, idc), ARC_OK);
    expect_none(&c, ARC_ERR_CANCELLED);

    flush();
    deliver("$2\r\nva\r\n$2\r\nvb\r\n$2\r\nvc\r\n");
    expect_reply(&a, ARC_REPLY_STRING, "va");
    assert_int_equal(b.n, 1);
    assert_int_equal(c.n, 1);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);

    assert_int_equal(arc_cancel(S.c, ida), ARC_ERR_INVALID); /* answered */
    assert_int_equal(arc_cancel(S.c, idb), ARC_ERR_INVALID);
    assert_int_equal(arc_cancel(S.c, idc), ARC_ERR_INVALID);
    assert_int_equal(arc_cancel(S.c, 0), ARC_ERR_INVALID);
    assert_int_equal(arc_cancel(S.c, idc + 1000), ARC_ERR_INVALID); /* never issued */
    assert_int_equal(arc_cancel(NULL, ida), ARC_ERR_INVALID);

    call d = {0};
    assert_int_equal(arc_command(S.c, record, &d, "GET d"), ARC_OK);
    flush();
    deliver("$2\r\nvd\r\n");
    expect_reply(&d, ARC_REPLY_STRING, "vd");
    finish();
}

/* ---- how pending commands end ---- */

/* The transport takes the first two commands' bytes (a partial write, then
 * WANT_WRITE), then the server closes: written ones are UNANSWERED, the
 * third NOT_SENT. */
static void eof_unanswered_and_not_sent(void **state)
{
    (void)state;
    arc_options o = {0};
    open_ready(&o);
    call a = {0}, b = {0}, c = {0};
    assert_int_equal(arc_command(S.c, record, &a, "GET a"), ARC_OK);
    assert_int_equal(arc_command(S.c, record, &b, "GET b"), ARC_OK);
    assert_int_equal(arc_command(S.c, record, &c, "GET c"), ARC_OK);
    S.sc.write_room = strlen(GET_A GET_B);
    arc_handle_write(S.c);
    arc_handle_write(S.c);
    expect_out(GET_A GET_B);
    assert_true(arc_want_write(S.c));

    S.sc.at_end = ARC_IO_EOF;
    arc_handle_read(S.c);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_FAILED);
    assert_int_equal(arc_context_failure(S.c), ARC_ERR_EOF);
    expect_none(&a, ARC_ERR_UNANSWERED);
    expect_none(&b, ARC_ERR_UNANSWERED);
    expect_none(&c, ARC_ERR_NOT_SENT);
    assert_true(a.seq < b.seq && b.seq < c.seq);
    assert_int_equal(S.disconnects, 1);
    assert_int_equal(S.disconnect_status, ARC_ERR_EOF);
    assert_int_equal(arc_command(S.c, record, &a, "GET a"), ARC_ERR_CLOSED);
    finish();
}

/* A transport holding bytes it has not returned yet (pending() > 0) is
 * read again in the same arc_handle_read until it holds none. */
static void pending_transport_read_again(void **state)
{
    (void)state;
    arc_options o = {0};
    open_ready(&o);
    call a = {0}, b = {0}, c = {0};
    assert_int_equal(arc_command(S.c, record, &a, "GET a"), ARC_OK);
    assert_int_equal(arc_command(S.c, record, &b, "GET b"), ARC_OK);
    assert_int_equal(arc_command(S.c, record, &c, "GET c"), ARC_OK);
    flush();
    S.sc.piece = 2;
    S.sc.report_pending = true;
    script_in("+OK\r\n:42\r\n$2\r\nvc\r\n"); /* 18 bytes: 9 pieces */
    int reads = S.sc.reads;
    arc_handle_read(S.c);
    assert_int_equal(S.sc.data_reads, 9);
    assert_int_equal(S.sc.in_pos, S.sc.in_len);
    /* At most one more read, the one that finds nothing. */
    assert_true(S.sc.reads - reads >= 9 && S.sc.reads - reads <= 10);
    expect_reply(&a, ARC_REPLY_STATUS, "OK");
    assert_int_equal(b.n, 1);
    assert_int_equal(b.type, ARC_REPLY_INTEGER);
    expect_reply(&c, ARC_REPLY_STRING, "vc");
    finish();
}

/* The send fails (EPIPE) while the answers to what was written before are
 * already waiting: those answers are delivered, then the context fails. */
static void write_error_after_replies(void **state)
{
    (void)state;
    arc_options o = {0};
    open_ready(&o);
    call a = {0}, b = {0}, c = {0};
    assert_int_equal(arc_command(S.c, record, &a, "GET a"), ARC_OK);
    assert_int_equal(arc_command(S.c, record, &b, "GET b"), ARC_OK);
    flush();
    expect_out(GET_A GET_B);
    S.sc.write_errno = EPIPE;
    assert_int_equal(arc_command(S.c, record, &c, "GET c"), ARC_OK);
    script_in("$2\r\nva\r\n$2\r\nvb\r\n");
    arc_handle_write(S.c);
    expect_reply(&a, ARC_REPLY_STRING, "va");
    expect_reply(&b, ARC_REPLY_STRING, "vb");
    expect_none(&c, ARC_ERR_NOT_SENT);
    assert_true(a.seq < b.seq && b.seq < c.seq);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_FAILED);
    assert_int_equal(arc_context_failure(S.c), ARC_ERR_EOF);
    assert_int_equal(arc_context_errno(S.c), EPIPE);
    assert_int_equal(S.disconnects, 1);
    assert_int_equal(S.disconnect_status, ARC_ERR_EOF);
    assert_true(S.disconnect_seq > b.seq);
    finish();
}

/* ---- the idle trim ---- */

/* 1000 ms with nothing due gives the buffers back (the 64 KiB read buffer
 * among them); the context works on afterwards. */
static void idle_trim_gives_memory_back(void **state)
{
    (void)state;
    arc_options o = {0};
    open_ready(&o);
    call a = {0}, b = {0};
    assert_int_equal(arc_command(S.c, record, &a, "GET a"), ARC_OK);
    flush();
    deliver("$2\r\nva\r\n");
    expect_reply(&a, ARC_REPLY_STRING, "va");
    size_t before = S.mem.bytes;
    assert_true(before >= 64 * 1024);
    assert_int_equal(arc_next_timeout_ms(S.c), 1000);

    now_ms += 999;
    arc_handle_timeout(S.c);
    assert_int_equal(S.mem.bytes, before);

    now_ms += 1;
    arc_handle_timeout(S.c);
    size_t after = S.mem.bytes;
    assert_true(after + 64 * 1024 <= before);
    assert_int_equal(arc_next_timeout_ms(S.c), -1);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_READY);

    assert_int_equal(arc_command(S.c, record, &b, "GET b"), ARC_OK);
    flush();
    expect_out(GET_A GET_B);
    deliver("$2\r\nvb\r\n");
    expect_reply(&b, ARC_REPLY_STRING, "vb");
    assert_int_equal(arc_next_timeout_ms(S.c), 1000);
    finish();
}

/* The server ends a name whose subscribe command is still unconfirmed (an
 * unsolicited unsubscribe: a cluster slot that moved): the callback gets
 * its one final NULL then, and the command's own timeout later finds
 * nothing left to end (it read a freed owner before). */
static void unsolicited_unsubscribe_then_timeout(void **state)
{
    (void)state;
    open_ready(&(arc_options){.resp = 2});
    call sub = {0};
    arc_command_options co = {.timeout_ms = 6};
    assert_int_equal(arc_command_with(S.c, &co, record, &sub, "SSUBSCRIBE s"), ARC_OK);
    flush();
    deliver("*3\r\n$12\r\nsunsubscribe\r\n$1\r\ns\r\n:0\r\n");
    assert_int_equal(sub.n, 2); /* the frame, then the final NULL */
    assert_false(sub.has_reply);
    assert_int_equal(sub.status, ARC_OK);
    now_ms += 6;
    arc_handle_timeout(S.c);
    assert_int_equal(sub.n, 2);
    uint64_t id = 0;
    co.id = &id;
    call again = {0};
    assert_int_equal(arc_command_with(S.c, &co, record, &again, "SSUBSCRIBE t"), ARC_OK);
    flush();
    deliver("*3\r\n$12\r\nsunsubscribe\r\n$1\r\nt\r\n:0\r\n");
    assert_int_equal(again.n, 2);
    assert_int_equal(arc_cancel(S.c, id), ARC_OK); /* the entry is still queued */
    assert_int_equal(again.n, 2);
    finish();
    assert_int_equal(sub.n, 2);
    assert_int_equal(again.n, 2);
}

/* The argv form is classified from argv[0], its arguments read from the
 * encoded bytes only where they matter: a wait (the blocking head's
 * deadline), a subscribe's names (SUBSCRIBED, then refusals), a HELLO that
 * would switch protocol, and names the table knows in any case. */
static void argv_form_classified(void **state)
{
    (void)state;
    arc_options o = {.command_timeout_ms = 100, .resp = 2};
    open_ready(&o);
    call blpop = {0}, sub = {0}, get = {0}, ping = {0};
    const char *bl[] = {"bLpOp", "k", "1"};
    assert_int_equal(arc_command_argv(S.c, record, &blpop, 3, bl, NULL), ARC_OK);
    flush();
    assert_int_equal(arc_next_timeout_ms(S.c), 1100); /* waits 1 s, then 100 ms */
    deliver("*-1\r\n");
    expect_reply(&blpop, ARC_REPLY_NIL, "");

    const char *hello[] = {"HELLO", "3"};
    assert_int_equal(arc_command_argv(S.c, record, &get, 2, hello, NULL), ARC_ERR_INVALID);
    const char *hello2[] = {"hello", "2"};
    const size_t hello2len[] = {5, 1};
    assert_int_equal(arc_command_argv(S.c, record, &get, 2, hello2, hello2len), ARC_OK);
    flush();
    deliver("+OK\r\n");
    expect_reply(&get, ARC_REPLY_STATUS, "OK");

    const char *subscribe[] = {"SUBSCRIBE", "ch"};
    const char *alone[] = {"subscribe"};
    assert_int_equal(arc_command_argv(S.c, record, &sub, 1, alone, NULL), ARC_ERR_INVALID);
    assert_int_equal(arc_command_argv(S.c, record, &sub, 2, subscribe, NULL), ARC_OK);
    flush();
    deliver("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    assert_int_equal(sub.n, 1);
    assert_int_equal(arc_context_state(S.c), ARC_STATE_SUBSCRIBED);
    const char *getk[] = {"GET", "k"};
    assert_int_equal(arc_command_argv(S.c, record, &get, 2, getk, NULL), ARC_ERR_SUBSCRIBED);
    const char *pingv[] = {"PING"};
    assert_int_equal(arc_command_argv(S.c, record, &ping, 1, pingv, NULL), ARC_OK);
    const char *other[] = {"SUBSCRIBE", "ch"};
    call dup = {0};
    assert_int_equal(arc_command_argv(S.c, record, &dup, 2, other, NULL), ARC_ERR_DUPLICATE);
    finish();
}

/* ---- a deep window is written in parts ---- */

typedef struct refill {
    int left;    /* commands still to send, one per reply */
    int replies; /* replies seen */
} refill;

static void refill_cb(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)status;
    refill *f = pd;
    if (r == NULL)
        return; /* the window's last commands, ended by finish() */
    f->replies++;
    if (f->left > 0 && arc_command(c, refill_cb, f, "X") == ARC_OK)
        f->left--;
}

/* `depth` commands in flight, all answered in one read whose callbacks
 * refill the window: the transport's writes during that read. */
static int writes_for_window(int depth, unsigned parts)
{
    open_ready(&(arc_options){0});
    S.c->link.tr.window_parts = parts;
    refill f = {.left = depth, .replies = 0};
    for (int i = 0; i < depth; i++)
        assert_int_equal(arc_command(S.c, refill_cb, &f, "X"), ARC_OK);
    flush();
    S.sc.out_len = 0;
    int before = S.sc.writes;
    for (int i = 0; i < depth; i++)
        script_in("+OK\r\n");
    arc_handle_read(S.c);
    int writes = S.sc.writes - before;
    assert_int_equal(f.replies, depth);
    assert_int_equal(f.left, 0);
    assert_int_equal(S.sc.out_len, (size_t)depth * strlen("*1\r\n$1\r\nX\r\n"));
    finish();
    return writes;
}

/* From 128 in flight the refills of each part go out before the next part
 * is parsed: eighths of the window (32 at least) by default, the
 * transport's window_parts when it sets one; below 128, one write. */
static void deep_window_in_parts(void **state)
{
    (void)state;
    assert_int_equal(writes_for_window(100, 0), 1);
    assert_int_equal(writes_for_window(128, 0), 4);
    assert_int_equal(writes_for_window(256, 0), 8);
    assert_int_equal(writes_for_window(256, 2), 2);
    assert_int_equal(writes_for_window(512, 0), 8);
}

#define TEST(f) cmocka_unit_test_teardown(f, end_test)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(handshake_goes_first),
        TEST(handshake_resp2),
        TEST(handshake_refused),
        TEST(command_timeout_on_time),
        TEST(earliest_deadline_first),
        TEST(liveness_trickle_is_progress),
        TEST(liveness_fires_when_silent),
        TEST(liveness_pushes_are_not_progress),
        TEST(liveness_blocking_head),
        TEST(liveness_blocking_for_ever),
        TEST(cancel_by_id),
        TEST(eof_unanswered_and_not_sent),
        TEST(pending_transport_read_again),
        TEST(write_error_after_replies),
        TEST(idle_trim_gives_memory_back),
        TEST(unsolicited_unsubscribe_then_timeout),
        TEST(argv_form_classified),
        TEST(deep_window_in_parts),
    };
    return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
