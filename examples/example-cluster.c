/* example-cluster: a Redis Cluster through one seed. Writes 100 keys (the
 * client sends each to the master of its slot), reads them back, then asks
 * every master for its key count with one fan-out and prints the nodes.
 *   usage: example-cluster [HOST [PORT]]   (one node of the cluster) */
#include <arc/adapters/poll.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYS 100

static int replies, failed, done;

static void on_reply(arc_cluster *cl, arc_reply *r, int status, void *privdata)
{
    (void)privdata;
    replies++;
    if (r == NULL || r->type == ARC_REPLY_ERROR) {
        if (failed++ == 0) /* the first says why; the rest would repeat it */
            fprintf(stderr, "%s: %s\n", r ? r->str : arc_status_name(status),
                    arc_cluster_error(cl));
    }
}

static void on_count(arc_group *g, arc_member *m, arc_reply *r, int status, void *privdata)
{
    (void)g;
    (void)privdata;
    if (r != NULL && r->type == ARC_REPLY_INTEGER)
        printf("master %-20s %lld keys\n", arc_member_name(m), r->integer);
    else
        printf("master %-20s %s\n", arc_member_name(m), arc_status_name(status));
}

static void on_counted(arc_group *g, arc_fanout *f, void *privdata)
{
    (void)g;
    (void)privdata;
    failed += (int)arc_fanout_failed(f);
    done = 1;
}

static void run_until(arc_poll_loop *loop, int *counter, int want)
{
    while (*counter < want)
        arc_poll_loop_run_once(loop, 100);
}

int main(int argc, char **argv)
{
    arc_cluster_seed seed = {argc > 1 ? argv[1] : "127.0.0.1", argc > 2 ? atoi(argv[2]) : 7000};
    arc_options node = {0};
    node.connect_timeout_ms = 2000; /* every node's connection */
    arc_cluster_options o = {0};
    o.seeds = &seed;
    o.nseeds = 1;
    o.node_options = &node;
    arc_cluster *cl = arc_cluster_new(&o);
    arc_poll_loop *loop = arc_poll_loop_new();
    if (cl == NULL || loop == NULL || arc_cluster_attach(cl, arc_poll_attach_loop, loop) != ARC_OK)
        return 1;
    char key[32];
    for (int i = 0; i < KEYS; i++) { /* queued until the slot map is known */
        snprintf(key, sizeof key, "example:%d", i);
        arc_cluster_command(cl, on_reply, NULL, "SET %s %d", key, i);
    }
    run_until(loop, &replies, KEYS);
    for (int i = 0; i < KEYS && failed == 0; i++) {
        snprintf(key, sizeof key, "example:%d", i);
        arc_cluster_command(cl, on_reply, NULL, "GET %s", key);
    }
    run_until(loop, &replies, failed == 0 ? 2 * KEYS : KEYS);
    if (failed == 0 && arc_cluster_ready(cl)) {
        arc_fanout_options fo = {0};
        fo.on_reply = on_count;
        fo.on_done = on_counted;
        if (arc_cluster_fanout(cl, ARC_CLUSTER_MASTERS, &fo, "DBSIZE") == ARC_OK)
            run_until(loop, &done, 1);
        else
            failed++;
    }
    printf("%d commands, %d failed; slot of \"example:0\": %u\n", replies, failed,
           arc_cluster_key_slot("example:0", 9));
    arc_cluster_free(cl);
    arc_poll_loop_free(loop);
    return failed == 0 && done ? 0 : 1;
}
