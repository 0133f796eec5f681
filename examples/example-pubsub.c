/* example-pubsub: RESP3 pub/sub. One context subscribes; from inside the
 * confirmation a second context publishes two messages; after the second
 * message the first unsubscribes and both disconnect.
 *   usage: example-pubsub [HOST [PORT]] */
#include <arc/adapters/poll.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static arc_context *publisher;
static int messages, failed;

static bool kind_is(const arc_reply *r, const char *kind)
{
    return r->elements > 0 && r->element[0]->len == strlen(kind) &&
           memcmp(r->element[0]->str, kind, r->element[0]->len) == 0;
}

static void on_channel(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)privdata;
    if (r == NULL) { /* the subscription ended without an unsubscribe */
        if (status != ARC_OK)
            failed = 1;
        return;
    }
    if (kind_is(r, "subscribe")) {
        printf("subscribed to %.*s\n", (int)r->element[1]->len, r->element[1]->str);
        /* A refused command gets no callback: end both rather than wait. */
        if (arc_command(publisher, NULL, NULL, "PUBLISH news %s", "first") != ARC_OK ||
            arc_command(publisher, NULL, NULL, "PUBLISH news %s", "second") != ARC_OK) {
            failed = 1;
            arc_disconnect(c);
            arc_disconnect(publisher);
        }
    } else if (kind_is(r, "message")) {
        printf("message on %.*s: %.*s\n", (int)r->element[1]->len, r->element[1]->str,
               (int)r->element[2]->len, r->element[2]->str);
        if (++messages == 2 && arc_command(c, NULL, NULL, "UNSUBSCRIBE news") != ARC_OK) {
            failed = 1;
            arc_disconnect(c);
            arc_disconnect(publisher);
        }
    } else if (kind_is(r, "unsubscribe")) {
        printf("unsubscribed\n");
        arc_disconnect(c);
        arc_disconnect(publisher);
    }
}

int main(int argc, char **argv)
{
    arc_options opt = {0};
    opt.host = argc > 1 ? argv[1] : "127.0.0.1";
    opt.port = argc > 2 ? atoi(argv[2]) : 6379;
    opt.resp = 3;
    opt.connect_timeout_ms = 2000;

    arc_poll_loop *loop = arc_poll_loop_new();
    arc_context *subscriber = arc_connect(&opt);
    publisher = arc_connect(&opt);
    int status = ARC_ERR_NOMEM;
    if (loop != NULL && subscriber != NULL && publisher != NULL) {
        status = arc_poll_attach(subscriber, loop);
        if (status == ARC_OK)
            status = arc_poll_attach(publisher, loop);
    }
    int rc = 1;
    if (status != ARC_OK) {
        fprintf(stderr, "setup failed: %s\n", arc_strerror(status));
    } else {
        /* A refused SUBSCRIBE gets no callback: end both here instead. */
        if (arc_command(subscriber, on_channel, NULL, "SUBSCRIBE news") != ARC_OK) {
            failed = 1;
            arc_disconnect(subscriber);
            arc_disconnect(publisher);
        }
        arc_poll_loop_run(loop);
        rc = failed || messages != 2 || arc_context_failure(subscriber) != ARC_OK ||
             arc_context_failure(publisher) != ARC_OK;
        if (rc)
            fprintf(stderr, "failed: %s %s\n", arc_context_error(subscriber),
                    arc_context_error(publisher));
    }
    /* Every way out frees what was made; all three calls ignore NULL. */
    arc_free(subscriber);
    arc_free(publisher);
    arc_poll_loop_free(loop);
    return rc;
}
