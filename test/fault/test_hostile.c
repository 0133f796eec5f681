/* test_hostile.c: lengths and shapes a hostile (or broken) server can send
 * to make a client allocate without bound. Each is fed to a bare reader and
 * to a whole context over a socketpair; each must be refused with a protocol
 * error that names the limit, or parsed within a bounded amount of memory.
 * An allocator that tracks the peak of live bytes measures "bounded"; the
 * peaks are printed as TAP comments so that a run shows them. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arc/adapters/poll.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

/* ---- an allocator that knows the peak of live bytes ---- */

typedef struct peak_alloc {
    size_t live, peak;
} peak_alloc;

static void *peak_realloc(void *ud, void *p, size_t n)
{
    peak_alloc *a = ud;
    size_t old = p != NULL ? malloc_usable_size(p) : 0;
    if (n == 0) {
        a->live -= old;
        free(p);
        return NULL;
    }
    void *q = realloc(p, n);
    if (q == NULL)
        return NULL;
    a->live = a->live - old + malloc_usable_size(q);
    if (a->live > a->peak)
        a->peak = a->live;
    return q;
}

/* ---- hostile inputs ---- */

/* `count` copies of `unit` after `head`, made once per case. */
static char *repeat(const char *head, const char *unit, size_t count, size_t *len)
{
    size_t hl = strlen(head), ul = strlen(unit);
    *len = hl + ul * count;
    char *s = malloc(*len);
    assert_non_null(s);
    memcpy(s, head, hl);
    for (size_t i = 0; i < count; i++)
        memcpy(s + hl + i * ul, unit, ul);
    return s;
}

typedef struct hostile {
    const char *name;
    char *bytes;
    size_t len;
    arc_reader_limits limits; /* zero: the defaults */
    const char *error;        /* expected in the error message; NULL: accepted */
    size_t max_peak;          /* live bytes the reader or context may reach */
} hostile;

static void hostile_free(hostile *h)
{
    free(h->bytes);
}

static hostile literal(const char *name, const char *bytes, const char *error, size_t max_peak)
{
    hostile h = {.name = name, .error = error, .max_peak = max_peak};
    h.bytes = strdup(bytes);
    assert_non_null(h.bytes);
    h.len = strlen(bytes);
    return h;
}

/* ---- the bare reader ---- */

/* Feeds `h` in 16 KiB pieces, taking replies out as they complete. */
static void reader_case(const hostile *h)
{
    peak_alloc pa = {0};
    arc_allocator alloc = {peak_realloc, &pa};
    arc_reader *r = arc_reader_new(&h->limits, &alloc);
    assert_non_null(r);
    int rc = ARC_OK;
    size_t replies = 0;
    for (size_t off = 0; off < h->len && rc == ARC_OK;) {
        size_t n = h->len - off < 16 * KiB ? h->len - off : 16 * KiB;
        rc = arc_reader_feed(r, h->bytes + off, n);
        if (rc != ARC_OK)
            break;
        off += n;
        arc_reply *reply;
        while ((rc = arc_reader_next(r, &reply)) == ARC_OK && reply != NULL)
            replies++;
    }
    printf("# reader %s: peak %zu bytes, %zu replies, %s %s\n", h->name, pa.peak, replies,
           arc_status_name(rc), arc_reader_error(r));
    if (h->error != NULL) {
        assert_int_equal(rc, ARC_ERR_PROTOCOL);
        if (strstr(arc_reader_error(r), h->error) == NULL)
            fail_msg("%s: error \"%s\" does not name \"%s\"", h->name, arc_reader_error(r),
                     h->error);
        assert_int_equal(replies, 0);
    } else {
        assert_int_equal(rc, ARC_OK);
        assert_int_equal(replies, 1);
    }
    if (pa.peak > h->max_peak)
        fail_msg("%s: peak %zu bytes is over %zu", h->name, pa.peak, h->max_peak);
    arc_reader_free(r);
    assert_int_equal(pa.live, 0);
}

/* ---- a whole context, the hostile bytes coming from its server ---- */

typedef struct outcome {
    int calls, status, disconnects, disconnect_status;
    int type;
    size_t elements;
} outcome;

static void on_reply(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    outcome *o = pd;
    o->calls++;
    o->status = status;
    if (r != NULL) {
        o->type = r->type;
        o->elements = r->elements;
    }
}

static void on_disconnect(arc_context *c, int status, void *data)
{
    (void)c;
    outcome *o = data;
    o->disconnects++;
    o->disconnect_status = status;
}

/* A context on a poll loop over a socketpair whose other end (*server,
 * non-blocking) plays the server, with one GET pending. */
static arc_context *context_with_get(const arc_reader_limits *limits, const arc_allocator *alloc,
                                     outcome *o, int *server, arc_poll_loop **loop)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
    arc_options opt;
    memset(&opt, 0, sizeof opt);
    opt.limits = *limits;
    opt.allocator = alloc;
    opt.on_disconnect = on_disconnect;
    opt.data = o;
    arc_context *c = arc_connect_fd(sv[0], &opt);
    assert_non_null(c);
    *loop = arc_poll_loop_new();
    assert_non_null(*loop);
    assert_int_equal(arc_poll_attach(c, *loop), ARC_OK);
    assert_int_equal(arc_command(c, on_reply, o, "GET k"), ARC_OK);
    *server = sv[1];
    return c;
}

/* Sends `h` as the answer to one GET, as fast as the client reads it. */
static void context_case(const hostile *h)
{
    peak_alloc pa = {0};
    arc_allocator alloc = {peak_realloc, &pa};
    outcome o = {0};
    int sv[2];
    arc_poll_loop *loop;
    arc_context *c = context_with_get(&h->limits, &alloc, &o, &sv[1], &loop);

    size_t off = 0;
    for (int idle = 0; o.calls == 0 && idle < 2000;) {
        if (off < h->len) {
            ssize_t w = write(sv[1], h->bytes + off, h->len - off);
            if (w > 0)
                off += (size_t)w;
            else
                assert_true(errno == EAGAIN || errno == EPIPE || errno == ECONNRESET);
            if (w < 0 && errno != EAGAIN)
                off = h->len; /* the client closed: stop sending */
        }
        arc_poll_loop_run_once(loop, off < h->len ? 0 : 5);
        idle += off >= h->len;
    }
    printf("# context %s: peak %zu bytes, reply status %s, %s\n", h->name, pa.peak,
           arc_status_name(o.status), arc_context_error(c));
    assert_int_equal(o.calls, 1);
    if (h->error != NULL) {
        assert_int_equal(o.status, ARC_ERR_UNANSWERED); /* sent, then the reply was bad */
        assert_int_equal(o.disconnects, 1);
        assert_int_equal(o.disconnect_status, ARC_ERR_PROTOCOL);
        assert_int_equal(arc_context_failure(c), ARC_ERR_PROTOCOL);
        if (strstr(arc_context_error(c), h->error) == NULL)
            fail_msg("%s: error \"%s\" does not name \"%s\"", h->name, arc_context_error(c),
                     h->error);
    } else {
        assert_int_equal(o.status, ARC_OK);
        assert_int_equal(arc_context_state(c), ARC_STATE_READY);
    }
    if (pa.peak > h->max_peak)
        fail_msg("%s: peak %zu bytes is over %zu", h->name, pa.peak, h->max_peak);
    arc_free(c);
    arc_poll_loop_free(loop);
    close(sv[1]);
    assert_int_equal(pa.live, 0);
}

static void both(hostile h)
{
    reader_case(&h);
    context_case(&h);
    hostile_free(&h);
}

/* The largest signed 64-bit length: refused from its header, nothing of that
 * size is ever asked of the allocator. */
static void bulk_of_int64_max(void **state)
{
    (void)state;
    both(literal("$9223372036854775807", "$9223372036854775807\r\n", "max_bulk", 256 * KiB));
}

static void bulk_length_overflowing(void **state)
{
    (void)state;
    both(literal("$9223372036854775808", "$9223372036854775808\r\n", "length", 256 * KiB));
}

static void array_of_2_pow_31(void **state)
{
    (void)state;
    both(literal("*2147483648", "*2147483648\r\n", "max_elements", 256 * KiB));
}

static void map_of_2_pow_62_pairs(void **state)
{
    (void)state;
    hostile h = literal("%4611686018427387904", "%4611686018427387904\r\n", "max_elements",
                        256 * KiB);
    h.limits.max_elements = 0;
    both(h);
}

/* A million nested one-element arrays: refused at max_depth, after reading
 * only the first few hundred bytes of 4 MB. */
static void nesting_a_million_deep(void **state)
{
    (void)state;
    hostile h = {.name = "*1 x 10^6", .error = "max_depth", .max_peak = 256 * KiB};
    h.bytes = repeat("", "*1\r\n", 1000000, &h.len);
    both(h);
}

/* 2 GiB announced: over the default max_bulk, refused at once. */
static void bulk_of_2_gib_default_limit(void **state)
{
    (void)state;
    both(literal("$2147483648", "$2147483648\r\n", "max_bulk", 256 * KiB));
}

/* 2 GiB announced under a limit that allows it, then 16 MiB trickled: memory
 * follows the bytes that came, not the length that was announced. */
static void bulk_of_2_gib_trickled(void **state)
{
    (void)state;
    const size_t sent = 16 * MiB;
    const char *head = "$2147483648\r\n";
    size_t hl = strlen(head);
    char *bytes = malloc(hl + sent);
    assert_non_null(bytes);
    memcpy(bytes, head, hl);
    memset(bytes + hl, 'x', sent);

    arc_reader_limits limits = {.max_bulk = 4 * GiB};
    peak_alloc pa = {0};
    arc_allocator alloc = {peak_realloc, &pa};
    arc_reader *r = arc_reader_new(&limits, &alloc);
    assert_non_null(r);
    for (size_t off = 0; off < hl + sent; off += 4 * KiB) {
        size_t n = hl + sent - off < 4 * KiB ? hl + sent - off : 4 * KiB;
        assert_int_equal(arc_reader_feed(r, bytes + off, n), ARC_OK);
        arc_reply *reply;
        assert_int_equal(arc_reader_next(r, &reply), ARC_OK);
        assert_null(reply);
    }
    printf("# reader $2147483648 + 16 MiB trickled: peak %zu bytes\n", pa.peak);
    /* Doubling growth: at most twice what arrived, plus the reader's own. */
    assert_true(pa.peak <= 2 * sent + 256 * KiB);
    arc_reader_free(r);
    assert_int_equal(pa.live, 0);

    /* The same through a context: the reply stays pending, the memory stays
     * near what arrived, and freeing the context answers the command. */
    pa.peak = pa.live = 0;
    outcome o = {0};
    int sv[2];
    arc_poll_loop *loop;
    arc_context *c = context_with_get(&limits, &alloc, &o, &sv[1], &loop);
    size_t off = 0;
    while (off < hl + sent) {
        size_t n = hl + sent - off < 4 * KiB ? hl + sent - off : 4 * KiB;
        ssize_t w = write(sv[1], bytes + off, n);
        if (w > 0)
            off += (size_t)w;
        arc_poll_loop_run_once(loop, 0);
    }
    for (int i = 0; i < 20; i++)
        arc_poll_loop_run_once(loop, 1);
    printf("# context $2147483648 + 16 MiB trickled: peak %zu bytes\n", pa.peak);
    assert_int_equal(o.calls, 0);
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);
    assert_true(pa.peak <= 2 * sent + MiB);
    arc_free(c);
    assert_int_equal(o.calls, 1);
    assert_int_equal(o.status, ARC_ERR_FREED);
    arc_poll_loop_free(loop);
    close(sv[1]);
    assert_int_equal(pa.live, 0);
    free(bytes);
}

/* A million integers in one array is a legal reply: parsed, within a bound
 * of its reply tree (node + slot per element) plus the bytes in flight. */
static void a_million_tiny_elements(void **state)
{
    (void)state;
    hostile h = {.name = "*1000000 of :1"};
    h.bytes = repeat("*1000000\r\n", ":1\r\n", 1000000, &h.len);
    h.max_peak = 1000000 * (sizeof(arc_reply) + sizeof(arc_reply *)) * 3 / 2 + 2 * MiB;
    /* The context keeps nothing of the bytes once parsed. */
    both(h);
}

/* The same under a lower max_elements: refused from the header. */
static void a_million_tiny_elements_limited(void **state)
{
    (void)state;
    hostile h = {.name = "*1000000 of :1, max_elements 1000", .error = "max_elements",
                 .max_peak = 256 * KiB};
    h.bytes = repeat("*1000000\r\n", ":1\r\n", 1000000, &h.len);
    h.limits.max_elements = 1000;
    both(h);
}

/* A line that never ends: refused at max_buffer, holding at most that. */
static void endless_line(void **state)
{
    (void)state;
    hostile h = {.name = "+xxx... 4 MiB without CRLF", .error = "max_buffer"};
    h.bytes = repeat("+", "xxxxxxxxxxxxxxxx", 4 * MiB / 16, &h.len);
    h.limits.max_buffer = 1 * MiB;
    h.max_peak = 2 * MiB;
    both(h);
}

/* A streamed aggregate (RESP3 `*?`) that never ends: refused at
 * max_elements. */
static void endless_streamed_array(void **state)
{
    (void)state;
    hostile h = {.name = "*? with 10^5 elements", .error = "max_elements", .max_peak = 2 * MiB};
    h.bytes = repeat("*?\r\n", ":1\r\n", 100000, &h.len);
    h.limits.max_elements = 10000;
    both(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bulk_of_int64_max),
        cmocka_unit_test(bulk_length_overflowing),
        cmocka_unit_test(array_of_2_pow_31),
        cmocka_unit_test(map_of_2_pow_62_pairs),
        cmocka_unit_test(nesting_a_million_deep),
        cmocka_unit_test(bulk_of_2_gib_default_limit),
        cmocka_unit_test(bulk_of_2_gib_trickled),
        cmocka_unit_test(a_million_tiny_elements),
        cmocka_unit_test(a_million_tiny_elements_limited),
        cmocka_unit_test(endless_line),
        cmocka_unit_test(endless_streamed_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
