/* tool_run.c (tests): running the tool, as tool_run.h says. */
#define _GNU_SOURCE
#include "tool_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 30000
#define VALGRIND_FACTOR 8

const char *tool_path(void)
{
    const char *p = getenv("ARC_FANOUT");
    if (p == NULL || p[0] == '\0') {
        fprintf(stderr, "ARC_FANOUT is not set: the path of arc-fanout (meson sets it)\n");
        abort();
    }
    return p;
}

static bool under_valgrind(void)
{
    const char *v = getenv("ARC_UNDER_VALGRIND");
    return v != NULL && strcmp(v, "1") == 0;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tool_count(const char *hay, const char *needle)
{
    int n = 0;
    size_t len = strlen(needle);
    for (const char *p = hay; len > 0 && (p = strstr(p, needle)) != NULL; p += len)
        n++;
    return n;
}

typedef struct sink {
    char *s;
    size_t len;
    size_t cap;
} sink;

static int sink_put(sink *k, const char *b, size_t n)
{
    if (k->len + n + 1 > k->cap) {
        size_t cap = k->cap ? k->cap : 4096;
        while (cap < k->len + n + 1)
            cap *= 2;
        char *s = realloc(k->s, cap);
        if (s == NULL)
            return -1;
        k->s = s;
        k->cap = cap;
    }
    memcpy(k->s + k->len, b, n);
    k->len += n;
    k->s[k->len] = '\0';
    return 0;
}

/* Reads what is there; false at the end (EOF, or EIO from a terminal
 * whose other side all closed). */
static bool drain(int fd, sink *k)
{
    char buf[8192];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0)
        return sink_put(k, buf, (size_t)n) == 0;
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    return false;
}

static void child(const tool_opts *o, const char *const *args, int in, int out, int err)
{
    dup2(in, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    if (o->pty)
        setsid(); /* a session of its own, as a program run in a terminal */
    if (o->cwd != NULL && chdir(o->cwd) != 0) {
        fprintf(stderr, "chdir %s: %s\n", o->cwd, strerror(errno));
        _exit(127);
    }
    unsetenv("ARC_FANOUT_PASSWORD");
    for (const char *const *e = o->env; e != NULL && *e != NULL; e++)
        putenv((char *)*e);
    const char *argv[64];
    size_t n = 0;
    if (under_valgrind()) {
        static const char *const vg[] = {"valgrind",
                                         "--quiet",
                                         "--error-exitcode=99",
                                         "--leak-check=full",
                                         "--show-leak-kinds=definite,indirect,possible",
                                         "--errors-for-leak-kinds=definite,indirect,possible",
                                         NULL};
        for (size_t i = 0; vg[i] != NULL; i++)
            argv[n++] = vg[i];
    }
    argv[n++] = tool_path();
    for (size_t i = 0; args[i] != NULL && n + 1 < sizeof argv / sizeof argv[0]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    execvp(argv[0], (char *const *)argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

int tool_run(const tool_opts *o, const char *const *args, tool_result *r)
{
    static const tool_opts none = {0};
    if (o == NULL)
        o = &none;
    memset(r, 0, sizeof *r);
    r->status = -1;
    int in[2], err[2], out[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        perror("pipe");
        return -1;
    }
    if (o->pty) {
        struct winsize ws = {.ws_row = o->rows ? o->rows : 24, .ws_col = o->cols ? o->cols : 80};
        if (openpty(&out[0], &out[1], NULL, NULL, &ws) != 0) {
            perror("openpty");
            return -1;
        }
        struct termios tio;
        tcgetattr(out[1], &tio);
        tio.c_oflag &= ~(tcflag_t)OPOST; /* the program's bytes, no \n -> \r\n */
        tcsetattr(out[1], TCSANOW, &tio);
        fcntl(out[0], F_SETFD, FD_CLOEXEC);
        fcntl(out[1], F_SETFD, FD_CLOEXEC);
    } else if (pipe2(out, O_CLOEXEC) != 0) {
        perror("pipe");
        return -1;
    }
    long start = now_ms();
    long timeout = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    if (under_valgrind())
        timeout *= VALGRIND_FACTOR;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0)
        child(o, args, in[0], out[1], err[1]);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (o->stdin_data != NULL) {
        size_t len = strlen(o->stdin_data);
        if (write(in[1], o->stdin_data, len) != (ssize_t)len)
            perror("write to the tool's stdin");
    }
    close(in[1]);

    sink ko = {0}, ke = {0};
    bool out_open = true, err_open = true;
    int wstatus = 0;
    bool reaped = false;
    while (!reaped) {
        long elapsed = now_ms() - start;
        if (!r->interrupted && ((o->interrupt_after_ms > 0 && elapsed >= o->interrupt_after_ms) ||
                                (o->interrupt_when != NULL && ko.s != NULL &&
                                 tool_count(ko.s, o->interrupt_when) >= o->interrupt_count))) {
            kill(pid, SIGINT);
            r->interrupted = true;
        }
        if (elapsed >= timeout && !r->timed_out) {
            kill(pid, SIGKILL);
            r->timed_out = true;
        }
        struct pollfd p[2];
        nfds_t n = 0;
        if (out_open)
            p[n++] = (struct pollfd){.fd = out[0], .events = POLLIN};
        if (err_open)
            p[n++] = (struct pollfd){.fd = err[0], .events = POLLIN};
        if (n > 0) {
            if (poll(p, n, 20) > 0)
                for (nfds_t i = 0; i < n; i++) {
                    if (p[i].revents == 0)
                        continue;
                    bool is_out = p[i].fd == out[0];
                    if (!drain(p[i].fd, is_out ? &ko : &ke))
                        *(is_out ? &out_open : &err_open) = false;
                }
        } else {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
        /* The output may end before the process does, and (a descriptor
         * inherited elsewhere) the other way round: both must be over. */
        if (!out_open && !err_open)
            reaped = waitpid(pid, &wstatus, WNOHANG) == pid;
        else if (waitpid(pid, &wstatus, WNOHANG) == pid) {
            while (out_open && drain(out[0], &ko))
                ;
            while (err_open && drain(err[0], &ke))
                ;
            out_open = err_open = false;
            reaped = true;
        }
    }
    close(out[0]);
    close(err[0]);
    r->elapsed_ms = now_ms() - start;
    r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    r->out = ko.s != NULL ? ko.s : strdup("");
    r->outlen = ko.len;
    r->err = ke.s != NULL ? ke.s : strdup("");
    r->errlen = ke.len;
    if (r->timed_out)
        fprintf(stderr, "arc-fanout timed out after %ld ms\n", r->elapsed_ms);
    return 0;
}

void tool_result_free(tool_result *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}
