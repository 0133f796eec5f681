/* example-reconnect: a context that survives losing its connection. It asks
 * the server to kill its own connection (CLIENT KILL ID), queues commands
 * while it is down, comes back on its own and sends them.
 *   usage: example-reconnect [HOST [PORT]] */
#include <arc/adapters/poll.h>

#include <stdio.h>
#include <stdlib.h>

static int failed;
static int connects;
static int queued;

static void on_get(arc_context *c, arc_reply *r, int status, void *privdata);

static void on_state(arc_context *c, arc_state previous, arc_state now, void *data)
{
    (void)previous;
    (void)data;
    if (now != ARC_STATE_WAITING)
        return;
    printf("lost (%s); attempt %u in %ld ms\n", arc_context_error(c), arc_context_reconnects(c),
           (long)(arc_context_next_attempt_ms(c) - arc_now_ms()));
    if (queued++ == 0) {
        /* Accepted while down, sent once the context is connected again. */
        if (arc_command(c, NULL, NULL, "SET arc:reconnect %s", "still here") != ARC_OK ||
            arc_command(c, on_get, NULL, "GET arc:reconnect") != ARC_OK) {
            failed = 1;
            arc_disconnect(c);
        }
    }
}

static void on_connect(arc_context *c, int status, void *data)
{
    (void)data;
    if (status != ARC_OK) {
        fprintf(stderr, "connect failed: %s (%s)\n", arc_strerror(status), arc_context_error(c));
        failed = 1;
        return;
    }
    printf("connected (%d)\n", ++connects);
}

static void on_get(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)privdata;
    if (r == NULL || r->type != ARC_REPLY_STRING) {
        fprintf(stderr, "GET failed: %s\n", r ? arc_reply_type_name(r->type) : arc_strerror(status));
        failed = 1;
    } else {
        printf("GET after the reconnect -> %.*s\n", (int)r->len, r->str);
    }
    arc_disconnect(c);
}

static void on_kill(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)c;
    (void)privdata;
    /* Killing our own connection: the reply may or may not make it out
     * first (ARC_ERR_UNANSWERED: it ran, the link went before its reply).
     * Then the server closes, and the state callback sees WAITING. */
    printf("CLIENT KILL: %s\n", r ? "answered" : arc_status_name(status));
}

static void on_id(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)privdata;
    if (r == NULL || r->type != ARC_REPLY_INTEGER) {
        fprintf(stderr, "CLIENT ID failed: %s\n", arc_strerror(status));
        failed = 1;
        arc_disconnect(c);
        return;
    }
    if (arc_command(c, on_kill, NULL, "CLIENT KILL ID %lld SKIPME no", r->integer) != ARC_OK) {
        failed = 1;
        arc_disconnect(c);
    }
}

int main(int argc, char **argv)
{
    arc_reconnect rc = {0};
    rc.initial_delay_ms = 50;
    rc.max_delay_ms = 500;
    rc.max_attempts = 5; /* then give up with the last reason */

    arc_options opt = {0};
    opt.host = argc > 1 ? argv[1] : "127.0.0.1";
    opt.port = argc > 2 ? atoi(argv[2]) : 6379;
    /* A production default for finding a dead server (docs/reconnect.md):
     * a PING after 1 s of silence that must be answered within 2 s, the
     * command timeout, and TCP's own keepalive and user timeout. */
    opt.connect_timeout_ms = 2000;
    opt.health_check_ms = 1000;
    opt.health_timeout_ms = 2000;
    opt.command_timeout_ms = 5000;
    opt.keepalive_s = 30;
    opt.tcp_user_timeout_ms = 10000;
    opt.reconnect = &rc;
    opt.on_connect = on_connect;
    opt.on_state = on_state;

    arc_poll_loop *loop = arc_poll_loop_new();
    arc_context *c = arc_connect(&opt);
    int status = loop == NULL || c == NULL ? ARC_ERR_NOMEM : arc_poll_attach(c, loop);
    if (status != ARC_OK) {
        fprintf(stderr, "setup failed: %s\n", arc_strerror(status));
        failed = 1;
    } else {
        if (arc_command(c, on_id, NULL, "CLIENT ID") != ARC_OK) {
            failed = 1;
            arc_disconnect(c);
        }
        arc_poll_loop_run(loop);
        if (connects != 2 || queued != 1)
            failed = 1;
    }
    arc_free(c);
    arc_poll_loop_free(loop);
    return failed ? 1 : 0;
}
