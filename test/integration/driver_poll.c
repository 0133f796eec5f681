/* driver_poll.c (tests): the integration scenarios on the poll adapter. */
#define _POSIX_C_SOURCE 200809L
#include <arc/adapters/poll.h>

#include "itest.h"

static void *loop_new(void)
{
    return arc_poll_loop_new();
}

static void loop_free(void *loop)
{
    arc_poll_loop_free(loop);
}

static int attach(void *loop, arc_context *c)
{
    return arc_poll_attach(c, loop);
}

static void run_once(void *loop, long max_wait_ms)
{
    arc_poll_loop_run_once(loop, max_wait_ms);
}

static const itest_driver poll_driver = {
    "poll", loop_new, loop_free, attach, run_once, arc_poll_attach_loop, NULL};

int main(int argc, char **argv)
{
    return itest_main(&poll_driver, argc, argv);
}
