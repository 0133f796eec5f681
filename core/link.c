/* link.c: one connection attempt and its life: resolving, connecting
 * (address by address, in connect.c), securing, the RESP handshake, up,
 * down. It reports only up and down to the session. */
#define _GNU_SOURCE
#include "async.h"

#include "alloc.h"

#include <arc/format.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void arc__link_init(arc_context *c)
{
    arc_link *l = &c->link;
    memset(l, 0, sizeof *l);
    arc__buffer_init(&l->hello, 0, &c->alloc);
    l->step = ARC_LINK_IDLE;
    l->fd = -1;
    l->tr.fd = -1;
    l->deadline = -1;
    l->attempt_deadline = -1;
    l->retry_at = -1;
    l->busy_since = -1;
    l->secure_deadline = -1;
    l->health_sent_ms = -1;
}

void arc__link_set_step(arc_context *c, arc_link_step s)
{
    if (c->link.step == s)
        return;
    c->link.step = s;
    arc__update_state(c);
}

const char *arc__link_where(const arc_context *c, char *buf, size_t n)
{
    if (c->unix_path != NULL)
        snprintf(buf, n, "%s", c->unix_path);
    else if (c->link.host != NULL)
        snprintf(buf, n, "%s%s:%d", c->link.asking ? "sentinel " : "", c->link.host, c->link.port);
    else if (c->host != NULL)
        snprintf(buf, n, "%s:%d", c->host, c->port);
    else
        snprintf(buf, n, "the adopted socket");
    return buf;
}

/* The descriptor leaves the loop before it is closed (DESIGN rule 3): a
 * loop still polling a closed number could watch a reused one. */
void arc__link_drop_fd(arc_context *c)
{
    arc_link *l = &c->link;
    if (l->fd < 0)
        return;
    int fd = l->fd;
    bool socket = l->lookup == NULL || fd != arc__resolve_fd(l->lookup);
    l->fd = -1;
    arc__sync_loop(c);
    if (socket) {
        if (l->tr.ops != NULL) {
            l->tr.ops->close(&l->tr);
            l->tr.ops = NULL;
        }
        l->tr.fd = -1;
        close(fd);
    }
}

static void start_lookup(arc_context *c)
{
    arc_link *l = &c->link;
    int rc = arc__resolve_start(&c->resolver, l->host, l->port, c->family, &l->lookup);
    if (rc == ARC_ERR_NOFD) {
        /* The lookup's pipe needs descriptors too: wait for them as a
         * socket does (HELD), until the connect timeout. */
        l->retry_at = arc__now_ms() + ARC_HOLD_RETRY_MS;
        arc__link_set_step(c, ARC_LINK_HELD);
        return;
    }
    if (rc != ARC_OK) {
        arc__fail(c, rc, rc == ARC_ERR_NOFD ? EMFILE : ENOMEM,
                  "cannot start resolving '%s': %s", l->host, arc_strerror(rc));
        return;
    }
    l->fd = arc__resolve_fd(l->lookup);
    arc__link_set_step(c, ARC_LINK_RESOLVING);
}

static void lookup_done(arc_context *c)
{
    arc_link *l = &c->link;
    if (!arc__resolve_done(l->lookup))
        return; /* a spurious wake-up */
    arc_resolve_job *job = l->lookup;
    l->fd = -1;
    arc__sync_loop(c); /* the loop lets go of the job's descriptor first */
    l->lookup = NULL;
    arc_addr *addrs = NULL;
    size_t n = 0;
    char msg[200];
    int rc = arc__resolve_finish(job, &c->alloc, &addrs, &n, msg, sizeof msg);
    if (rc != ARC_OK) {
        arc__fail(c, rc, 0, "%s", msg);
        return;
    }
    arc__connect_addresses(c, addrs, n);
}

static void secure_step(arc_context *c);

static bool bad_options(arc_context *c)
{
    if (c->resp_wanted != 2 && c->resp_wanted != 3) {
        arc__fail(c, ARC_ERR_INVALID, 0, "resp must be 2 or 3, not %d", c->resp_wanted);
        return true;
    }
    if (c->tracking_on && c->resp_wanted != 3) {
        arc__fail(c, ARC_ERR_INVALID, 0,
                  "client-side caching (tracking) needs resp = 3: RESP2 would need a second "
                  "connection for the invalidations");
        return true;
    }
    if (c->tracking_on && (unsigned)c->tracking.mode > ARC_TRACKING_OPTOUT) {
        arc__fail(c, ARC_ERR_INVALID, 0, "tracking mode %d is not an arc_tracking_mode",
                  c->tracking.mode);
        return true;
    }
    if (c->port < 0 || c->port > 65535) {
        arc__fail(c, ARC_ERR_INVALID, 0, "port %d is out of range", c->port);
        return true;
    }
    const char *sentinel = arc__sentinel_bad_options(c);
    if (sentinel != NULL) {
        arc__fail(c, ARC_ERR_INVALID, 0, "%s", sentinel);
        return true;
    }
    if (c->adopted_fd < 0 && c->unix_path == NULL && c->host == NULL && !c->snt.on) {
        arc__fail(c, ARC_ERR_INVALID, 0, "no host and no unix_path given");
        return true;
    }
    if (c->transport != NULL && c->unix_path != NULL && !c->transport->unix_sockets) {
        arc__fail(c, ARC_ERR_INVALID, 0, "the %s transport does not run over unix sockets",
                  c->transport->name);
        return true;
    }
    return false;
}

/* The addresses of the link's target: a unix path, an IP address (no
 * lookup: a thread would only cost), or a name to look up. */
static void start_lookup_or_connect(arc_context *c)
{
    arc_link *l = &c->link;
    if (c->unix_path != NULL) {
        arc_addr *a = arc_mem_alloc(&c->alloc, sizeof *a);
        if (a == NULL) {
            arc__fail(c, ARC_ERR_NOMEM, ENOMEM, "out of memory");
            return;
        }
        if (arc__net_unix_addr(c->unix_path, a) != ARC_OK) {
            arc_mem_free(&c->alloc, a);
            arc__fail(c, ARC_ERR_INVALID, 0, "unix socket path is empty or too long");
            return;
        }
        arc__connect_addresses(c, a, 1);
        return;
    }
    if (arc__net_is_literal(l->host)) {
        /* An IP address needs no lookup, and a thread would only cost. */
        arc_addr *addrs = NULL;
        size_t n = 0;
        char msg[200];
        int rc = arc__net_resolve(&c->resolver, l->host, l->port, c->family, &c->alloc, &addrs,
                                  &n, msg, sizeof msg);
        if (rc != ARC_OK) {
            arc__fail(c, rc, 0, "%s", msg);
            return;
        }
        arc__connect_addresses(c, addrs, n);
        return;
    }
    start_lookup(c);
}

void arc__link_start(arc_context *c)
{
    arc_link *l = &c->link;
    if (l->step != ARC_LINK_IDLE)
        return;
    if (c->adopted_fd < 0 && c->adopted_reopen != NULL) {
        c->adopted_fd = c->adopted_reopen(c->adopted_impl);
        if (c->adopted_fd < 0) {
            arc__fail(c, ARC_ERR_REFUSED, ECONNREFUSED, "the scripted transport refused");
            return;
        }
    }
    if (bad_options(c))
        return;
    arc__sentinel_target(c);
    int64_t now = arc__now_ms();
    l->deadline = c->connect_timeout_ms ? now + c->connect_timeout_ms : -1;
    l->last_progress_ms = now;
    if (l->reader == NULL) {
        l->reader = arc_reader_new(&c->limits, &c->alloc);
        if (l->reader == NULL) {
            arc__fail(c, ARC_ERR_NOMEM, ENOMEM, "out of memory for the reader");
            return;
        }
    }
    int rc;
    if (l->asking) {
        /* A sentinel hears only its own questions. */
        rc = arc__sentinel_encode(c, &l->hello, &l->hello_left);
        if (rc != ARC_OK) {
            arc__fail(c, rc, 0, "cannot encode the sentinel query: %s", arc_strerror(rc));
            return;
        }
        start_lookup_or_connect(c);
        return;
    }
    rc = arc__encode_handshake(c, &l->hello, &l->hello_left);
    if (rc == ARC_OK && c->reconnecting_on) {
        /* The ready check: a server still loading its data (or a replica
         * without its master) refuses PING, and the link waits and tries
         * again instead of handing -LOADING to the first commands. */
        rc = arc_format(&l->hello, "PING");
        if (rc == ARC_OK)
            l->hello_left++;
    }
    if (rc == ARC_OK)
        rc = arc__sentinel_encode_role(c, &l->hello, &l->hello_left);
    if (rc == ARC_OK && c->rc_attempt > 0)
        rc = arc__reconnect_encode_replay(c, &l->hello);
    if (rc == ARC_OK && c->rc_attempt > 0 && c->retry_head != NULL)
        rc = arc__retry_encode(c, &l->hello);
    if (rc != ARC_OK) {
        arc__fail(c, rc, 0, "cannot encode the handshake: %s", arc_strerror(rc));
        return;
    }
    if (c->adopted_fd >= 0) {
        /* An adopted socket goes the way of a connect in progress: the first
         * writability confirms it. */
        l->fd = c->adopted_fd;
        c->adopted_fd = -1;
        if (c->adopted_ops != NULL) {
            l->tr.ops = c->adopted_ops;
            l->tr.impl = c->adopted_impl;
            l->tr.fd = l->fd;
            arc__link_set_step(c, ARC_LINK_SECURING);
            secure_step(c);
            return;
        }
        if (arc__net_adopt(l->fd) != ARC_OK) {
            arc__fail(c, ARC_ERR_IO, errno, "cannot make the adopted socket non-blocking: %s",
                      strerror(errno));
            return;
        }
        arc__link_set_step(c, ARC_LINK_CONNECTING);
        return;
    }
    start_lookup_or_connect(c);
}

static void secured(arc_context *c)
{
    arc_link *l = &c->link;
    if (l->hello_left > 0)
        arc__link_set_step(c, ARC_LINK_HANDSHAKE);
    else
        arc__link_up(c);
}

static void secure_step(arc_context *c)
{
    arc_link *l = &c->link;
    int rc = l->tr.ops->handshake(&l->tr);
    l->secure_want = rc;
    if (rc == ARC_IO_OK) {
        secured(c);
    } else if (rc == ARC_IO_ERROR || rc == ARC_IO_EOF) {
        char w[160];
        int st = l->tr.status ? l->tr.status : ARC_ERR_IO;
        arc__fail(c, st, l->tr.err, "%s handshake with %s failed: %s", l->tr.ops->name,
                  arc__link_where(c, w, sizeof w),
                  l->tr.why[0] ? l->tr.why
                  : rc == ARC_IO_EOF ? "the server closed the connection"
                                     : strerror(l->tr.err));
    }
    /* WANT_READ / WANT_WRITE: the loop calls again. */
}

/* A connect completed on the link's socket: a transport takes it (the
 * kind's, or plain sockets) and the link secures it. */
void arc__link_connected(arc_context *c)
{
    arc_link *l = &c->link;
    memset(&l->tr, 0, sizeof l->tr);
    l->tr.fd = l->fd;
    if (c->transport != NULL) {
        int rc = c->transport->open(c->transport->data, &l->tr, l->host, &c->alloc,
                                    &c->transport_session);
        if (rc != ARC_OK || l->tr.ops == NULL) {
            l->tr.ops = NULL;
            arc__fail(c, rc != ARC_OK ? rc : ARC_ERR_INVALID, 0, "%s: %s", c->transport->name,
                      l->tr.why[0] ? l->tr.why : arc_strerror(rc));
            return;
        }
    } else {
        l->tr.ops = &arc__transport_plain;
    }
    l->secure_deadline = l->tr.handshake_ms > 0 ? arc__now_ms() + l->tr.handshake_ms : -1;
    arc__link_set_step(c, ARC_LINK_SECURING);
    secure_step(c);
}

void arc__link_progress(arc_context *c)
{
    arc_link *l = &c->link;
    switch (l->step) {
    case ARC_LINK_RESOLVING:
        lookup_done(c);
        break;
    case ARC_LINK_CONNECTING:
        if (l->fd >= 0)
            arc__connect_done(c);
        break;
    case ARC_LINK_SECURING:
        secure_step(c);
        break;
    default:
        break;
    }
}

int64_t arc__link_deadline(const arc_context *c)
{
    const arc_link *l = &c->link;
    int64_t d = -1;
    switch (l->step) {
    case ARC_LINK_IDLE:
        return 0; /* the loop starts it */
    case ARC_LINK_HELD:
        d = l->retry_at;
        break;
    case ARC_LINK_CONNECTING:
        d = l->fd < 0 ? l->retry_at : l->attempt_deadline;
        break;
    case ARC_LINK_SECURING:
        d = l->secure_deadline;
        break;
    case ARC_LINK_RESOLVING:
    case ARC_LINK_HANDSHAKE:
        break;
    case ARC_LINK_DOWN:
        return c->snt.redirect ? 0 : -1; /* the next sentinel, or the master */
    default:
        return -1;
    }
    if (l->deadline >= 0 && (d < 0 || l->deadline < d))
        d = l->deadline;
    return d;
}

static const char *step_text(arc_link_step s)
{
    switch (s) {
    case ARC_LINK_RESOLVING: return " (resolving)";
    case ARC_LINK_HELD: return " (no free file descriptor)";
    case ARC_LINK_SECURING: return " (securing)";
    case ARC_LINK_HANDSHAKE: return " (in the handshake)";
    default: return "";
    }
}

void arc__link_timeout(arc_context *c, int64_t now)
{
    arc_link *l = &c->link;
    if (l->step == ARC_LINK_IDLE) {
        arc__link_start(c);
        return;
    }
    if (l->step >= ARC_LINK_UP)
        return;
    if (l->deadline >= 0 && now >= l->deadline) {
        char w[160];
        if (l->step == ARC_LINK_HELD) {
            arc__fail(c, ARC_ERR_NOFD, EMFILE, "no free file descriptor within %ld ms",
                      c->connect_timeout_ms);
            return;
        }
        if (l->step == ARC_LINK_CONNECTING && l->fd >= 0)
            arc__connect_attempt_end(c, ARC_ERR_TIMEOUT, ETIMEDOUT);
        arc__fail(c, ARC_ERR_TIMEOUT, ETIMEDOUT, "connect to %s timed out after %ld ms%s",
                  arc__link_where(c, w, sizeof w), c->connect_timeout_ms, step_text(l->step));
        return;
    }
    if (l->step == ARC_LINK_HELD && l->naddrs == 0) {
        if (l->retry_at >= 0 && now >= l->retry_at) {
            l->retry_at = -1;
            start_lookup(c); /* HELD before the lookup: no address yet */
        }
        return;
    }
    if (l->step == ARC_LINK_SECURING && l->secure_deadline >= 0 && now >= l->secure_deadline) {
        char w[160];
        arc__fail(c, ARC_ERR_TLS, ETIMEDOUT,
                  "%s handshake with %s: no answer within %ld ms; the server does not seem to "
                  "speak %s",
                  l->tr.ops->name, arc__link_where(c, w, sizeof w), l->tr.handshake_ms,
                  l->tr.ops->name);
        return;
    }
    arc__connect_timeout(c, now);
}

bool arc__link_hello_reply(arc_context *c, arc_reply *reply)
{
    arc_link *l = &c->link;
    if (l->step != ARC_LINK_HANDSHAKE || l->hello_left == 0)
        return false;
    l->hello_left--;
    if (l->asking) {
        arc__sentinel_reply(c, reply);
        return true;
    }
    if (l->hello_left == 0 && c->snt.on && reply->type != ARC_REPLY_ERROR &&
        !arc__sentinel_role_ok(c, reply))
        return true; /* the ROLE check comes last */
    if (reply->type == ARC_REPLY_ERROR) {
        int len = reply->len > 200 ? 200 : (int)reply->len;
        if (arc__error_code_is(reply, "LOADING") || arc__error_code_is(reply, "MASTERDOWN"))
            arc__fail(c, ARC_ERR_LOADING, 0, "the server is not ready: %.*s", len, reply->str);
        else
            arc__fail(c, ARC_ERR_HANDSHAKE, 0, "handshake refused: %.*s", len, reply->str);
        return true;
    }
    if (reply->type == ARC_REPLY_MAP)
        c->resp = 3; /* only HELLO 3 answers with a map */
    if (l->hello_left == 0)
        arc__link_up(c); /* hello may still hold a replay's bytes: they go first */
    return true;
}

void arc__link_down(arc_context *c)
{
    arc_link *l = &c->link;
    arc__link_drop_fd(c);
    if (l->lookup != NULL) {
        arc__resolve_abandon(l->lookup);
        l->lookup = NULL;
    }
    arc__buffer_release(&l->hello);
    l->hello_left = 0;
    l->write_errno = 0;
    l->read_wants_write = false;
    l->attempt_deadline = -1;
    l->retry_at = -1;
    l->deadline = -1;
    l->step = ARC_LINK_DOWN; /* the caller announces the session's state */
}

void arc__link_renew(arc_context *c)
{
    arc__link_release(c);
    arc__buffer_release(&c->link.hello);
    arc__link_init(c);
}

void arc__link_release(arc_context *c)
{
    arc_link *l = &c->link;
    if (l->fd >= 0 || l->lookup != NULL)
        arc__link_down(c);
    arc_reader_free(l->reader);
    l->reader = NULL;
    arc_mem_free(&c->alloc, l->addrs);
    arc_mem_free(&c->alloc, l->attempts);
    l->addrs = NULL;
    l->attempts = NULL;
    l->naddrs = l->nattempts = 0;
}
