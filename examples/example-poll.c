/* example-poll: connect, SET and GET a key, disconnect cleanly, on the
 * built-in poll loop.   usage: example-poll [HOST [PORT]] */
#include <arc/adapters/poll.h>

#include <stdio.h>
#include <stdlib.h>

static int failed;

static void on_connect(arc_context *c, int status, void *data)
{
    (void)data;
    if (status != ARC_OK) {
        fprintf(stderr, "connect failed: %s (%s)\n", arc_strerror(status), arc_context_error(c));
        failed = 1;
    } else {
        printf("connected\n");
    }
}

static void on_disconnect(arc_context *c, int status, void *data)
{
    (void)data;
    if (status != ARC_OK) {
        fprintf(stderr, "connection lost: %s (%s)\n", arc_strerror(status),
                arc_context_error(c));
        failed = 1;
    } else {
        printf("disconnected\n");
    }
}

static void on_set(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)c;
    (void)privdata;
    if (r == NULL || r->type == ARC_REPLY_ERROR) {
        fprintf(stderr, "SET failed: %s\n", r ? r->str : arc_strerror(status));
        failed = 1;
    }
}

static void on_get(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)privdata;
    if (r == NULL || r->type != ARC_REPLY_STRING) {
        fprintf(stderr, "GET failed: %s\n", r ? arc_reply_type_name(r->type) : arc_strerror(status));
        failed = 1;
    } else {
        printf("GET arc:example -> %.*s\n", (int)r->len, r->str);
    }
    arc_disconnect(c); /* replies still due arrive first, then the close */
}

int main(int argc, char **argv)
{
    arc_options opt = {0};
    opt.host = argc > 1 ? argv[1] : "127.0.0.1";
    opt.port = argc > 2 ? atoi(argv[2]) : 6379;
    opt.connect_timeout_ms = 2000;
    opt.command_timeout_ms = 2000;
    opt.on_connect = on_connect;
    opt.on_disconnect = on_disconnect;

    arc_poll_loop *loop = arc_poll_loop_new();
    arc_context *c = arc_connect(&opt);
    int status = loop == NULL || c == NULL ? ARC_ERR_NOMEM : arc_poll_attach(c, loop);
    if (status != ARC_OK) {
        fprintf(stderr, "setup failed: %s\n", arc_strerror(status));
        failed = 1;
    } else {
        /* Queued now, written once the connection is up. A command that
         * is refused gets no callback, so disconnect here instead. */
        if (arc_command(c, on_set, NULL, "SET arc:example %s", "hello from arc") != ARC_OK ||
            arc_command(c, on_get, NULL, "GET arc:example") != ARC_OK) {
            failed = 1;
            arc_disconnect(c);
        }
        arc_poll_loop_run(loop);
    }

    /* Every way out frees what was made; both calls ignore NULL. */
    arc_free(c);
    arc_poll_loop_free(loop);
    return failed ? 1 : 0;
}
