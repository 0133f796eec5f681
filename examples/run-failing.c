/* run-failing.c (tests): runs one example where it must fail and checks
 * that it exits with status 1: it said why, ended, and freed everything.
 * A leak or a bad access turns into another status under
 * `meson test --setup valgrind` (ARC_UNDER_VALGRIND set): the example then
 * runs under valgrind itself, which exits with 99 on any error or leak.
 * Under the sanitizers a bad access aborts too, but LeakSanitizer scans the
 * stack conservatively and can miss a context whose only pointer is left
 * in main's finished frame; valgrind does not.
 *   usage: run-failing EXAMPLE
 * The example gets 127.0.0.1 and a port that refuses: a socket bound to it
 * that does not listen, held for the whole run so that nothing else can
 * take the port. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: run-failing EXAMPLE\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
        perror("run-failing: a refusing port");
        return 2;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", ntohs(sin.sin_port));

    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("run-failing: fork");
        return 2;
    }
    if (pid == 0) {
        close(fd);
        if (getenv("ARC_UNDER_VALGRIND") != NULL)
            execlp("valgrind", "valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
                   "--show-leak-kinds=definite,indirect,possible",
                   "--errors-for-leak-kinds=definite,indirect,possible", argv[1], "127.0.0.1", port,
                   (char *)NULL);
        else
            execl(argv[1], argv[1], "127.0.0.1", port, (char *)NULL);
        perror("run-failing: exec");
        _exit(127);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) {
        perror("run-failing: waitpid");
        return 2;
    }
    close(fd);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 1)
        return 0;
    if (WIFEXITED(st))
        fprintf(stderr, "run-failing: %s exited with %d, not 1\n", argv[1], WEXITSTATUS(st));
    else
        fprintf(stderr, "run-failing: %s was killed by signal %d\n", argv[1],
                WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return 1;
}
