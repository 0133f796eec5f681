/* example-glib: SET and GET a key on a GLib main loop, then a clean
 * disconnect.   usage: example-glib [HOST [PORT]] */
#include <arc/adapters/glib.h>

#include <stdio.h>
#include <stdlib.h>

static int failed;
static GMainLoop *main_loop;

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

/* Called once the context ends, cleanly or not: time to leave the loop. */
static void on_state(arc_context *c, arc_state previous, arc_state now, void *data)
{
    (void)previous;
    (void)data;
    if (now == ARC_STATE_FAILED) {
        fprintf(stderr, "failed: %s\n", arc_context_error(c));
        failed = 1;
    }
    if (now == ARC_STATE_CLOSED || now == ARC_STATE_FAILED)
        g_main_loop_quit(main_loop);
}

int main(int argc, char **argv)
{
    arc_options opt = {0};
    opt.host = argc > 1 ? argv[1] : "127.0.0.1";
    opt.port = argc > 2 ? atoi(argv[2]) : 6379;
    opt.connect_timeout_ms = 2000;
    opt.on_state = on_state;
    main_loop = g_main_loop_new(NULL, FALSE); /* aborts if out of memory */
    arc_context *c = arc_connect(&opt);
    int status = c == NULL ? ARC_ERR_NOMEM : arc_glib_attach(c, NULL);
    if (status != ARC_OK) {
        fprintf(stderr, "setup failed: %s\n", arc_strerror(status));
        failed = 1;
    } else {
        arc_command(c, NULL, NULL, "SET arc:example %s", "hello from glib");
        /* A command that is refused gets no callback: disconnect here. */
        if (arc_command(c, on_get, NULL, "GET arc:example") != ARC_OK)
            arc_disconnect(c);
        g_main_loop_run(main_loop); /* until on_state quits it */
    }
    /* Every way out frees what was made: the context first (NULL is
     * ignored), then the main loop. */
    arc_free(c);
    g_main_loop_unref(main_loop);
    return failed;
}
