/* driver_libuv.c (tests): the integration scenarios on libuv. */
#define _POSIX_C_SOURCE 200809L /* uv.h needs POSIX types under -std=c11 */
#include <arc/adapters/libuv.h>

#include "itest.h"

#include <stdlib.h>

typedef struct uvloop {
    uv_loop_t loop;
    uv_timer_t bound; /* wakes uv_run when nothing else does */
} uvloop;

static void *loop_new(void)
{
    uvloop *l = malloc(sizeof *l);
    if (l == NULL || uv_loop_init(&l->loop) != 0) {
        free(l);
        return NULL;
    }
    uv_timer_init(&l->loop, &l->bound);
    return l;
}

/* The scenarios free every context they make; their handles finish closing
 * here, then the loop closes. A scenario that failed half-way may have left
 * contexts attached: their handles would keep uv_run going for ever, so
 * the wait is bounded and whatever is left is closed by force. */
static void close_left(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void loop_free(void *loop)
{
    uvloop *l = loop;
    uv_close((uv_handle_t *)&l->bound, NULL);
    for (int i = 0; i < 1000 && uv_run(&l->loop, UV_RUN_NOWAIT) != 0; i++)
        ;
    int rc = uv_loop_close(&l->loop);
    if (rc != 0) {
        uv_walk(&l->loop, close_left, NULL);
        uv_run(&l->loop, UV_RUN_NOWAIT);
        uv_loop_close(&l->loop);
        free(l);
        fail_msg("uv_loop_close: %s (a handle was left open)", uv_strerror(rc));
    }
    free(l);
}

static int attach(void *loop, arc_context *c)
{
    return arc_libuv_attach(c, &((uvloop *)loop)->loop);
}

static void on_bound(uv_timer_t *t)
{
    (void)t;
}

static void run_once(void *loop, long max_wait_ms)
{
    uvloop *l = loop;
    uv_update_time(&l->loop);
    uv_timer_start(&l->bound, on_bound, (uint64_t)max_wait_ms, 0);
    uv_run(&l->loop, UV_RUN_ONCE);
    uv_timer_stop(&l->bound);
}

/* The group attaches to the uv_loop_t inside the driver's loop. */
static void *uv_loop_of(void *loop)
{
    return &((uvloop *)loop)->loop;
}

static const itest_driver libuv_driver = {
    "libuv", loop_new, loop_free, attach, run_once, arc_libuv_attach_loop, uv_loop_of};

int main(int argc, char **argv)
{
    return itest_main(&libuv_driver, argc, argv);
}
