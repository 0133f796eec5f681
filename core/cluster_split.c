/* cluster_split.c: a multi-key command whose keys span slots (MGET, MSET,
 * DEL, UNLINK, EXISTS, TOUCH), split into one command per slot when the
 * caller asks for it (arc_cluster_options.split_multikey), and the parts'
 * replies put back together: MGET's values in the order of its keys, MSET's
 * +OK, the others' counts summed. The caller's callback runs once, when the
 * last part is in: with the whole reply, or with the first failure (a part
 * with no reply, or a part's error reply, which becomes the reply). */
#include "cluster_internal.h"

#include "alloc.h"
#include "cmdview.h"
#include "pubsub.h"
#include "slot.h"

#include <arc/buffer.h>
#include <arc/format.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum split_kind { SPLIT_MGET, SPLIT_MSET, SPLIT_COUNT } split_kind;

typedef struct split {
    arc_cluster *cl;
    arc_cluster_reply_fn *fn;
    void *privdata;
    split_kind kind;
    size_t nkeys;
    size_t pending;    /* parts not yet in */
    int status;        /* the first part's failure; ARC_OK while none */
    char reason[192];
    arc_reply *error;  /* the first part's error reply (a copy) */
    long long sum;
    arc_reply **values; /* MGET: each key's value (copies), in key order */
} split;

typedef struct part {
    split *s;
    size_t n;
    size_t idx[]; /* the part's keys, as indices into the whole command */
} part;

static const struct {
    const char *name;
    split_kind kind;
    size_t step; /* arguments per key */
} splittable[] = {
    {"mget", SPLIT_MGET, 1},    {"mset", SPLIT_MSET, 2},  {"del", SPLIT_COUNT, 1},
    {"unlink", SPLIT_COUNT, 1}, {"exists", SPLIT_COUNT, 1}, {"touch", SPLIT_COUNT, 1},
};

bool arc__cluster_splittable(const char *cmd, size_t len)
{
    arc_cmdview it;
    const char *name;
    size_t n;
    if (!arc__cmdview_begin(&it, cmd, len) || !arc__cmdview_next(&it, &name, &n))
        return false;
    for (size_t i = 0; i < sizeof splittable / sizeof splittable[0]; i++)
        if (n == strlen(splittable[i].name) && arc__ascii_ieq(name, n, splittable[i].name))
            return true;
    return false;
}

static void split_free(split *s)
{
    const arc_allocator *a = arc__cluster_allocator(s->cl);
    arc_reply_free(s->error);
    for (size_t i = 0; s->values != NULL && i < s->nkeys; i++)
        arc_reply_free(s->values[i]);
    arc_mem_free(a, s->values);
    arc_mem_free(a, s);
}

/* The last part is in: one reply for the whole, or the first failure. */
static void complete(split *s)
{
    arc_reply whole;
    memset(&whole, 0, sizeof whole);
    if (s->status != ARC_OK) {
        arc__cluster_call(s->cl, s->fn, NULL, s->status, s->privdata, s->reason);
    } else if (s->error != NULL) {
        arc__cluster_call(s->cl, s->fn, s->error, ARC_OK, s->privdata, s->reason);
    } else if (s->kind == SPLIT_MGET) {
        whole.type = ARC_REPLY_ARRAY;
        whole.elements = s->nkeys;
        whole.element = s->values;
        arc__cluster_call(s->cl, s->fn, &whole, ARC_OK, s->privdata, NULL);
    } else if (s->kind == SPLIT_MSET) {
        static char ok[] = "OK";
        whole.type = ARC_REPLY_STATUS;
        whole.str = ok;
        whole.len = 2;
        arc__cluster_call(s->cl, s->fn, &whole, ARC_OK, s->privdata, NULL);
    } else {
        whole.type = ARC_REPLY_INTEGER;
        whole.integer = s->sum;
        arc__cluster_call(s->cl, s->fn, &whole, ARC_OK, s->privdata, NULL);
    }
    split_free(s);
}

static void fail_part(split *s, int status, const char *why)
{
    if (s->status == ARC_OK && s->error == NULL) {
        s->status = status;
        snprintf(s->reason, sizeof s->reason, "%s", why ? why : "");
    }
}

static void on_part(arc_cluster *cl, arc_reply *r, int status, void *privdata)
{
    part *p = privdata;
    split *s = p->s;
    const arc_allocator *a = arc__cluster_allocator(cl);
    if (r == NULL) {
        fail_part(s, status, arc_cluster_error(cl));
    } else if (r->type == ARC_REPLY_ERROR) {
        if (s->status == ARC_OK && s->error == NULL) {
            s->error = arc_reply_dup(r, a);
            snprintf(s->reason, sizeof s->reason, "%s", arc_cluster_error(cl));
            if (s->error == NULL)
                fail_part(s, ARC_ERR_NOMEM, "out of memory keeping a part's error");
        }
    } else if (s->kind == SPLIT_MGET) {
        if (r->type != ARC_REPLY_ARRAY || r->elements != p->n) {
            fail_part(s, ARC_ERR_PROTOCOL, "a part of MGET answered with the wrong shape");
        } else {
            for (size_t i = 0; i < p->n; i++)
                if ((s->values[p->idx[i]] = arc_reply_dup(r->element[i], a)) == NULL)
                    fail_part(s, ARC_ERR_NOMEM, "out of memory keeping MGET's values");
        }
    } else if (s->kind == SPLIT_COUNT) {
        if (r->type == ARC_REPLY_INTEGER)
            s->sum += r->integer;
        else
            fail_part(s, ARC_ERR_PROTOCOL, "a part answered with no count");
    }
    arc_mem_free(a, p);
    if (--s->pending == 0)
        complete(s);
}

/* (slot, key index) pairs, sorted by slot then index: the parts, each in
 * the order of its keys. */
typedef struct slot_key {
    unsigned slot;
    size_t idx;
} slot_key;

static int by_slot(const void *x, const void *y)
{
    const slot_key *a = x, *b = y;
    if (a->slot != b->slot)
        return a->slot < b->slot ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx ? 1 : 0;
}

int arc__cluster_split(arc_cluster *cl, const arc_cluster_command_options *o,
                       arc_cluster_reply_fn *fn, void *privdata, const char *cmd, size_t len)
{
    const arc_allocator *a = arc__cluster_allocator(cl);
    arc_cmdview it;
    const char *name;
    size_t namelen;
    if (!arc__cmdview_begin(&it, cmd, len))
        return ARC_ERR_INVALID;
    size_t argc = it.left;
    if (!arc__cmdview_next(&it, &name, &namelen))
        return ARC_ERR_INVALID;
    size_t k = 0;
    while (k < sizeof splittable / sizeof splittable[0] &&
           !(namelen == strlen(splittable[k].name) &&
             arc__ascii_ieq(name, namelen, splittable[k].name)))
        k++;
    size_t step = splittable[k].step;
    if ((argc - 1) % step != 0 || argc < 2)
        return ARC_ERR_CROSSSLOT; /* not a form the split knows */

    /* Every argument's place, then the keys by slot. */
    size_t nargs = argc - 1, nkeys = nargs / step;
    const char **argv = arc_mem_alloc(a, (argc + 1) * sizeof *argv);
    size_t *argvlen = arc_mem_alloc(a, (argc + 1) * sizeof *argvlen);
    slot_key *order = arc_mem_alloc(a, nkeys * sizeof *order);
    split *s = arc_mem_alloc(a, sizeof *s);
    if (s != NULL)
        memset(s, 0, sizeof *s);
    int rc = argv && argvlen && order && s ? ARC_OK : ARC_ERR_NOMEM;
    const char **args = argv ? argv + 1 : NULL;
    size_t *lens = argvlen ? argvlen + 1 : NULL;
    for (size_t i = 0; rc == ARC_OK && i < nargs; i++)
        if (!arc__cmdview_next(&it, &args[i], &lens[i]))
            rc = ARC_ERR_INVALID;
    if (rc == ARC_OK) {
        s->cl = cl;
        s->fn = fn;
        s->privdata = privdata;
        s->kind = splittable[k].kind;
        s->nkeys = nkeys;
        if (s->kind == SPLIT_MGET &&
            (s->values = arc_mem_alloc(a, nkeys * sizeof *s->values)) == NULL)
            rc = ARC_ERR_NOMEM;
        else if (s->values != NULL)
            memset(s->values, 0, nkeys * sizeof *s->values);
    }
    if (rc != ARC_OK) {
        arc_mem_free(a, argv);
        arc_mem_free(a, argvlen);
        arc_mem_free(a, order);
        if (s != NULL) {
            s->cl = cl;
            split_free(s);
        }
        return rc;
    }
    for (size_t i = 0; i < nkeys; i++)
        order[i] = (slot_key){arc__key_slot(args[i * step], lens[i * step]), i};
    qsort(order, nkeys, sizeof *order, by_slot);

    /* One command per slot; the first refused means nothing was sent, a
     * later one settles its part as failed (the others are on their way). */
    argv[0] = name;
    argvlen[0] = namelen;
    arc_buffer *b = arc_buffer_new(ARC_DEFAULT_MAX_OUTPUT, a);
    size_t sent = 0;
    for (size_t from = 0; from < nkeys; ) {
        size_t to = from;
        while (to < nkeys && order[to].slot == order[from].slot)
            to++;
        size_t n = to - from;
        part *p = arc_mem_alloc(a, sizeof *p + n * sizeof p->idx[0]);
        const char **pv = arc_mem_alloc(a, (1 + n * step) * sizeof *pv);
        size_t *pl = arc_mem_alloc(a, (1 + n * step) * sizeof *pl);
        int prc = b && p && pv && pl ? ARC_OK : ARC_ERR_NOMEM;
        if (prc == ARC_OK) {
            p->s = s;
            p->n = n;
            pv[0] = name;
            pl[0] = namelen;
            for (size_t j = 0; j < n; j++) {
                size_t key = order[from + j].idx;
                p->idx[j] = key;
                for (size_t q = 0; q < step; q++) {
                    pv[1 + j * step + q] = args[key * step + q];
                    pl[1 + j * step + q] = lens[key * step + q];
                }
            }
            arc_buffer_clear(b);
            prc = arc_format_argv(b, (int)(1 + n * step), pv, pl);
        }
        if (prc == ARC_OK) {
            s->pending++; /* before the submit: a part never completes inside it */
            prc = arc__cluster_submit(cl, o, on_part, p, arc_buffer_data(b), arc_buffer_len(b));
            if (prc != ARC_OK)
                s->pending--;
        }
        arc_mem_free(a, pv);
        arc_mem_free(a, pl);
        if (prc != ARC_OK) {
            arc_mem_free(a, p);
            if (sent == 0) {
                arc_buffer_free(b);
                arc_mem_free(a, argv);
                arc_mem_free(a, argvlen);
                arc_mem_free(a, order);
                split_free(s);
                return prc;
            }
            fail_part(s, prc, "a part could not be queued");
        } else {
            sent++;
        }
        from = to;
    }
    arc_buffer_free(b);
    arc_mem_free(a, argv);
    arc_mem_free(a, argvlen);
    arc_mem_free(a, order);
    return ARC_OK;
}
