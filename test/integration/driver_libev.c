/* driver_libev.c (tests): the integration scenarios on libev. */
#include <arc/adapters/libev.h>

#include "itest.h"

static void *loop_new(void)
{
    return ev_loop_new(EVFLAG_AUTO);
}

/* The scenarios free every context they make before the loop goes. */
static void loop_free(void *loop)
{
    ev_loop_destroy(loop);
}

static int attach(void *loop, arc_context *c)
{
    return arc_libev_attach(c, loop);
}

static void on_bound(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

/* One iteration, woken at the latest by a timer of max_wait_ms. */
static void run_once(void *loop, long max_wait_ms)
{
    ev_timer bound;
    ev_timer_init(&bound, on_bound, (ev_tstamp)max_wait_ms / 1000.0, 0.0);
    ev_now_update(loop);
    ev_timer_start(loop, &bound);
    ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &bound);
}

static const itest_driver libev_driver = {
    "libev", loop_new, loop_free, attach, run_once, arc_libev_attach_loop, NULL};

int main(int argc, char **argv)
{
    return itest_main(&libev_driver, argc, argv);
}
