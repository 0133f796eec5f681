/* topology.c: a cluster's nodes and slot owners, read from one node's
 * CLUSTER SHARDS or CLUSTER SLOTS reply. Every shape is checked before it
 * is used: the reply comes from a server, and a wrong one must become a
 * message naming the part that was wrong, never a guess. */
#include "topology.h"

#include "alloc.h"

#include <arc/status.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* nodes[] holds indices in uint16_t with ARC_TOPO_NONE as "none", so this
 * many at most. Real clusters stay far below (the specification suggests
 * 1000 nodes); the cap is what the index type can tell apart. */
#define MAX_NODES ((size_t)ARC_TOPO_NONE - 1)

/* A parse under way: the topology being filled, an index of its nodes by
 * address so that each node goes in once without a quadratic search, and
 * where a message goes. */
typedef struct parse {
    arc_topology *t;
    size_t cap;        /* nodes[] allocated */
    uint16_t *index;   /* open addressing over nodes[]; ARC_TOPO_NONE: empty */
    size_t index_cap;  /* a power of two, at least twice cap; 0 before any */
    const char *from_host;
    char *err;
    size_t errlen;
} parse;

/* One node as the reply describes it, its strings still in the reply. */
typedef struct node_desc {
    const char *host; /* NULL: the reply left the endpoint unknown */
    size_t host_len;
    const char *id;
    size_t id_len;
    long long port;   /* 0 when not given */
    long long tls_port;
    bool master;
    bool healthy;
} node_desc;

static int fail(parse *p, const char *fmt, ...) ARC_PRINTF(2, 3);

static int fail(parse *p, const char *fmt, ...)
{
    if (p->err != NULL && p->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, p->errlen, fmt, ap);
        va_end(ap);
    }
    return ARC_ERR_PROTOCOL;
}

static bool is_text(const arc_reply *r)
{
    return r->type == ARC_REPLY_STRING || r->type == ARC_REPLY_STATUS;
}

/* A RESP3 map, or the RESP2 form of one: a flat array of key, value. */
static bool is_map_like(const arc_reply *r)
{
    return r->type == ARC_REPLY_MAP || (r->type == ARC_REPLY_ARRAY && r->elements % 2 == 0);
}

static bool text_is(const arc_reply *r, const char *s)
{
    size_t n = strlen(s);
    return is_text(r) && r->len == n && memcmp(r->str, s, n) == 0;
}

/* A reply's type as a message names it. */
static const char *type_of(const arc_reply *r)
{
    return arc_reply_type_name(r->type);
}

/* "host:port", or "[host]:port" for an IPv6 literal, for messages. */
static const char *addr_text(char *buf, size_t cap, const char *host, int port)
{
    bool v6 = strchr(host, ':') != NULL;
    snprintf(buf, cap, "%s%.64s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
    return buf;
}

static uint32_t addr_hash(const char *host, size_t len, int port)
{
    /* FNV-1a: addresses are short and differ in a few bytes, which it
     * spreads well enough for a table that is at most half full. */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)host[i]) * 16777619u;
    h = (h ^ (uint32_t)(port & 0xff)) * 16777619u;
    return (h ^ (uint32_t)(port >> 8)) * 16777619u;
}

/* The slot in the index where host:port is, or where it would go. */
static size_t index_probe(const parse *p, const char *host, size_t len, int port)
{
    size_t mask = p->index_cap - 1;
    size_t i = addr_hash(host, len, port) & mask;
    for (;;) {
        uint16_t k = p->index[i];
        if (k == ARC_TOPO_NONE)
            return i;
        const arc_topo_node *n = &p->t->nodes[k];
        if (n->port == port && strlen(n->host) == len && memcmp(n->host, host, len) == 0)
            return i;
        i = (i + 1) & mask;
    }
}

/* Room for one more node: nodes[] and the index grow together, the index
 * kept at most half full so that probes stay short and always end. */
static int grow(parse *p)
{
    arc_topology *t = p->t;
    if (t->nnodes < p->cap)
        return ARC_OK;
    size_t cap = p->cap ? p->cap * 2 : 8;
    arc_topo_node *nodes = arc_mem_realloc(&t->alloc, t->nodes, arc__mul_size(cap, sizeof *nodes));
    if (nodes == NULL)
        return ARC_ERR_NOMEM;
    t->nodes = nodes;
    p->cap = cap;
    size_t icap = cap * 2;
    uint16_t *index = arc_mem_alloc(&t->alloc, arc__mul_size(icap, sizeof *index));
    if (index == NULL)
        return ARC_ERR_NOMEM;
    arc_mem_free(&t->alloc, p->index);
    p->index = index;
    p->index_cap = icap;
    for (size_t i = 0; i < icap; i++)
        index[i] = ARC_TOPO_NONE;
    for (size_t k = 0; k < t->nnodes; k++) {
        const arc_topo_node *n = &t->nodes[k];
        index[index_probe(p, n->host, strlen(n->host), n->port)] = (uint16_t)k;
    }
    return ARC_OK;
}

static char *copy_text(const arc_allocator *a, const char *s, size_t n)
{
    char *d = arc_mem_alloc(a, n + 1);
    if (d != NULL) {
        if (n > 0)
            memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Adds the node (or finds it, when its address is already in nodes[]) and
 * sets *at to its index. A node listed again must play the same part: a
 * master twice, or a replica of the same master twice (CLUSTER SLOTS
 * repeats each master and its replicas for every range it serves). */
static int add_node(parse *p, const node_desc *d, uint16_t master_index, const char *where,
                    uint16_t *at)
{
    arc_topology *t = p->t;
    const char *host = d->host;
    size_t host_len = d->host_len;
    if (host == NULL) {
        /* "?", "" or no endpoint: the node is where the reply came from
         * (CLUSTER SHARDS, "endpoint"; cluster-preferred-endpoint-type
         * unknown-endpoint). */
        if (p->from_host == NULL || p->from_host[0] == '\0')
            return fail(p, "%s: the endpoint is unknown and no address to use instead", where);
        host = p->from_host;
        host_len = strlen(host);
    }
    int port = (int)d->port;
    int rc = grow(p);
    if (rc != ARC_OK)
        return rc;
    size_t slot = index_probe(p, host, host_len, port);
    uint16_t k = p->index[slot];
    if (k != ARC_TOPO_NONE) {
        arc_topo_node *n = &t->nodes[k];
        char a[96], b[96];
        if (n->master != d->master)
            return fail(p, "%s: node %s is a %s here and a %s earlier in the reply", where,
                        addr_text(a, sizeof a, n->host, n->port),
                        d->master ? "master" : "replica", n->master ? "master" : "replica");
        if (!n->master && n->master_index != master_index) {
            const arc_topo_node *m1 = &t->nodes[master_index], *m0 = &t->nodes[n->master_index];
            char c[96];
            return fail(p, "%s: node %s is a replica of %s here and of %s earlier in the reply",
                        where, addr_text(a, sizeof a, n->host, n->port),
                        addr_text(b, sizeof b, m1->host, m1->port),
                        addr_text(c, sizeof c, m0->host, m0->port));
        }
        /* The same node: what one listing gives and the other lacks. */
        if (n->id[0] == '\0' && d->id_len > 0) {
            char *id = copy_text(&t->alloc, d->id, d->id_len);
            if (id == NULL)
                return ARC_ERR_NOMEM;
            arc_mem_free(&t->alloc, n->id);
            n->id = id;
        }
        if (n->tls_port == 0)
            n->tls_port = (int)d->tls_port;
        n->healthy = n->healthy || d->healthy;
        *at = k;
        return ARC_OK;
    }
    if (t->nnodes >= MAX_NODES)
        return fail(p, "%s: more than %zu nodes", where, MAX_NODES);
    char *h = copy_text(&t->alloc, host, host_len);
    char *id = copy_text(&t->alloc, d->id, d->id_len);
    if (h == NULL || id == NULL) {
        arc_mem_free(&t->alloc, h);
        arc_mem_free(&t->alloc, id);
        return ARC_ERR_NOMEM;
    }
    arc_topo_node *n = &t->nodes[t->nnodes];
    n->id = id;
    n->host = h;
    n->port = port;
    n->tls_port = (int)d->tls_port;
    n->master = d->master;
    n->master_index = d->master ? ARC_TOPO_NONE : master_index;
    n->healthy = d->healthy;
    p->index[slot] = (uint16_t)t->nnodes;
    *at = (uint16_t)t->nnodes++;
    return ARC_OK;
}

/* A string the topology keeps as a C string: one with a NUL inside would
 * be cut short where it is used. */
static int check_c_text(parse *p, const arc_reply *r, const char *where, const char *what)
{
    if (!is_text(r))
        return fail(p, "%s: %s is a %s, not a string", where, what, type_of(r));
    if (memchr(r->str, '\0', r->len) != NULL)
        return fail(p, "%s: %s holds a NUL byte", where, what);
    return ARC_OK;
}

static int check_port(parse *p, long long port, const char *where, const char *what)
{
    if (port < 1 || port > 65535)
        return fail(p, "%s: %s %lld is out of 1..65535", where, what, port);
    return ARC_OK;
}

/* Marks lo..hi as served by nodes[m]. No server lists a slot twice, so a
 * repeat is refused whoever it names; that also bounds the work at one
 * write per slot whatever the reply holds. */
static int assign(parse *p, long long lo, long long hi, uint16_t m, const char *where)
{
    arc_topology *t = p->t;
    for (long long s = lo; s <= hi; s++) {
        uint16_t was = t->slot_master[s];
        if (was != ARC_TOPO_NONE) {
            char a[96], b[96];
            const arc_topo_node *n0 = &t->nodes[was], *n1 = &t->nodes[m];
            if (was == m)
                return fail(p, "%s: slot %lld is listed twice for %s", where, s,
                            addr_text(a, sizeof a, n1->host, n1->port));
            return fail(p, "%s: slot %lld is served by both %s and %s", where, s,
                        addr_text(a, sizeof a, n0->host, n0->port),
                        addr_text(b, sizeof b, n1->host, n1->port));
        }
        t->slot_master[s] = m;
        t->covered++;
    }
    return ARC_OK;
}

static int check_range(parse *p, const arc_reply *lo, const arc_reply *hi, const char *where)
{
    if (lo->type != ARC_REPLY_INTEGER || hi->type != ARC_REPLY_INTEGER)
        return fail(p, "%s: a slot range bound is a %s, not an integer", where,
                    type_of(lo->type != ARC_REPLY_INTEGER ? lo : hi));
    if (lo->integer < 0 || hi->integer < 0 || lo->integer >= ARC_SLOTS || hi->integer >= ARC_SLOTS)
        return fail(p, "%s: slot range %lld-%lld is out of 0..%d", where, lo->integer,
                    hi->integer, ARC_SLOTS - 1);
    if (lo->integer > hi->integer)
        return fail(p, "%s: slot range %lld-%lld ends before it starts", where, lo->integer,
                    hi->integer);
    return ARC_OK;
}

/* Starts every parse: *t empty, and the reply an array (or the server's
 * refusal, whose words become the message). */
static int begin(parse *p, arc_topology *t, const arc_reply *r, const char *from_host,
                 const arc_allocator *alloc, char *err, size_t errlen, const char *command)
{
    memset(t, 0, sizeof *t);
    arc__alloc_copy(&t->alloc, alloc);
    for (size_t s = 0; s < ARC_SLOTS; s++)
        t->slot_master[s] = ARC_TOPO_NONE;
    memset(p, 0, sizeof *p);
    p->t = t;
    p->from_host = from_host;
    p->err = err;
    p->errlen = errlen;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (r == NULL)
        return fail(p, "%s: no reply", command);
    if (r->type == ARC_REPLY_ERROR)
        return fail(p, "%s: the server answered: %.*s", command, (int)(r->len > 200 ? 200 : r->len),
                    r->str);
    if (r->type != ARC_REPLY_ARRAY)
        return fail(p, "%s: the reply is a %s, not an array", command, type_of(r));
    return ARC_OK;
}

/* Ends every parse: on failure *t is left empty (and still safe to free). */
static int end(parse *p, int rc)
{
    arc_mem_free(&p->t->alloc, p->index);
    p->index = NULL;
    if (rc != ARC_OK) {
        if (rc == ARC_ERR_NOMEM)
            fail(p, "out of memory");
        arc__topology_free(p->t);
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* CLUSTER SHARDS (Redis 7): [ {slots: [lo, hi, ...], nodes: [{...}, ...]}, ... ] */

/* Reads one node map of a shard into *d, checking every field it knows;
 * fields it does not know are skipped, so newer servers still parse. */
static int read_shard_node(parse *p, const arc_reply *r, const char *where, node_desc *d)
{
    memset(d, 0, sizeof *d);
    d->id = "";
    d->healthy = true; /* a server that does not say is taken at its word */
    if (!is_map_like(r))
        return fail(p, "%s: the node is a %s, not a map", where, type_of(r));
    bool have_role = false, have_port = false, have_tls = false;
    int rc;
    for (size_t i = 0; i < r->elements; i += 2) {
        const arc_reply *k = r->element[i], *v = r->element[i + 1];
        if (!is_text(k))
            return fail(p, "%s: a key is a %s, not a string", where, type_of(k));
        if (text_is(k, "id")) {
            if ((rc = check_c_text(p, v, where, "\"id\"")) != ARC_OK)
                return rc;
            d->id = v->str;
            d->id_len = v->len;
        } else if (text_is(k, "port") || text_is(k, "tls-port")) {
            bool tls = k->str[0] == 't';
            const char *what = tls ? "\"tls-port\"" : "\"port\"";
            if (v->type != ARC_REPLY_INTEGER)
                return fail(p, "%s: %s is a %s, not an integer", where, what, type_of(v));
            if ((rc = check_port(p, v->integer, where, what)) != ARC_OK)
                return rc;
            if (tls) {
                d->tls_port = v->integer;
                have_tls = true;
            } else {
                d->port = v->integer;
                have_port = true;
            }
        } else if (text_is(k, "endpoint")) {
            if (v->type == ARC_REPLY_NIL)
                continue;
            if ((rc = check_c_text(p, v, where, "\"endpoint\"")) != ARC_OK)
                return rc;
            /* "?" is how Redis says it does not know (unknown-endpoint). */
            if (v->len > 0 && !(v->len == 1 && v->str[0] == '?')) {
                d->host = v->str;
                d->host_len = v->len;
            }
        } else if (text_is(k, "ip") || text_is(k, "hostname")) {
            if (v->type != ARC_REPLY_NIL && !is_text(v))
                return fail(p, "%s: \"%s\" is a %s, not a string", where, k->str, type_of(v));
        } else if (text_is(k, "role")) {
            if (text_is(v, "master"))
                d->master = true;
            else if (text_is(v, "replica"))
                d->master = false;
            else if (is_text(v))
                return fail(p, "%s: role \"%.32s\" is neither master nor replica", where, v->str);
            else
                return fail(p, "%s: \"role\" is a %s, not a string", where, type_of(v));
            have_role = true;
        } else if (text_is(k, "replication-offset")) {
            if (v->type != ARC_REPLY_INTEGER)
                return fail(p, "%s: \"replication-offset\" is a %s, not an integer", where,
                            type_of(v));
        } else if (text_is(k, "health")) {
            if (!is_text(v))
                return fail(p, "%s: \"health\" is a %s, not a string", where, type_of(v));
            d->healthy = text_is(v, "online");
        }
    }
    if (!have_role)
        return fail(p, "%s: no \"role\"", where);
    if (!have_port && !have_tls)
        return fail(p, "%s: no \"port\"", where);
    /* A node with TLS only leaves "port" out: its TLS port is then the one
     * way in, and the node's address. */
    if (!have_port)
        d->port = d->tls_port;
    return ARC_OK;
}

/* The "slots" and "nodes" of a shard; both must be there, once each. */
static int shard_fields(parse *p, const arc_reply *r, const char *where, const arc_reply **slots,
                        const arc_reply **nodes)
{
    *slots = *nodes = NULL;
    if (!is_map_like(r))
        return fail(p, "%s: the shard is a %s, not a map", where, type_of(r));
    for (size_t i = 0; i < r->elements; i += 2) {
        const arc_reply *k = r->element[i], *v = r->element[i + 1];
        if (!is_text(k))
            return fail(p, "%s: a key is a %s, not a string", where, type_of(k));
        const arc_reply **dst = text_is(k, "slots") ? slots : text_is(k, "nodes") ? nodes : NULL;
        if (dst == NULL)
            continue;
        if (*dst != NULL)
            return fail(p, "%s: \"%s\" is given twice", where, k->str);
        if (v->type != ARC_REPLY_ARRAY)
            return fail(p, "%s: \"%s\" is a %s, not an array", where, k->str, type_of(v));
        *dst = v;
    }
    if (*slots == NULL)
        return fail(p, "%s: no \"slots\"", where);
    if (*nodes == NULL)
        return fail(p, "%s: no \"nodes\"", where);
    if ((*slots)->elements % 2 != 0)
        return fail(p, "%s: \"slots\" has %zu elements, not start and end pairs", where,
                    (*slots)->elements);
    return ARC_OK;
}

static int read_shard(parse *p, const arc_reply *r, size_t si)
{
    char where[64];
    snprintf(where, sizeof where, "shard %zu", si);
    const arc_reply *slots, *nodes;
    int rc = shard_fields(p, r, where, &slots, &nodes);
    if (rc != ARC_OK)
        return rc;
    for (size_t i = 0; i < slots->elements; i += 2)
        if ((rc = check_range(p, slots->element[i], slots->element[i + 1], where)) != ARC_OK)
            return rc;

    /* Every node is read and checked first, so that the master is known
     * before its replicas are added, wherever the reply lists it. */
    char nwhere[96];
    size_t master_at = SIZE_MAX, replicas = 0;
    node_desc d;
    for (size_t i = 0; i < nodes->elements; i++) {
        snprintf(nwhere, sizeof nwhere, "%s node %zu", where, i);
        if ((rc = read_shard_node(p, nodes->element[i], nwhere, &d)) != ARC_OK)
            return rc;
        if (!d.master) {
            replicas++;
        } else if (master_at != SIZE_MAX) {
            return fail(p, "%s: two masters (nodes %zu and %zu)", where, master_at, i);
        } else {
            master_at = i;
        }
    }
    if (master_at == SIZE_MAX) {
        if (replicas > 0)
            return fail(p, "%s: %zu replica%s and no master", where, replicas,
                        replicas == 1 ? "" : "s");
        if (slots->elements > 0)
            return fail(p, "%s: slots but no master to serve them", where);
        return ARC_OK; /* nothing at all: nothing to add */
    }
    uint16_t m;
    snprintf(nwhere, sizeof nwhere, "%s node %zu", where, master_at);
    read_shard_node(p, nodes->element[master_at], nwhere, &d);
    if ((rc = add_node(p, &d, ARC_TOPO_NONE, nwhere, &m)) != ARC_OK)
        return rc;
    for (size_t i = 0; i < slots->elements; i += 2)
        if ((rc = assign(p, slots->element[i]->integer, slots->element[i + 1]->integer, m,
                         where)) != ARC_OK)
            return rc;
    for (size_t i = 0; i < nodes->elements; i++) {
        if (i == master_at)
            continue;
        uint16_t at;
        snprintf(nwhere, sizeof nwhere, "%s node %zu", where, i);
        read_shard_node(p, nodes->element[i], nwhere, &d);
        if ((rc = add_node(p, &d, m, nwhere, &at)) != ARC_OK)
            return rc;
    }
    return ARC_OK;
}

int arc__topology_from_shards(arc_topology *t, const arc_reply *r, const char *from_host,
                              const arc_allocator *alloc, char *err, size_t errlen)
{
    parse p;
    int rc = begin(&p, t, r, from_host, alloc, err, errlen, "CLUSTER SHARDS");
    for (size_t i = 0; rc == ARC_OK && i < r->elements; i++)
        rc = read_shard(&p, r->element[i], i);
    return end(&p, rc);
}

/* ------------------------------------------------------------------------ */
/* CLUSTER SLOTS: [ [lo, hi, [host, port, id?, metadata?], replica..., ], ... ] */

static int read_slots_node(parse *p, const arc_reply *r, const char *where, bool master,
                           node_desc *d)
{
    memset(d, 0, sizeof *d);
    d->id = "";
    d->master = master;
    d->healthy = true; /* CLUSTER SLOTS lists no health */
    if (r->type != ARC_REPLY_ARRAY)
        return fail(p, "%s: the node is a %s, not an array", where, type_of(r));
    if (r->elements < 2)
        return fail(p, "%s: the node has %zu elements, not host and port", where, r->elements);
    const arc_reply *host = r->element[0], *port = r->element[1];
    int rc;
    /* A NIL, "" or "?" host is the unknown endpoint: the client is to use
     * the address it asked (CLUSTER SLOTS, "preferred endpoint"). */
    if (host->type != ARC_REPLY_NIL) {
        if ((rc = check_c_text(p, host, where, "the host")) != ARC_OK)
            return rc;
        if (host->len > 0 && !(host->len == 1 && host->str[0] == '?')) {
            d->host = host->str;
            d->host_len = host->len;
        }
    }
    if (port->type != ARC_REPLY_INTEGER)
        return fail(p, "%s: the port is a %s, not an integer", where, type_of(port));
    if ((rc = check_port(p, port->integer, where, "port")) != ARC_OK)
        return rc;
    d->port = port->integer;
    if (r->elements > 2 && r->element[2]->type != ARC_REPLY_NIL) {
        if ((rc = check_c_text(p, r->element[2], where, "the id")) != ARC_OK)
            return rc;
        d->id = r->element[2]->str;
        d->id_len = r->element[2]->len;
    }
    /* Redis 7's metadata (hostname, ip): a map of strings. Nothing in it is
     * needed, but its shape is checked like the rest. */
    if (r->elements > 3) {
        const arc_reply *meta = r->element[3];
        if (!is_map_like(meta))
            return fail(p, "%s: the metadata is a %s, not a map", where, type_of(meta));
        for (size_t i = 0; i < meta->elements; i += 2)
            if (!is_text(meta->element[i]))
                return fail(p, "%s: a metadata key is a %s, not a string", where,
                            type_of(meta->element[i]));
    }
    return ARC_OK;
}

static int read_slots_entry(parse *p, const arc_reply *r, size_t ei)
{
    char where[64];
    snprintf(where, sizeof where, "slots entry %zu", ei);
    if (r->type != ARC_REPLY_ARRAY)
        return fail(p, "%s: the entry is a %s, not an array", where, type_of(r));
    if (r->elements < 3)
        return fail(p, "%s: the entry has %zu elements, not start, end and a master", where,
                    r->elements);
    int rc = check_range(p, r->element[0], r->element[1], where);
    if (rc != ARC_OK)
        return rc;
    char nwhere[96];
    node_desc d;
    uint16_t m, at;
    snprintf(nwhere, sizeof nwhere, "%s master", where);
    if ((rc = read_slots_node(p, r->element[2], nwhere, true, &d)) != ARC_OK ||
        (rc = add_node(p, &d, ARC_TOPO_NONE, nwhere, &m)) != ARC_OK)
        return rc;
    if ((rc = assign(p, r->element[0]->integer, r->element[1]->integer, m, where)) != ARC_OK)
        return rc;
    for (size_t i = 3; i < r->elements; i++) {
        snprintf(nwhere, sizeof nwhere, "%s replica %zu", where, i - 3);
        if ((rc = read_slots_node(p, r->element[i], nwhere, false, &d)) != ARC_OK ||
            (rc = add_node(p, &d, m, nwhere, &at)) != ARC_OK)
            return rc;
    }
    return ARC_OK;
}

int arc__topology_from_slots(arc_topology *t, const arc_reply *r, const char *from_host,
                             const arc_allocator *alloc, char *err, size_t errlen)
{
    parse p;
    int rc = begin(&p, t, r, from_host, alloc, err, errlen, "CLUSTER SLOTS");
    for (size_t i = 0; rc == ARC_OK && i < r->elements; i++)
        rc = read_slots_entry(&p, r->element[i], i);
    return end(&p, rc);
}

/* ------------------------------------------------------------------------ */

uint16_t arc__topology_find(const arc_topology *t, const char *host, int port)
{
    /* A scan: called on a redirect to a node not yet connected, not per
     * command, and clusters have hundreds of nodes at most. */
    if (t == NULL || host == NULL)
        return ARC_TOPO_NONE;
    for (size_t k = 0; k < t->nnodes; k++)
        if (t->nodes[k].port == port && strcmp(t->nodes[k].host, host) == 0)
            return (uint16_t)k;
    return ARC_TOPO_NONE;
}

void arc__topology_free(arc_topology *t)
{
    if (t == NULL)
        return;
    for (size_t k = 0; k < t->nnodes; k++) {
        arc_mem_free(&t->alloc, t->nodes[k].id);
        arc_mem_free(&t->alloc, t->nodes[k].host);
    }
    arc_mem_free(&t->alloc, t->nodes);
    t->nodes = NULL;
    t->nnodes = 0;
    t->covered = 0;
    for (size_t s = 0; s < ARC_SLOTS; s++)
        t->slot_master[s] = ARC_TOPO_NONE;
}
