/* itest_cluster.c (tests): what the cluster scenario files share
 * (itest_cluster.h). */
#define _GNU_SOURCE
#include "itest_cluster.h"

#include "cluster.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void icl_rec_cb(arc_cluster *cl, arc_reply *r, int status, void *privdata)
{
    icl_rec *k = privdata;
    k->calls++;
    k->status = status;
    arc_reply_free(k->reply);
    k->reply = r ? arc_reply_dup(r, NULL) : NULL;
    snprintf(k->error, sizeof k->error, "%s", arc_cluster_error(cl));
}

void icl_rec_clear(icl_rec *k)
{
    arc_reply_free(k->reply);
    memset(k, 0, sizeof *k);
}

void icl_on_event(arc_cluster *cl, int event, arc_member *node, void *data)
{
    icl_events *e = data;
    switch (event) {
    case ARC_CLUSTER_TOPOLOGY: e->topology++; break;
    case ARC_CLUSTER_NODE_ADDED:
        e->added++;
        if (e->watch_port != 0 && icl_member_port(node) == e->watch_port)
            e->watch_added++;
        break;
    case ARC_CLUSTER_NODE_REMOVED:
        e->removed++;
        /* The member is still in the table during the call: its row says
         * why its connection ended, which the cluster's messages only
         * quote. */
        if (arc_member_failure(node) != ARC_OK) {
            e->removed_failure = arc_member_failure(node);
            snprintf(e->removed_error, sizeof e->removed_error, "%s", arc_member_error(node));
        }
        break;
    case ARC_CLUSTER_DISCOVERY_FAILED:
        e->discovery_failed++;
        snprintf(e->last_error, sizeof e->last_error, "%s", arc_cluster_error(cl));
        break;
    default: break;
    }
}

int icl_member_port(const arc_member *m)
{
    const char *colon = m ? strrchr(arc_member_name(m), ':') : NULL;
    return colon ? atoi(colon + 1) : -1;
}

arc_cluster *icl_open(itest *t, arc_cluster_options o, icl_events *ev)
{
    if (ev != NULL) {
        o.on_event = icl_on_event;
        o.data = ev;
    }
    arc_cluster *cl = arc_cluster_new(&o);
    assert_non_null(cl);
    assert_int_equal(itest_cluster_attach(t, cl), ARC_OK);
    return cl;
}

void icl_do(itest *t, arc_cluster *cl, icl_rec *k, const char *fmt, ...)
{
    icl_rec_clear(k);
    va_list ap;
    va_start(ap, fmt);
    int rc = arc_cluster_vcommand(cl, icl_rec_cb, k, fmt, ap);
    va_end(ap);
    assert_int_equal(rc, ARC_OK);
    ITEST_RUN_UNTIL(t, 10000, k->calls == 1);
}

int icl_owner_of(itest *t, const char *key)
{
    int n = test_cluster_master_for_slot(t->cluster, (int)arc_cluster_key_slot(key, strlen(key)));
    assert_true(n >= 0);
    return n;
}

int icl_other_master(itest *t, int except)
{
    for (int i = 0; i < test_cluster_size(t->cluster); i++) {
        if (i == except || !test_cluster_is_up(t->cluster, i))
            continue;
        arc_reply *r = test_cluster_command(t->cluster, i, "ROLE");
        bool master = r && r->type == ARC_REPLY_ARRAY && r->elements > 0 &&
                      r->element[0]->type == ARC_REPLY_STRING &&
                      strcmp(r->element[0]->str, "master") == 0;
        arc_reply_free(r);
        if (master)
            return i;
    }
    fail_msg("no other master than node %d", except);
    return -1;
}

void icl_flush_all(itest *t)
{
    for (int i = 0; i < test_cluster_size(t->cluster); i++) {
        if (!test_cluster_is_up(t->cluster, i))
            continue;
        arc_reply_free(test_cluster_command(t->cluster, i, "FLUSHALL"));
    }
}

long long icl_masters_dbsize(itest *t, arc_cluster *cl, size_t masters)
{
    arc_fanout_options fo;
    memset(&fo, 0, sizeof fo);
    arc_fanout *f = NULL;
    fo.keep_replies = true;
    fo.handle = &f;
    assert_int_equal(arc_cluster_fanout(cl, ARC_CLUSTER_MASTERS, &fo, "DBSIZE"), ARC_OK);
    assert_non_null(f);
    ITEST_RUN_UNTIL(t, 5000, arc_fanout_pending(f) == 0);
    assert_int_equal(arc_fanout_size(f), masters);
    long long keys = 0;
    for (size_t i = 0; i < arc_fanout_size(f); i++) {
        const arc_reply *r = arc_fanout_reply(f, i);
        if (r == NULL || r->type != ARC_REPLY_INTEGER)
            fail_msg("DBSIZE on master %zu: %s", i,
                     r ? arc_reply_type_name(r->type) : arc_status_name(arc_fanout_status(f, i)));
        keys += r->integer;
    }
    assert_int_equal(arc_fanout_free(f), ARC_OK);
    return keys;
}
