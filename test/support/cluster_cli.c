/* cluster_cli.c (tests): runs redis-cli for a test_cluster: --cluster
 * create to make it, --cluster check for a second opinion. */
#define _GNU_SOURCE

#include "cluster_private.h"
#include "spawn_helper.h"
#include "tls_certs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLI_TIMEOUT_MS 30000 /* one redis-cli run; create takes ~1 s */
#define CLI_OUTPUT_CAP 16384 /* create prints ~2 KB for 6 nodes */

/* redis-cli: $ARC_REDIS_CLI, else the first redis-cli on $PATH (execv,
 * which spawn_program() uses, does not search). The path goes in `buf`. */
static const char *cli_path(char *buf, size_t cap)
{
    const char *bin = getenv("ARC_REDIS_CLI");
    if (bin && *bin)
        return bin;
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/bin"; *p;) {
        size_t len = strcspn(p, ":");
        if (len > 0 && (size_t)snprintf(buf, cap, "%.*s/redis-cli", (int)len, p) < cap &&
            access(buf, X_OK) == 0)
            return buf;
        p += len + (p[len] == ':');
    }
    return "redis-cli"; /* not found: the exec failure will say so */
}

/* Runs redis-cli with `args` (after the program name, NULL-terminated; TLS
 * words are added first when the cluster has TLS), its stdout in `out`
 * (its stderr is the test's). The exit status, or -1 when it could not run
 * or took too long. */
static int run_cli(const test_cluster *c, const char *const *args, char *out, size_t cap)
{
    char path[512];
    const char *argv[TCLUSTER_MAX_NODES + 16];
    size_t argc = 0;
    argv[argc++] = cli_path(path, sizeof path);
    if (c->tls) {
        argv[argc++] = "--tls";
        argv[argc++] = "--cacert";
        argv[argc++] = test_tls_files_get()->ca_cert; /* made before the nodes started */
    }
    for (size_t i = 0; args[i] && argc + 1 < sizeof argv / sizeof argv[0]; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;

    int pipefd[2];
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || pipe2(pipefd, O_CLOEXEC) != 0) {
        fprintf(stderr, "test_cluster: pipe: %s\n", strerror(errno));
        if (devnull >= 0)
            close(devnull);
        return -1;
    }
    fflush(stderr);
    pid_t pid = spawn_program("test_cluster", argv, devnull, pipefd[1]);
    close(devnull);
    close(pipefd[1]);
    if (pid < 0) {
        fprintf(stderr, "test_cluster: fork: %s\n", strerror(errno));
        close(pipefd[0]);
        return -1;
    }
    size_t len = 0;
    long long deadline = spawn_now_ms() + CLI_TIMEOUT_MS;
    for (;;) {
        struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
        long long left = deadline - spawn_now_ms();
        if (left <= 0)
            break;
        if (poll(&pfd, 1, (int)left) <= 0)
            continue; /* EINTR, or the time is up: the loop's top decides */
        char chunk[4096];
        ssize_t n = read(pipefd[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        /* Keep the start; the rest is drained so that redis-cli never blocks. */
        size_t take = len + 1 < cap ? cap - 1 - len : 0;
        take = take < (size_t)n ? take : (size_t)n;
        memcpy(out + len, chunk, take);
        len += take;
    }
    out[len] = '\0';
    close(pipefd[0]);
    int left = (int)(deadline - spawn_now_ms());
    int rc = spawn_wait(pid, left > 0 ? left : 0);
    if (rc == -2) {
        fprintf(stderr, "test_cluster: redis-cli %s took more than %d ms\n", args[1],
                CLI_TIMEOUT_MS);
        spawn_terminate("test_cluster", pid, 1000);
        return -1;
    }
    return rc;
}

/* redis-cli colours its cluster output even into a pipe; the escapes go. */
static void print_cli_output(const char *what, const char *out)
{
    fprintf(stderr, "test_cluster: redis-cli --cluster %s said:\n", what);
    for (const char *p = out; *p; p++) {
        if (p[0] == '\033' && p[1] == '[') {
            const char *m = strchr(p, 'm');
            if (m) {
                p = m;
                continue;
            }
        }
        fputc(*p, stderr);
    }
}

/* The client port that redis-cli should use for node i. */
static int cli_port(const test_cluster *c, int i)
{
    return c->tls ? test_redis_tls_port(c->node[i]) : test_redis_port(c->node[i]);
}

int tcluster__cli_create(test_cluster *c)
{
    char addr[TCLUSTER_MAX_NODES][32], nrep[8];
    const char *args[TCLUSTER_MAX_NODES + 8];
    size_t n = 0;
    args[n++] = "--cluster";
    args[n++] = "create";
    for (int i = 0; i < c->n; i++) {
        snprintf(addr[i], sizeof addr[i], "127.0.0.1:%d", cli_port(c, i));
        args[n++] = addr[i];
    }
    snprintf(nrep, sizeof nrep, "%d", c->replicas);
    args[n++] = "--cluster-replicas";
    args[n++] = nrep;
    args[n++] = "--cluster-yes";
    args[n] = NULL;
    char *out = malloc(CLI_OUTPUT_CAP);
    if (!out)
        return -1;
    int rc = run_cli(c, args, out, CLI_OUTPUT_CAP);
    if (rc != 0) {
        print_cli_output("create", out);
        tcluster__print_logs(c);
    }
    free(out);
    return rc == 0 ? 0 : -1;
}

int tcluster__cli_check(test_cluster *c)
{
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", cli_port(c, 0));
    const char *args[] = {"--cluster", "check", addr, NULL};
    char *out = malloc(CLI_OUTPUT_CAP);
    if (!out)
        return -1;
    int rc = run_cli(c, args, out, CLI_OUTPUT_CAP);
    bool ok = rc == 0 && strstr(out, "[OK] All 16384 slots covered.") &&
              strstr(out, "[OK] All nodes agree about slots configuration.");
    if (!ok)
        print_cli_output("check", out);
    free(out);
    return ok ? 0 : -1;
}
