/* sentinel.c: Redis Sentinel as the address source of the links. A link
 * whose master is not known yet asks a sentinel (its own short connection:
 * AUTH, SENTINEL GET-MASTER-ADDR-BY-NAME), and a link to the answer checks
 * ROLE before it counts as up. Sentinels are tried in turn; the next link
 * starts with the one after the last that answered. */
#include "async.h"

#include "alloc.h"

#include <arc/format.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENTINEL_PORT 26379

static void free_copy(arc_context *c)
{
    arc_sentinel_state *s = &c->snt;
    for (size_t i = 0; s->hosts != NULL && i < s->n; i++)
        arc_mem_free(&c->alloc, s->hosts[i]);
    arc_mem_free(&c->alloc, s->hosts);
    arc_mem_free(&c->alloc, s->ports);
    arc_mem_free(&c->alloc, s->master_name);
    arc_mem_free(&c->alloc, s->username);
    arc_mem_free(&c->alloc, s->password);
    memset(s, 0, sizeof *s);
}

int arc__sentinel_setup(arc_context *c, const arc_sentinel *o)
{
    arc_sentinel_state *s = &c->snt;
    if (o == NULL)
        return ARC_OK;
    s->on = true;
    bool nomem = false;
    s->master_name = arc__strdup(&c->alloc, o->master_name, &nomem);
    s->username = arc__strdup(&c->alloc, o->username, &nomem);
    s->password = arc__strdup(&c->alloc, o->password, &nomem);
    size_t n = o->addrs != NULL ? o->naddrs : 0;
    if (!nomem && n > 0) {
        s->hosts = arc_mem_alloc(&c->alloc, arc__mul_size(n, sizeof *s->hosts));
        s->ports = arc_mem_alloc(&c->alloc, arc__mul_size(n, sizeof *s->ports));
        nomem = s->hosts == NULL || s->ports == NULL;
        for (size_t i = 0; !nomem && i < n; i++) {
            s->hosts[i] = arc__strdup(&c->alloc, o->addrs[i].host, &nomem);
            s->ports[i] = o->addrs[i].port ? o->addrs[i].port : SENTINEL_PORT;
            if (!nomem)
                s->n = i + 1;
        }
    }
    if (nomem) {
        free_copy(c);
        return ARC_ERR_NOMEM;
    }
    return ARC_OK;
}

void arc__sentinel_release(arc_context *c)
{
    free_copy(c);
}

const char *arc__sentinel_bad_options(const arc_context *c)
{
    const arc_sentinel_state *s = &c->snt;
    if (!s->on)
        return NULL;
    if (s->master_name == NULL || s->master_name[0] == '\0')
        return "sentinel: no master_name";
    if (s->n == 0)
        return "sentinel: no sentinel addresses";
    for (size_t i = 0; i < s->n; i++) {
        if (s->hosts[i] == NULL)
            return "sentinel: an address without a host";
        if (s->ports[i] < 0 || s->ports[i] > 65535)
            return "sentinel: a port out of range";
    }
    if (c->unix_path != NULL)
        return "sentinel and unix_path exclude each other";
    if (c->adopted_fd >= 0 || c->adopted_ops != NULL)
        return "sentinel needs arc_connect, not an adopted socket";
    return NULL;
}

void arc__sentinel_target(arc_context *c)
{
    arc_sentinel_state *s = &c->snt;
    arc_link *l = &c->link;
    if (!s->on) {
        l->host = c->host;
        l->port = c->port;
    } else if (s->have_master) {
        l->host = s->master_host;
        l->port = s->master_port;
    } else {
        l->asking = true;
        l->host = s->hosts[s->at];
        l->port = s->ports[s->at];
    }
}

int arc__sentinel_encode(const arc_context *c, arc_buffer *out, uint32_t *count)
{
    const arc_sentinel_state *s = &c->snt;
    uint32_t n = 0;
    int rc = ARC_OK;
    if (s->password != NULL) {
        const char *argv[] = {"AUTH", s->username ? s->username : "default", s->password};
        rc = arc_format_argv(out, 3, argv, NULL);
        n++;
    }
    if (rc == ARC_OK) {
        const char *argv[] = {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", s->master_name};
        rc = arc_format_argv(out, 3, argv, NULL);
        n++;
    }
    *count = n;
    return rc;
}

int arc__sentinel_encode_role(const arc_context *c, arc_buffer *out, uint32_t *count)
{
    if (!c->snt.on || c->link.asking)
        return ARC_OK;
    int rc = arc_format(out, "ROLE");
    if (rc == ARC_OK)
        (*count)++;
    return rc;
}

/* The link ends and another starts from the loop at once (not a
 * reconnect: no backoff, no attempt counted). */
static void redirect(arc_context *c)
{
    arc__link_down(c);
    c->snt.redirect = true;
    arc__update_state(c);
}

bool arc__sentinel_next(arc_context *c)
{
    arc_sentinel_state *s = &c->snt;
    if (!c->link.asking)
        return false;
    s->at = (s->at + 1) % s->n;
    if (++s->tried < s->n) {
        redirect(c);
        return true;
    }
    /* Every sentinel was asked: this attempt fails as a name that did not
     * resolve would, and is tried again as one. */
    s->tried = 0;
    char last[sizeof c->error];
    memcpy(last, c->error, sizeof last);
    c->failure = ARC_ERR_NOADDR;
    snprintf(c->error, sizeof c->error, "no sentinel gave the address of master '%.40s' (last: %.150s)",
             s->master_name, last);
    return false;
}

static bool text_of(const arc_reply *r, char *buf, size_t n)
{
    if (r->type != ARC_REPLY_STRING && r->type != ARC_REPLY_STATUS)
        return false;
    if (r->len == 0 || r->len >= n || memchr(r->str, '\0', r->len) != NULL)
        return false;
    memcpy(buf, r->str, r->len);
    buf[r->len] = '\0';
    return true;
}

/* The sentinel's answer: [ip, port] of the master, or nil when it does
 * not know the name. */
static void master_address(arc_context *c, const arc_reply *r)
{
    arc_sentinel_state *s = &c->snt;
    char host[sizeof s->master_host], port[8];
    char w[96];
    snprintf(w, sizeof w, "%s:%d", c->link.host, c->link.port);
    if (r->type == ARC_REPLY_NIL || (r->type == ARC_REPLY_ARRAY && r->elements == 0)) {
        arc__fail(c, ARC_ERR_NOADDR, 0, "sentinel %s does not know master '%s'", w,
                  s->master_name);
        return;
    }
    char *end = NULL;
    long p = 0;
    bool ok = r->type == ARC_REPLY_ARRAY && r->elements == 2 &&
              text_of(r->element[0], host, sizeof host) &&
              text_of(r->element[1], port, sizeof port);
    if (ok) {
        p = strtol(port, &end, 10);
        ok = *end == '\0' && p > 0 && p <= 65535;
    }
    if (!ok) {
        arc__fail(c, ARC_ERR_PROTOCOL, 0,
                  "sentinel %s: the answer for master '%s' is not [host, port]", w,
                  s->master_name);
        return;
    }
    memcpy(s->master_host, host, strlen(host) + 1);
    s->master_port = (int)p;
    s->have_master = true;
    s->tried = 0;
    redirect(c);
}

void arc__sentinel_reply(arc_context *c, arc_reply *reply)
{
    arc_link *l = &c->link;
    if (reply->type == ARC_REPLY_ERROR) {
        char w[96];
        snprintf(w, sizeof w, "%s:%d", l->host, l->port);
        arc__fail(c, ARC_ERR_HANDSHAKE, 0, "sentinel %s refused: %.*s", w,
                  reply->len > 160 ? 160 : (int)reply->len, reply->str);
        return;
    }
    if (l->hello_left == 0)
        master_address(c, reply);
}

bool arc__sentinel_role_ok(arc_context *c, const arc_reply *r)
{
    char role[16] = "";
    if (r->type == ARC_REPLY_ARRAY && r->elements > 0)
        (void)text_of(r->element[0], role, sizeof role);
    if (strcmp(role, "master") == 0)
        return true;
    arc__fail(c, ARC_ERR_READONLY, 0,
              "%s:%d, named master '%s' by the sentinel, says its role is '%s'",
              c->link.host, c->link.port, c->snt.master_name, role[0] ? role : "?");
    return false;
}

void arc__sentinel_lost(arc_context *c)
{
    /* The next link asks again: a failover may be why this one went. */
    c->snt.have_master = false;
}

/* ---- the watcher: +switch-master moves the context at once ---- */

/* The watcher's own policy: a sentinel that stays away is given up after a
 * few attempts, and the next master link watches through another one. */
static const arc_reconnect watch_policy = {
    .initial_delay_ms = 100, .max_delay_ms = 1000, .max_attempts = 3};

/* "+switch-master" carries "<name> <old ip> <old port> <new ip> <new port>". */
static bool parse_switch(const arc_reply *m, const char *name, char *host, size_t hn, int *port)
{
    char text[256];
    if (!text_of(m, text, sizeof text))
        return false;
    char who[128], oldh[64], oldp[8], newh[64];
    int newp = 0;
    if (sscanf(text, "%127s %63s %7s %63s %d", who, oldh, oldp, newh, &newp) != 5)
        return false;
    if (strcmp(who, name) != 0 || newp <= 0 || newp > 65535 || strlen(newh) >= hn)
        return false;
    memcpy(host, newh, strlen(newh) + 1);
    *port = newp;
    return true;
}

/* What the watcher's callback knows of its context: cleared when the
 * context lets go, since the watcher's last call may come after the
 * context itself is gone. */
typedef struct watch_box {
    arc_context *owner;
} watch_box;


static void on_switch(arc_context *w, arc_reply *r, int status, void *privdata)
{
    watch_box *box = privdata;
    arc_context *c = box->owner;
    if (r == NULL) {
        /* The watcher ended: given up (the context frees it later), or
         * freed by the context, which let go of the box first. */
        if (c != NULL) {
            c->snt.watch_box = NULL;
            /* Freed by someone else (a loop freeing what it holds): the
             * pointer is not ours to free any more. */
            if (status == ARC_ERR_FREED)
                c->snt.watch = NULL;
        }
        arc_mem_free(arc_context_allocator(w), box);
        return;
    }
    if (c == NULL)
        return;
    char host[sizeof c->snt.master_host];
    int port = 0;
    if (r->type != ARC_REPLY_ARRAY || r->elements != 3 ||
        !parse_switch(r->element[2], c->snt.master_name, host, sizeof host, &port))
        return; /* a confirmation, or another master's news */
    arc_link *l = &c->link;
    if (l->step != ARC_LINK_UP || (l->port == port && strcmp(l->host, host) == 0))
        return; /* not connected to the old one (a link under way checks ROLE) */
    arc__enter(c);
    arc__fail(c, ARC_ERR_READONLY, 0, "sentinel: master '%s' moved to %s:%d", c->snt.master_name,
              host, port);
    arc__leave(c); /* may free c: box->owner is NULL then */
}

void arc__sentinel_watch(arc_context *c)
{
    arc_sentinel_state *s = &c->snt;
    if (!s->on || !c->reconnecting_on || c->hooks.attach_other == NULL)
        return;
    if (s->watch != NULL) {
        arc_state st = arc_context_state(s->watch);
        if (st != ARC_STATE_CLOSED && st != ARC_STATE_FAILED)
            return;
        arc__sentinel_unwatch(c);
    }
    arc_options o = {0};
    o.host = s->hosts[s->at];
    o.port = s->ports[s->at];
    o.username = s->password != NULL ? s->username : NULL;
    o.password = s->password;
    o.connect_timeout_ms = c->connect_timeout_ms;
    o.health_check_ms = c->health_check_ms;
    o.health_timeout_ms = c->health_timeout_ms;
    o.allocator = &c->alloc;
    o.transport = c->transport;
    o.reconnect = &watch_policy;
    watch_box *box = arc_mem_alloc(&c->alloc, sizeof *box);
    arc_context *w = box != NULL ? arc_connect(&o) : NULL;
    if (w == NULL) {
        arc_mem_free(&c->alloc, box);
        return; /* no memory: a switch is still found on the link */
    }
    box->owner = c;
    if (arc_command(w, on_switch, box, "SUBSCRIBE +switch-master") != ARC_OK) {
        arc_mem_free(&c->alloc, box);
        arc_free(w);
        return;
    }
    s->watch = w;
    s->watch_box = box;
    if (c->hooks.attach_other(c->hooks.data, w) != ARC_OK)
        arc__sentinel_unwatch(c); /* the subscription ends: box goes */
}

void arc__sentinel_unwatch(arc_context *c)
{
    arc_sentinel_state *s = &c->snt;
    arc_context *w = s->watch;
    if (w == NULL)
        return;
    if (s->watch_box != NULL)
        s->watch_box->owner = NULL; /* its last call may come after we are gone */
    s->watch = NULL;
    s->watch_box = NULL;
    arc_free(w);
}
