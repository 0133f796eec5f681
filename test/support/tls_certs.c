/* tls_certs.c (tests): makes a test CA and its certificates with the openssl program. */
#define _GNU_SOURCE

#include "tls_certs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define OPENSSL_TIMEOUT_MS 30000 /* one openssl run; each takes ~10 ms */
#define STEP_OUTPUT_CAP 4096     /* what a failed step shows of its output */

/* The configuration that every req and ca step reads. The steps run inside
 * the temporary directory and name their files relative to it, so no path
 * ever goes through the configuration syntax (which expands $ and stops at
 * #). The ca section exists only for the expired certificate: OpenSSL 3.0's
 * req and x509 cannot set a notAfter in the past, ca -enddate can. */
static const char config_text[] =
    "[req]\n"
    "distinguished_name = dn\n"
    "prompt = no\n"
    "[dn]\n"
    "CN = unused\n"
    "[ca_ext]\n"
    "basicConstraints = critical, CA:TRUE\n"
    "keyUsage = critical, keyCertSign, cRLSign\n"
    "subjectKeyIdentifier = hash\n"
    "[server_ext]\n"
    "basicConstraints = critical, CA:FALSE\n"
    "keyUsage = critical, digitalSignature\n"
    "extendedKeyUsage = serverAuth\n"
    "subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1\n"
    "subjectKeyIdentifier = hash\n"
    "authorityKeyIdentifier = keyid\n"
    "[client_ext]\n"
    "basicConstraints = critical, CA:FALSE\n"
    "keyUsage = critical, digitalSignature\n"
    "extendedKeyUsage = clientAuth\n"
    "subjectKeyIdentifier = hash\n"
    "authorityKeyIdentifier = keyid\n"
    "[wrong_name_ext]\n"
    "basicConstraints = critical, CA:FALSE\n"
    "keyUsage = critical, digitalSignature\n"
    "extendedKeyUsage = serverAuth\n"
    "subjectAltName = DNS:wrong.example\n"
    "subjectKeyIdentifier = hash\n"
    "authorityKeyIdentifier = keyid\n"
    "[ca]\n"
    "default_ca = test_ca\n"
    "[test_ca]\n"
    "database = index.txt\n"
    "new_certs_dir = issued\n"
    "rand_serial = yes\n"
    "unique_subject = no\n"
    "default_md = sha256\n"
    "policy = any_name\n"
    "[any_name]\n"
    "commonName = supplied\n";

/* EC P-256 rather than RSA: a key is made in well under a millisecond. */
#define NEW_KEY "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc"
#define CONFIG "-config", "openssl.cnf"
#define BY_CA "-x509", "-CA", "ca.pem", "-CAkey", "ca.key", "-days", "3650"

static const char *const ca_step[] = {
    "req", "-x509", NEW_KEY, "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
    "-subj", "/CN=arc test CA", CONFIG, "-extensions", "ca_ext", NULL};
static const char *const other_ca_step[] = {
    "req", "-x509", NEW_KEY, "-keyout", "other-ca.key", "-out", "other-ca.pem",
    "-days", "3650", "-subj", "/CN=arc other CA", CONFIG, "-extensions", "ca_ext", NULL};
static const char *const server_step[] = {
    "req", BY_CA, NEW_KEY, "-keyout", "server.key", "-out", "server.pem",
    "-subj", "/CN=localhost", CONFIG, "-extensions", "server_ext", NULL};
static const char *const client_step[] = {
    "req", BY_CA, NEW_KEY, "-keyout", "client.key", "-out", "client.pem",
    "-subj", "/CN=arc test client", CONFIG, "-extensions", "client_ext", NULL};
static const char *const wrong_name_step[] = {
    "req", BY_CA, NEW_KEY, "-keyout", "wrong-name.key", "-out", "wrong-name.pem",
    "-subj", "/CN=wrong.example", CONFIG, "-extensions", "wrong_name_ext", NULL};
static const char *const expired_csr_step[] = {
    "req", "-new", NEW_KEY, "-keyout", "expired.key", "-out", "expired.csr",
    "-subj", "/CN=localhost", CONFIG, NULL};
static const char *const expired_step[] = {
    "ca", "-batch", CONFIG, "-cert", "ca.pem", "-keyfile", "ca.key",
    "-in", "expired.csr", "-out", "expired.pem", "-notext",
    "-startdate", "20000101000000Z", "-enddate", "20010101000000Z",
    "-extensions", "server_ext", NULL};
static const char *const rehash_step[] = {"rehash", "ca.d", NULL};

/* The one set of files of this process; see test_tls_files_get(). */
static bool tried;
static bool made;
static pid_t owner; /* the process that made `dir` and removes it at exit */
static char *dir;
#define NFILES 13 /* the paths in test_tls_files, dir aside */
static char *paths[NFILES];
static test_tls_files files;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + 1 + lb + 1);
    if (p) {
        memcpy(p, a, la);
        p[la] = '/';
        memcpy(p + la + 1, b, lb + 1);
    }
    return p;
}

/* Starts `argv` in `cwd` (NULL: ours) with stdout and stderr on `out_fd`.
 * 0, or an errno value. */
static int spawn_in(const char *cwd, const char **argv, int out_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0)
        return rc;
    rc = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, out_fd, STDERR_FILENO);
    if (rc == 0 && cwd)
        rc = posix_spawn_file_actions_addchdir_np(&fa, cwd);
    if (rc == 0)
        rc = posix_spawnp(pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

/* Reads `fd` to its end into `out` (cut to cap - 1 bytes, NUL-terminated),
 * killing `pid` when the time runs out, then reaps it. Its exit status, or
 * -1 (reason on stderr). */
static int collect(pid_t pid, int fd, char *out, size_t cap, const char *what)
{
    size_t len = 0;
    bool timed_out = false;
    long long deadline = now_ms() + OPENSSL_TIMEOUT_MS;
    for (;;) {
        long long wait = deadline - now_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = wait > 0 ? poll(&pfd, 1, (int)wait) : 0;
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        char chunk[1024];
        ssize_t got = pr > 0 ? read(fd, chunk, sizeof chunk) : -1;
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        size_t keep = out && cap > len + 1 ? cap - 1 - len : 0;
        if (keep > (size_t)got)
            keep = (size_t)got;
        if (keep > 0)
            memcpy(out + len, chunk, keep);
        len += keep;
    }
    if (out && cap > 0)
        out[len] = '\0';
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
        fprintf(stderr, "test_tls: openssl %s ran for %d ms; killed\n", what,
                OPENSSL_TIMEOUT_MS);
        return -1;
    }
    if (!WIFEXITED(status)) {
        fprintf(stderr, "test_tls: openssl %s: killed by signal %d\n", what,
                WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        return -1;
    }
    return WEXITSTATUS(status);
}

/* Runs openssl in `cwd` (NULL: ours); see test_tls_openssl(). */
static int run_in(const char *cwd, const char *const *args, char *out, size_t cap)
{
    if (out && cap > 0)
        out[0] = '\0';
    const char *bin = getenv("ARC_OPENSSL");
    if (bin && !*bin) {
        fprintf(stderr, "test_tls: no openssl program (meson found none: install "
                        "the openssl package)\n");
        return -1;
    }
    if (!bin)
        bin = "openssl";
    size_t n = 0;
    while (args[n])
        n++;
    const char **argv = calloc(n + 2, sizeof *argv);
    if (!argv) {
        fprintf(stderr, "test_tls: out of memory\n");
        return -1;
    }
    argv[0] = bin;
    memcpy(argv + 1, args, n * sizeof *argv);
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        fprintf(stderr, "test_tls: pipe: %s\n", strerror(errno));
        free(argv);
        return -1;
    }
    pid_t pid;
    int rc = spawn_in(cwd, argv, pipefd[1], &pid);
    close(pipefd[1]);
    free(argv);
    if (rc != 0) {
        fprintf(stderr, "test_tls: cannot run %s: %s\n", bin, strerror(rc));
        close(pipefd[0]);
        return -1;
    }
    rc = collect(pid, pipefd[0], out, cap, args[0] ? args[0] : "");
    close(pipefd[0]);
    return rc;
}

int test_tls_openssl(const char *const *args, char *out, size_t cap)
{
    return run_in(NULL, args, out, cap);
}

/* One step in the directory; on failure prints the command and its output. */
static bool step(const char *const *args)
{
    char out[STEP_OUTPUT_CAP];
    int rc = run_in(dir, args, out, sizeof out);
    if (rc == 0)
        return true;
    fprintf(stderr, "test_tls: in %s, openssl", dir);
    for (size_t i = 0; args[i]; i++)
        fprintf(stderr, " %s", args[i]);
    fprintf(stderr, " failed (status %d):\n%s\n", rc, rc >= 0 ? out : "");
    return false;
}

static bool write_file(const char *name, const char *data, size_t len)
{
    char *path = join(dir, name);
    FILE *f = path ? fopen(path, "we") : NULL;
    bool ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "test_tls: cannot write %s: %s\n", path ? path : name,
                path ? strerror(errno) : "out of memory");
    free(path);
    return ok;
}

/* ca.d holds a copy, not a link: a CApath must still work when a test
 * copies or moves the directory elsewhere. */
static bool copy_ca_into_ca_dir(void)
{
    char buf[16384];
    char *path = join(dir, "ca.pem");
    FILE *f = path ? fopen(path, "re") : NULL;
    size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
    bool ok = f && !ferror(f) && feof(f) && len > 0;
    if (f)
        fclose(f);
    if (!ok) {
        fprintf(stderr, "test_tls: cannot read %s\n", path ? path : "ca.pem");
        free(path);
        return false;
    }
    free(path);
    return write_file("ca.d/ca.pem", buf, len);
}

static bool make_subdir(const char *name)
{
    char *path = join(dir, name);
    bool ok = path && mkdir(path, 0700) == 0;
    if (!ok)
        fprintf(stderr, "test_tls: mkdir %s: %s\n", path ? path : name,
                path ? strerror(errno) : "out of memory");
    free(path);
    return ok;
}

static bool make_all(void)
{
    static const char *const names[NFILES] = {
        "ca.pem", "ca.key", "ca.d", "server.pem", "server.key", "client.pem",
        "client.key", "wrong-name.pem", "wrong-name.key", "expired.pem", "expired.key",
        "other-ca.pem", "other-ca.key"};
    for (size_t i = 0; i < NFILES; i++) {
        if (!(paths[i] = join(dir, names[i]))) {
            fprintf(stderr, "test_tls: out of memory\n");
            return false;
        }
    }
    if (!make_subdir("issued") || !make_subdir("ca.d") ||
        !write_file("openssl.cnf", config_text, sizeof config_text - 1) ||
        !write_file("index.txt", "", 0))
        return false;
    if (!step(ca_step) || !step(other_ca_step) || !step(server_step) ||
        !step(client_step) || !step(wrong_name_step) || !step(expired_csr_step) ||
        !step(expired_step) || !copy_ca_into_ca_dir() || !step(rehash_step))
        return false;
    files = (test_tls_files){
        .dir = dir,
        .ca_cert = paths[0], .ca_key = paths[1], .ca_dir = paths[2],
        .server_cert = paths[3], .server_key = paths[4],
        .client_cert = paths[5], .client_key = paths[6],
        .wrong_name_cert = paths[7], .wrong_name_key = paths[8],
        .expired_cert = paths[9], .expired_key = paths[10],
        .other_ca_cert = paths[11], .other_ca_key = paths[12],
    };
    return true;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0)
        fprintf(stderr, "test_tls: cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

/* A forked child that exits must leave its parent's files alone. */
static void remove_at_exit(void)
{
    if (getpid() != owner)
        return;
    if (dir)
        nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    for (size_t i = 0; i < NFILES; i++) {
        free(paths[i]);
        paths[i] = NULL;
    }
    free(dir);
    dir = NULL;
    made = false;
}

const test_tls_files *test_tls_files_get(void)
{
    if (tried) {
        if (!made)
            fprintf(stderr, "test_tls: no certificates (the first attempt failed, above)\n");
        return made ? &files : NULL;
    }
    tried = true;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    dir = join(tmp, "arc-tls-XXXXXX");
    if (!dir || !mkdtemp(dir)) {
        fprintf(stderr, "test_tls: mkdtemp under %s: %s\n", tmp,
                dir ? strerror(errno) : "out of memory");
        free(dir);
        dir = NULL;
        return NULL;
    }
    owner = getpid();
    atexit(remove_at_exit);
    made = make_all();
    return made ? &files : NULL;
}
