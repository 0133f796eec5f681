/* ticker.c: a timer for the parts of libarc that own no loop hooks (the
 * group, the cluster). It is a context in every way the loop sees (the
 * same attach call, the same timer hook, the same freeing), with no link:
 * arc__deadline() gives the ticker's time and arc_handle_timeout() calls
 * its function, and nothing else in the context ever starts. */
#include "alloc.h"
#include "async.h"

#include <string.h>

typedef struct arc_ticker {
    void (*fire)(void *data);
    void *data;
    int64_t at; /* -1: disarmed */
} arc_ticker;

arc_context *arc__ticker_new(const arc_allocator *alloc, void (*fire)(void *data), void *data)
{
    arc_options o;
    memset(&o, 0, sizeof o);
    o.allocator = alloc;
    arc_context *c = arc_connect(&o);
    if (c == NULL)
        return NULL;
    arc_ticker *t = arc_mem_alloc(&c->alloc, sizeof *t);
    if (t == NULL) {
        arc_free(c);
        return NULL;
    }
    t->fire = fire;
    t->data = data;
    t->at = -1;
    c->ticker = t; /* freed with the context (async.c) */
    return c;
}

void arc__ticker_at(arc_context *c, int64_t at_ms)
{
    if (c == NULL || c->ticker == NULL)
        return;
    c->ticker->at = at_ms < 0 ? -1 : at_ms;
    if (c->depth == 0) {
        arc__enter(c);
        arc__leave(c); /* tells the loop the new time */
    }
}

int64_t arc__ticker_deadline(const arc_context *c)
{
    return c->ticker->at;
}

void arc__ticker_due(arc_context *c, int64_t now)
{
    arc_ticker *t = c->ticker;
    if (t->at < 0 || now < t->at)
        return;
    t->at = -1; /* one-shot: fire re-arms it */
    t->fire(t->data);
}
