/* arc/adapters/glib.h: drives an arc context from a GLib GMainContext.
 *
 *   GMainLoop *main = g_main_loop_new(NULL, FALSE);
 *   arc_context *c = arc_connect(&opt);
 *   arc_glib_attach(c, NULL);          NULL: the default main context
 *   ... arc_command(c, ...) ...
 *   g_main_loop_run(main);
 *   arc_free(c);                       destroys the adapter's source
 *
 * One GSource per context: the socket through g_source_add_unix_fd, the
 * timer as the source's own ready time (g_source_set_ready_time, on GLib's
 * monotonic clock), so traffic never postpones a timeout. The GSource is
 * allocated by GLib (g_source_new is the only way to make one); nothing
 * else is allocated. GLib's calls cannot fail (it aborts when it runs out
 * of memory), so every hook returns ARC_OK. Header-only: every function is static inline. */
#ifndef ARC_ADAPTERS_GLIB_H
#define ARC_ADAPTERS_GLIB_H

#include <arc/arc.h>

#include <glib.h>

typedef struct arc_glib_source {
    GSource source; /* first: GLib hands this pointer to the functions */
    arc_context *c;
    gpointer tag;   /* the unix fd being watched, or NULL */
    GIOCondition cond;
    int dead;       /* cleanup ran: the source is destroyed */
    int dispatching; /* arc_glib_dispatch is on the stack */
    int muted;       /* a nested main loop reached us: fd events held back */
    int timer_due;   /* the timer expired inside a nested main loop */
} arc_glib_source;

static inline gboolean arc_glib_dispatch(GSource *source, GSourceFunc callback, gpointer data)
{
    (void)callback;
    (void)data;
    arc_glib_source *s = (arc_glib_source *)source;
    if (s->dispatching) {
        /* A callback runs a nested main loop: arc ignores re-entry, so stop
         * the fd and an expired timer from waking that loop over and over;
         * the outer dispatch restores the one and runs the other. */
        if (s->tag != NULL && !s->muted)
            g_source_modify_unix_fd(source, s->tag, (GIOCondition)0);
        s->muted = 1;
        gint64 due = g_source_get_ready_time(source);
        if (due >= 0 && g_source_get_time(source) >= due) {
            g_source_set_ready_time(source, -1);
            s->timer_due = 1;
        }
        return G_SOURCE_CONTINUE;
    }
    s->dispatching = 1;
    GIOCondition rev = s->tag ? g_source_query_unix_fd(source, s->tag) : (GIOCondition)0;
    gint64 ready = g_source_get_ready_time(source);
    /* GLib keeps dispatching while the ready time is past: the timer is a
     * one-shot, so it is cleared here and arc arms it again if needed. */
    if (ready >= 0 && g_source_get_time(source) >= ready) {
        g_source_set_ready_time(source, -1);
        arc_handle_timeout(s->c);
    }
    /* GLib holds a reference while it dispatches, so `s` stays readable
     * after a callback freed the context; `dead` tells. */
    if (!s->dead && (rev & (G_IO_IN | G_IO_HUP | G_IO_ERR)) && (s->cond & G_IO_IN))
        arc_handle_read(s->c);
    if (!s->dead && (rev & (G_IO_OUT | G_IO_HUP | G_IO_ERR)) && (s->cond & G_IO_OUT))
        arc_handle_write(s->c);
    while (s->timer_due && !s->dead) {
        s->timer_due = 0;
        arc_handle_timeout(s->c);
    }
    s->dispatching = 0;
    if (s->muted) {
        s->muted = 0;
        if (!s->dead && s->tag != NULL)
            g_source_modify_unix_fd(source, s->tag, s->cond);
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs arc_glib_funcs = {NULL, NULL, arc_glib_dispatch, NULL, NULL, NULL};

static inline void arc_glib_update(arc_glib_source *s)
{
    if (s->tag != NULL && !s->muted)
        g_source_modify_unix_fd(&s->source, s->tag, s->cond);
}

static inline int arc_glib_add_read(void *data)
{
    arc_glib_source *s = (arc_glib_source *)data;
    s->cond = (GIOCondition)(s->cond | G_IO_IN | G_IO_HUP | G_IO_ERR);
    arc_glib_update(s);
    return ARC_OK;
}

static inline void arc_glib_del_read(void *data)
{
    arc_glib_source *s = (arc_glib_source *)data;
    s->cond = (GIOCondition)(s->cond & ~G_IO_IN);
    if (!(s->cond & G_IO_OUT))
        s->cond = (GIOCondition)0;
    arc_glib_update(s);
}

static inline int arc_glib_add_write(void *data)
{
    arc_glib_source *s = (arc_glib_source *)data;
    s->cond = (GIOCondition)(s->cond | G_IO_OUT | G_IO_HUP | G_IO_ERR);
    arc_glib_update(s);
    return ARC_OK;
}

static inline void arc_glib_del_write(void *data)
{
    arc_glib_source *s = (arc_glib_source *)data;
    s->cond = (GIOCondition)(s->cond & ~G_IO_OUT);
    if (!(s->cond & G_IO_IN))
        s->cond = (GIOCondition)0;
    arc_glib_update(s);
}

static inline int arc_glib_set_fd(void *data, int fd)
{
    arc_glib_source *s = (arc_glib_source *)data;
    if (s->tag != NULL)
        g_source_remove_unix_fd(&s->source, s->tag);
    s->tag = NULL;
    s->cond = (GIOCondition)0;
    if (fd >= 0)
        s->tag = g_source_add_unix_fd(&s->source, fd, s->cond);
    return ARC_OK;
}

static inline int arc_glib_schedule_timer(void *data, long ms)
{
    arc_glib_source *s = (arc_glib_source *)data;
    g_source_set_ready_time(&s->source, ms < 0 ? -1 : g_get_monotonic_time() + (gint64)ms * 1000);
    return ARC_OK;
}

static inline void arc_glib_cleanup(void *data)
{
    arc_glib_source *s = (arc_glib_source *)data;
    s->dead = 1;
    s->c = NULL;
    if (s->tag != NULL)
        g_source_remove_unix_fd(&s->source, s->tag);
    s->tag = NULL;
    g_source_destroy(&s->source);
    g_source_unref(&s->source); /* GLib frees it when its last user lets go */
}

static inline int arc_glib_attach(arc_context *c, GMainContext *ctx);

/* The attach call as the one type every adapter shares (arc_attach_fn of
 * <arc/group.h>), so that a group can attach members to any loop. */
static inline int arc_glib_attach_loop(arc_context *c, void *loop)
{
    return arc_glib_attach(c, (GMainContext *)loop);
}

/* The attach_other hook: another context onto this one's main context. */
static inline int arc_glib_attach_other(void *data, arc_context *other)
{
    return arc_glib_attach(other, g_source_get_context(&((arc_glib_source *)data)->source));
}

/* Drives `c` from `ctx` (NULL: the default main context). Returns ARC_OK,
 * ARC_ERR_INVALID (c NULL) or ARC_ERR_STATE (already attached, or ended). */
static inline int arc_glib_attach(arc_context *c, GMainContext *ctx)
{
    if (c == NULL)
        return ARC_ERR_INVALID;
    GSource *source = g_source_new(&arc_glib_funcs, sizeof(arc_glib_source));
    arc_glib_source *s = (arc_glib_source *)source;
    s->c = c;
    s->tag = NULL;
    s->cond = (GIOCondition)0;
    s->dead = 0;
    s->dispatching = 0;
    s->muted = 0;
    s->timer_due = 0;
    g_source_set_name(source, "arc");
    /* GLib blocks a source that cannot recurse while it dispatches, which
     * takes its fd out of the poll set and puts it back afterwards, waking
     * the context each time: two extra syscalls per dispatch. The source
     * recurses instead and holds its fd back itself, only when a callback
     * really runs a nested main loop (see `muted`). */
    g_source_set_can_recurse(source, TRUE);
    g_source_attach(source, ctx);
    arc_event_hooks hooks = {s,
                             arc_glib_add_read,
                             arc_glib_del_read,
                             arc_glib_add_write,
                             arc_glib_del_write,
                             arc_glib_set_fd,
                             arc_glib_schedule_timer,
                             arc_glib_cleanup,
                             arc_glib_attach_other};
    int rc = arc_attach(c, &hooks);
    if (rc != ARC_OK) {
        g_source_destroy(source);
        g_source_unref(source);
    }
    return rc;
}

#endif
