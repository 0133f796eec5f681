/* spawn_helper.c (tests): forking, waiting for and ending a test program. */
#define _GNU_SOURCE

#include "spawn_helper.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long spawn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void spawn_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

pid_t spawn_program(const char *who, const char *const *argv, int in_fd, int out_fd)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* If the parent is already gone, the death signal was set too late
         * to ever fire. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (in_fd >= 0)
            dup2(in_fd, STDIN_FILENO); /* dup2 clears O_CLOEXEC on the copies */
        dup2(out_fd, STDOUT_FILENO);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "%s: cannot run %s: %s\n", who, argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

static int decode(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

int spawn_wait(pid_t pid, int timeout_ms)
{
    long long deadline = spawn_now_ms() + timeout_ms;
    for (;;) {
        int status;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return decode(status);
        if (w < 0 && errno != EINTR)
            return -1;
        if (spawn_now_ms() >= deadline)
            return -2;
        spawn_sleep_ms(2);
    }
}

int spawn_terminate(const char *who, pid_t pid, int grace_ms)
{
    kill(pid, SIGTERM);
    int rc = spawn_wait(pid, grace_ms);
    if (rc == -2) {
        fprintf(stderr, "%s: pid %d ignored SIGTERM; killing it\n", who, (int)pid);
        kill(pid, SIGKILL);
        int status;
        while (waitpid(pid, &status, 0) < 0) {
            if (errno != EINTR)
                return -1;
        }
        rc = decode(status);
    }
    return rc;
}

int spawn_port_line(const char *line)
{
    int port;
    char end;
    if (sscanf(line, "PORT %d%c", &port, &end) != 1 || port <= 0 || port > 65535)
        return -1;
    return port;
}
