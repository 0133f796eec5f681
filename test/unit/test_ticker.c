/* test_ticker.c: the ticker (core/ticker.c), the timer a group or a cluster
 * gets from the loop: fires once its time has passed and not before,
 * re-arms and disarms, is freed from inside its own call, and costs the
 * loop no descriptor. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arc/adapters/poll.h>

#include "async.h"

typedef struct fired {
    int calls;
    int64_t at[8];
    arc_context *self;
    int rearm;      /* re-arm this many times, 10 ms apart */
    bool free_self; /* arc_free the ticker from its own call */
} fired;

static void on_fire(void *data)
{
    fired *f = data;
    if (f->calls < 8)
        f->at[f->calls] = arc__now_ms();
    f->calls++;
    if (f->rearm-- > 0)
        arc__ticker_at(f->self, arc__now_ms() + 10);
    if (f->free_self) {
        arc_free(f->self);
        f->self = NULL;
    }
}

static void run_for(arc_poll_loop *l, long ms)
{
    int64_t end = arc__now_ms() + ms;
    while (arc__now_ms() < end)
        arc_poll_loop_run_once(l, 5);
}

static void fires_once_when_due(void **state)
{
    (void)state;
    arc_poll_loop *l = arc_poll_loop_new();
    static fired f;
    memset(&f, 0, sizeof f);
    f.self = arc__ticker_new(NULL, on_fire, &f);
    assert_non_null(f.self);
    assert_int_equal(arc_poll_attach_loop(f.self, l), ARC_OK);
    assert_int_equal(arc_fd(f.self), -1);
    run_for(l, 30);
    assert_int_equal(f.calls, 0); /* not armed: never */
    int64_t start = arc__now_ms();
    arc__ticker_at(f.self, start + 40);
    run_for(l, 20);
    assert_int_equal(f.calls, 0);
    run_for(l, 60);
    assert_int_equal(f.calls, 1);
    assert_true(f.at[0] >= start + 40);
    run_for(l, 30);
    assert_int_equal(f.calls, 1); /* one-shot */
    arc_free(f.self);
    arc_poll_loop_free(l);
}

static void rearms_and_disarms(void **state)
{
    (void)state;
    arc_poll_loop *l = arc_poll_loop_new();
    static fired f;
    memset(&f, 0, sizeof f);
    f.rearm = 3;
    f.self = arc__ticker_new(NULL, on_fire, &f);
    assert_int_equal(arc_poll_attach_loop(f.self, l), ARC_OK);
    arc__ticker_at(f.self, arc__now_ms());
    run_for(l, 100);
    assert_int_equal(f.calls, 4);
    for (int i = 1; i < 4; i++)
        assert_true(f.at[i] - f.at[i - 1] >= 10);
    /* Armed later, then earlier: the earlier time counts. */
    arc__ticker_at(f.self, arc__now_ms() + 1000);
    arc__ticker_at(f.self, arc__now_ms() + 10);
    run_for(l, 50);
    assert_int_equal(f.calls, 5);
    /* Disarmed before its time: never. */
    arc__ticker_at(f.self, arc__now_ms() + 10);
    arc__ticker_at(f.self, -1);
    run_for(l, 40);
    assert_int_equal(f.calls, 5);
    arc_free(f.self);
    arc_poll_loop_free(l);
}

static void freed_from_its_own_call(void **state)
{
    (void)state;
    arc_poll_loop *l = arc_poll_loop_new();
    static fired f;
    memset(&f, 0, sizeof f);
    f.free_self = true;
    f.self = arc__ticker_new(NULL, on_fire, &f);
    assert_int_equal(arc_poll_attach_loop(f.self, l), ARC_OK);
    arc__ticker_at(f.self, arc__now_ms());
    run_for(l, 30);
    assert_int_equal(f.calls, 1);
    assert_null(f.self);
    assert_int_equal(arc_poll_loop_count(l), 0);
    arc_poll_loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fires_once_when_due),
        cmocka_unit_test(rearms_and_disarms),
        cmocka_unit_test(freed_from_its_own_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
