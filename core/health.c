/* health.c: finding a dead peer. After health_check_ms without a byte from
 * the server the link sends a PING nobody waits for; no byte within
 * health_timeout_ms of it means the peer is gone (a blackhole, a pulled
 * cable, a frozen host), which TCP itself would notice only after minutes. */
#include "async.h"

#include <errno.h>

/* The last time the server was heard from on this link. */
static int64_t heard(const arc_context *c)
{
    return c->link.read_ms > c->ready_ms ? c->link.read_ms : c->ready_ms;
}

int64_t arc__health_deadline(const arc_context *c)
{
    /* A monitor's lines and a blocking command's reply come when they
     * come, and a PING queued behind them would wait with them. */
    if (c->health_check_ms == 0 || c->link.step != ARC_LINK_UP || c->monitor_fn != NULL ||
        c->monitor_inflight || c->blocking_inflight > 0)
        return -1;
    int64_t h = heard(c);
    if (c->link.health_sent_ms > h)
        return c->link.health_sent_ms + c->health_timeout_ms;
    return h + c->health_check_ms;
}

void arc__health_check(arc_context *c, int64_t now)
{
    int64_t d = arc__health_deadline(c);
    if (d < 0 || now < d)
        return;
    if (c->link.health_sent_ms > heard(c)) {
        arc__fail(c, ARC_ERR_TIMEOUT, ETIMEDOUT,
                  "health check: no answer to PING within %ld ms (after %ld ms of silence)",
                  c->health_timeout_ms, c->health_check_ms);
        return;
    }
    int rc = arc__queue_unanswered_ping(c);
    if (rc != ARC_OK) {
        arc__fail(c, rc, rc == ARC_ERR_NOMEM ? ENOMEM : 0, "health check: cannot queue a PING: %s",
                  arc_strerror(rc));
        return;
    }
    c->link.health_sent_ms = now;
}
