/* example-sentinel: a context that finds its master through Redis Sentinel.
 * It asks the sentinel where MASTER is, connects there, writes and reads a
 * key, and says which server answered. With the reconnect policy, a
 * failover (announced by the sentinel, or met as -READONLY or a lost link)
 * moves the same context to the new master.
 *   usage: example-sentinel [SENTINEL_HOST [SENTINEL_PORT [MASTER]]] */
#include <arc/adapters/poll.h>

#include <stdio.h>
#include <stdlib.h>

static int failed;

static void on_get(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)privdata;
    if (r == NULL || r->type != ARC_REPLY_STRING) {
        fprintf(stderr, "GET failed: %s\n", r ? arc_reply_type_name(r->type) : arc_strerror(status));
        failed = 1;
    } else {
        const arc_attempt *a = arc_context_attempt(c, 0);
        printf("GET -> %.*s, from the master at %s\n", (int)r->len, r->str,
               a != NULL ? a->address : "?");
    }
    arc_disconnect(c);
}

static void on_connect(arc_context *c, int status, void *data)
{
    (void)data;
    if (status != ARC_OK) {
        fprintf(stderr, "connect failed: %s (%s)\n", arc_strerror(status), arc_context_error(c));
        failed = 1;
    }
}

int main(int argc, char **argv)
{
    arc_sentinel_addr sentinels[1] = {{argc > 1 ? argv[1] : "127.0.0.1",
                                       argc > 2 ? atoi(argv[2]) : 26379}};
    arc_sentinel sentinel = {0};
    sentinel.master_name = argc > 3 ? argv[3] : "mymaster";
    sentinel.addrs = sentinels; /* more than one: asked in turn */
    sentinel.naddrs = 1;

    arc_reconnect rc = {0};
    rc.initial_delay_ms = 50;
    rc.max_delay_ms = 1000;
    rc.max_attempts = 10;

    arc_options opt = {0};
    opt.sentinel = &sentinel; /* instead of host and port; copied */
    opt.reconnect = &rc;
    opt.connect_timeout_ms = 2000;
    opt.health_check_ms = 1000;
    opt.health_timeout_ms = 2000;
    opt.on_connect = on_connect;

    arc_poll_loop *loop = arc_poll_loop_new();
    arc_context *c = arc_connect(&opt);
    int status = loop == NULL || c == NULL ? ARC_ERR_NOMEM : arc_poll_attach(c, loop);
    if (status != ARC_OK) {
        fprintf(stderr, "setup failed: %s\n", arc_strerror(status));
        failed = 1;
    } else if (arc_command(c, NULL, NULL, "SET arc:sentinel %s", "found") != ARC_OK ||
               arc_command(c, on_get, NULL, "GET arc:sentinel") != ARC_OK) {
        failed = 1;
    } else {
        arc_poll_loop_run(loop);
    }
    arc_free(c);
    arc_poll_loop_free(loop);
    return failed ? 1 : 0;
}
