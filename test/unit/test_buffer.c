/* test_buffer.c: the growable buffer: contents, its maximum at the edge,
 * and failures that leave it unchanged. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "failing_alloc.h"

#include "buffer.h"

#include <stdlib.h>
#include <string.h>

static void append_and_read(void **state)
{
    (void)state;
    arc_buffer *b = arc_buffer_new(0, NULL);
    assert_non_null(b);
    assert_int_equal(arc_buffer_len(b), 0);
    assert_int_equal(arc_buffer_append(b, "abc", 3), ARC_OK);
    assert_int_equal(arc_buffer_append(b, "\0d", 2), ARC_OK);
    assert_int_equal(arc_buffer_len(b), 5);
    assert_memory_equal(arc_buffer_data(b), "abc\0d", 5);
    arc_buffer_clear(b);
    assert_int_equal(arc_buffer_len(b), 0);
    assert_int_equal(arc_buffer_append(b, "", 0), ARC_OK);
    arc_buffer_free(b);
    arc_buffer_free(NULL);
}

static void max_at_the_edge(void **state)
{
    (void)state;
    arc_buffer *b = arc_buffer_new(10, NULL);
    assert_int_equal(arc_buffer_append(b, "0123456789", 10), ARC_OK);
    assert_int_equal(arc_buffer_append(b, "x", 1), ARC_ERR_LIMIT);
    assert_int_equal(arc_buffer_len(b), 10);
    arc_buffer_clear(b);
    assert_int_equal(arc_buffer_append(b, "0123456789x", 11), ARC_ERR_LIMIT);
    assert_int_equal(arc_buffer_len(b), 0);
    arc_buffer_free(b);
}

static void bad_arguments(void **state)
{
    (void)state;
    arc_buffer *b = arc_buffer_new(0, NULL);
    assert_int_equal(arc_buffer_append(NULL, "x", 1), ARC_ERR_INVALID);
    assert_int_equal(arc_buffer_append(b, NULL, 1), ARC_ERR_INVALID);
    assert_int_equal(arc_buffer_append(b, NULL, 0), ARC_OK);
    assert_null(arc_buffer_data(NULL));
    assert_int_equal(arc_buffer_len(NULL), 0);
    arc_buffer_free(b);
}

/* Consuming from the front and growing keeps the bytes in order. */
static void consume_then_grow(void **state)
{
    (void)state;
    arc_buffer b;
    arc__buffer_init(&b, 0, NULL);
    char expect[5000];
    size_t have = 0, next = 0;
    for (int round = 0; round < 200; round++) {
        char chunk[37];
        for (size_t i = 0; i < sizeof chunk; i++)
            chunk[i] = (char)('a' + (next + i) % 26);
        assert_int_equal(arc__buffer_reserve(&b, sizeof chunk), ARC_OK);
        arc__buffer_put(&b, chunk, sizeof chunk);
        next += sizeof chunk;
        size_t eat = (size_t)(round * 7) % 40;
        if (eat > arc__buffer_len(&b))
            eat = arc__buffer_len(&b);
        arc__buffer_consume(&b, eat);
        have += eat;
        for (size_t i = 0; i < arc__buffer_len(&b) && i < sizeof expect; i++)
            expect[i] = (char)('a' + (have + i) % 26);
        assert_memory_equal(arc__buffer_head(&b), expect,
                            arc__buffer_len(&b) < sizeof expect ? arc__buffer_len(&b)
                                                                : sizeof expect);
    }
    arc__buffer_truncate(&b, 3);
    assert_int_equal(arc__buffer_len(&b), 3);
    arc__buffer_release(&b);
    assert_int_equal(arc__buffer_len(&b), 0);
}


static void nomem_leaves_it(void **state)
{
    (void)state;
    failing_alloc f = {0, 0, 0, 0};
    arc_allocator a = {failing_realloc, &f};
    arc_buffer *b = arc_buffer_new(0, &a);
    assert_int_equal(arc_buffer_append(b, "hello", 5), ARC_OK);
    char big[4096];
    memset(big, 'q', sizeof big);
    f.fail_at = f.calls + 1;
    assert_int_equal(arc_buffer_append(b, big, sizeof big), ARC_ERR_NOMEM);
    assert_int_equal(arc_buffer_len(b), 5);
    assert_memory_equal(arc_buffer_data(b), "hello", 5);
    assert_int_equal(arc_buffer_append(b, big, sizeof big), ARC_OK); /* memory is back */
    arc_buffer_free(b);
    assert_int_equal(f.live, 0);
    f.fail_at = f.calls + 1;
    assert_null(arc_buffer_new(0, &a));
    assert_int_equal(f.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(append_and_read),
        cmocka_unit_test(max_at_the_edge),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(consume_then_grow),
        cmocka_unit_test(nomem_leaves_it),
    };
    return cmocka_run_group_tests_name("buffer", tests, NULL, NULL);
}
