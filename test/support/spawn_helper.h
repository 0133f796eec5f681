/* spawn_helper.h (tests): running one of the test programs (arc-fakeserver,
 * arc-faultproxy) as a child of the test, waiting for it and ending it. */
#ifndef ARC_TEST_SPAWN_HELPER_H
#define ARC_TEST_SPAWN_HELPER_H

#include <sys/types.h>

/* CLOCK_MONOTONIC in milliseconds. */
long long spawn_now_ms(void);

/* Sleeps `ms` milliseconds, through signals. */
void spawn_sleep_ms(long ms);

/* Forks and execs argv[0] (a path, not searched) with `argv`, its stdin
 * from `in_fd` unless that is -1 and its stdout to `out_fd`. The child dies
 * with the test's thread (PR_SET_PDEATHSIG). `who` starts the message on
 * stderr when exec fails (the child then exits with 127). The child's pid,
 * or -1 with errno from fork. */
pid_t spawn_program(const char *who, const char *const *argv, int in_fd, int out_fd);

/* Waits up to `timeout_ms` for `pid` to end and reaps it: its exit status
 * (128 + n when signal n killed it), -1 when waitpid failed, -2 when it is
 * still running. */
int spawn_wait(pid_t pid, int timeout_ms);

/* SIGTERM, then SIGKILL when it still runs after `grace_ms` (said on stderr
 * after `who`); reaps it and returns its status as spawn_wait() does. */
int spawn_terminate(const char *who, pid_t pid, int grace_ms);

/* The port of a "PORT <n>" line (the programs' first), or -1. */
int spawn_port_line(const char *line);

#endif
