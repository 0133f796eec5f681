/* cluster_view.c (tests): what a test_cluster's nodes say of it (CLUSTER
 * NODES read into a view, CLUSTER INFO), and whether it is whole. */
#define _GNU_SOURCE

#include "cluster_private.h"
#include "spawn_helper.h"

#include <stdio.h>
#include <string.h>

#define POLL_MS 20

bool tcluster__is_status(const arc_reply *r, const char *text)
{
    return r && r->type == ARC_REPLY_STATUS && strcmp(r->str, text) == 0;
}

void tcluster__print_logs(const test_cluster *c)
{
    for (int i = 0; i < c->n; i++)
        test_redis_print_log_tail(c->node[i]);
}

/* --- CLUSTER NODES, read into a view ---------------------------------- */

/* The next space-separated word of [*p, end): its start in *word and its
 * length; 0 at the end. */
static size_t next_word(const char **p, const char *end, const char **word)
{
    while (*p < end && **p == ' ')
        (*p)++;
    *word = *p;
    while (*p < end && **p != ' ')
        (*p)++;
    return (size_t)(*p - *word);
}

/* A decimal number of at most 5 digits in [p, p + len); -1 otherwise. */
static long parse_small(const char *p, size_t len)
{
    if (len == 0 || len > 5)
        return -1;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static int index_of_id(const test_cluster *c, const char *id, size_t len)
{
    for (int i = 0; len == TCLUSTER_ID_LEN && i < c->n; i++) {
        if (memcmp(c->id[i], id, len) == 0)
            return i;
    }
    return -1;
}

/* Whether the comma-separated `flags` hold `flag` exactly ("fail" is not
 * "fail?"). */
static bool has_flag(const char *flags, size_t len, const char *flag)
{
    size_t fl = strlen(flag);
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && flags[j] != ',')
            j++;
        if (j - i == fl && memcmp(flags + i, flag, fl) == 0)
            return true;
        i = j + 1;
    }
    return false;
}

/* Reads one CLUSTER NODES line ("<id> <addr> <flags> <master> <ping>
 * <pong> <epoch> <link> <slot>...") into v. 0, or -1 with `what` set. */
static int read_line(const test_cluster *c, const char *p, const char *end, tcluster_view *v,
                     char *what, size_t cap)
{
    const char *w[8];
    size_t len[8];
    for (int k = 0; k < 8; k++) {
        len[k] = next_word(&p, end, &w[k]);
        if (len[k] == 0) {
            snprintf(what, cap, "a CLUSTER NODES line with %d words", k);
            return -1;
        }
    }
    int j = index_of_id(c, w[0], len[0]);
    if (j < 0) {
        snprintf(what, cap, "CLUSTER NODES lists a node not ours: %.*s", (int)len[0], w[0]);
        return -1;
    }
    v->known[j] = true;
    v->failed[j] = has_flag(w[2], len[2], "fail");
    if (has_flag(w[2], len[2], "master")) {
        v->master_of[j] = -1;
    } else if ((v->master_of[j] = index_of_id(c, w[3], len[3])) < 0) {
        snprintf(what, cap, "node %d follows no node of ours (%.*s %.*s)", j, (int)len[2], w[2],
                 (int)len[3], w[3]);
        return -1;
    }
    const char *s;
    size_t sl;
    while ((sl = next_word(&p, end, &s)) > 0) {
        if (s[0] == '[')
            continue; /* "[slot->-id]", "[slot-<-id]": a migration, see migrations */
        const char *dash = memchr(s, '-', sl);
        long lo = parse_small(s, dash ? (size_t)(dash - s) : sl);
        long hi = dash ? parse_small(dash + 1, sl - (size_t)(dash - s) - 1) : lo;
        if (lo < 0 || hi < lo || hi >= TCLUSTER_SLOTS) {
            snprintf(what, cap, "a bad slot range %.*s", (int)sl, s);
            return -1;
        }
        for (long k = lo; k <= hi; k++)
            v->owner[k] = (int16_t)j;
    }
    return 0;
}

int tcluster__read_view(test_cluster *c, int o, tcluster_view *v, char *what, size_t cap)
{
    for (int j = 0; j < TCLUSTER_MAX_NODES; j++) {
        v->known[j] = v->failed[j] = false;
        v->master_of[j] = -1;
    }
    for (int k = 0; k < TCLUSTER_SLOTS; k++)
        v->owner[k] = -1;
    arc_reply *r = test_redis_command(c->node[o], "CLUSTER NODES");
    if (!r || r->type != ARC_REPLY_STRING) {
        snprintf(what, cap, "node %d: no CLUSTER NODES (%s)", o, r && r->str ? r->str : "no reply");
        arc_reply_free(r);
        return -1;
    }
    int rc = 0;
    const char *p = r->str, *end = r->str + r->len;
    while (rc == 0 && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        if (line_end > p)
            rc = read_line(c, p, line_end, v, what, cap);
        p = nl ? nl + 1 : end;
    }
    arc_reply_free(r);
    return rc;
}

int tcluster__first_up(const test_cluster *c)
{
    for (int i = 0; i < c->n; i++) {
        if (c->up[i])
            return i;
    }
    return -1;
}

/* --- the cluster's health --------------------------------------------- */

bool tcluster__info_has(test_cluster *c, int i, const char *command, const char *line,
                        const char *line2)
{
    arc_reply *r = test_redis_command(c->node[i], command);
    bool has = r && r->type == ARC_REPLY_STRING && strstr(r->str, line) &&
               (!line2 || strstr(r->str, line2));
    arc_reply_free(r);
    return has;
}

/* What node o's view lacks for the cluster to be whole, or NULL. */
static const char *view_flaw(const test_cluster *c, const tcluster_view *v, char *what,
                             size_t cap)
{
    for (int j = 0; j < c->n; j++) {
        if (!v->known[j])
            snprintf(what, cap, "node %d unknown", j);
        else if (c->up[j] && v->failed[j])
            snprintf(what, cap, "node %d flagged fail", j);
        else
            continue;
        return what;
    }
    for (int k = 0; k < TCLUSTER_SLOTS; k++) {
        int m = v->owner[k];
        if (m < 0)
            snprintf(what, cap, "slot %d unassigned", k);
        else if (!c->up[m])
            snprintf(what, cap, "slot %d on node %d, which is down", k, m);
        else if (v->master_of[m] != -1)
            snprintf(what, cap, "slot %d on node %d, a replica", k, m);
        else
            continue;
        return what;
    }
    return NULL;
}

bool tcluster__whole(test_cluster *c, char *what, size_t cap)
{
    char line[64];
    snprintf(line, sizeof line, "cluster_known_nodes:%d\r", c->n);
    int first = tcluster__first_up(c);
    if (first < 0) {
        snprintf(what, cap, "no node is running");
        return false;
    }
    for (int o = first; o < c->n; o++) {
        if (!c->up[o])
            continue;
        if (!tcluster__info_has(c, o, "CLUSTER INFO", "cluster_state:ok\r", line)) {
            snprintf(what, cap, "node %d: cluster_state not ok, or not all %d nodes known", o,
                     c->n);
            return false;
        }
        tcluster_view *v = o == first ? c->ref : c->other;
        char flaw[96];
        if (tcluster__read_view(c, o, v, what, cap) != 0)
            return false;
        if (view_flaw(c, v, flaw, sizeof flaw)) {
            snprintf(what, cap, "node %d sees %s", o, flaw);
            return false;
        }
        /* A replica out of sync would refuse a graceful failover, and one
         * whose data is old enough a takeover. */
        if (v->master_of[o] >= 0 &&
            !tcluster__info_has(c, o, "INFO replication", "master_link_status:up\r", NULL)) {
            snprintf(what, cap, "node %d: its link to its master is not up", o);
            return false;
        }
        if (o == first)
            continue;
        if (memcmp(v->owner, c->ref->owner, sizeof v->owner) != 0) {
            snprintf(what, cap, "nodes %d and %d disagree on the slots", first, o);
            return false;
        }
        for (int j = 0; j < c->n; j++) {
            if (c->up[j] && v->master_of[j] != c->ref->master_of[j]) {
                snprintf(what, cap, "nodes %d and %d disagree on node %d's master (%d, %d)",
                         first, o, j, c->ref->master_of[j], v->master_of[j]);
                return false;
            }
        }
    }
    return true;
}

int tcluster__wait(test_cluster *c, long ms, int slot, int owner, const char *doing)
{
    long long deadline = spawn_now_ms() + ms;
    char what[256];
    for (;;) {
        if (tcluster__whole(c, what, sizeof what)) {
            if (slot < 0 || c->ref->owner[slot] == owner)
                return 0;
            snprintf(what, sizeof what, "slot %d is still on node %d", slot, c->ref->owner[slot]);
        }
        if (spawn_now_ms() >= deadline)
            break;
        spawn_sleep_ms(POLL_MS);
    }
    fprintf(stderr, "test_cluster: %s: not done within %ld ms: %s\n", doing, ms, what);
    tcluster__print_logs(c);
    return -1;
}

int test_cluster_wait_ok(test_cluster *c, long ms)
{
    return tcluster__wait(c, ms, -1, -1, "wait_ok");
}
