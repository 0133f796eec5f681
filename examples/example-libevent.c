/* example-libevent: SET and GET a key on a libevent event_base, then a
 * clean disconnect.   usage: example-libevent [HOST [PORT]] */
#include <arc/adapters/libevent.h>

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
    struct event_base *base = event_base_new();
    arc_context *c = arc_connect(&opt);
    int status = base == NULL || c == NULL ? ARC_ERR_NOMEM : arc_libevent_attach(c, base);
    if (status != ARC_OK) {
        fprintf(stderr, "setup failed: %s\n",
                base == NULL ? "no event_base" : arc_strerror(status));
        failed = 1;
    } else {
        arc_command(c, NULL, NULL, "SET arc:example %s", "hello from libevent");
        /* A command that is refused gets no callback: disconnect here. */
        if (arc_command(c, on_get, NULL, "GET arc:example") != ARC_OK)
            arc_disconnect(c);
        event_base_dispatch(base); /* returns once the context has no events left */
        if (arc_context_failure(c) != ARC_OK) {
            fprintf(stderr, "failed: %s\n", arc_context_error(c));
            failed = 1;
        }
    }
    /* Every way out frees what was made: the context first (NULL is
     * ignored), then the loop it was attached to. */
    arc_free(c);
    if (base != NULL)
        event_base_free(base);
    return failed;
}
