/* example-libev: SET and GET a key on a libev loop, then a
 * clean disconnect.   usage: example-libev [HOST [PORT]] */
#include <arc/adapters/libev.h>

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
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    arc_context *c = arc_connect(&opt);
    int status = loop == NULL || c == NULL ? ARC_ERR_NOMEM : arc_libev_attach(c, loop);
    if (status != ARC_OK) {
        fprintf(stderr, "setup failed: %s\n", loop == NULL ? "no ev_loop" : arc_strerror(status));
        failed = 1;
    } else {
        arc_command(c, NULL, NULL, "SET arc:example %s", "hello from libev");
        /* A command that is refused gets no callback: disconnect here. */
        if (arc_command(c, on_get, NULL, "GET arc:example") != ARC_OK)
            arc_disconnect(c);
        ev_run(loop, 0); /* returns once no watcher is active */
        if (arc_context_failure(c) != ARC_OK) {
            fprintf(stderr, "failed: %s\n", arc_context_error(c));
            failed = 1;
        }
    }
    /* Every way out frees what was made: the context first (NULL is
     * ignored), then the loop it was attached to. */
    arc_free(c);
    if (loop != NULL)
        ev_loop_destroy(loop);
    return failed;
}
