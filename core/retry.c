/* retry.c: commands marked retry (arc_command_options.retry) keep a copy of
 * their bytes while they wait for a reply, so that a link lost after they
 * were written can send them again on the next one. The copies are a FIFO
 * in queue order: a reply pops the oldest. */
#include "async.h"

#include "alloc.h"

#include <string.h>

struct arc_retry {
    struct arc_retry *next;
    uint64_t id;  /* the queue entry's */
    size_t len;
    char bytes[];
};

int arc__retry_keep(arc_context *c, uint64_t id, const char *bytes, size_t len)
{
    if (len > SIZE_MAX - sizeof(arc_retry))
        return ARC_ERR_NOMEM;
    arc_retry *r = arc_mem_alloc(&c->alloc, sizeof *r + len);
    if (r == NULL)
        return ARC_ERR_NOMEM;
    r->next = NULL;
    r->id = id;
    r->len = len;
    memcpy(r->bytes, bytes, len);
    if (c->retry_tail != NULL)
        c->retry_tail->next = r;
    else
        c->retry_head = r;
    c->retry_tail = r;
    return ARC_OK;
}

void arc__retry_drop_oldest(arc_context *c)
{
    arc_retry *r = c->retry_head;
    if (r == NULL)
        return;
    c->retry_head = r->next;
    if (c->retry_head == NULL)
        c->retry_tail = NULL;
    arc_mem_free(&c->alloc, r);
}

void arc__retry_release(arc_context *c)
{
    while (c->retry_head != NULL)
        arc__retry_drop_oldest(c);
}

int arc__retry_encode(arc_context *c, arc_buffer *out)
{
    for (arc_retry *r = c->retry_head; r != NULL; r = r->next) {
        const arc_entry *e = arc__queue_find(&c->queue, r->id);
        /* Only those the lost link wrote: the rest are still in `out`. */
        if (e == NULL || (e->flags & ARC_ENTRY_DEAD) || e->end > c->out_sent)
            continue;
        int rc = arc__buffer_reserve(out, r->len);
        if (rc != ARC_OK)
            return rc;
        arc__buffer_put(out, r->bytes, r->len);
    }
    return ARC_OK;
}
