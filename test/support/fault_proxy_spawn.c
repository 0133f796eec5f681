/* fault_proxy_spawn.c (tests): starts arc-faultproxy and talks to it over
 * its stdin and stdout. */
#define _GNU_SOURCE

#include "fault_proxy.h"

#include "spawn_helper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PORT_TIMEOUT_MS 10000  /* from exec to the PORT line */
#define ANSWER_TIMEOUT_MS 5000 /* from a command to its answer */
#define EXIT_GRACE_MS 2000     /* stdin closed to SIGTERM, SIGTERM to SIGKILL */
#define LINE_CAP 512

struct fault_proxy {
    pid_t pid;
    int port;
    int to_fd;   /* its stdin */
    int from_fd; /* its stdout */
    /* What came after the last line read: the program answers one line per
     * command, but a read may still end in the middle of one. */
    char pending[LINE_CAP];
    size_t npending;
};

/* Reads one line from the program within timeout_ms into `line` (without
 * its newline); 0, or -1 with the reason on stderr. */
static int read_line(fault_proxy *p, char *line, size_t cap, int timeout_ms)
{
    long long deadline = spawn_now_ms() + timeout_ms;
    for (;;) {
        char *nl = memchr(p->pending, '\n', p->npending);
        if (nl) {
            size_t len = (size_t)(nl - p->pending);
            size_t copy = len < cap - 1 ? len : cap - 1;
            memcpy(line, p->pending, copy);
            line[copy] = '\0';
            p->npending -= len + 1;
            memmove(p->pending, nl + 1, p->npending);
            return 0;
        }
        if (p->npending == sizeof p->pending) {
            fprintf(stderr, "fault_proxy: a line longer than %d bytes\n", LINE_CAP);
            return -1;
        }
        long long wait = deadline - spawn_now_ms();
        if (wait <= 0) {
            fprintf(stderr, "fault_proxy: no answer from pid %d within %d ms\n", (int)p->pid,
                    timeout_ms);
            return -1;
        }
        struct pollfd pfd = {.fd = p->from_fd, .events = POLLIN};
        int pr = poll(&pfd, 1, (int)wait);
        if (pr < 0 && errno != EINTR)
            return -1;
        if (pr <= 0)
            continue;
        ssize_t n = read(p->from_fd, p->pending + p->npending, sizeof p->pending - p->npending);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "fault_proxy: pid %d closed its output (it ended)\n", (int)p->pid);
            return -1;
        }
        p->npending += (size_t)n;
    }
}

static void destroy(fault_proxy *p)
{
    if (p->to_fd >= 0)
        close(p->to_fd); /* the end of its stdin: it exits */
    if (p->pid > 0 && spawn_wait(p->pid, EXIT_GRACE_MS) == -2) {
        fprintf(stderr, "fault_proxy: pid %d still running; SIGTERM\n", (int)p->pid);
        spawn_terminate("fault_proxy", p->pid, EXIT_GRACE_MS);
    }
    if (p->from_fd >= 0)
        close(p->from_fd);
    free(p);
}

fault_proxy *fproxy_start(int upstream_port)
{
    const char *prog = getenv("ARC_FAULTPROXY");
    if (!prog || !*prog)
        prog = "./arc-faultproxy";
    if (upstream_port <= 0 || upstream_port > 65535) {
        fprintf(stderr, "fault_proxy: bad upstream port %d\n", upstream_port);
        return NULL;
    }
    fault_proxy *p = calloc(1, sizeof *p);
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    /* O_CLOEXEC: a server the test forks later must not hold the write end
     * of the program's stdin, or the program would not see its end. */
    if (!p || pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        fprintf(stderr, "fault_proxy: %s\n", p ? strerror(errno) : "out of memory");
        for (int i = 0; i < 2; i++) {
            if (in[i] >= 0)
                close(in[i]);
            if (out[i] >= 0)
                close(out[i]);
        }
        free(p);
        return NULL;
    }
    char port_arg[16];
    snprintf(port_arg, sizeof port_arg, "%d", upstream_port);
    const char *argv[] = {prog, port_arg, NULL};
    fflush(stdout); /* or the child would print the test's buffered TAP again */
    fflush(stderr);
    pid_t pid = spawn_program("fault_proxy", argv, in[0], out[1]);
    int fork_errno = errno;
    close(in[0]);
    close(out[1]);
    p->pid = pid;
    p->to_fd = in[1];
    p->from_fd = out[0];
    if (pid < 0) {
        fprintf(stderr, "fault_proxy: fork: %s\n", strerror(fork_errno));
        p->pid = 0;
        destroy(p);
        return NULL;
    }
    char line[LINE_CAP];
    int port = -1;
    if (read_line(p, line, sizeof line, PORT_TIMEOUT_MS) == 0)
        port = spawn_port_line(line);
    if (port < 0) {
        fprintf(stderr, "fault_proxy: %s did not print its port\n", prog);
        destroy(p);
        return NULL;
    }
    p->port = port;
    return p;
}

int fproxy_port(const fault_proxy *p)
{
    return p->port;
}

int fproxy_cmd(fault_proxy *p, const char *line, char *answer, size_t cap)
{
    if (answer && cap > 0)
        answer[0] = '\0';
    size_t len = strlen(line);
    if (len > 0 && line[len - 1] == '\n')
        len--;
    char out[LINE_CAP];
    if (len + 1 > sizeof out || memchr(line, '\n', len)) {
        fprintf(stderr, "fault_proxy: not one short line: \"%s\"\n", line);
        return -1;
    }
    memcpy(out, line, len);
    out[len++] = '\n';
    for (size_t done = 0; done < len;) {
        /* A pipe write of under PIPE_BUF bytes is atomic; SIGPIPE (the
         * program gone) must not kill the test: it fails instead. */
        struct sigaction ignore = {.sa_handler = SIG_IGN}, old;
        sigaction(SIGPIPE, &ignore, &old);
        ssize_t n = write(p->to_fd, out + done, len - done);
        int e = errno;
        sigaction(SIGPIPE, &old, NULL);
        if (n < 0 && e == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "fault_proxy: writing \"%.*s\": %s\n", (int)len - 1, out,
                    strerror(e));
            return -1;
        }
        done += (size_t)n;
    }
    char got[LINE_CAP];
    if (read_line(p, got, sizeof got, ANSWER_TIMEOUT_MS) != 0)
        return -1;
    if (answer && cap > 0)
        snprintf(answer, cap, "%s", got);
    if (strncmp(got, "ok", 2) != 0 || (got[2] != '\0' && got[2] != ' ')) {
        fprintf(stderr, "fault_proxy: \"%.*s\": %s\n", (int)len - 1, out, got);
        return -1;
    }
    return 0;
}

void fproxy_stop(fault_proxy *p)
{
    if (p)
        destroy(p);
}
