/* cluster_migrate.c (tests): live slot migration in a test_cluster, in the
 * order redis-cli's reshard uses (see the Redis Cluster specification,
 * "Live reconfiguration"). */
#define _GNU_SOURCE

#include "cluster_private.h"

#include <stdio.h>
#include <string.h>

#define END_TIMEOUT_MS 10000
#define MIGRATE_TIMEOUT_MS 5000 /* MIGRATE's own, per key */
#define KEYS_PER_ROUND 100      /* CLUSTER GETKEYSINSLOT's count */

static tcluster_migration *find(test_cluster *c, int slot)
{
    for (int k = 0; k < c->migrations; k++) {
        if (c->migration[k].slot == slot)
            return &c->migration[k];
    }
    return NULL;
}

/* SETSLOT on node i, expecting OK. */
static int setslot(test_cluster *c, int i, int slot, const char *how, int whom)
{
    arc_reply *r = test_cluster_command(c, i, "CLUSTER SETSLOT %d %s %s", slot, how, c->id[whom]);
    bool ok = tcluster__is_status(r, "OK");
    if (!ok)
        fprintf(stderr, "test_cluster: CLUSTER SETSLOT %d %s (node %d) on node %d answered %s\n",
                slot, how, whom, i, r && r->str ? r->str : "nothing");
    arc_reply_free(r);
    return ok ? 0 : -1;
}

int test_cluster_migration_begin(test_cluster *c, int slot, int to)
{
    if (slot < 0 || slot >= TCLUSTER_SLOTS || to < 0 || to >= c->n || !c->up[to]) {
        fprintf(stderr, "test_cluster: migration_begin: no slot %d or no running node %d\n",
                slot, to);
        return -1;
    }
    if (find(c, slot) || c->migrations == TCLUSTER_MAX_MIGRATIONS) {
        fprintf(stderr, "test_cluster: migration_begin: slot %d is already open, or %d "
                        "migrations are\n", slot, TCLUSTER_MAX_MIGRATIONS);
        return -1;
    }
    char what[160];
    int o = tcluster__first_up(c);
    if (o < 0 || tcluster__read_view(c, o, c->other, what, sizeof what) != 0) {
        fprintf(stderr, "test_cluster: migration_begin: %s\n", o < 0 ? "no node runs" : what);
        return -1;
    }
    int from = c->other->owner[slot];
    if (from < 0 || from == to || !c->up[from] || c->other->master_of[to] != -1) {
        fprintf(stderr, "test_cluster: migration_begin: slot %d is on node %d; node %d is "
                        "%s\n", slot, from, to,
                c->other->master_of[to] == -1 ? "a master" : "a replica");
        return -1;
    }
    /* The target first: once the source is MIGRATING it sends ASK, and the
     * target must then accept the slot's keys with ASKING. */
    if (setslot(c, to, slot, "IMPORTING", from) != 0 ||
        setslot(c, from, slot, "MIGRATING", to) != 0)
        return -1;
    c->migration[c->migrations++] = (tcluster_migration){slot, from, to};
    return 0;
}

int test_cluster_migrate_keys(test_cluster *c, int slot, int count)
{
    tcluster_migration *m = find(c, slot);
    if (!m) {
        fprintf(stderr, "test_cluster: migrate_keys: slot %d has no open migration\n", slot);
        return -1;
    }
    /* A source with tls-cluster connects to the target with TLS. */
    int port = c->tls ? test_redis_tls_port(c->node[m->to]) : test_redis_port(c->node[m->to]);
    int moved = 0;
    while (count < 0 || moved < count) {
        int want = count < 0 || count - moved > KEYS_PER_ROUND ? KEYS_PER_ROUND : count - moved;
        arc_reply *keys = test_cluster_command(c, m->from, "CLUSTER GETKEYSINSLOT %d %d", slot,
                                               want);
        if (!keys || keys->type != ARC_REPLY_ARRAY) {
            fprintf(stderr, "test_cluster: CLUSTER GETKEYSINSLOT %d on node %d answered %s\n",
                    slot, m->from, keys && keys->str ? keys->str : "nothing");
            arc_reply_free(keys);
            return -1;
        }
        if (keys->elements == 0) {
            arc_reply_free(keys);
            break;
        }
        for (size_t k = 0; k < keys->elements; k++) {
            const arc_reply *key = keys->element[k];
            arc_reply *r = test_cluster_command(c, m->from, "MIGRATE 127.0.0.1 %d %b 0 %d",
                                                port, key->str, key->len, MIGRATE_TIMEOUT_MS);
            /* NOKEY: the key expired or went between the two commands. */
            bool ok = tcluster__is_status(r, "OK") || tcluster__is_status(r, "NOKEY");
            if (!ok) {
                fprintf(stderr, "test_cluster: MIGRATE of %.*s (slot %d, node %d to %d) "
                                "answered %s\n", (int)key->len, key->str, slot, m->from,
                        m->to, r && r->str ? r->str : "nothing");
                arc_reply_free(r);
                arc_reply_free(keys);
                return -1;
            }
            moved += tcluster__is_status(r, "OK");
            arc_reply_free(r);
        }
        arc_reply_free(keys);
    }
    return moved;
}

int test_cluster_migration_end(test_cluster *c, int slot)
{
    tcluster_migration *m = find(c, slot);
    if (!m) {
        fprintf(stderr, "test_cluster: migration_end: slot %d has no open migration\n", slot);
        return -1;
    }
    if (test_cluster_migrate_keys(c, slot, -1) < 0)
        return -1;
    int from = m->from, to = m->to;
    *m = c->migration[--c->migrations]; /* closed, whatever follows */

    /* The target first, so that it never answers for the slot with a MOVED
     * back to the source; then the source, which stops sending ASK; then
     * the other masters, which would otherwise learn it from the target's
     * next heartbeat. */
    if (setslot(c, to, slot, "NODE", to) != 0 || setslot(c, from, slot, "NODE", to) != 0)
        return -1;
    char what[160];
    if (tcluster__read_view(c, to, c->other, what, sizeof what) != 0) {
        fprintf(stderr, "test_cluster: migration_end: %s\n", what);
        return -1;
    }
    for (int i = 0; i < c->n; i++) {
        if (i != to && i != from && c->up[i] && c->other->master_of[i] == -1 &&
            setslot(c, i, slot, "NODE", to) != 0)
            return -1;
    }
    return tcluster__wait(c, END_TIMEOUT_MS, slot, to, "migration_end");
}

int test_cluster_move_slot(test_cluster *c, int slot, int to)
{
    if (test_cluster_migration_begin(c, slot, to) != 0)
        return -1;
    return test_cluster_migration_end(c, slot);
}
