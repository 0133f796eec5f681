/* fuzz_reader.c: feeds arbitrary bytes to the RESP reader in arbitrary pieces
 * under arbitrary limits, and checks every reply tree it hands out.
 *
 * Input layout: byte 0 picks the limits and the allocator, byte 1 picks how
 * the rest is cut into feeds, and the rest is what the server sent. Corpus
 * files start with two printable bytes, e.g. "00" (default limits, one
 * feed) or "21" (tiny limits, one byte per feed), so they stay readable. */
#include "flaky_alloc.h"

#include <arc/reader.h>
#include <arc/reply.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the bytes read from replies end up, so that reading them stays. */
static volatile unsigned sink;


static void check(bool ok)
{
    if (!ok)
        abort();
}

static bool has_text(int type)
{
    return type == ARC_REPLY_STRING || type == ARC_REPLY_STATUS || type == ARC_REPLY_ERROR ||
           type == ARC_REPLY_DOUBLE || type == ARC_REPLY_BIGNUM || type == ARC_REPLY_VERB;
}

static bool has_children(int type)
{
    return type == ARC_REPLY_ARRAY || type == ARC_REPLY_MAP || type == ARC_REPLY_SET ||
           type == ARC_REPLY_PUSH || type == ARC_REPLY_ATTR;
}

/* Where the walk is: the limits in force and a sink for the bytes read, so
 * that reading them cannot be optimised away. */
typedef struct walk {
    const arc_reader_limits *lim;
    size_t depth_cap;
    unsigned sink;
} walk;

/* Reads every byte of every node and checks the invariants that hold for
 * any reply, whatever the input was. Attributes sit at the depth of the node
 * they hang on, and only ever in an attribute pointer. */
static void walk_tree(walk *w, const arc_reply *r, size_t depth, bool is_attr)
{
    check(r != NULL);
    check(depth <= w->depth_cap);
    check(r->type >= ARC_REPLY_STRING && r->type <= ARC_REPLY_VERB);
    check((r->type == ARC_REPLY_ATTR) == is_attr);
    if (has_text(r->type)) {
        check(r->str != NULL);
        check(r->len <= w->lim->max_bulk || r->len <= w->lim->max_buffer);
        for (size_t i = 0; i < r->len; i++)
            w->sink += (unsigned char)r->str[i];
        check(r->str[r->len] == '\0');
    }
    /* These only ever come from one line: no longer than max_line, and a
     * status holds neither CR nor LF (RESP3.md, "Simple string"). */
    if (r->type == ARC_REPLY_STATUS || r->type == ARC_REPLY_DOUBLE || r->type == ARC_REPLY_BIGNUM)
        check(r->len <= w->lim->max_line);
    if (r->type == ARC_REPLY_STATUS)
        check(memchr(r->str, '\r', r->len) == NULL && memchr(r->str, '\n', r->len) == NULL);
    /* RESP3.md, "Push type": push data is only ever at the top level. */
    if (r->type == ARC_REPLY_PUSH)
        check(depth == 1);
    if (r->type == ARC_REPLY_BOOL)
        check(r->integer == 0 || r->integer == 1);
    if (r->type == ARC_REPLY_VERB)
        check(r->vtype[3] == '\0'); /* the three bytes themselves may be anything */
    if (has_children(r->type)) {
        check(r->elements <= w->lim->max_elements);
        check(r->elements == 0 || r->element != NULL);
        if (r->type == ARC_REPLY_MAP || r->type == ARC_REPLY_ATTR)
            check(r->elements % 2 == 0);
        if (r->type == ARC_REPLY_PUSH) {
            check(r->elements >= 1);
            check(r->element[0]->type == ARC_REPLY_STRING ||
                  r->element[0]->type == ARC_REPLY_STATUS);
        }
        for (size_t i = 0; i < r->elements; i++) {
            check(r->element[i] != NULL);
            walk_tree(w, r->element[i], depth + 1, false);
        }
    }
    /* Two attributes in a row keep both: the older hangs on the newer. */
    if (r->attribute != NULL)
        walk_tree(w, r->attribute, depth, true);
}

static bool same_tree(const arc_reply *a, const arc_reply *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (a->type != b->type)
        return false;
    if ((a->type == ARC_REPLY_INTEGER || a->type == ARC_REPLY_BOOL) && a->integer != b->integer)
        return false;
    if (has_text(a->type) && (a->len != b->len || memcmp(a->str, b->str, a->len) != 0))
        return false;
    if (a->type == ARC_REPLY_DOUBLE && a->dval != b->dval &&
        !(a->dval != a->dval && b->dval != b->dval)) /* NaN equals NaN here */
        return false;
    if (a->type == ARC_REPLY_VERB && memcmp(a->vtype, b->vtype, 4) != 0)
        return false;
    if (has_children(a->type)) {
        if (a->elements != b->elements)
            return false;
        for (size_t i = 0; i < a->elements; i++)
            if (!same_tree(a->element[i], b->element[i]))
                return false;
    }
    return same_tree(a->attribute, b->attribute);
}

/* Limits picked by byte 0. Low two bits: defaults, small, tiny, or each
 * derived from the byte; bit 7: a flaky allocator. max_line is below
 * max_buffer when small, left at its default when tiny (so that a line can
 * still fill the buffer), and on either side of max_buffer when derived. */
static void pick_limits(uint8_t b, arc_reader_limits *lim)
{
    memset(lim, 0, sizeof *lim);
    switch (b & 3) {
    case 0:
        break; /* all defaults */
    case 1:
        lim->max_buffer = 256;
        lim->max_bulk = 64;
        lim->max_elements = 16;
        lim->max_depth = 8;
        lim->max_line = 64;
        break;
    case 2:
        lim->max_buffer = 16;
        lim->max_bulk = 4;
        lim->max_elements = 3;
        lim->max_depth = 3;
        break;
    default:
        lim->max_buffer = 8u << ((b >> 2) & 7);
        lim->max_bulk = 1u + ((b >> 2) & 15);
        lim->max_elements = 1u + ((b >> 4) & 7);
        lim->max_depth = 1u + ((b >> 3) & 3);
        lim->max_line = 3u << ((b >> 4) & 7);
        break;
    }
}

/* The effective limits, zeros replaced by the documented defaults. */
static void effective(arc_reader_limits *lim)
{
    if (lim->max_buffer == 0)
        lim->max_buffer = ARC_READER_DEFAULT_MAX_BUFFER;
    if (lim->max_bulk == 0)
        lim->max_bulk = ARC_READER_DEFAULT_MAX_BULK;
    if (lim->max_elements == 0)
        lim->max_elements = ARC_READER_DEFAULT_MAX_ELEMENTS;
    if (lim->max_depth == 0)
        lim->max_depth = ARC_READER_DEFAULT_MAX_DEPTH;
    if (lim->max_line == 0)
        lim->max_line = ARC_READER_DEFAULT_MAX_LINE;
}

/* The size of the next feed, from byte 1: all at once, one byte at a time,
 * a fixed size, or a pseudo-random walk seeded by the byte. */
static size_t next_piece(uint8_t b, uint32_t *seed, size_t left)
{
    size_t n;
    switch (b & 7) {
    case 0:
        n = left;
        break;
    case 1:
        n = 1;
        break;
    case 2:
    case 3:
        n = 1u + (b >> 3);
        break;
    default:
        *seed = *seed * 1103515245u + 12345u;
        n = 1u + ((*seed >> 16) % (2u + (b >> 3) * 4u));
        break;
    }
    return n < left ? n : left;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t b0 = size > 0 ? data[0] : 0;
    uint8_t b1 = size > 1 ? data[1] : 0;
    const char *in = size > 2 ? (const char *)data + 2 : "";
    size_t len = size > 2 ? size - 2 : 0;

    arc_reader_limits lim;
    pick_limits(b0, &lim);
    flaky fl = {0, (b0 & 0x80) ? 2u + (b1 >> 4) : 0u, 0};
    arc_allocator alloc = {flaky_realloc, &fl};

    arc_reader *r = NULL;
    for (int tries = 0; r == NULL && tries < 8; tries++)
        r = arc_reader_new(&lim, &alloc);
    if (r == NULL) {
        check(fl.live == 0);
        return 0;
    }
    effective(&lim);
    walk w = {&lim, lim.max_depth, 0};

    uint32_t seed = b1;
    size_t at = 0, replies = 0, nomem = 0;
    bool failed = false;
    while (at < len && !failed && nomem < 64) {
        size_t n = next_piece(b1, &seed, len - at);
        size_t pending = arc_reader_pending(r);
        check(pending <= lim.max_buffer);
        if (n > lim.max_buffer - pending) {
            /* Too much at once: refused whole, and nothing is kept. */
            check(arc_reader_feed(r, in + at, n) == ARC_ERR_LIMIT);
            check(arc_reader_pending(r) == pending);
            n = lim.max_buffer - pending;
            /* After a drain that asked for more bytes the buffer is never
             * full: a full buffer holding no complete element can never
             * complete, and the reader must say so instead of stalling. */
            check(n > 0);
        }
        int rc = arc_reader_feed(r, in + at, n);
        if (rc == ARC_ERR_NOMEM) {
            nomem++;
            continue; /* the allocator refuses only now and then: try again */
        }
        check(rc == ARC_OK);
        nomem = 0;
        at += n;
        for (;;) {
            arc_reply *out = NULL;
            rc = arc_reader_next(r, &out);
            if (rc == ARC_ERR_NOMEM) {
                if (++nomem >= 64)
                    break;
                continue;
            }
            if (rc == ARC_ERR_PROTOCOL) {
                check(arc_reader_error(r)[0] != '\0');
                check(arc_reader_next(r, &out) == ARC_ERR_PROTOCOL);
                check(arc_reader_feed(r, "+OK\r\n", 5) == ARC_ERR_PROTOCOL);
                failed = true;
                break;
            }
            check(rc == ARC_OK);
            nomem = 0;
            if (out == NULL)
                break;
            walk_tree(&w, out, 1, false);
            if (++replies % 3 == 1) {
                arc_reply *copy = arc_reply_dup(out, &alloc);
                if (copy != NULL) {
                    check(same_tree(out, copy));
                    walk_tree(&w, copy, 1, false);
                    arc_reply_free(copy);
                }
            }
        }
    }
    check(arc_reader_pending(r) <= lim.max_buffer);
    arc_reader_free(r);
    check(fl.live == 0);
    sink = w.sink;
    return 0;
}
