/* consumer.c (tests): a program outside arc that uses it the way a user
 * would, through one adapter: PING over a unix socket.
 *   usage: consumer UNIX_SOCKET_PATH   (exit 0 on PONG) */
#if defined(USE_LIBUV)
#define _POSIX_C_SOURCE 200809L
#include <arc/adapters/libuv.h>
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
    uv_loop_init(&loop);
    if (c == NULL || arc_libuv_attach(c, &loop) != ARC_OK)
        return 1;
    arc_command(c, on_pong, NULL, "PING");
    uv_run(&loop, UV_RUN_DEFAULT);
    arc_free(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
#else
    struct event_base *base = event_base_new();
    if (c == NULL || arc_libevent_attach(c, base) != ARC_OK)
        return 1;
    arc_command(c, on_pong, NULL, "PING");
    event_base_dispatch(base);
    arc_free(c);
    event_base_free(base);
#endif
    printf("%s\n", ok ? "PONG" : "no PONG");
    return ok ? 0 : 1;
}
