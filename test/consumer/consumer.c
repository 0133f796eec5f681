/* consumer.c (tests): a program outside arc that uses it the way a user
 * would, through one adapter (libevent; libuv with -DUSE_LIBUV; the poll
 * loop with -DUSE_POLL): PING over a unix socket.
 *   usage: consumer UNIX_SOCKET_PATH   (exit 0 on PONG) */
#if defined(USE_LIBUV)
#define _POSIX_C_SOURCE 200809L
#include <arc/adapters/libuv.h>
#elif defined(USE_POLL)
#include <arc/adapters/poll.h>
#else
#include <arc/adapters/libevent.h>
#endif

#include <stdio.h>
#include <string.h>

static int ok;

static void on_pong(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)status;
    (void)privdata;
    ok = r != NULL && r->type == ARC_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    arc_disconnect(c);
}

/* Queues the PING; when that fails no callback will come, so disconnect. */
static void ping(arc_context *c)
{
    if (arc_command(c, on_pong, NULL, "PING") != ARC_OK)
        arc_disconnect(c);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    arc_options opt = {0};
    opt.unix_path = argv[1];
    opt.connect_timeout_ms = 2000;
    arc_context *c = arc_connect(&opt);
#if defined(USE_LIBUV)
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) {
        arc_free(c);
        return 1;
    }
    if (c != NULL && arc_libuv_attach(c, &loop) == ARC_OK) {
        ping(c);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    arc_free(c);
    uv_run(&loop, UV_RUN_DEFAULT); /* the adapter's close callbacks */
    uv_loop_close(&loop);
#elif defined(USE_POLL)
    arc_poll_loop *loop = arc_poll_loop_new();
    if (loop != NULL && c != NULL && arc_poll_attach(c, loop) == ARC_OK) {
        ping(c);
        arc_poll_loop_run(loop);
    }
    arc_free(c);
    arc_poll_loop_free(loop);
#else
    struct event_base *base = event_base_new();
    if (base != NULL && c != NULL && arc_libevent_attach(c, base) == ARC_OK) {
        ping(c);
        event_base_dispatch(base);
    }
    arc_free(c);
    if (base != NULL)
        event_base_free(base);
#endif
    printf("%s\n", ok ? "PONG" : "no PONG");
    return ok ? 0 : 1;
}
