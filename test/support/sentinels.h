/* sentinels.h (tests): a throwaway Redis Sentinel deployment per test. */
#ifndef ARC_TEST_SENTINELS_H
#define ARC_TEST_SENTINELS_H

#include "redis_server.h"

#include <arc/reply.h>

/* Two data servers (test_redis, see redis_server.h), the second a replica of
 * the first, and three sentinels monitoring them, all on loopback with free
 * ports. Every process is a test_redis of its own, so each has its own
 * temporary directory (a sentinel's holds its sentinel.conf, which Sentinel
 * rewrites), dies with the test and is stopped at exit if the test forgot.
 *
 * The sentinels run with shorter internal periods than Sentinel's defaults
 * (SENTINEL DEBUG publish-period and info-period, see sentinels.c), so that
 * they find each other and finish a failover in a few seconds. */
typedef struct test_sentinels test_sentinels;

typedef struct test_sentinels_options {
    long down_after_ms;       /* sentinel down-after-milliseconds; 0: 1000 */
    long failover_timeout_ms; /* sentinel failover-timeout; 0: 5000 */
} test_sentinels_options;

/* Starts a master (a test_redis), one replica of it (REPLICAOF, then waits
 * until it reports master_link_status:up) and three sentinels (plain TCP)
 * that monitor the master as `name` with quorum 2. `name` is letters,
 * digits, '.', '_' and '-'. Returns once every sentinel knows the master,
 * the replica (SENTINEL REPLICAS name) and the two other sentinels (SENTINEL
 * SENTINELS name), which takes about a second and at most ~20 s; NULL with
 * the reason (and the tail of the log concerned) on stderr. `opt` may be
 * NULL; nothing in it is kept. Free with test_sentinels_stop(). */
test_sentinels *test_sentinels_start(const char *name, const test_sentinels_options *opt);

/* The number of sentinels: 3. */
int test_sentinels_count(const test_sentinels *s);

/* Sentinel i's TCP port on 127.0.0.1 (0 <= i < 3); -1 for another i. */
int test_sentinels_port(const test_sentinels *s, int i);

/* The master's port as the sentinels report it now (SENTINEL
 * GET-MASTER-ADDR-BY-NAME on sentinel 0); -1, with the reason on stderr,
 * when sentinel 0 does not answer that. */
int test_sentinels_master_port(const test_sentinels *s);

/* The data servers: 0 is the first master, 1 its first replica (which of
 * them is master now is test_sentinels_master_port()'s to say). Borrowed:
 * valid until test_sentinels_stop(); the test may restart them, SIGSTOP them
 * and so on, but must not stop them. NULL for another i. */
test_redis *test_sentinels_server(test_sentinels *s, int i);

/* Runs one command on sentinel i, on a blocking connection of its own,
 * exactly as test_redis_command() does for a server (same reply ownership,
 * same NULL cases); NULL too for a bad i. */
arc_reply *test_sentinels_command(test_sentinels *s, int i, const char *fmt, ...);

/* Sends SENTINEL FAILOVER name to sentinel 0 (again while it answers
 * -NOGOODSLAVE, e.g. right after another failover, when the new replica is
 * still syncing), then waits until all three sentinels report the other
 * data server as master and list the old master as its replica, that server
 * says ROLE master and the old master says ROLE slave of it (its sync may
 * still be under way). Returns the new master's port; -1 when any of that
 * fails or takes more than timeout_ms (3 to 4 s is usual), with the reason,
 * the state reached and the tail of the sentinels' logs on stderr. Calls
 * may follow each other: each starts from the state the last one left. */
int test_sentinels_failover(test_sentinels *s, long timeout_ms);

/* Stops the sentinels, then both data servers, removes their temporary
 * directories and frees `s`. NULL is ignored. */
void test_sentinels_stop(test_sentinels *s);

#endif
