/* example-cluster-pubsub: pub/sub on a Redis Cluster. Subscribes to a
 * shard channel (held on its slot's master) and a pattern (held on one
 * node; the cluster forwards PUBLISH everywhere), publishes to each until
 * both have heard three messages, then unsubscribes. The cluster moves the
 * subscriptions by itself when nodes fail or slots migrate.
 *   usage: example-cluster-pubsub [HOST [PORT]]   (one node of the cluster) */
#include <arc/adapters/poll.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int heard, ended, failed, answered;

static void on_message(arc_cluster *cl, arc_reply *r, int status, void *privdata)
{
    const char *what = privdata;
    if (r == NULL) { /* the last call: unsubscribed, refused or freed */
        ended++;
        if (status != ARC_OK && failed++ == 0)
            fprintf(stderr, "%s ended: %s %s\n", what, arc_status_name(status),
                    arc_cluster_error(cl));
        return;
    }
    if (r->type == ARC_REPLY_ERROR) {
        fprintf(stderr, "%s refused: %s\n", what, r->str);
        failed++;
    } else if (strstr(r->element[0]->str, "message") != NULL) { /* smessage, pmessage */
        printf("%s got \"%s\"\n", what, r->element[r->elements - 1]->str);
        heard++;
    } else { /* a confirmation: again after each move */
        printf("%s: %s on %s\n", what, r->element[0]->str, arc_cluster_error(cl)[0] ?
               arc_cluster_error(cl) : "its node");
    }
}

static void on_published(arc_cluster *cl, arc_reply *r, int status, void *privdata)
{
    (void)privdata;
    answered++;
    if (r == NULL || r->type == ARC_REPLY_ERROR) {
        fprintf(stderr, "publish: %s %s\n", r ? r->str : arc_status_name(status),
                arc_cluster_error(cl));
        failed++;
    }
}

int main(int argc, char **argv)
{
    arc_cluster_seed seed = {argc > 1 ? argv[1] : "127.0.0.1", argc > 2 ? atoi(argv[2]) : 7000};
    arc_cluster_options o = {0};
    o.seeds = &seed;
    o.nseeds = 1;
    arc_cluster *cl = arc_cluster_new(&o);
    arc_poll_loop *loop = arc_poll_loop_new();
    if (cl == NULL || loop == NULL || arc_cluster_attach(cl, arc_poll_attach_loop, loop) != ARC_OK)
        return 1;
    static const char shard[] = "orders{eu}", pattern[] = "alerts.*";
    if (arc_cluster_subscribe(cl, ARC_CLUSTER_SHARD, shard, strlen(shard), on_message,
                              "shard channel") != ARC_OK ||
        arc_cluster_subscribe(cl, ARC_CLUSTER_PATTERN, pattern, strlen(pattern), on_message,
                              "pattern") != ARC_OK)
        return 1;
    /* Messages sent before a subscription is confirmed are lost (pub/sub
     * keeps none): publish, once both are confirmed, until six are heard. */
    for (int i = 0; heard < 6 && failed == 0 && i < 200; i++) {
        if (arc_cluster_subscription_node(cl, ARC_CLUSTER_SHARD, shard, strlen(shard)) &&
            arc_cluster_subscription_node(cl, ARC_CLUSTER_PATTERN, pattern, strlen(pattern))) {
            int want = answered + 2;
            arc_cluster_command(cl, on_published, NULL, "SPUBLISH %s order-%d", shard, i);
            arc_cluster_command(cl, on_published, NULL, "PUBLISH alerts.disk full-%d", i);
            while (answered < want)
                arc_poll_loop_run_once(loop, 100);
        }
        arc_poll_loop_run_once(loop, 20);
    }
    arc_cluster_unsubscribe(cl, ARC_CLUSTER_SHARD, shard, strlen(shard));
    arc_cluster_unsubscribe(cl, ARC_CLUSTER_PATTERN, pattern, strlen(pattern));
    while (ended < 2)
        arc_poll_loop_run_once(loop, 100);
    printf("%d messages heard, %d failures\n", heard, failed);
    arc_cluster_free(cl);
    arc_poll_loop_free(loop);
    return heard >= 6 && failed == 0 ? 0 : 1;
}
