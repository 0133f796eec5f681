/* driver_glib.c (tests): the integration scenarios on a GMainContext. */
#include <arc/adapters/glib.h>

#include "itest.h"

static void *loop_new(void)
{
    return g_main_context_new();
}

/* The scenarios free every context they make before the loop goes. */
static void loop_free(void *loop)
{
    while (g_main_context_iteration(loop, FALSE))
        ;
    g_main_context_unref(loop);
}

static int attach(void *loop, arc_context *c)
{
    return arc_glib_attach(c, loop);
}

static gboolean on_bound(gpointer data)
{
    (void)data;
    return G_SOURCE_REMOVE;
}

static void run_once(void *loop, long max_wait_ms)
{
    GSource *bound = g_timeout_source_new((guint)max_wait_ms);
    g_source_set_callback(bound, on_bound, NULL, NULL);
    g_source_attach(bound, loop);
    g_main_context_iteration(loop, TRUE);
    g_source_destroy(bound);
    g_source_unref(bound);
}

static const itest_driver glib_driver = {
    "glib", loop_new, loop_free, attach, run_once, arc_glib_attach_loop, NULL};

int main(int argc, char **argv)
{
    return itest_main(&glib_driver, argc, argv);
}
