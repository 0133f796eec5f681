/* fake_server_spawn.c (tests): starts arc-fakeserver and collects its status. */
#define _GNU_SOURCE

#include "fake_server.h"

#include "spawn_helper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PORT_TIMEOUT_MS 10000 /* from exec to the PORT line */
#define KILL_GRACE_MS 2000    /* SIGTERM to SIGKILL */

struct fake_server {
    pid_t pid;
    int port;
};

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads "PORT <n>\n" from fd; the port or -1. */
static int read_port(int fd, pid_t pid)
{
    char line[64];
    size_t used = 0;
    long long deadline = spawn_now_ms() + PORT_TIMEOUT_MS;
    while (used < sizeof line - 1) {
        long long wait = deadline - spawn_now_ms();
        if (wait <= 0) {
            fprintf(stderr, "fake_server: no PORT line from pid %d within %d ms\n",
                    (int)pid, PORT_TIMEOUT_MS);
            return -1;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, (int)wait);
        if (pr < 0 && errno != EINTR)
            return -1;
        if (pr <= 0)
            continue;
        ssize_t n = read(fd, line + used, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "fake_server: the program ended before printing its port\n");
            return -1;
        }
        if (line[used] == '\n') {
            line[used] = '\0';
            int port = spawn_port_line(line);
            if (port < 0) {
                fprintf(stderr, "fake_server: unexpected first line \"%s\"\n", line);
                return -1;
            }
            return port;
        }
        used++;
    }
    fprintf(stderr, "fake_server: first line too long\n");
    return -1;
}

fake_server *fake_start(const char *script_text)
{
    return fake_start_at(NULL, script_text);
}

fake_server *fake_start_at(const char *bind_addr, const char *script_text)
{
    const char *prog = getenv("ARC_FAKESERVER");
    if (!prog || !*prog)
        prog = "./arc-fakeserver";
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";

    char path[4096];
    if (snprintf(path, sizeof path, "%s/arc-fake-XXXXXX", tmp) >= (int)sizeof path) {
        fprintf(stderr, "fake_server: TMPDIR too long\n");
        return NULL;
    }
    int sfd = mkostemp(path, O_CLOEXEC);
    if (sfd < 0) {
        fprintf(stderr, "fake_server: mkostemp %s: %s\n", path, strerror(errno));
        return NULL;
    }
    int wrote = write_all(sfd, script_text, strlen(script_text));
    close(sfd);
    if (wrote != 0) {
        fprintf(stderr, "fake_server: writing %s: %s\n", path, strerror(errno));
        unlink(path);
        return NULL;
    }

    fake_server *f = calloc(1, sizeof *f);
    int out[2];
    if (!f || pipe2(out, O_CLOEXEC) != 0) {
        fprintf(stderr, "fake_server: %s\n", f ? strerror(errno) : "out of memory");
        free(f);
        unlink(path);
        return NULL;
    }
    const char *argv[] = {prog, path, NULL, NULL, NULL};
    if (bind_addr != NULL) {
        argv[1] = "--bind";
        argv[2] = bind_addr;
        argv[3] = path;
    }
    pid_t pid = spawn_program("fake_server", argv, -1, out[1]);
    int fork_errno = errno;
    close(out[1]);
    if (pid < 0) {
        fprintf(stderr, "fake_server: fork: %s\n", strerror(fork_errno));
        close(out[0]);
        free(f);
        unlink(path);
        return NULL;
    }
    f->pid = pid;
    f->port = read_port(out[0], pid);
    close(out[0]);
    unlink(path); /* the program reads the whole script before it prints its port */
    if (f->port < 0) {
        int rc = spawn_terminate("fake_server", pid, KILL_GRACE_MS);
        fprintf(stderr, "fake_server: %s exited with %d\n", prog, rc);
        free(f);
        return NULL;
    }
    return f;
}

int fake_port(const fake_server *f)
{
    return f->port;
}

int fake_finish(fake_server *f, int timeout_ms)
{
    int rc = spawn_wait(f->pid, timeout_ms);
    if (rc == -2) {
        fprintf(stderr, "fake_server: pid %d still running after %d ms; stopping it\n",
                (int)f->pid, timeout_ms);
        spawn_terminate("fake_server", f->pid, KILL_GRACE_MS);
        rc = -1;
    }
    free(f);
    return rc;
}

int fake_stop(fake_server *f)
{
    int rc = spawn_terminate("fake_server", f->pid, KILL_GRACE_MS);
    free(f);
    return rc;
}
