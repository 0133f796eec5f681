/* test_queue.c: the ring of pending callbacks: order across wrap-around and
 * growth, and no allocation once it has grown to the working depth. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "failing_alloc.h"
#include "queue.h"

static arc_entry entry(uintptr_t n)
{
    arc_entry e = {.privdata = (void *)n, .expect = 1};
    return e;
}

/* Pushes and pops at a varying depth so that the head wraps many times and
 * growth happens while wrapped; order never changes. */
static void order_across_wraps_and_growth(void **state)
{
    (void)state;
    arc_queue q;
    arc__queue_init(&q, NULL);
    uintptr_t next_in = 1, next_out = 1;
    for (int round = 0; round < 2000; round++) {
        int pushes = (round * 37) % 50, pops = (round * 53) % 45;
        for (int i = 0; i < pushes; i++) {
            arc_entry e = entry(next_in++);
            assert_int_equal(arc__queue_push(&q, &e), ARC_OK);
        }
        for (size_t i = 0; i < arc__queue_len(&q); i++)
            assert_ptr_equal(arc__queue_at(&q, i)->privdata, (void *)(next_out + i));
        for (int i = 0; i < pops && arc__queue_len(&q) > 0; i++) {
            arc_entry e;
            assert_ptr_equal(arc__queue_head(&q)->privdata, (void *)next_out);
            arc__queue_pop(&q, &e);
            assert_ptr_equal(e.privdata, (void *)next_out);
            next_out++;
        }
    }
    assert_int_equal(arc__queue_len(&q), next_in - next_out);
    assert_true(q.cap >= arc__queue_len(&q));
    assert_int_equal(q.cap & (q.cap - 1), 0); /* a power of two */
    arc__queue_release(&q);
    assert_null(arc__queue_head(&q));
}

static void unpush_undoes(void **state)
{
    (void)state;
    arc_queue q;
    arc__queue_init(&q, NULL);
    arc_entry a = entry(1), b = entry(2);
    assert_int_equal(arc__queue_push(&q, &a), ARC_OK);
    assert_int_equal(arc__queue_push(&q, &b), ARC_OK);
    arc__queue_unpush(&q);
    assert_int_equal(arc__queue_len(&q), 1);
    assert_ptr_equal(arc__queue_head(&q)->privdata, (void *)1);
    arc__queue_release(&q);
}

/* Invariant 7: after warm-up, queueing costs no allocation. */
static void steady_state_allocates_nothing(void **state)
{
    (void)state;
    failing_alloc f = {0, 0, 0, 0};
    arc_allocator a = failing_allocator(&f);
    arc_queue q;
    arc__queue_init(&q, &a);
    for (int warm = 0; warm < 256; warm++) {
        arc_entry e = entry(1);
        assert_int_equal(arc__queue_push(&q, &e), ARC_OK);
    }
    while (arc__queue_len(&q) > 0) {
        arc_entry e;
        arc__queue_pop(&q, &e);
    }
    long before = f.calls;
    for (int i = 0; i < 100000; i++) {
        arc_entry e = entry((uintptr_t)i);
        assert_int_equal(arc__queue_push(&q, &e), ARC_OK);
        if (arc__queue_len(&q) > 200)
            arc__queue_pop(&q, &e);
    }
    assert_int_equal(f.calls, before);
    arc__queue_release(&q);
    assert_int_equal(f.live, 0);
}

/* Growth that fails leaves the ring as it was, and usable. */
static void nomem_leaves_it(void **state)
{
    (void)state;
    failing_alloc f = {0, 0, 0, 0};
    arc_allocator a = failing_allocator(&f);
    arc_queue q;
    arc__queue_init(&q, &a);
    uintptr_t n = 0;
    while (arc__queue_len(&q) < q.cap || q.cap == 0) {
        arc_entry e = entry(++n);
        assert_int_equal(arc__queue_push(&q, &e), ARC_OK);
    }
    arc_entry e;
    arc__queue_pop(&q, &e); /* wrap the head */
    e = entry(++n);
    assert_int_equal(arc__queue_push(&q, &e), ARC_OK);
    size_t len = arc__queue_len(&q);
    f.fail_at = f.calls + 1;
    e = entry(++n);
    assert_int_equal(arc__queue_push(&q, &e), ARC_ERR_NOMEM);
    assert_int_equal(arc__queue_reserve(&q), ARC_OK); /* the next one succeeds */
    assert_int_equal(arc__queue_len(&q), len);
    for (size_t i = 0; i < len; i++)
        assert_ptr_equal(arc__queue_at(&q, i)->privdata, (void *)(uintptr_t)(i + 2));
    arc__queue_release(&q);
    assert_int_equal(f.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_across_wraps_and_growth),
        cmocka_unit_test(unpush_undoes),
        cmocka_unit_test(steady_state_allocates_nothing),
        cmocka_unit_test(nomem_leaves_it),
    };
    return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
