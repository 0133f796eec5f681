/* fanout.c: one command to many members of a group, a callback per
 * member and one when all have answered (group_internal.h has the
 * objects and their lifetimes). */
#include "async.h"
#include "cmdview.h"
#include "group_internal.h"

#include <arc/buffer.h>
#include <arc/format.h>

#include <string.h>

static void fanout_free(arc_fanout *f)
{
    arc_group *g = f->g;
    for (size_t i = 0; i < f->n; i++) {
        arc_reply_free(f->slots[i].kept);
        if (f->slots[i].m != NULL)
            arc__member_unref(f->slots[i].m);
    }
    arc_mem_free(&g->alloc, f->slots);
    arc_mem_free(&g->alloc, f);
    arc__group_unref(g);
}

/* All members' callbacks have returned: on_done, then the memory unless
 * the caller keeps it. */
static void fanout_complete(arc_fanout *f)
{
    arc_group *g = f->g;
    if (f->prev)
        f->prev->next = f->next;
    else
        g->fanouts = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->prev = f->next = NULL;
    if (f->on_done != NULL) {
        f->in_done = true;
        f->on_done(g, f, f->privdata);
        f->in_done = false;
    }
    f->completed = true;
    if (!f->keep || f->free_asked)
        fanout_free(f);
}

/* One member's outcome; the last callback to return completes the
 * fan-out. */
static void fanout_settle(slot *s, arc_reply *reply, int status)
{
    arc_fanout *f = s->f;
    arc_group *g = f->g;
    g->refs++;
    s->status = status;
    if (reply != NULL) {
        f->answered++;
        if (f->keep && (s->kept = arc_reply_dup(reply, &g->alloc)) == NULL)
            s->status = ARC_ERR_NOMEM; /* answered, but the copy is lost */
    } else {
        f->failed++;
    }
    arc_member *m = s->m;
    arc__member_ref(m);
    if (f->on_reply != NULL)
        f->on_reply(g, m, reply, status, f->privdata);
    arc__member_unref(m);
    if (++f->returned == f->n && !f->queuing)
        fanout_complete(f);
    arc__group_unref(g);
}

static void fanout_reply(arc_context *c, arc_reply *reply, int status, void *privdata)
{
    (void)c;
    fanout_settle(privdata, reply, status);
}

/* A fan-out's callback is called once per member: the commands whose
 * callbacks run many times (the subscribe family, MONITOR) are refused. */
static bool fanout_allowed(const char *cmd, size_t len)
{
    arc_cmdview it;
    const char *name;
    size_t n;
    if (!arc__cmdview_begin(&it, cmd, len) || !arc__cmdview_next(&it, &name, &n))
        return false;
    static const char *const refused[] = {"subscribe", "psubscribe", "ssubscribe", "monitor"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (n == strlen(refused[i]) && arc__ascii_ieq(name, n, refused[i]))
            return false;
    return true;
}

int arc_group_fanout_formatted(arc_group *g, const arc_fanout_options *o, const char *cmd,
                               size_t len)
{
    size_t count = 0;
    if (g == NULL || o == NULL || cmd == NULL || (o->members == NULL && o->nmembers > 0))
        return ARC_ERR_INVALID;
    if (arc_format_check(cmd, len, &count) != ARC_OK || count != 1 || !fanout_allowed(cmd, len))
        return ARC_ERR_INVALID;
    size_t n = o->members ? o->nmembers : g->size;
    for (size_t i = 0; o->members && i < n; i++)
        if (o->members[i] == NULL || o->members[i]->g != g || !o->members[i]->in_table)
            return ARC_ERR_INVALID;
    arc_fanout *f = arc_mem_alloc(&g->alloc, sizeof *f);
    if (f == NULL)
        return ARC_ERR_NOMEM;
    memset(f, 0, sizeof *f);
    f->slots = n ? arc_mem_alloc(&g->alloc, n * sizeof *f->slots) : NULL;
    if (n && f->slots == NULL) {
        arc_mem_free(&g->alloc, f);
        return ARC_ERR_NOMEM;
    }
    f->g = g;
    f->n = n;
    f->keep = o->keep_replies;
    f->on_reply = o->on_reply;
    f->on_done = o->on_done;
    f->privdata = o->privdata;
    g->refs++; /* the fan-out's */
    arc_member *m = g->head;
    for (size_t i = 0; i < n; i++) {
        arc_member *mi = o->members ? o->members[i] : m;
        if (!o->members)
            m = m->next;
        f->slots[i] = (slot){f, mi, ARC_ERR_STATE, NULL};
        arc__member_ref(mi);
    }
    f->next = g->fanouts;
    if (g->fanouts)
        g->fanouts->prev = f;
    g->fanouts = f;
    if (o->handle != NULL)
        *o->handle = f;

    /* A member refusing the command is told at once, and its callback may
     * change the table: a member removed before its turn here refuses too
     * (it has no context), and one removed after hears ARC_ERR_FREED from
     * its context. Queuing holds the fan-out back from completing, so that
     * the slots stay to be walked. */
    g->refs++;
    f->queuing = true;
    arc_command_options co;
    memset(&co, 0, sizeof co);
    co.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 0;
    bool timer_needed = false;
    for (size_t i = 0; i < n; i++) {
        slot *s = &f->slots[i];
        /* A member still waiting its turn has no timer of its own yet: the
         * group's watches its deadline. */
        timer_needed |= co.timeout_ms > 0 && arc__member_waiting(s->m);
        /* Checked once above, for every member. */
        int rc = s->m->c ? arc__command_trusted(s->m->c, &co, fanout_reply, s, cmd, len)
                         : ARC_ERR_CLOSED;
        if (rc != ARC_OK)
            fanout_settle(s, NULL, rc);
    }
    if (timer_needed)
        arc__group_arm_at(g, arc__now_ms() + co.timeout_ms);
    f->queuing = false;
    if (f->returned == f->n)
        fanout_complete(f); /* every member refused, or there was none */
    arc__group_unref(g);
    return ARC_OK;
}

int arc_group_fanout_argv(arc_group *g, const arc_fanout_options *o, int argc,
                          const char *const *argv, const size_t *argvlen)
{
    if (g == NULL || o == NULL)
        return ARC_ERR_INVALID;
    arc_buffer *b = arc_buffer_new(ARC_DEFAULT_MAX_OUTPUT, &g->alloc);
    if (b == NULL)
        return ARC_ERR_NOMEM;
    int rc = arc_format_argv(b, argc, argv, argvlen);
    if (rc == ARC_OK)
        rc = arc_group_fanout_formatted(g, o, arc_buffer_data(b), arc_buffer_len(b));
    arc_buffer_free(b);
    return rc;
}

static int vfanout(arc_group *g, const arc_fanout_options *o, const char *fmt, va_list ap)
{
    if (g == NULL || o == NULL || fmt == NULL)
        return ARC_ERR_INVALID;
    arc_buffer *b = arc_buffer_new(ARC_DEFAULT_MAX_OUTPUT, &g->alloc);
    if (b == NULL)
        return ARC_ERR_NOMEM;
    int rc = arc_vformat(b, fmt, ap);
    if (rc == ARC_OK)
        rc = arc_group_fanout_formatted(g, o, arc_buffer_data(b), arc_buffer_len(b));
    arc_buffer_free(b);
    return rc;
}

int arc_group_fanout(arc_group *g, const arc_fanout_options *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfanout(g, o, fmt, ap);
    va_end(ap);
    return rc;
}

size_t arc_fanout_size(const arc_fanout *f)
{
    return f ? f->n : 0;
}

arc_member *arc_fanout_member(const arc_fanout *f, size_t i)
{
    return f && i < f->n ? f->slots[i].m : NULL;
}

int arc_fanout_status(const arc_fanout *f, size_t i)
{
    return f && i < f->n ? f->slots[i].status : ARC_ERR_INVALID;
}

const arc_reply *arc_fanout_reply(const arc_fanout *f, size_t i)
{
    return f && i < f->n ? f->slots[i].kept : NULL;
}

size_t arc_fanout_answered(const arc_fanout *f)
{
    return f ? f->answered : 0;
}

size_t arc_fanout_failed(const arc_fanout *f)
{
    return f ? f->failed : 0;
}

size_t arc_fanout_pending(const arc_fanout *f)
{
    return f ? f->n - f->answered - f->failed : 0;
}

int arc_fanout_free(arc_fanout *f)
{
    if (f == NULL)
        return ARC_ERR_INVALID;
    if (!f->keep || f->free_asked)
        return ARC_ERR_STATE;
    if (f->in_done) {
        f->free_asked = true; /* on_done still reads it: fanout_complete frees it */
        return ARC_OK;
    }
    if (!f->completed)
        return ARC_ERR_STATE; /* members pending, or on_done not yet run */
    fanout_free(f);
    return ARC_OK;
}
