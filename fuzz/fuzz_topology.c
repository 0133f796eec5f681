/* fuzz_topology.c: whatever a node answers to CLUSTER SHARDS, CLUSTER SLOTS
 * or COMMAND, parsed by all three parsers, with an allocator that fails now
 * and then. A topology that parses must keep its invariants; one that does
 * not must be empty and say why; nothing may leak. A table that parses is
 * looked up and walked with every spec it holds, and a reply that is an
 * array of strings is also walked as a command.
 *
 * Input layout: byte 0 is the mode, the rest RESP (read with the reader;
 * each reply in it is tried). In the mode, the low four bits are the
 * allocator's period (0: it never fails), 0x40 says the reply came from an
 * unknown address (from_host NULL) and 0x80 stops every key walk after its
 * second key. So '0'..'9' (a readable corpus file) keep the address and
 * walk whole, and '@'..'O' drop the address. */
#include "keypos.h"
#include "slot.h"
#include "topology.h"

#include "flaky_alloc.h"

#include <arc/buffer.h>
#include <arc/format.h>
#include <arc/reader.h>
#include <arc/status.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}


static void check_empty(const arc_topology *t)
{
    check(t->nnodes == 0 && t->nodes == NULL && t->covered == 0);
    for (size_t s = 0; s < ARC_SLOTS; s++)
        check(t->slot_master[s] == ARC_TOPO_NONE);
}

/* What holds for every topology a parser accepted. */
static void check_topology(const arc_topology *t)
{
    size_t covered = 0;
    for (size_t s = 0; s < ARC_SLOTS; s++) {
        uint16_t m = t->slot_master[s];
        if (m == ARC_TOPO_NONE)
            continue;
        covered++;
        check(m < t->nnodes && t->nodes[m].master);
    }
    check(covered == t->covered);
    for (size_t k = 0; k < t->nnodes; k++) {
        const arc_topo_node *n = &t->nodes[k];
        check(n->id != NULL && n->host != NULL && n->host[0] != '\0');
        check(n->port >= 1 && n->port <= 65535);
        check(n->tls_port >= 0 && n->tls_port <= 65535);
        if (n->master)
            check(n->master_index == ARC_TOPO_NONE);
        else
            check(n->master_index < t->nnodes && t->nodes[n->master_index].master);
        /* Each address once: find() gives back this very node. */
        check(arc__topology_find(t, n->host, n->port) == k);
    }
}

typedef int parse_fn(arc_topology *, const arc_reply *, const char *, const arc_allocator *,
                     char *, size_t);

static void try_topology(parse_fn *parse, const arc_reply *r, const char *from,
                         const arc_allocator *a)
{
    arc_topology t;
    char err[128];
    int rc = parse(&t, r, from, a, err, sizeof err);
    check(memchr(err, '\0', sizeof err) != NULL);
    if (rc == ARC_OK) {
        check(err[0] == '\0');
        check_topology(&t);
    } else {
        check(rc == ARC_ERR_PROTOCOL || rc == ARC_ERR_NOMEM);
        check(err[0] != '\0');
        check_empty(&t);
    }
    arc__topology_free(&t);
    check_empty(&t);
}

/* A walk under way: keys seen, and whether to stop after the second. */
typedef struct walker {
    long calls;
    bool stop_early;
} walker;

static bool count_key(const char *key, size_t len, void *data)
{
    walker *w = data;
    check(arc__key_slot(key, len) < ARC_SLOTS);
    w->calls++;
    return !(w->stop_early && w->calls == 2);
}

/* Walks `spec` over the encoded command in `b`; the count it returns is
 * the number of calls made. */
static void walk(const arc_keyspec *spec, const arc_buffer *b, bool stop_early)
{
    arc_cmdview args;
    const char *name;
    size_t len;
    if (!arc__cmdview_begin(&args, arc_buffer_data(b), arc_buffer_len(b)))
        return;
    size_t argc = args.left;
    if (!arc__cmdview_next(&args, &name, &len))
        return;
    walker w = {0, stop_early};
    long n = arc__keys_walk(spec, &args, argc, count_key, &w);
    check(n == -1 ? w.calls == 0 : n == w.calls);
    check(n < (long)argc);
    check(!stop_early || n <= 2);
}

static bool text(const arc_reply *r)
{
    return r->type == ARC_REPLY_STRING || r->type == ARC_REPLY_STATUS;
}

/* A reply that is an array of strings, as a command: found in the table
 * (or the built-in one) and walked. */
static void walk_as_command(const arc_keytable *t, const arc_reply *r, arc_buffer *b,
                            bool stop_early)
{
    if (r->type != ARC_REPLY_ARRAY || r->elements == 0 || r->elements > 64)
        return;
    const char *argv[64];
    size_t lens[64];
    for (size_t i = 0; i < r->elements; i++) {
        if (!text(r->element[i]))
            return;
        argv[i] = r->element[i]->str;
        lens[i] = r->element[i]->len;
    }
    arc_buffer_clear(b);
    if (arc_format_argv(b, (int)r->elements, argv, lens) != ARC_OK)
        return;
    arc_keyspec spec;
    if (arc__keytable_find(t, argv[0], lens[0], r->elements > 1 ? argv[1] : NULL,
                           r->elements > 1 ? lens[1] : 0, &spec))
        walk(&spec, b, stop_early);
}

/* Every entry of a table that parsed is found, and its spec walked over a
 * command shaped to reach each form's checks. */
static void check_table(const arc_keytable *t, const arc_reply *r, arc_buffer *b,
                        bool stop_early)
{
    static const char *const args[] = {"cmd", "2", "k1", "STREAMS", "k2", "0", "1", "$"};
    arc_buffer_clear(b);
    if (arc_format_argv(b, 8, args, NULL) != ARC_OK)
        return;
    for (size_t i = 0; i < r->elements && i < 256; i++) {
        const arc_reply *e = r->element[i], *name = e->element[0];
        arc_keyspec spec;
        check(arc__keytable_find(t, name->str, name->len, NULL, 0, &spec));
        walk(&spec, b, stop_early);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t mode = size > 0 ? data[0] : 0;
    const char *in = size > 1 ? (const char *)data + 1 : "";
    size_t len = size > 1 ? size - 1 : 0;
    flaky fl = {0, mode & 0x0f, 0};
    arc_allocator a = {flaky_realloc, &fl};
    const char *from = (mode & 0x40) ? NULL : "192.0.2.1";
    bool stop_early = (mode & 0x80) != 0;

    arc_reader *rd = arc_reader_new(NULL, NULL);
    arc_buffer *b = arc_buffer_new(0, NULL);
    if (rd == NULL || b == NULL || arc_reader_feed(rd, in, len) != ARC_OK) {
        arc_reader_free(rd);
        arc_buffer_free(b);
        return 0;
    }
    /* A few replies are plenty: each goes through every parser. */
    for (int replies = 0; replies < 8; replies++) {
        arc_reply *r = NULL;
        if (arc_reader_next(rd, &r) != ARC_OK || r == NULL)
            break;
        try_topology(arc__topology_from_shards, r, from, &a);
        try_topology(arc__topology_from_slots, r, from, &a);
        arc_keytable *t = NULL;
        int rc = arc__keytable_from_command(&t, r, &a);
        if (rc == ARC_OK) {
            check(t != NULL);
            check_table(t, r, b, stop_early);
        } else {
            check(t == NULL && (rc == ARC_ERR_PROTOCOL || rc == ARC_ERR_NOMEM));
        }
        walk_as_command(t, r, b, stop_early);
        arc__keytable_free(t);
        check(fl.live == 0);
    }
    arc_reader_free(rd);
    arc_buffer_free(b);
    check(fl.live == 0);
    return 0;
}
