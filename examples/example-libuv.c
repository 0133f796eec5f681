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
    if (uv_loop_init(&loop) != 0) {
        fprintf(stderr, "uv_loop_init failed\n");
        return 1;
    }
    arc_context *c = arc_connect(&opt);
    int status = c == NULL ? ARC_ERR_NOMEM : arc_libuv_attach(c, &loop);
    if (status != ARC_OK) {
        fprintf(stderr, "setup failed: %s\n", arc_strerror(status));
        failed = 1;
    } else {
        arc_command(c, NULL, NULL, "SET arc:example %s", "hello from libuv");
        /* A command that is refused gets no callback: disconnect here. */
        if (arc_command(c, on_get, NULL, "GET arc:example") != ARC_OK)
            arc_disconnect(c);
        uv_run(&loop, UV_RUN_DEFAULT); /* returns once no handle is active */
        if (arc_context_failure(c) != ARC_OK) {
            fprintf(stderr, "failed: %s\n", arc_context_error(c));
            failed = 1;
        }
    }
    /* Every way out frees what was made: the context (NULL is ignored),
     * then the loop runs until the adapter's handles have closed (a failed
     * attach closes one too), then the loop itself. */
    arc_free(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return failed;
}
