/* fake_server.h (tests): runs arc-fakeserver with a script, for fault tests. */
#ifndef ARC_TEST_FAKE_SERVER_H
#define ARC_TEST_FAKE_SERVER_H

/* One arc-fakeserver process (see fakeserver.c for the script language).
 * The program is $ARC_FAKESERVER when set (meson sets it), else
 * ./arc-fakeserver. It dies with the test's thread (PR_SET_PDEATHSIG).
 *
 * Its exit status tells how the script went:
 *   0  the script ran to its end (or STALL / BACKLOG_FULL got SIGTERM)
 *   2  bad usage or a bad script (e.g. EXPECT with no connection)
 *   3  the client did not do what the script expected: wrong bytes, end of
 *      stream or a timeout in ACCEPT, EXPECT, EXPECT_COMMAND or DRAIN
 *   4  a system call failed (e.g. SEND to a connection the client reset)
 *   n  EXIT n */
typedef struct fake_server fake_server;

/* Writes `script_text` to a temporary file, starts the program on it, and
 * returns once it printed its port (10 s at most). The program has read the
 * whole script by then, so the file is already removed. NULL on failure,
 * reason on stderr. Free with fake_finish() or fake_stop(). */
fake_server *fake_start(const char *script_text);

/* The same, listening on `bind_addr` (an IPv4 or IPv6 literal, such as
 * "::1"; NULL: 127.0.0.1) instead. NULL too when the address cannot be
 * bound: a test that needs it checks first that it can be. */
fake_server *fake_start_at(const char *bind_addr, const char *script_text);

/* The TCP port the program listens on (address 127.0.0.1, or the one given
 * to fake_start_at()). */
int fake_port(const fake_server *f);

/* Waits up to `timeout_ms` for the program to exit and returns its exit
 * status (128 + n when signal n killed it). When it is still running then,
 * it gets SIGTERM (SIGKILL 2 s later) and the result is -1. Frees `f`. */
int fake_finish(fake_server *f, int timeout_ms);

/* Sends SIGTERM now (SIGKILL 2 s later), then returns the exit status as
 * fake_finish() does: 0 for a script in STALL or BACKLOG_FULL, 143 when it
 * was elsewhere. Frees `f`. */
int fake_stop(fake_server *f);

#endif
