/* test_deadlines.c: the min-heap of per-command deadlines: earliest first,
 * ties in id order, checked against a sorted model; a reserved push that
 * cannot fail, growth that fails leaving the heap as it was, clear, release. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "deadlines.h"
#include "failing_alloc.h"

#include <stdbool.h>
#include <string.h>

/* A small deterministic generator, so that a failure replays. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rng(void)
{
    rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(rng_state >> 33);
}

static void push(arc_deadlines *d, int64_t at, uint64_t id)
{
    assert_int_equal(arc__deadlines_reserve(d), ARC_OK);
    arc__deadlines_push(d, at, id);
}

static void expect_top(const arc_deadlines *d, int64_t at, uint64_t id)
{
    const arc_deadline *t = arc__deadlines_top(d);
    assert_non_null(t);
    assert_int_equal(t->at, at);
    assert_int_equal(t->id, id);
}

static void earliest_first_ties_by_id(void **state)
{
    (void)state;
    arc_deadlines d;
    arc__deadlines_init(&d, NULL);
    assert_null(arc__deadlines_top(&d));
    /* Pushed out of order, with ties whose ids also arrive out of order. */
    push(&d, 300, 1);
    push(&d, 100, 7);
    push(&d, 200, 3);
    push(&d, 100, 2);
    push(&d, -5, 9);
    push(&d, 100, 5);
    push(&d, 200, 4);
    const arc_deadline want[] = {
        {-5, 9}, {100, 2}, {100, 5}, {100, 7}, {200, 3}, {200, 4}, {300, 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(d.len, sizeof want / sizeof want[0] - i);
        expect_top(&d, want[i].at, want[i].id);
        arc__deadlines_pop(&d);
    }
    assert_int_equal(d.len, 0);
    assert_null(arc__deadlines_top(&d));
    arc__deadlines_release(&d);
}

/* One deadline for many commands fires them in the order they were issued. */
static void one_deadline_many_commands(void **state)
{
    (void)state;
    arc_deadlines d;
    arc__deadlines_init(&d, NULL);
    for (uint64_t id = 1; id <= 100; id++)
        push(&d, 1000, id);
    for (uint64_t id = 1; id <= 100; id++) {
        expect_top(&d, 1000, id);
        arc__deadlines_pop(&d);
    }
    assert_null(arc__deadlines_top(&d));
    arc__deadlines_release(&d);
}

/* The model: every item kept sorted by (at, id); index 0 is the earliest. */
typedef struct model {
    arc_deadline items[4096];
    size_t len;
} model;

static int earlier(const arc_deadline *a, const arc_deadline *b)
{
    return a->at < b->at || (a->at == b->at && a->id < b->id);
}

static void model_insert(model *m, int64_t at, uint64_t id)
{
    arc_deadline item = {at, id};
    size_t i = m->len++;
    while (i > 0 && earlier(&item, &m->items[i - 1])) {
        m->items[i] = m->items[i - 1];
        i--;
    }
    m->items[i] = item;
}

static void model_pop(model *m)
{
    memmove(&m->items[0], &m->items[1], (m->len - 1) * sizeof m->items[0]);
    m->len--;
}

/* Thousands of pushes and pops at a depth that rises and falls, with
 * deadlines from a narrow range so that ties are common; the top always
 * matches the model's first item. */
static void random_against_sorted_model(void **state)
{
    (void)state;
    static model m;
    m.len = 0;
    arc_deadlines d;
    arc__deadlines_init(&d, NULL);
    uint64_t next_id = 1;
    long pushes = 0, pops = 0;
    for (int round = 0; round < 20000; round++) {
        /* Lean towards pushing in the first half, popping in the second. */
        unsigned push_odds = round < 10000 ? 60 : 40;
        bool do_push = m.len == 0 || (m.len < 4000 && rng() % 100 < push_odds);
        if (do_push) {
            int64_t at = (int64_t)(rng() % 64) - 8;
            /* Ids are unique but not pushed in increasing order. */
            uint64_t id = (next_id++ * 2654435761u) & 0xffffffffu;
            push(&d, at, id);
            model_insert(&m, at, id);
            pushes++;
        } else {
            expect_top(&d, m.items[0].at, m.items[0].id);
            arc__deadlines_pop(&d);
            model_pop(&m);
            pops++;
        }
        assert_int_equal(d.len, m.len);
        if (m.len > 0)
            expect_top(&d, m.items[0].at, m.items[0].id);
        else
            assert_null(arc__deadlines_top(&d));
    }
    assert_true(pushes > 5000 && pops > 5000);
    while (m.len > 0) {
        expect_top(&d, m.items[0].at, m.items[0].id);
        arc__deadlines_pop(&d);
        model_pop(&m);
    }
    assert_null(arc__deadlines_top(&d));
    arc__deadlines_release(&d);
}

/* After a reserve, the push allocates nothing, even when every allocation
 * would fail; a reserve with room left allocates nothing either. */
static void reserve_then_push_cannot_fail(void **state)
{
    (void)state;
    failing_alloc f = {0, 0, 0, 0};
    arc_allocator a = failing_allocator(&f);
    arc_deadlines d;
    arc__deadlines_init(&d, &a);
    for (uint64_t id = 1; id <= 1000; id++) {
        assert_int_equal(arc__deadlines_reserve(&d), ARC_OK);
        long calls = f.calls;
        f.fail_at = calls + 1; /* the next allocation, if any, fails */
        arc__deadlines_push(&d, (int64_t)(1000 - id), id);
        assert_int_equal(f.calls, calls);
        f.fail_at = 0;
        assert_true(d.len <= d.cap);
        if (d.len < d.cap) {
            f.fail_at = f.calls + 1;
            assert_int_equal(arc__deadlines_reserve(&d), ARC_OK);
            assert_int_equal(f.calls, calls);
            f.fail_at = 0;
        }
    }
    assert_int_equal(f.failed, 0);
    for (uint64_t id = 1000; id >= 1; id--) {
        expect_top(&d, (int64_t)(1000 - id), id);
        arc__deadlines_pop(&d);
    }
    arc__deadlines_release(&d);
    assert_int_equal(f.live, 0);
}

/* A reserve that must grow and cannot: ARC_ERR_NOMEM, and the heap keeps
 * its memory, its items and its order. */
static void failed_growth_leaves_heap(void **state)
{
    (void)state;
    failing_alloc f = {0, 0, 0, 0};
    arc_allocator a = failing_allocator(&f);
    arc_deadlines d;
    arc__deadlines_init(&d, &a);

    /* The very first reserve fails: still empty and usable. */
    f.fail_at = f.calls + 1;
    assert_int_equal(arc__deadlines_reserve(&d), ARC_ERR_NOMEM);
    assert_int_equal(f.failed, 1);
    assert_int_equal(d.len, 0);
    assert_null(arc__deadlines_top(&d));
    assert_int_equal(f.live, 0);

    uint64_t id = 0;
    do
        push(&d, (int64_t)(rng() % 50), ++id);
    while (d.len < d.cap);
    arc_deadline saved[256];
    assert_true(d.len <= sizeof saved / sizeof saved[0]);
    memcpy(saved, d.heap, d.len * sizeof saved[0]);
    const arc_deadline *heap = d.heap;
    size_t len = d.len, cap = d.cap;

    f.fail_at = f.calls + 1;
    assert_int_equal(arc__deadlines_reserve(&d), ARC_ERR_NOMEM);
    assert_int_equal(f.failed, 2);
    assert_ptr_equal(d.heap, heap);
    assert_int_equal(d.len, len);
    assert_int_equal(d.cap, cap);
    assert_memory_equal(d.heap, saved, len * sizeof saved[0]);

    /* The next reserve succeeds and the order is intact. */
    f.fail_at = 0;
    assert_int_equal(arc__deadlines_reserve(&d), ARC_OK);
    assert_true(d.cap > cap);
    arc__deadlines_push(&d, -1, ++id);
    expect_top(&d, -1, id);
    arc__deadlines_pop(&d);
    arc_deadline prev = {INT64_MIN, 0};
    while (d.len > 0) {
        const arc_deadline *t = arc__deadlines_top(&d);
        assert_true(earlier(&prev, t));
        prev = *t;
        arc__deadlines_pop(&d);
    }
    arc__deadlines_release(&d);
    assert_int_equal(f.live, 0);
}

/* Clear forgets every item and keeps the memory: pushing again up to the
 * old depth allocates nothing. */
static void clear_keeps_memory(void **state)
{
    (void)state;
    failing_alloc f = {0, 0, 0, 0};
    arc_allocator a = failing_allocator(&f);
    arc_deadlines d;
    arc__deadlines_init(&d, &a);
    for (uint64_t id = 1; id <= 40; id++)
        push(&d, (int64_t)id, id);
    const arc_deadline *heap = d.heap;
    size_t cap = d.cap;
    long live = f.live, calls = f.calls;
    arc__deadlines_clear(&d);
    assert_int_equal(d.len, 0);
    assert_null(arc__deadlines_top(&d));
    assert_ptr_equal(d.heap, heap);
    assert_int_equal(d.cap, cap);
    assert_int_equal(f.live, live);
    for (uint64_t id = 100; id < 100 + cap; id++)
        push(&d, (int64_t)(200 - id), id);
    assert_int_equal(f.calls, calls);
    expect_top(&d, (int64_t)(200 - (100 + cap - 1)), 100 + cap - 1);
    arc__deadlines_release(&d);
    assert_int_equal(f.live, 0);
}

/* Release gives the memory back and leaves an empty heap that works again. */
static void release_and_reuse(void **state)
{
    (void)state;
    failing_alloc f = {0, 0, 0, 0};
    arc_allocator a = failing_allocator(&f);
    arc_deadlines d;
    arc__deadlines_init(&d, &a);
    arc__deadlines_release(&d); /* of a heap that never grew */
    assert_int_equal(f.live, 0);
    for (uint64_t id = 1; id <= 20; id++)
        push(&d, 7, id);
    assert_int_equal(f.live, 1);
    arc__deadlines_release(&d);
    assert_int_equal(f.live, 0);
    assert_null(d.heap);
    assert_int_equal(d.len, 0);
    assert_int_equal(d.cap, 0);
    assert_null(arc__deadlines_top(&d));
    push(&d, 3, 1);
    expect_top(&d, 3, 1);
    arc__deadlines_release(&d);
    arc__deadlines_release(&d); /* twice is harmless */
    assert_int_equal(f.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(earliest_first_ties_by_id),
        cmocka_unit_test(one_deadline_many_commands),
        cmocka_unit_test(random_against_sorted_model),
        cmocka_unit_test(reserve_then_push_cannot_fail),
        cmocka_unit_test(failed_growth_leaves_heap),
        cmocka_unit_test(clear_keeps_memory),
        cmocka_unit_test(release_and_reuse),
    };
    return cmocka_run_group_tests_name("deadlines", tests, NULL, NULL);
}
