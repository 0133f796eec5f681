/* itest.h (tests): the integration scenarios' harness: one scenario list,
 * run once per event loop through a tiny driver interface. */
#ifndef ARC_TEST_ITEST_H
#define ARC_TEST_ITEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arc/arc.h>

#include "redis_server.h"

/* What a scenario needs from an event loop. Each adapter's test binary
 * supplies one and calls itest_main(). */
typedef struct itest_driver {
    const char *name;
    void *(*loop_new)(void);
    void (*loop_free)(void *loop);   /* frees contexts still attached */
    int (*attach)(void *loop, arc_context *c);
    void (*run_once)(void *loop, long max_wait_ms);
    /* The adapter's attach call as <arc/group.h> takes it, and the loop
     * object it wants for a loop of loop_new() (NULL: that loop itself),
     * so that a group can attach its members (grp_attach, itest_group.h). */
    arc_attach_fn *attach_fn;
    void *(*attach_loop)(void *loop);
} itest_driver;

struct arc_tls; /* <arc/tls.h>, when libarc-tls is built */

typedef struct itest {
    const itest_driver *drv;
    void *loop;
    test_redis *redis;   /* shared by the scenarios of one group */
    struct arc_tls *tls; /* the TLS group's one configuration (it trusts
                            the harness CA), shared by all its contexts as
                            users share theirs; NULL in the plain group */
    struct arc_tls *tls_as_localhost; /* the same, verifying "localhost"
                            whatever the host (server_name) */
    struct test_cluster *cluster; /* the cluster group's Redis Cluster
                            (cluster.h); NULL in the other groups */
} itest;

/* Runs the scenario list as the groups named in argv[1..] ("plain",
 * "tls"; none: both, plain first): the plain group, named after the loop,
 * over plain TCP, and the TLS group, "<loop>-tls", over TLS to the TLS
 * port of a server of its own. Without libarc-tls there is no TLS group.
 * "cluster" runs the cluster scenarios (scenarios_cluster.c, and the fake
 * nodes of scenarios_cluster_fake.c) as the group "<loop>-cluster" against
 * a six-node Redis Cluster started for it; "cluster-tls" those of
 * scenarios_cluster_tls.c as "<loop>-cluster-tls" against a TLS one (with
 * t->tls trusting its CA; none without libarc-tls). */
int itest_main(const itest_driver *drv, int argc, char **argv);

/* Attaches a cluster client to the scenario's loop through the driver's
 * arc_attach_fn. */
struct arc_cluster;
int itest_cluster_attach(itest *t, struct arc_cluster *cl);

/* Whether the scenario runs in the TLS group. A scenario that starts a
 * server of its own starts it with `.tls = itest_tls(t)` and connects to
 * itest_port_of(); one that is about plain TCP says so and sets
 * o.transport = NULL. */
bool itest_tls(const itest *t);

/* The port itest_options() connects to: the shared server's TLS port in
 * the TLS group, its plain port otherwise. */
int itest_port(const itest *t);

/* The same for a server the scenario started with `.tls = itest_tls(t)`. */
int itest_port_of(const itest *t, const test_redis *s);

/* The transport for a context whose host is a name only the fake resolver
 * knows (or an address the certificate does not name): in the TLS group,
 * TLS that verifies the server as "localhost", the name its certificate
 * has; NULL (plain TCP) in the plain group. */
const struct arc_transport_kind *itest_transport_as_localhost(const itest *t);

int64_t itest_now_ms(void);

/* Options aimed at the shared server, with a connect timeout: its TCP
 * port at 127.0.0.1, or in the TLS group its TLS port at "localhost" with
 * the group's TLS transport. */
arc_options itest_options(const itest *t);

/* arc_connect + attach; fails the test when either fails. */
arc_context *itest_connect(itest *t, const arc_options *opt);

/* Runs the loop until `cond` holds or `ms` pass; the test fails on timeout. */
#define ITEST_RUN_UNTIL(t, ms, cond)                                                   \
    do {                                                                               \
        int64_t itest_end_ = itest_now_ms() + (ms);                                    \
        while (!(cond) && itest_now_ms() < itest_end_)                                 \
            (t)->drv->run_once((t)->loop, 10);                                         \
        if (!(cond))                                                                   \
            fail_msg("timed out after %ld ms waiting for: %s", (long)(ms), #cond);    \
    } while (0)

/* Runs the loop for `ms` whatever happens. */
void itest_run_for(itest *t, long ms);

/* Records the calls of a reply callback: how many, the last status, a copy
 * of every reply (up to ITEST_MAX_REPLIES). */
#define ITEST_MAX_REPLIES 64
typedef struct itest_rec {
    int calls;
    int nulls;
    int status;
    size_t nreplies;
    arc_reply *replies[ITEST_MAX_REPLIES];
    /* optional hook run inside the callback */
    void (*then)(arc_context *c, arc_reply *r, int status, struct itest_rec *rec);
    void *user;
} itest_rec;

void itest_rec_cb(arc_context *c, arc_reply *r, int status, void *privdata);
void itest_rec_clear(itest_rec *rec);
/* The last reply recorded (fails the test when there is none). */
const arc_reply *itest_last(const itest_rec *rec);

/* Blocking admin commands on the shared server: test_redis_command(t->redis,
 * ...) from redis_server.h. These take one string argument for the one %s
 * of `fmt` (or none), and fail the test when there is no reply. */
arc_reply *itest_admin(itest *t, const char *fmt, const char *arg); /* arc_reply_free() it */
long long itest_admin_int(itest *t, const char *fmt, const char *arg); /* an integer reply */
/* Runs the loop until the server counts at least `n` blocked clients (its
 * INFO clients), 10 s at most; the count last seen. For a scenario whose
 * blocking command must be on the server, not just queued, before it goes
 * on: on a loaded machine a fixed wait is not enough. */
long long itest_wait_blocked(itest *t, long long n);
void itest_admin_ok(itest *t, const char *fmt, const char *arg);       /* a status reply */
/* The server's id for the connection of `c` (CLIENT ID through it). */
long long itest_client_id(itest *t, arc_context *c);
/* CLIENT KILL ID `id`, which must find that one client. */
void itest_kill_client(itest *t, long long id);

/* Assertions the scenario files share. */
/* `r` is a reply of `type` whose text is `s`. */
void itest_assert_str(const arc_reply *r, int type, const char *s);
/* A callback that ran once, with no reply and `status`; `what` (or NULL)
 * names it in the failure. */
void itest_assert_null_once(const itest_rec *rec, int status, const char *what);
/* A pub/sub frame (array or push) whose first element is `kind`. */
bool itest_kind_is(const arc_reply *r, const char *kind);
/* How many of the recorded replies are frames of `kind`. */
int itest_count_kind(const itest_rec *rec, const char *kind);

/* Connect/disconnect/state recorders, for arc_options callbacks with
 * data = an itest_conn. */
typedef struct itest_conn {
    int connects;
    int connect_status;
    int disconnects;
    int disconnect_status;
    int state_changes;
    arc_state last_state;
} itest_conn;
void itest_on_connect(arc_context *c, int status, void *data);
void itest_on_disconnect(arc_context *c, int status, void *data);
void itest_on_state(arc_context *c, arc_state prev, arc_state now, void *data);

/* A load of INCRs on one counter (and, optionally, big SETs) kept at a
 * depth while a scenario breaks the link under it (itest_load.c). Each
 * command gets a slot: how its callback ran, on which ready link. */
enum { ITEST_LOAD_MAX = 16384, ITEST_LOAD_LINKS = 4 };

typedef struct itest_load itest_load;

typedef struct itest_load_slot {
    itest_load *l;
    bool is_set;     /* a SET of the big value, not an INCR */
    int calls;
    int status;      /* -1: ARC_OK with a reply of the wrong type */
    int link;        /* *links when it was called back */
    long long value; /* the INCR's reply */
} itest_load_slot;

struct itest_load {
    arc_context *c;
    const int *links;    /* the ready links so far (a watcher's count) */
    const char *counter; /* the key the INCRs count on */
    long depth;          /* commands issued and not called back, at most */
    long limit;          /* commands issued, at most (ITEST_LOAD_MAX) */
    long set_every;      /* every n-th command a SET of `big` (0: none) */
    const char *big_key;
    const char *big;
    size_t big_len;
    bool rising;         /* one counter throughout: INCR replies only go up */
    bool stop;           /* issue no more */
    long issued, callbacks, out_of_order, refusals, ok;
    long ok_on_link[ITEST_LOAD_LINKS]; /* index: the link (1, 2, 3 and later) */
    int refusal;
    itest_load_slot slot[ITEST_LOAD_MAX];
};

/* A load on `c` (nothing issued yet); free() it once every callback ran.
 * `links` is read in each callback. */
itest_load *itest_load_new(arc_context *c, const int *links, const char *counter, long depth,
                           long limit);
/* Issues commands until `depth` are in flight (or stop, or limit). */
void itest_load_more(itest_load *l);
/* Replies that came on ready link `link` or a later one. */
long itest_load_ok_since(const itest_load *l, int link);

typedef struct itest_tally {
    long ok, unanswered, not_sent;             /* INCRs */
    long set_ok, set_unanswered, set_not_sent; /* SETs */
    long not_once, other;
    int other_status;
    long not_up;    /* INCR replies not above the one before */
    long long last; /* the last INCR reply */
} itest_tally;

/* Every command called back once, in order, each with the right reply or
 * UNANSWERED / NOT_SENT; nothing refused; the slots did not run out; with
 * `rising`, the INCR replies go up. Fails the test naming `what`. */
itest_tally itest_load_tally(const itest_load *l, const char *what);
/* The server's counter (through the admin connection) lies between the
 * INCR replies and the replies plus the UNANSWERED commands, so that no
 * NOT_SENT one ran, and is at least the last reply. */
void itest_load_assert_counter(itest *t, const itest_load *l, const itest_tally *y,
                               const char *what);

#endif
