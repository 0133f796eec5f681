/* driver_libevent.c (tests): the integration scenarios on libevent. */
#include <arc/adapters/libevent.h>

#include "itest.h"

static void *loop_new(void)
{
    return event_base_new();
}

/* The scenarios free every context they make before the loop goes. */
static void loop_free(void *loop)
{
    event_base_free(loop);
}

static int attach(void *loop, arc_context *c)
{
    return arc_libevent_attach(c, loop);
}

static void run_once(void *loop, long max_wait_ms)
{
    struct timeval tv = {max_wait_ms / 1000, (max_wait_ms % 1000) * 1000};
    event_base_loopexit(loop, &tv);
    event_base_loop(loop, EVLOOP_ONCE);
}

static const itest_driver libevent_driver = {
    "libevent", loop_new, loop_free, attach, run_once, arc_libevent_attach_loop, NULL};

int main(int argc, char **argv)
{
    return itest_main(&libevent_driver, argc, argv);
}
