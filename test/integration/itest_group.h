/* itest_group.h (tests): what the group scenarios share (itest_group.c):
 * fifty servers of their own, addresses that do not answer, recorders of
 * a group's on_change and of a fan-out's callbacks, and their checks. */
#ifndef ARC_TEST_ITEST_GROUP_H
#define ARC_TEST_ITEST_GROUP_H

#include "itest.h"

enum { GRP_MAX_MEMBERS = 64, GRP_NSTATES = ARC_STATE_WAITING + 1, GRP_NSERVERS = 50 };

/* ---- servers of the scenarios' own ---- */

/* Starts whichever of the fifty plain redis-servers is not running yet
 * (the first call starts all: about a second), and wakes any that a
 * scenario which failed half-way left stopped (SIGSTOP). They are shared
 * by the scenarios of the run and stopped at exit: itest has no teardown
 * per list. Fails the test when one does not start. */
void grp_servers_up(void);
/* Server i (0 to GRP_NSERVERS - 1), once grp_servers_up() has run. */
test_redis *grp_server(int i);

/* ---- addresses that do not answer ---- */

/* A loopback port nobody listens on: bound, read and let go. */
int grp_refused_port(void);

/* A silent listener (silent_listener.h) whose accept queue is full, so
 * that a connect to it hangs, its SYN dropped, instead of completing into
 * silence. */
enum { GRP_FILLERS = 8 };
typedef struct grp_silent {
    int fd, port;
    int filler[GRP_FILLERS]; /* the connections that fill the queue */
    int nfillers;
} grp_silent;
void grp_silent_full(grp_silent *s);
void grp_silent_close(grp_silent *s);

/* ---- members ---- */

/* A member's data: its index in the scenario, in static storage. */
void *grp_id(int i);
/* That index, -1 for a member with other data. */
int grp_index(const arc_member *m);
/* Members in CONNECTING, HELD or HANDSHAKE by the group's counts, and the
 * sum of the counts over every state. */
size_t grp_connecting(const arc_group *g);
size_t grp_counts_sum(const arc_group *g);
/* Attaches the group to the scenario's loop through the driver's
 * arc_attach_fn; fails the test when that fails. */
void grp_attach(itest *t, arc_group *g);
/* The loop object the driver's arc_attach_fn takes. */
void *grp_loop(itest *t);

/* ---- on_change, recorded (data: a grp_watch) ---- */

/* The `bad` counts are of calls that broke a promise: checked after the
 * loop, since a failed assertion inside a callback would jump out of the
 * loop's dispatch. */
typedef struct grp_watch {
    int calls;
    int per[GRP_MAX_MEMBERS];
    arc_state first_prev[GRP_MAX_MEMBERS], first_now[GRP_MAX_MEMBERS];
    arc_state now[GRP_MAX_MEMBERS]; /* the last state told */
    int bad_index, bad_prev, bad_state, bad_sum;
    size_t most_connecting;      /* by the group's counts, at any call */
    size_t most_connecting_told; /* by the states told so far */
    int held;                    /* changes to HELD */
    int nofd;                    /* changes to FAILED with ARC_ERR_NOFD */
    int order[GRP_MAX_MEMBERS];  /* members in the order they started */
    int nstarted;
    /* run at the end of each call */
    void (*then)(arc_group *g, arc_member *m, arc_state prev, arc_state now);
} grp_watch;

void grp_on_change(arc_group *g, arc_member *m, arc_state prev, arc_state now, void *data);
/* No call broke a promise (the previous state was the last one told,
 * arc_member_state() agreed, the counts added up to the size). */
void grp_assert_watch_sane(const grp_watch *w);

/* ---- a fan-out's callbacks, recorded per member index ---- */

typedef struct grp_fan {
    int calls, done, calls_at_done;
    size_t answered_at_done, failed_at_done, pending_at_done;
    int bad_index, bad_handle;
    int running;     /* member callbacks on the stack */
    int done_nested; /* on_done calls made while one was */
    int per[GRP_MAX_MEMBERS];
    int status[GRP_MAX_MEMBERS];
    bool pong[GRP_MAX_MEMBERS];
    int port[GRP_MAX_MEMBERS]; /* the tcp_port an INFO reply names; 0: none */
    int64_t at_ms[GRP_MAX_MEMBERS];
    arc_fanout *f; /* the handle */
    /* run inside the member's callback, and inside on_done */
    void (*then)(arc_group *g, arc_member *m, arc_reply *r, int status);
    void (*then_done)(arc_group *g, arc_fanout *f);
} grp_fan;

/* Clears `rec` and gives fan-out options that report to it (its handle
 * included), keeping the replies or not. */
arc_fanout_options grp_fan_to(grp_fan *rec, bool keep);
/* on_done ran once, after each of the `n` member callbacks had run once
 * and returned, and the counts then said all done. */
void grp_assert_done_once(const grp_fan *rec, int n, const char *what);
/* Member i's callback ran once, with `status`. */
void grp_assert_status(const grp_fan *rec, int i, int status);
/* The number after "tcp_port:" in an INFO reply, 0 when there is none. */
int grp_info_port(const arc_reply *r);

/* ---- checks ---- */

void grp_assert_contains(const char *text, const char *part, const char *what);
/* The member's attempt i went to `address` and ended with `status`. */
void grp_assert_attempt(const arc_member *m, size_t i, const char *address, int status);

#endif
