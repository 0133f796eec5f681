/* test_examples.c (tests): every example program, run against a throwaway
 * redis-server, must exit 0. The programs' paths are the arguments. */
#define _POSIX_C_SOURCE 200809L
#include "redis_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    printf("1..%d\n", argc - 1);
    test_redis *srv = test_redis_start(NULL);
    if (srv == NULL) {
        for (int i = 1; i < argc; i++)
            printf("not ok %d - %s: no redis-server\n", i, argv[i]);
        return 1;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", test_redis_port(srv));
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            dup2(STDERR_FILENO, STDOUT_FILENO); /* keep the TAP stream clean */
            execl(argv[i], argv[i], test_redis_host(srv), port, (char *)NULL);
            _exit(127);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            printf("ok %d - %s\n", i, name);
        } else {
            printf("not ok %d - %s (status %d)\n", i, name, st);
            failed = 1;
        }
    }
    test_redis_stop(srv);
    return failed;
}
