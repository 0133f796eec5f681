/* redis_server.c (tests): starts, checks, restarts and stops a redis-server. */
#define _GNU_SOURCE

#include "redis_server.h"
#include "tls_certs.h"

#include <arc/buffer.h>
#include <arc/format.h>
#include <arc/reader.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HOST "127.0.0.1"
#define START_ATTEMPTS 5         /* a probed port can be taken before redis binds it */
#define READY_TIMEOUT_MS 10000   /* from exec to the first PONG */
#define STOP_GRACE_MS 5000       /* SIGTERM to SIGKILL */
#define COMMAND_TIMEOUT_MS 60000 /* one admin round trip; DEBUG SLEEP stays well below */
#define LOG_TAIL_BYTES 3000

struct test_redis {
    pid_t pid; /* -1 while down */
    int port;
    int tls_port; /* 0 without TLS; -1 until start_process() picks one */
    int bus_port; /* the cluster bus: as tls_port, 0 outside cluster mode */
    char *dir;
    char *sock_path;
    char *log_path;
    char *requirepass;
    char **extra; /* NULL-terminated copy of the extra words */
    char *tls_cert; /* all three NULL without TLS */
    char *tls_key;
    char *tls_ca;
    bool tls_auth_clients;
    char *sentinel_conf; /* Sentinel mode: its config file; else NULL */
    char *nodes_conf;    /* cluster mode: <dir>/nodes.conf; else NULL */
    int admin_fd; /* -1 until the first test_redis_command() */
    arc_reader *admin_reader;
    arc_buffer *out;
    test_redis *next; /* the list that the atexit handler walks */
};

/* Servers not stopped yet. Tests are single-threaded, so a plain list does. */
static test_redis *live;
static pid_t live_owner; /* the process that registered the atexit handler */

/* Why the last round trip failed; read right after the failing call. */
static char why[256];

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 1);
    if (p) {
        memcpy(p, a, la);
        memcpy(p + la, b, lb + 1);
    }
    return p;
}

/* A port that nothing listens on right now. Another process may take it
 * before redis binds it, which is why starting retries. */
static int probe_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* A free port other than `taken` and `taken2` (0: none). */
static int free_port(int taken, int taken2)
{
    for (int i = 0; i < 8; i++) {
        int port = probe_port();
        if ((port != taken && port != taken2) || port < 0)
            return port;
    }
    errno = EADDRINUSE;
    return -1;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int connect_tcp(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Sends what `out` holds, then returns the next reply on `fd`, borrowed from
 * `r` (valid until its next use), or NULL with `why` set. */
static arc_reply *roundtrip(int fd, arc_reader *r, arc_buffer *out, int timeout_ms)
{
    const char *p = arc_buffer_data(out);
    size_t left = arc_buffer_len(out);
    while (left > 0) {
        ssize_t n = send(fd, p, left, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, sizeof why, "send: %s", strerror(errno));
            return NULL;
        }
        p += n;
        left -= (size_t)n;
    }
    arc_buffer_clear(out);

    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        /* With nothing pending there is no reply to parse yet. */
        arc_reply *reply = NULL;
        int rc = arc_reader_pending(r) > 0 ? arc_reader_next(r, &reply) : ARC_OK;
        if (rc != ARC_OK) {
            snprintf(why, sizeof why, "reply: %s", arc_reader_error(r));
            return NULL;
        }
        if (reply)
            return reply;

        long long wait = deadline - now_ms();
        if (wait <= 0) {
            snprintf(why, sizeof why, "no reply within %d ms", timeout_ms);
            return NULL;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, (int)wait);
        if (pr < 0 && errno != EINTR) {
            snprintf(why, sizeof why, "poll: %s", strerror(errno));
            return NULL;
        }
        if (pr <= 0)
            continue;
        char chunk[16384];
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, sizeof why, "recv: %s", strerror(errno));
            return NULL;
        }
        if (n == 0) {
            snprintf(why, sizeof why, "the server closed the connection");
            return NULL;
        }
        if (arc_reader_feed(r, chunk, (size_t)n) != ARC_OK) {
            snprintf(why, sizeof why, "reader: %s", arc_reader_error(r));
            return NULL;
        }
    }
}

/* Sends AUTH when the server has a password, then `then` (e.g. "PING") when
 * not NULL. 0 when every reply is a status reply. */
static int greet(const test_redis *s, int fd, arc_reader *r, arc_buffer *out,
                 const char *then, int timeout_ms)
{
    arc_reply *reply;
    if (s->requirepass) {
        if (arc_format(out, "AUTH %s", s->requirepass) != ARC_OK)
            return -1;
        reply = roundtrip(fd, r, out, timeout_ms);
        if (!reply)
            return -1;
        if (reply->type != ARC_REPLY_STATUS) {
            snprintf(why, sizeof why, "AUTH answered %.*s", (int)reply->len,
                     reply->str ? reply->str : "");
            return -1;
        }
    }
    if (then) {
        if (arc_format(out, "%s", then) != ARC_OK)
            return -1;
        reply = roundtrip(fd, r, out, timeout_ms);
        if (!reply)
            return -1;
        if (reply->type != ARC_REPLY_STATUS) {
            snprintf(why, sizeof why, "%s answered %.*s", then, (int)reply->len,
                     reply->str ? reply->str : "");
            return -1;
        }
    }
    return 0;
}

/* One connection, AUTH if needed, PING, close. 0 on PONG. */
static int ping(const test_redis *s, bool tcp)
{
    int fd = tcp ? connect_tcp(s->port) : connect_unix(s->sock_path);
    if (fd < 0) {
        snprintf(why, sizeof why, "connect: %s", strerror(errno));
        return -1;
    }
    arc_reader *r = arc_reader_new(NULL, NULL);
    arc_buffer *out = arc_buffer_new(0, NULL);
    int rc = -1;
    if (r && out)
        rc = greet(s, fd, r, out, "PING", 2000);
    arc_buffer_free(out);
    arc_reader_free(r);
    close(fd);
    return rc;
}

static long log_size(const test_redis *s)
{
    struct stat st;
    return stat(s->log_path, &st) == 0 ? (long)st.st_size : 0;
}

/* True when the log, from byte `from` on, says that the port was taken:
 * the one failure that a new attempt on another port can cure. */
static bool log_says_port_taken(const test_redis *s, long from)
{
    FILE *f = fopen(s->log_path, "re");
    if (!f)
        return false;
    bool taken = false;
    char line[1024];
    if (fseek(f, from, SEEK_SET) == 0) {
        while (!taken && fgets(line, sizeof line, f))
            taken = strstr(line, "Address already in use") != NULL;
    }
    fclose(f);
    return taken;
}

static void print_log_tail(const test_redis *s)
{
    FILE *f = fopen(s->log_path, "re");
    if (!f) {
        fprintf(stderr, "test_redis: no log at %s (a bad option is reported on "
                        "stderr, above)\n", s->log_path);
        return;
    }
    char line[1024];
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size > LOG_TAIL_BYTES) {
            fseek(f, size - LOG_TAIL_BYTES, SEEK_SET);
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n') {
            } /* start at a whole line */
        } else {
            rewind(f);
        }
    }
    fprintf(stderr, "test_redis: last lines of %s:\n", s->log_path);
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

/* Forks and execs the server on s->port. The child does nothing but set up
 * its death signal and stdio before exec, which keeps valgrind's
 * --child-silent-after-fork happy. 0, or -1 when exec failed. */
static int spawn(test_redis *s)
{
    const char *bin = getenv("ARC_REDIS_SERVER");
    if (!bin || !*bin)
        bin = "redis-server";
    char port[16], tls_port[16], bus_port[16];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(tls_port, sizeof tls_port, "%d", s->tls_port);
    snprintf(bus_port, sizeof bus_port, "%d", s->bus_port);

    const char *fixed[] = {
        bin, "--bind", HOST, "--port", port,
        "--unixsocket", s->sock_path, "--unixsocketperm", "700",
        "--save", "", "--appendonly", "no", "--dir", s->dir,
        "--daemonize", "no", "--logfile", s->log_path,
        "--enable-debug-command", "yes",
    };
    size_t nfixed = sizeof fixed / sizeof fixed[0];
    size_t nextra = 0;
    while (s->extra && s->extra[nextra])
        nextra++;
    /* 2 for Sentinel mode, 2 for the password, 10 for the TLS words, 6
     * for cluster mode. */
    const char **argv = calloc(nfixed + 2 + 2 + 10 + 6 + nextra + 1, sizeof *argv);
    if (!argv)
        return -1;
    size_t argc = 0;
    argv[argc++] = fixed[0];
    /* Sentinel wants its config file first; the words after it override
     * the file's settings, so port and paths still come from here. */
    if (s->sentinel_conf) {
        argv[argc++] = s->sentinel_conf;
        argv[argc++] = "--sentinel";
    }
    for (size_t i = 1; i < nfixed; i++)
        argv[argc++] = fixed[i];
    if (s->requirepass) {
        argv[argc++] = "--requirepass";
        argv[argc++] = s->requirepass;
    }
    if (s->tls_port > 0) {
        argv[argc++] = "--tls-port";
        argv[argc++] = tls_port;
        argv[argc++] = "--tls-cert-file";
        argv[argc++] = s->tls_cert;
        argv[argc++] = "--tls-key-file";
        argv[argc++] = s->tls_key;
        argv[argc++] = "--tls-ca-cert-file";
        argv[argc++] = s->tls_ca;
        argv[argc++] = "--tls-auth-clients";
        argv[argc++] = s->tls_auth_clients ? "yes" : "no";
    }
    if (s->bus_port > 0) {
        argv[argc++] = "--cluster-enabled";
        argv[argc++] = "yes";
        argv[argc++] = "--cluster-config-file";
        argv[argc++] = s->nodes_conf;
        argv[argc++] = "--cluster-port";
        argv[argc++] = bus_port;
    }
    for (size_t i = 0; i < nextra; i++)
        argv[argc++] = s->extra[i];
    argv[argc] = NULL;

    /* The child reports a failed exec through this pipe; a successful exec
     * closes it (O_CLOEXEC), so the parent reads end-of-file. */
    int report[2];
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || pipe2(report, O_CLOEXEC) != 0) {
        fprintf(stderr, "test_redis: pipe: %s\n", strerror(errno));
        if (devnull >= 0)
            close(devnull);
        free(argv);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* Dies with the thread that forked it. If the parent is already
         * gone, the death signal was set too late to ever fire. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(devnull, STDIN_FILENO);
        dup2(STDERR_FILENO, STDOUT_FILENO); /* the test's stdout carries TAP */
        execvp(bin, (char *const *)argv);
        int e = errno;
        ssize_t ignored = write(report[1], &e, sizeof e);
        (void)ignored;
        _exit(127);
    }
    int fork_errno = errno;
    close(report[1]);
    close(devnull);
    free(argv);
    if (pid < 0) {
        close(report[0]);
        fprintf(stderr, "test_redis: fork: %s\n", strerror(fork_errno));
        return -1;
    }
    int e = 0;
    ssize_t n;
    do {
        n = read(report[0], &e, sizeof e);
    } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof e) {
        fprintf(stderr, "test_redis: cannot run %s: %s\n", bin, strerror(e));
        waitpid(pid, NULL, 0);
        return -1;
    }
    s->pid = pid;
    return 0;
}

/* Waits until the server answers on its unix socket, then once on TCP.
 * The unix socket lives in our own directory, so a PONG there comes from our
 * process; and redis exits when it cannot bind its TCP port, so once it
 * answers there the port is ours too. The same holds for the TLS port,
 * which redis binds before it serves anything: a plain TCP connect there
 * (no handshake, which would need a TLS library here) shows that it is up.
 * 0 when ready; -1 when the process died or the time ran out. */
static int wait_ready(test_redis *s)
{
    long long deadline = now_ms() + READY_TIMEOUT_MS;
    for (;;) {
        int status;
        pid_t w = waitpid(s->pid, &status, WNOHANG);
        if (w == s->pid) {
            s->pid = -1;
            snprintf(why, sizeof why, "redis-server exited during startup (%s %d)",
                     WIFEXITED(status) ? "status" : "signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            return -1;
        }
        if (ping(s, false) == 0)
            break;
        if (now_ms() >= deadline) {
            char last[sizeof why];
            memcpy(last, why, sizeof last);
            snprintf(why, sizeof why, "no PONG on %s within %d ms (last: %.120s)",
                     s->sock_path, READY_TIMEOUT_MS, last);
            return -1;
        }
        sleep_ms(10);
    }
    if (ping(s, true) != 0) {
        char last[sizeof why];
        memcpy(last, why, sizeof last);
        snprintf(why, sizeof why, "no PONG on %s:%d (%.120s)", HOST, s->port, last);
        return -1;
    }
    if (s->tls_port > 0) {
        int fd = connect_tcp(s->tls_port);
        if (fd < 0) {
            snprintf(why, sizeof why, "TLS port %s:%d: connect: %s", HOST, s->tls_port,
                     strerror(errno));
            return -1;
        }
        close(fd);
    }
    return 0;
}

static void admin_close(test_redis *s)
{
    if (s->admin_fd >= 0)
        close(s->admin_fd);
    s->admin_fd = -1;
    arc_reader_free(s->admin_reader);
    s->admin_reader = NULL;
}

/* SIGTERM, then SIGKILL once the grace period is over; reaps the process. */
static void stop_process(test_redis *s)
{
    admin_close(s);
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    kill(s->pid, SIGCONT); /* a test may have stopped it with SIGSTOP */
    long long deadline = now_ms() + STOP_GRACE_MS;
    for (;;) {
        pid_t w = waitpid(s->pid, NULL, WNOHANG);
        if (w == s->pid || (w < 0 && errno == ECHILD))
            break;
        if (now_ms() >= deadline) {
            fprintf(stderr, "test_redis: pid %d ignored SIGTERM for %d ms; killing it\n",
                    (int)s->pid, STOP_GRACE_MS);
            kill(s->pid, SIGKILL);
            while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR) {
            }
            break;
        }
        sleep_ms(5);
    }
    s->pid = -1;
}

/* Starts the process. Each attempt probes a new free port, or with
 * fixed_port (a restart) reuses s->port after a pause. Only a port that was
 * taken is worth another attempt; any other failure ends at once. */
static int start_process(test_redis *s, bool fixed_port)
{
    for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
        if (!fixed_port) {
            s->port = free_port(0, 0);
            if (s->port > 0 && s->tls_port != 0)
                s->tls_port = free_port(s->port, 0);
            if (s->port > 0 && s->tls_port >= 0 && s->bus_port != 0)
                s->bus_port = free_port(s->port, s->tls_port);
            if (s->port < 0 || s->tls_port < 0 || s->bus_port < 0) {
                fprintf(stderr, "test_redis: no free port: %s\n", strerror(errno));
                return -1;
            }
        }
        long log_from = log_size(s);
        if (spawn(s) != 0)
            return -1;
        if (wait_ready(s) == 0)
            return 0;
        char tls[32] = "", bus[32] = "";
        if (s->tls_port > 0)
            snprintf(tls, sizeof tls, " (TLS %d)", s->tls_port);
        if (s->bus_port > 0)
            snprintf(bus, sizeof bus, " (bus %d)", s->bus_port);
        fprintf(stderr, "test_redis: attempt %d/%d on port %d%s%s: %s\n", attempt,
                START_ATTEMPTS, s->port, tls, bus, why);
        stop_process(s);
        if (!log_says_port_taken(s, log_from))
            break;
        if (fixed_port)
            sleep_ms(100 * attempt);
    }
    print_log_tail(s);
    return -1;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0)
        fprintf(stderr, "test_redis: cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

static void unlink_live(test_redis *s)
{
    for (test_redis **p = &live; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
}

static void destroy(test_redis *s)
{
    stop_process(s);
    unlink_live(s);
    if (s->dir)
        nftw(s->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    for (size_t i = 0; s->extra && s->extra[i]; i++)
        free(s->extra[i]);
    free(s->extra);
    free(s->tls_cert);
    free(s->tls_key);
    free(s->tls_ca);
    free(s->sentinel_conf);
    free(s->nodes_conf);
    arc_buffer_free(s->out);
    free(s->requirepass);
    free(s->log_path);
    free(s->sock_path);
    free(s->dir);
    free(s);
}

/* Whatever the test forgot to stop (a failed assertion skips its cleanup)
 * is stopped at exit. A forked child of the test that calls exit() must not
 * stop its parent's servers, hence the owner check. */
static void stop_all_at_exit(void)
{
    if (getpid() != live_owner)
        return;
    while (live)
        destroy(live);
}

/* The TLS options, checked and resolved to file paths. A tls_port of -1
 * asks start_process() for a port. 0, or -1 with the reason on stderr. */
static int copy_tls_options(test_redis *s, const test_redis_options *opt)
{
    bool own_cert = opt->tls_cert_file || opt->tls_key_file;
    if (!opt->tls) {
        if (own_cert || opt->tls_auth_clients) {
            fprintf(stderr, "test_redis: tls_cert_file, tls_key_file and "
                            "tls_auth_clients need tls = 1\n");
            return -1;
        }
        return 0;
    }
    if (own_cert && !(opt->tls_cert_file && opt->tls_key_file)) {
        fprintf(stderr, "test_redis: tls_cert_file and tls_key_file go together\n");
        return -1;
    }
    if (opt->tls_auth_clients != 0 && opt->tls_auth_clients != 1) {
        fprintf(stderr, "test_redis: tls_auth_clients is 0 or 1, not %d\n",
                opt->tls_auth_clients);
        return -1;
    }
    const test_tls_files *f = test_tls_files_get();
    if (!f) {
        fprintf(stderr, "test_redis: TLS asked for, but there are no certificates\n");
        return -1;
    }
    s->tls_port = -1;
    s->tls_auth_clients = opt->tls_auth_clients == 1;
    s->tls_cert = strdup(own_cert ? opt->tls_cert_file : f->server_cert);
    s->tls_key = strdup(own_cert ? opt->tls_key_file : f->server_key);
    s->tls_ca = strdup(f->ca_cert);
    if (!s->tls_cert || !s->tls_key || !s->tls_ca) {
        fprintf(stderr, "test_redis: out of memory\n");
        return -1;
    }
    return 0;
}

/* Writes Sentinel's config file, once: a restart must find the file as
 * Sentinel rewrote it. 0, or -1 with the reason on stderr. */
static int write_sentinel_conf(test_redis *s, const char *text)
{
    s->sentinel_conf = join(s->dir, "/sentinel.conf");
    if (!s->sentinel_conf) {
        fprintf(stderr, "test_redis: out of memory\n");
        return -1;
    }
    FILE *f = fopen(s->sentinel_conf, "wxe");
    size_t len = strlen(text);
    bool ok = f && fwrite(text, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok) {
        fprintf(stderr, "test_redis: cannot write %s: %s\n", s->sentinel_conf,
                strerror(errno));
        return -1;
    }
    return 0;
}

static bool copy_options(test_redis *s, const test_redis_options *opt)
{
    if (!opt)
        return true;
    if (opt->requirepass && !(s->requirepass = strdup(opt->requirepass)))
        return false;
    size_t n = 0;
    while (opt->extra_args && opt->extra_args[n])
        n++;
    if (n == 0)
        return true;
    s->extra = calloc(n + 1, sizeof *s->extra);
    if (!s->extra)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!(s->extra[i] = strdup(opt->extra_args[i])))
            return false;
    }
    return true;
}

test_redis *test_redis_start(const test_redis_options *opt)
{
    test_redis *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->pid = -1;
    s->admin_fd = -1;
    if (opt && copy_tls_options(s, opt) != 0) {
        destroy(s);
        return NULL;
    }

    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    s->dir = join(tmp, "/arc-redis-XXXXXX");
    if (!s->dir || !copy_options(s, opt) || !(s->out = arc_buffer_new(0, NULL))) {
        fprintf(stderr, "test_redis: out of memory\n");
        free(s->dir);
        s->dir = NULL; /* not made yet: nothing to remove */
        destroy(s);
        return NULL;
    }
    if (!mkdtemp(s->dir)) {
        fprintf(stderr, "test_redis: mkdtemp %s: %s\n", s->dir, strerror(errno));
        free(s->dir);
        s->dir = NULL;
        destroy(s);
        return NULL;
    }
    s->sock_path = join(s->dir, "/redis.sock");
    s->log_path = join(s->dir, "/redis.log");
    if (!s->sock_path || !s->log_path) {
        fprintf(stderr, "test_redis: out of memory\n");
        destroy(s);
        return NULL;
    }
    if (strlen(s->sock_path) >= sizeof((struct sockaddr_un *)0)->sun_path) {
        fprintf(stderr, "test_redis: socket path too long for AF_UNIX: %s "
                        "(set a shorter TMPDIR)\n", s->sock_path);
        destroy(s);
        return NULL;
    }
    if (opt && opt->sentinel_config && write_sentinel_conf(s, opt->sentinel_config) != 0) {
        destroy(s);
        return NULL;
    }
    if (opt && opt->cluster) {
        if (opt->sentinel_config) {
            fprintf(stderr, "test_redis: cluster and sentinel_config do not go together\n");
            destroy(s);
            return NULL;
        }
        s->bus_port = -1; /* start_process() picks one */
        if (!(s->nodes_conf = join(s->dir, "/nodes.conf"))) {
            fprintf(stderr, "test_redis: out of memory\n");
            destroy(s);
            return NULL;
        }
    }

    if (live_owner != getpid()) {
        live_owner = getpid();
        live = NULL; /* a forked child starts with its own list */
        atexit(stop_all_at_exit);
    }
    s->next = live;
    live = s;

    if (start_process(s, false) != 0) {
        destroy(s);
        return NULL;
    }
    return s;
}

int test_redis_port(const test_redis *s)
{
    return s->port;
}

int test_redis_tls_port(const test_redis *s)
{
    return s->tls_port > 0 ? s->tls_port : 0;
}

int test_redis_bus_port(const test_redis *s)
{
    return s->bus_port > 0 ? s->bus_port : 0;
}

const char *test_redis_host(const test_redis *s)
{
    (void)s;
    return HOST;
}

const char *test_redis_unix_path(const test_redis *s)
{
    return s->sock_path;
}

int test_redis_pid(const test_redis *s)
{
    return (int)s->pid;
}

/* True when the admin connection can no longer be used: the server closed
 * it (CLIENT KILL, timeout, restart) or left bytes nobody asked for. Checked
 * before sending, so a command is never sent twice. */
static bool admin_stale(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

static int admin_open(test_redis *s)
{
    s->admin_fd = connect_unix(s->sock_path);
    if (s->admin_fd < 0) {
        fprintf(stderr, "test_redis: connect %s: %s\n", s->sock_path, strerror(errno));
        return -1;
    }
    s->admin_reader = arc_reader_new(NULL, NULL);
    if (!s->admin_reader) {
        fprintf(stderr, "test_redis: out of memory\n");
        admin_close(s);
        return -1;
    }
    arc_buffer_clear(s->out);
    if (greet(s, s->admin_fd, s->admin_reader, s->out, NULL, COMMAND_TIMEOUT_MS) != 0) {
        fprintf(stderr, "test_redis: admin connection: %s\n", why);
        admin_close(s);
        return -1;
    }
    return 0;
}

arc_reply *test_redis_command(test_redis *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    arc_reply *reply = test_redis_vcommand(s, fmt, ap);
    va_end(ap);
    return reply;
}

arc_reply *test_redis_vcommand(test_redis *s, const char *fmt, va_list ap)
{
    if (!s || s->pid <= 0) {
        fprintf(stderr, "test_redis_command: the server is not running\n");
        return NULL;
    }
    if (s->admin_fd >= 0 && admin_stale(s->admin_fd))
        admin_close(s);
    if (s->admin_fd < 0 && admin_open(s) != 0)
        return NULL;

    arc_buffer_clear(s->out);
    int rc = arc_vformat(s->out, fmt, ap);
    if (rc != ARC_OK) {
        fprintf(stderr, "test_redis_command: cannot format \"%s\": %s\n", fmt,
                arc_strerror(rc));
        return NULL;
    }
    arc_reply *reply = roundtrip(s->admin_fd, s->admin_reader, s->out, COMMAND_TIMEOUT_MS);
    if (!reply) {
        fprintf(stderr, "test_redis_command \"%s\": %s\n", fmt, why);
        admin_close(s);
        return NULL;
    }
    arc_reply *copy = arc_reply_dup(reply, NULL);
    if (!copy)
        fprintf(stderr, "test_redis_command: out of memory\n");
    return copy;
}

void test_redis_print_log_tail(const test_redis *s)
{
    print_log_tail(s);
}

void test_redis_stop(test_redis *s)
{
    if (s)
        destroy(s);
}

int test_redis_restart(test_redis *s)
{
    stop_process(s);
    return start_process(s, true);
}
