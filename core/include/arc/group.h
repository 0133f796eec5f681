/* arc/group.h: many servers from one loop. A group owns one context per
 * member, starts at most so many connects at once, keeps a table of every
 * member's state (with the state as of the caller's last look, so that a
 * change is seen once), and sends one command to many members with a
 * callback per member and one when all are done (docs/group.md). */
#ifndef ARC_GROUP_H
#define ARC_GROUP_H

#include <arc/base.h>
#include <arc/context.h>
#include <arc/events.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct arc_group arc_group;
typedef struct arc_member arc_member;
typedef struct arc_fanout arc_fanout;

/* Called after every state change of a member (the group's view of
 * arc_options.on_state), from the loop. */
typedef void arc_group_change_fn(arc_group *g, arc_member *m, arc_state previous,
                                 arc_state now, void *data);

/* Options of arc_group_new(). Zero fields mean the default; the struct only
 * grows by appending fields. */
typedef struct arc_group_options {
    /* Members whose connection is being made (CONNECTING, HELD, HANDSHAKE)
     * at once; members added beyond it wait their turn in ARC_STATE_INIT
     * and start, in the order they were added, as others get through (a
     * member WAITING out a reconnect backoff does not count). 0: 64. */
    unsigned max_connecting;
    /* What arc_group_add() and arc_group_add_unix() start from (their host,
     * port or unix_path replace the template's). Read at every such add,
     * so it and all it points to must stay valid while the group lives.
     * NULL: the defaults of arc_options. The template's callbacks and data
     * are not used: members made this way report through on_change. */
    const arc_options *member_options;
    arc_group_change_fn *on_change;
    void *data;                      /* passed to on_change */
    const arc_allocator *allocator;  /* the group's own memory; NULL: default.
                                        Members use their options' one */
} arc_group_options;

/* A new, empty group; NULL when out of memory. `opt` may be NULL. */
ARC_API arc_group *arc_group_new(const arc_group_options *opt);

/* An adapter's attach call as one type, so that the group can attach its
 * members without knowing the loop: each adapter offers one
 * (arc_poll_attach_loop, arc_libevent_attach_loop, arc_libev_attach_loop,
 * arc_libuv_attach_loop, arc_glib_attach_loop), taking its own loop object
 * as `loop`. */
typedef int arc_attach_fn(arc_context *c, void *loop);

/* Attaches the group to a loop once: the members added so far start (up
 * to max_connecting), and later ones as they come; the group's own timer
 * (deadlines of members still waiting their turn) is attached first.
 * `loop` may be NULL where the adapter takes that (GLib: the default main
 * context). ARC_ERR_INVALID: g or attach NULL; ARC_ERR_STATE: already
 * attached, or the group is being freed; or what the adapter's attach
 * returned for the timer (ARC_ERR_NOMEM), nothing attached then. */
ARC_API int arc_group_attach(arc_group *g, arc_attach_fn *attach, void *loop);

/* Adds a member: a context the group makes, owns and frees. The member
 * waits for its turn to connect (ARC_STATE_INIT) when the group is not yet
 * attached or max_connecting are under way. `host` and `path` are copied
 * by the call (the member's context is made then, even when its connect
 * waits). `data` is the caller's (arc_member_data()); the group never
 * touches it. Its connection starts from the loop (when its turn comes),
 * never inside this call: no callback runs before the caller holds the
 * member. Returns the member, or NULL when out of memory, an argument is
 * NULL, or the group is being freed. Allowed from inside any callback. */
ARC_API arc_member *arc_group_add(arc_group *g, const char *host, int port, void *data);
ARC_API arc_member *arc_group_add_unix(arc_group *g, const char *path, void *data);
/* With full options, copied as arc_connect() copies them: their callbacks
 * and data work as on any context (the member's data is opt->data), and
 * on_change is called as well. */
ARC_API arc_member *arc_group_add_options(arc_group *g, const arc_options *opt);

/* Removes a member now: its context is freed (every callback still owed is
 * called, with ARC_ERR_FREED as arc_free() says; a fan-out's per-member
 * callback included), and it leaves the table and the counts. The member
 * must not be used afterwards, except through a fan-out that kept it (see
 * arc_fanout_member()). Allowed from inside callbacks, the member's own
 * included. NULL is ignored. */
ARC_API void arc_group_remove(arc_group *g, arc_member *m);

/* Frees the group: every member is removed as by arc_group_remove(),
 * before the loop it is attached to is freed (a loop's own free call frees
 * the contexts still attached to it, the members' included),
 * in the order added; fan-outs still running are completed (their
 * callbacks are called) and freed unless kept. Allowed from inside
 * callbacks: the memory goes once the outermost callback has returned.
 * NULL is ignored. */
ARC_API void arc_group_free(arc_group *g);

/* ---- the table ---- */

/* Members in the table, and how many are in state `s`. */
ARC_API size_t arc_group_size(const arc_group *g);
ARC_API size_t arc_group_count(const arc_group *g, arc_state s);
/* Walks the table in the order members were added: the first member when
 * `m` is NULL, else the one after `m` (which must be in the table: to
 * remove members while walking, take the next one before removing). NULL
 * at the end. */
ARC_API arc_member *arc_group_next(const arc_group *g, const arc_member *m);
/* The next member whose state changed since the caller last looked at it:
 * stores the state as of that look in *previous (may be NULL) and counts
 * this as the look, so each change is reported once (several changes
 * between two looks are reported once, as from the first state to the
 * last). NULL when no member changed. Members are reported in the order
 * they changed. */
ARC_API arc_member *arc_group_next_changed(arc_group *g, arc_state *previous);

/* A member's row. All take a member still in the table (or kept by a
 * fan-out). */
ARC_API arc_state arc_member_state(const arc_member *m);
/* The state as of the caller's last look (arc_group_next_changed()). */
ARC_API arc_state arc_member_previous(const arc_member *m);
/* arc_now_ms() time of the last state change. */
ARC_API int64_t arc_member_since_ms(const arc_member *m);
/* The failure status (ARC_OK while none) and its message ("" while none;
 * valid until the member changes state again or is freed). */
ARC_API int arc_member_failure(const arc_member *m);
ARC_API const char *arc_member_error(const arc_member *m);
/* "host:port" or the unix path, as given; valid while the member is. */
ARC_API const char *arc_member_name(const arc_member *m);
/* The addresses tried by the member's connection attempt under way or
 * the last one, as arc_context_attempts() / arc_context_attempt() (0 and
 * NULL before it started). */
ARC_API size_t arc_member_attempts(const arc_member *m);
ARC_API const arc_attempt *arc_member_attempt(const arc_member *m, size_t i);
/* The member's context, for commands of its own; NULL once it has been
 * removed. Owned by the group: never arc_free() it (arc_group_remove() the
 * member). Its arc_context_data() is the group's: use arc_member_data(). */
ARC_API arc_context *arc_member_context(const arc_member *m);
ARC_API void *arc_member_data(const arc_member *m);
/* A status field that belongs to the caller: the group only stores it
 * (0 at first). */
ARC_API int arc_member_user_status(const arc_member *m);
ARC_API void arc_member_set_user_status(arc_member *m, int status);
/* Asks for the member's connection to close cleanly: pending replies are
 * read, then it is CLOSED (arc_disconnect()). A member still waiting its
 * turn never connects: it is CLOSED at once, its commands getting
 * ARC_ERR_NOT_SENT. It stays in the table until removed. */
ARC_API void arc_member_close(arc_member *m);

/* ---- fan-out: one command to many members ---- */

/* Called once per member of the fan-out with its reply (status ARC_OK,
 * reply borrowed for the call) or NULL and the status of why not (the
 * statuses of arc_reply_fn, or the error the member's context refused the
 * command with, such as ARC_ERR_CLOSED). ARC_ERR_NOT_SENT and ARC_ERR_CLOSED
 * mean the member's connection failed or ended: arc_member_failure() and
 * arc_member_error() say why. */
typedef void arc_fanout_reply_fn(arc_group *g, arc_member *m, arc_reply *reply, int status,
                                 void *privdata);
/* Called once, after the last member's callback has returned. */
typedef void arc_fanout_done_fn(arc_group *g, arc_fanout *f, void *privdata);

/* Options of a fan-out; zero fields mean the default. */
typedef struct arc_fanout_options {
    arc_member *const *members;  /* the members to send to; NULL: every
                                    member in the table now */
    size_t nmembers;
    long timeout_ms;             /* each member's command deadline, as
                                    arc_command_options.timeout_ms; a member
                                    still waiting its turn counts it from the
                                    fan-out */
    bool keep_replies;           /* keep each reply for reading after
                                    on_done: the fan-out then lives until
                                    arc_fanout_free() */
    arc_fanout_reply_fn *on_reply; /* NULL: not told per member */
    arc_fanout_done_fn *on_done;   /* NULL: not told */
    void *privdata;              /* passed to both */
    arc_fanout **handle;         /* where to store the fan-out (before any
                                    callback); NULL: not needed. Without
                                    keep_replies it is valid until on_done
                                    returns */
} arc_fanout_options;

/* Sends one command to every chosen member (the argv form takes what
 * arc_command_argv() takes, argvlen NULL included): encoded once, queued on each
 * member's context (members still connecting or waiting their turn get it
 * once up). A member that cannot take it (ended, or its context refuses it)
 * has its callback called before this returns, and on_done too when no
 * member could. Returns ARC_OK, or without calling anything:
 * ARC_ERR_INVALID (a NULL argument, a bad format, a member not of this
 * group), ARC_ERR_NOMEM. A fan-out to no members completes at once. */
ARC_API int arc_group_fanout(arc_group *g, const arc_fanout_options *o, const char *fmt, ...);
ARC_API int arc_group_fanout_argv(arc_group *g, const arc_fanout_options *o, int argc,
                                  const char *const *argv, const size_t *argvlen);
ARC_API int arc_group_fanout_formatted(arc_group *g, const arc_fanout_options *o,
                                       const char *cmd, size_t len);

/* The fan-out's members, in the order sent, and each one's outcome: its
 * member (valid while the fan-out is, even once removed from the group),
 * status (ARC_OK with a reply; ARC_ERR_STATE while still pending) and
 * reply (with keep_replies; NULL otherwise, and while pending). */
ARC_API size_t arc_fanout_size(const arc_fanout *f);
ARC_API arc_member *arc_fanout_member(const arc_fanout *f, size_t i);
ARC_API int arc_fanout_status(const arc_fanout *f, size_t i);
ARC_API const arc_reply *arc_fanout_reply(const arc_fanout *f, size_t i);
/* Members that answered (a reply, error replies included), that failed
 * (no reply), and that are still pending. */
ARC_API size_t arc_fanout_answered(const arc_fanout *f);
ARC_API size_t arc_fanout_failed(const arc_fanout *f);
ARC_API size_t arc_fanout_pending(const arc_fanout *f);
/* Frees a kept fan-out once it has completed: from its on_done on (called
 * from on_done, it goes when on_done returns). ARC_ERR_STATE before (a
 * member pending, or on_done not yet run, as in the last member's
 * callback), for a fan-out not kept, and for a second call from on_done. */
ARC_API int arc_fanout_free(arc_fanout *f);

#ifdef __cplusplus
}
#endif

#endif
