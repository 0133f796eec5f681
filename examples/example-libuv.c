/* example-libuv: SET and GET a key on a libuv loop, then a
 * clean disconnect.   usage: example-libuv [HOST [PORT]] */
#define _POSIX_C_SOURCE 200809L /* uv.h needs POSIX types */
#include <arc/adapters/libuv.h>

#include <stdio.h>
#include <stdlib.h>

static int failed;

static void on_get(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)privdata;
    if (r == NULL || r->type != ARC_REPLY_STRING) {
        fprintf(stderr, "GET failed: %s (%s)\n", arc_strerror(status), arc_context_error(c));
        failed = 1;
    } else {
        printf("GET arc:example -> %.*s\n", (int)r->len, r->str);
    }
    arc_disconnect(c);
}

static void on_disconnect(arc_context *c, int status, void *data)
{
    (void)data;
    if (status != ARC_OK) {
        fprintf(stderr, "connection lost: %s\n", arc_context_error(c));
        failed = 1;
    }
}

int main(int argc, char **argv)
{
    arc_options opt = {0};
    opt.host = argc > 1 ? argv[1] : "127.0.0.1";
    opt.port = argc > 2 ? atoi(argv[2]) : 6379;
    opt.connect_timeout_ms = 2000;
    opt.on_disconnect = on_disconnect;
    uv_loop_t loop;
    uv_loop_init(&loop);
    arc_context *c = arc_connect(&opt);
    if (c == NULL || arc_libuv_attach(c, &loop) != ARC_OK)
        return 1;
    arc_command(c, NULL, NULL, "SET arc:example %s", "hello from libuv");
    arc_command(c, on_get, NULL, "GET arc:example");
    uv_run(&loop, UV_RUN_DEFAULT); /* returns once no handle is active */
    if (arc_context_failure(c) != ARC_OK) {
        fprintf(stderr, "failed: %s\n", arc_context_error(c));
        failed = 1;
    }
    arc_free(c);
    uv_run(&loop, UV_RUN_DEFAULT); /* the adapter's handles finish closing */
    uv_loop_close(&loop);
    return failed;
}
