/* itest_load.c (tests): a load of INCRs on one counter (and, optionally,
 * big SETs) kept at a depth while a scenario breaks the link under it, and
 * the checks every such scenario makes of the callbacks and the counter. */
#include "itest.h"

#include <stdio.h>
#include <stdlib.h>

static void on_load(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)c;
    itest_load_slot *s = privdata;
    itest_load *l = s->l;
    /* Callbacks come in the order the commands were issued. */
    if (s - l->slot != l->callbacks)
        l->out_of_order++;
    l->callbacks++;
    s->calls++;
    s->status = status;
    s->link = *l->links;
    if (status == ARC_OK) {
        bool right = s->is_set ? r != NULL && r->type == ARC_REPLY_STATUS
                               : r != NULL && r->type == ARC_REPLY_INTEGER;
        if (!right) {
            s->status = -1;
        } else {
            if (!s->is_set)
                s->value = r->integer;
            l->ok++;
            l->ok_on_link[s->link < ITEST_LOAD_LINKS - 1 ? s->link : ITEST_LOAD_LINKS - 1]++;
        }
    }
    itest_load_more(l);
}

void itest_load_more(itest_load *l)
{
    while (!l->stop && l->issued < l->limit && l->issued - l->callbacks < l->depth) {
        itest_load_slot *s = &l->slot[l->issued];
        s->is_set = l->set_every > 0 && l->issued % l->set_every == l->set_every - 1;
        int rc = s->is_set
                     ? arc_command(l->c, on_load, s, "SET %s %b", l->big_key, l->big, l->big_len)
                     : arc_command(l->c, on_load, s, "INCR %s", l->counter);
        if (rc != ARC_OK) {
            l->refusals++;
            l->refusal = rc;
            return;
        }
        l->issued++;
    }
}

itest_load *itest_load_new(arc_context *c, const int *links, const char *counter, long depth,
                           long limit)
{
    itest_load *l = calloc(1, sizeof *l);
    assert_non_null(l);
    for (long i = 0; i < ITEST_LOAD_MAX; i++)
        l->slot[i].l = l;
    l->c = c;
    l->links = links;
    l->counter = counter;
    l->depth = depth;
    l->limit = limit > ITEST_LOAD_MAX ? ITEST_LOAD_MAX : limit;
    return l;
}

long itest_load_ok_since(const itest_load *l, int link)
{
    long n = 0;
    for (int i = link < ITEST_LOAD_LINKS - 1 ? link : ITEST_LOAD_LINKS - 1; i < ITEST_LOAD_LINKS;
         i++)
        n += l->ok_on_link[i];
    return n;
}

itest_tally itest_load_tally(const itest_load *l, const char *what)
{
    itest_tally y = {0};
    for (long i = 0; i < l->issued; i++) {
        const itest_load_slot *s = &l->slot[i];
        y.not_once += s->calls != 1;
        long *ok = s->is_set ? &y.set_ok : &y.ok;
        long *un = s->is_set ? &y.set_unanswered : &y.unanswered;
        long *ns = s->is_set ? &y.set_not_sent : &y.not_sent;
        if (s->status == ARC_OK) {
            (*ok)++;
            if (!s->is_set) {
                y.not_up += s->value <= y.last;
                y.last = s->value;
            }
        } else if (s->status == ARC_ERR_UNANSWERED) {
            (*un)++;
        } else if (s->status == ARC_ERR_NOT_SENT) {
            (*ns)++;
        } else {
            y.other++;
            y.other_status = s->status;
        }
    }
    /* A load that stopped for want of slots would pass for one that
     * stopped because the scenario said so. */
    if (l->issued >= ITEST_LOAD_MAX)
        fail_msg("%s: the load ran out of slots: make ITEST_LOAD_MAX larger", what);
    if (y.not_once != 0 || l->out_of_order != 0 || l->callbacks != l->issued)
        fail_msg("%s: %ld commands, %ld callbacks: %ld not called exactly once, %ld out of "
                 "order",
                 what, l->issued, l->callbacks, y.not_once, l->out_of_order);
    if (y.other != 0 || l->refusals != 0)
        fail_msg("%s: %ld callbacks with %s; %ld commands refused (%s)", what, y.other,
                 y.other_status == -1 ? "a reply of the wrong type"
                                      : arc_status_name(y.other_status),
                 l->refusals, arc_status_name(l->refusal));
    long called = y.ok + y.unanswered + y.not_sent;
    assert_int_equal(called + y.set_ok + y.set_unanswered + y.set_not_sent, l->issued);
    if (l->rising && y.not_up != 0)
        fail_msg("%s: %ld INCR replies did not go up", what, y.not_up);
    /* For the log: how the fault split the load. */
    printf("# %s: %ld commands: %ld answered (%ld on a later link), %ld unanswered, %ld not "
           "sent\n",
           what, l->issued, y.ok + y.set_ok, itest_load_ok_since(l, 2),
           y.unanswered + y.set_unanswered, y.not_sent + y.set_not_sent);
    return y;
}

void itest_load_assert_counter(itest *t, const itest_load *l, const itest_tally *y,
                               const char *what)
{
    arc_reply *r = itest_admin(t, "GET %s", l->counter);
    long long counter = 0; /* no key: no INCR ran */
    if (r->type != ARC_REPLY_NIL) {
        assert_int_equal(r->type, ARC_REPLY_STRING);
        counter = strtoll(r->str, NULL, 10);
    }
    arc_reply_free(r);
    if (counter < y->ok || counter > y->ok + y->unanswered)
        fail_msg("%s: the counter is %lld; %ld INCR replies, %ld unanswered, %ld not sent", what,
                 counter, y->ok, y->unanswered, y->not_sent);
    assert_true(y->last <= counter);
}
