/* test_examples.c (tests): every example program, run against a throwaway
 * redis-server, must exit 0. The programs' paths are the arguments; each
 * gets the server's HOST PORT, example-tls gets "localhost", the TLS port
 * and the harness CA file (the server then listens for TLS too), and
 * example-sentinel a sentinel's HOST PORT and the master's name, of a
 * Sentinel deployment started for it, and the example-cluster programs a node of a
 * Redis Cluster started for it. */
#define _POSIX_C_SOURCE 200809L
#include "cluster.h"
#include "redis_server.h"
#include "sentinels.h"
#include "tls_certs.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static bool is_tls(const char *path)
{
    return strcmp(base(path), "example-tls") == 0;
}

static bool is_sentinel(const char *path)
{
    return strcmp(base(path), "example-sentinel") == 0;
}

static bool is_cluster(const char *path)
{
    return strncmp(base(path), "example-cluster", 15) == 0;
}

int main(int argc, char **argv)
{
    printf("1..%d\n", argc - 1);
    bool tls = false;
    for (int i = 1; i < argc; i++)
        tls = tls || is_tls(argv[i]);
    const test_tls_files *files = tls ? test_tls_files_get() : NULL;
    test_redis *srv = NULL;
    if (!tls || files != NULL)
        srv = test_redis_start(&(test_redis_options){.tls = tls});
    if (srv == NULL) {
        for (int i = 1; i < argc; i++)
            printf("not ok %d - %s: no redis-server%s\n", i, base(argv[i]),
                   tls ? " with TLS" : "");
        return 1;
    }
    test_sentinels *snt = NULL;
    for (int i = 1; i < argc && snt == NULL; i++)
        if (is_sentinel(argv[i]) && (snt = test_sentinels_start("mymaster", NULL)) == NULL)
            fprintf(stderr, "no Sentinel deployment for %s\n", base(argv[i]));
    test_cluster *cluster = NULL;
    for (int i = 1; i < argc && cluster == NULL; i++)
        if (is_cluster(argv[i]) && (cluster = test_cluster_start(NULL)) == NULL)
            fprintf(stderr, "no Redis Cluster for %s\n", base(argv[i]));
    char port[16], tls_port[16], sentinel_port[16], cluster_port[16];
    snprintf(cluster_port, sizeof cluster_port, "%d",
             cluster ? test_cluster_port(cluster, 0) : 0);
    snprintf(port, sizeof port, "%d", test_redis_port(srv));
    snprintf(tls_port, sizeof tls_port, "%d", test_redis_tls_port(srv));
    snprintf(sentinel_port, sizeof sentinel_port, "%d", snt ? test_sentinels_port(snt, 0) : 0);
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            dup2(STDERR_FILENO, STDOUT_FILENO); /* keep the TAP stream clean */
            if (is_tls(argv[i]))
                execl(argv[i], argv[i], "localhost", tls_port, files->ca_cert, (char *)NULL);
            else if (is_sentinel(argv[i]))
                execl(argv[i], argv[i], "127.0.0.1", sentinel_port, "mymaster", (char *)NULL);
            else if (is_cluster(argv[i]))
                execl(argv[i], argv[i], "127.0.0.1", cluster_port, (char *)NULL);
            else
                execl(argv[i], argv[i], test_redis_host(srv), port, (char *)NULL);
            _exit(127);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            printf("ok %d - %s\n", i, base(argv[i]));
        } else {
            printf("not ok %d - %s (status %d)\n", i, base(argv[i]), st);
            failed = 1;
        }
    }
    test_cluster_stop(cluster);
    test_sentinels_stop(snt);
    test_redis_stop(srv);
    return failed;
}
