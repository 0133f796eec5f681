/* arc/events.h: the boundary between a context and the event loop driving it. */
#ifndef ARC_EVENTS_H
#define ARC_EVENTS_H

#include <arc/base.h>
#include <arc/context.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a context asks of its event loop. Rules (DESIGN "The event-loop
 * boundary"):
 *  - every hook is set (arc_attach refuses NULL) and idempotent;
 *  - hooks only record interest, never call back into arc;
 *  - set_fd announces the descriptor to watch (-1: none); read/write
 *    interest was dropped before, and is asked for again after. While a
 *    host name is being resolved the descriptor is the resolver's (it
 *    becomes readable when the lookup is done), then the socket's;
 *  - schedule_timer is a one-shot in relative ms, replacing the previous
 *    one; ms < 0 cancels; when it fires, call arc_handle_timeout;
 *  - cleanup is called exactly once, when the context goes away; after it
 *    the context never touches `data` again.
 *
 * The hooks that arm something (add_read, add_write, set_fd with fd >= 0,
 * schedule_timer with ms >= 0) return ARC_OK, or the arc_status of why the
 * loop could not do it (ARC_ERR_NOMEM when a watcher could not be
 * allocated, ARC_ERR_IO when the loop's own call failed). The context then
 * fails with that status instead of waiting on a descriptor nobody
 * watches. Hooks that disarm cannot fail. */
typedef struct arc_event_hooks {
    void *data;
    int (*add_read)(void *data);
    void (*del_read)(void *data);
    int (*add_write)(void *data);
    void (*del_write)(void *data);
    int (*set_fd)(void *data, int fd);
    int (*schedule_timer)(void *data, long ms);
    void (*cleanup)(void *data);
    /* Optional (NULL: not offered): attaches another context to the same
     * loop, as the adapter's own attach call would, returning what that
     * returns. arc makes connections of its own with it (the sentinel
     * notifications of arc_options.sentinel); without it they are not made
     * and nothing else changes. */
    int (*attach_other)(void *data, arc_context *other);
} arc_event_hooks;

/* Attaches a loop. The table is copied. Right away the context announces
 * its socket and interest and schedules its timer through the hooks.
 * ARC_ERR_INVALID: c or hooks NULL, or a hook NULL. ARC_ERR_STATE: a loop is
 * already attached, or the context has ended. */
ARC_API int arc_attach(arc_context *c, const arc_event_hooks *hooks);

/* The socket to watch, -1 when there is none. */
ARC_API int arc_fd(const arc_context *c);

/* The loop reports readiness and timer expiry. Each may be called at any
 * moment, spuriously, without harm; called from inside one of the
 * context's own callbacks it returns at once (the loop's next report does
 * the work). The context is freed by the call only when a callback called
 * arc_free(); the cleanup hook has then run, so adapters check their own
 * state rather than the context afterwards. */
ARC_API void arc_handle_read(arc_context *c);
ARC_API void arc_handle_write(arc_context *c);
ARC_API void arc_handle_timeout(arc_context *c);

/* Pull getters for loops without an adapter. */
ARC_API bool arc_want_read(const arc_context *c);
ARC_API bool arc_want_write(const arc_context *c);
/* ms until arc_handle_timeout is due (0: now), -1 when no timer is needed. */
ARC_API long arc_next_timeout_ms(const arc_context *c);

#ifdef __cplusplus
}
#endif

#endif
