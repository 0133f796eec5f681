/* fault_proxy.h (tests): runs arc-faultproxy in front of a server, and
 * drives its faults. */
#ifndef ARC_TEST_FAULT_PROXY_H
#define ARC_TEST_FAULT_PROXY_H

#include <stddef.h>

/* One arc-faultproxy process (see faultproxy.c for its modes) forwarding
 * 127.0.0.1:fproxy_port() to 127.0.0.1:upstream_port. The program is
 * $ARC_FAULTPROXY when set (meson sets it), else ./arc-faultproxy. It dies
 * with the test's thread (PR_SET_PDEATHSIG) and at the end of its stdin,
 * so it cannot outlive the test. */
typedef struct fault_proxy fault_proxy;

/* Starts the program and returns once it printed its port (10 s at most).
 * NULL on failure, the reason on stderr. Free with fproxy_stop(). */
fault_proxy *fproxy_start(int upstream_port);

/* The loopback TCP port it listens on (address 127.0.0.1). */
int fproxy_port(const fault_proxy *p);

/* Sends one command line (no newline needed), e.g. "cut 100" or "stats",
 * and waits up to 5 s for its answer line. When the answer starts with
 * "ok" the mode is in force and the result is 0; otherwise -1 (an "err"
 * line, no answer in time, or the program gone; the reason on stderr).
 * The answer, without its newline, goes to `answer` (cut to cap - 1
 * bytes, always terminated) when `answer` is not NULL and cap > 0. */
int fproxy_cmd(fault_proxy *p, const char *line, char *answer, size_t cap);

/* Ends the program (the end of its stdin, then SIGTERM, then SIGKILL) and
 * frees `p`; its connections close. NULL is ignored. */
void fproxy_stop(fault_proxy *p);

#endif
