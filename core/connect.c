/* connect.c: a link's addresses, tried in order until one connects: a
 * socket each (HELD while no descriptor is free), a non-blocking connect
 * with its share of the connect timeout, a unix accept queue that is full
 * tried again on a new socket, and each try recorded as an arc_attempt.
 * link.c hands it the addresses and takes the socket that connected. */
#define _GNU_SOURCE
#include "async.h"

#include "alloc.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* How long a context without a free descriptor waits before trying again. */
/* A unix server whose accept queue is full: try again this often, for at
 * most the connect timeout or, without one, BUSY_MAX_MS. */
#define BUSY_RETRY_MS 10
#define BUSY_MAX_MS 2000
/* Without a connect timeout, an address that has others after it still
 * gets only this long, so that a silent one never stalls the rest. */
#define ATTEMPT_DEFAULT_MS 2000

static void attempt_begin(arc_context *c, const arc_addr *a)
{
    arc_link *l = &c->link;
    if (l->attempts == NULL || l->nattempts >= l->naddrs)
        return;
    arc_attempt *t = &l->attempts[l->nattempts++];
    memset(t, 0, sizeof *t);
    arc__net_addr_text(a, t->address, sizeof t->address);
    t->family = a->family;
    t->started_ms = arc__now_ms();
}

void arc__connect_attempt_end(arc_context *c, int status, int err)
{
    arc_link *l = &c->link;
    if (l->nattempts == 0)
        return;
    arc_attempt *t = &l->attempts[l->nattempts - 1];
    if (t->done)
        return;
    t->done = true;
    t->status = status;
    t->sys_errno = err;
    t->duration_ms = (long)(arc__now_ms() - t->started_ms);
}

/* This address's share of the time left: the rest divided by the
 * addresses left, so that each one gets its chance. */
static int64_t attempt_share(const arc_context *c, int64_t now)
{
    const arc_link *l = &c->link;
    size_t left = l->naddrs - l->next_addr;
    if (left <= 1)
        return -1; /* the last one may use whatever remains */
    if (l->deadline < 0)
        return now + ATTEMPT_DEFAULT_MS;
    int64_t rest = l->deadline - now;
    return now + (rest > 0 ? rest / (int64_t)left : 0);
}

static void fail_all_tried(arc_context *c, int status, int err)
{
    char w[160];
    const arc_link *l = &c->link;
    if (l->naddrs > 1)
        arc__fail(c, status, err, "cannot connect to %s: %s (all %zu addresses failed)",
                  arc__link_where(c, w, sizeof w), err ? strerror(err) : arc_strerror(status),
                  l->naddrs);
    else
        arc__fail(c, status, err, "cannot connect to %s: %s", arc__link_where(c, w, sizeof w),
                  err ? strerror(err) : arc_strerror(status));
}

/* Tries the remaining addresses in order until one connects or is in
 * progress; the session fails when none is left. */
static void try_addresses(arc_context *c)
{
    arc_link *l = &c->link;
    int last = ARC_ERR_REFUSED, err = ECONNREFUSED;
    l->retry_at = -1;
    while (l->next_addr < l->naddrs) {
        const arc_addr *a = &l->addrs[l->next_addr];
        int fd;
        int rc = arc__net_socket(a->family, &fd);
        if (rc == ARC_ERR_NOFD) {
            /* Out of descriptors is a passing condition on a busy process:
             * hold and retry instead of failing. */
            l->retry_at = arc__now_ms() + ARC_HOLD_RETRY_MS;
            arc__link_set_step(c, ARC_LINK_HELD);
            return;
        }
        if (l->busy_since < 0)
            attempt_begin(c, a);
        if (rc != ARC_OK) {
            last = rc;
            err = errno;
            arc__connect_attempt_end(c, rc, err);
            l->next_addr++;
            continue;
        }
        if (a->family != AF_UNIX)
            arc__net_tune(fd, &c->tuning);
        int status = ARC_ERR_IO;
        int how = arc__net_connect(fd, a, &status);
        if (how == ARC_CONNECT_DONE || how == ARC_CONNECT_PENDING) {
            /* Even a connect that succeeded at once is confirmed by the
             * first writability, so on_connect always runs from the loop. */
            l->fd = fd;
            l->busy_since = -1;
            int64_t now = arc__now_ms();
            l->attempt_deadline = attempt_share(c, now);
            arc__link_set_step(c, ARC_LINK_CONNECTING);
            return;
        }
        close(fd);
        if (how == ARC_CONNECT_BUSY) {
            int64_t now = arc__now_ms();
            if (l->busy_since < 0)
                l->busy_since = now;
            if (c->connect_timeout_ms || now - l->busy_since < BUSY_MAX_MS) {
                /* The same address again shortly, on a new socket. */
                l->retry_at = now + BUSY_RETRY_MS;
                arc__link_set_step(c, ARC_LINK_CONNECTING);
                return;
            }
            status = ARC_ERR_REFUSED;
            errno = EAGAIN;
        }
        l->busy_since = -1;
        last = status;
        err = errno;
        arc__connect_attempt_end(c, status, err);
        l->next_addr++;
    }
    fail_all_tried(c, last, err);
}

void arc__connect_addresses(arc_context *c, arc_addr *addrs, size_t n)
{
    arc_link *l = &c->link;
    l->addrs = addrs;
    l->naddrs = n;
    l->next_addr = 0;
    l->attempts = arc_mem_alloc(&c->alloc, arc__mul_size(n, sizeof *l->attempts));
    if (l->attempts == NULL) {
        arc__fail(c, ARC_ERR_NOMEM, ENOMEM, "out of memory for the connection's addresses");
        return;
    }
    l->nattempts = 0;
    try_addresses(c);
}

/* The pending connect finished: go on with it, or with the next address. */
void arc__connect_done(arc_context *c)
{
    arc_link *l = &c->link;
    int status = ARC_ERR_IO;
    int how = arc__net_connect_result(l->fd, &status);
    if (how == ARC_CONNECT_PENDING)
        return; /* spurious wake-up */
    if (how == ARC_CONNECT_DONE) {
        arc__connect_attempt_end(c, ARC_OK, 0);
        l->attempt_deadline = -1;
        arc__link_connected(c);
        return;
    }
    int err = errno;
    arc__connect_attempt_end(c, status, err);
    arc__link_drop_fd(c);
    l->attempt_deadline = -1;
    if (l->naddrs == 0) { /* an adopted socket has no other address */
        arc__fail(c, status, err, "adopted socket failed: %s", strerror(err));
        return;
    }
    l->next_addr++;
    if (l->next_addr < l->naddrs) {
        try_addresses(c);
        return;
    }
    fail_all_tried(c, status, err);
}

/* The HELD or busy retry is due, or this address's share is over. */
void arc__connect_timeout(arc_context *c, int64_t now)
{
    arc_link *l = &c->link;
    if ((l->step == ARC_LINK_HELD || (l->step == ARC_LINK_CONNECTING && l->fd < 0)) &&
        l->retry_at >= 0 && now >= l->retry_at) {
        try_addresses(c);
        return;
    }
    if (l->step == ARC_LINK_CONNECTING && l->fd >= 0 && l->attempt_deadline >= 0 &&
        now >= l->attempt_deadline) {
        /* This address had its share: the next one gets its chance. */
        arc__connect_attempt_end(c, ARC_ERR_TIMEOUT, ETIMEDOUT);
        arc__link_drop_fd(c);
        l->attempt_deadline = -1;
        l->next_addr++;
        if (l->next_addr < l->naddrs)
            try_addresses(c);
        else
            fail_all_tried(c, ARC_ERR_TIMEOUT, ETIMEDOUT);
    }
}
