/* test_hygiene.c: what a library must not do to the process that hosts it:
 * raise SIGPIPE, leak descriptors into children or across failed connects,
 * or buffer without bound when the server stops reading. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arc/adapters/poll.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct rec {
    int calls, status;
} rec;

static void on_reply(arc_context *c, arc_reply *r, int status, void *pd)
{
    (void)c;
    (void)r;
    rec *k = pd;
    k->calls++;
    k->status = status;
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* SIGPIPE at its default disposition: writing to a closed peer must end the
 * context with an error, not kill the process. */
static void no_sigpipe(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_DFL);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    arc_options o;
    memset(&o, 0, sizeof o);
    arc_context *c = arc_connect_fd(sv[0], &o);
    arc_poll_loop *loop = arc_poll_loop_new();
    assert_int_equal(arc_poll_attach(c, loop), ARC_OK);
    arc_poll_loop_run_once(loop, 10);
    close(sv[1]);
    rec r = {0, 0};
    assert_int_equal(arc_command(c, on_reply, &r, "SET k v"), ARC_OK);
    for (int i = 0; i < 50 && r.calls == 0; i++)
        arc_poll_loop_run_once(loop, 10);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, ARC_ERR_NOT_SENT); /* the send failed: it never ran */
    assert_true(arc_context_failure(c) == ARC_ERR_EOF || arc_context_failure(c) == ARC_ERR_IO);
    assert_int_equal(arc_context_state(c), ARC_STATE_FAILED);
    arc_free(c);
    arc_poll_loop_free(loop);
}

/* A child that execs sees none of the context's sockets. */
static void sockets_close_on_exec(void **state)
{
    (void)state;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(0x7f000001);
    assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(l, 4), 0);
    socklen_t sl = sizeof sin;
    getsockname(l, (struct sockaddr *)&sin, &sl);
    arc_options o;
    memset(&o, 0, sizeof o);
    o.host = "127.0.0.1";
    o.port = ntohs(sin.sin_port);
    arc_context *c = arc_connect(&o);
    /* The connect starts from the loop. */
    arc_poll_loop *loop = arc_poll_loop_new();
    assert_int_equal(arc_poll_attach(c, loop), ARC_OK);
    for (int i = 0; i < 100 && arc_fd(c) < 0; i++)
        arc_poll_loop_run_once(loop, 10);
    int fd = arc_fd(c);
    assert_true(fd >= 0);
    char probe[64];
    snprintf(probe, sizeof probe, "test ! -e /proc/self/fd/%d", fd);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", probe, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0); /* the fd number is free in the child */
    arc_free(c);
    arc_poll_loop_free(loop);
    close(l);
}

/* Thousands of refused connects leave no descriptor behind. */
static void failed_connects_leak_nothing(void **state)
{
    (void)state;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(0x7f000001);
    bind(l, (struct sockaddr *)&sin, sizeof sin);
    socklen_t sl = sizeof sin;
    getsockname(l, (struct sockaddr *)&sin, &sl);
    close(l); /* the port is free: connects to it are refused */
    int before = open_fds();
    arc_poll_loop *loop = arc_poll_loop_new();
    int refused = 0;
    for (int i = 0; i < 2000; i++) {
        arc_options o;
        memset(&o, 0, sizeof o);
        o.host = "127.0.0.1";
        o.port = ntohs(sin.sin_port);
        arc_context *c = arc_connect(&o);
        assert_int_equal(arc_poll_attach(c, loop), ARC_OK);
        while (arc_context_state(c) != ARC_STATE_FAILED)
            arc_poll_loop_run_once(loop, 10);
        refused += arc_context_failure(c) == ARC_ERR_REFUSED;
        arc_free(c);
    }
    arc_poll_loop_free(loop);
    assert_int_equal(refused, 2000);
    assert_int_equal(open_fds(), before);
}

/* A server that stops reading: the output stops at max_output, commands
 * past it are refused with ARC_ERR_LIMIT, and nothing else breaks. */
static void output_is_bounded(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    arc_options o;
    memset(&o, 0, sizeof o);
    o.max_output = 1 << 20;
    arc_context *c = arc_connect_fd(sv[0], &o);
    arc_poll_loop *loop = arc_poll_loop_new();
    assert_int_equal(arc_poll_attach(c, loop), ARC_OK);
    static char value[64 * 1024];
    memset(value, 'x', sizeof value);
    int accepted = 0, limited = 0;
    for (int i = 0; i < 1000 && limited == 0; i++) {
        int rc = arc_command(c, NULL, NULL, "SET k %b", value, sizeof value);
        if (rc == ARC_OK)
            accepted++;
        else if (rc == ARC_ERR_LIMIT)
            limited++;
        else
            fail_msg("unexpected %s", arc_status_name(rc));
        arc_poll_loop_run_once(loop, 0); /* the socket fills, then stays full */
    }
    assert_int_equal(limited, 1);
    /* What was accepted fits the socket buffers plus max_output. */
    assert_true(accepted < 1000);
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);
    arc_free(c);
    arc_poll_loop_free(loop);
    close(sv[1]);
}

/* Commands queued faster than the loop runs go out as they are queued once
 * 64 KiB wait, so the client does not hold what the socket would take: a
 * reader on the other end sees all but the last 64 KiB without the loop
 * ever running. */
static void queued_output_is_written_through(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
    arc_options o;
    memset(&o, 0, sizeof o);
    arc_context *c = arc_connect_fd(sv[0], &o);
    assert_non_null(c);
    arc_poll_loop *loop = arc_poll_loop_new();
    assert_int_equal(arc_poll_attach(c, loop), ARC_OK);
    for (int i = 0; i < 100 && arc_context_state(c) != ARC_STATE_READY; i++)
        arc_poll_loop_run_once(loop, 10);
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);
    const char *argv[] = {"SET", "key", "0123456789abcdef"};
    const size_t cmdlen = strlen("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$16\r\n0123456789abcdef\r\n");
    const int n = 100000;
    size_t got = 0;
    char sink[65536];
    for (int i = 0; i < n; i++) {
        assert_int_equal(arc_command_argv(c, NULL, NULL, 3, argv, NULL), ARC_OK);
        ssize_t r;
        while ((r = read(sv[1], sink, sizeof sink)) > 0)
            got += (size_t)r;
    }
    assert_true(got + 64 * 1024 >= (size_t)n * cmdlen);
    assert_int_equal(arc_context_pending(c), n);
    assert_int_equal(arc_context_state(c), ARC_STATE_READY);
    arc_free(c);
    arc_poll_loop_free(loop);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_sigpipe),
        cmocka_unit_test(sockets_close_on_exec),
        cmocka_unit_test(failed_connects_leak_nothing),
        cmocka_unit_test(output_is_bounded),
        cmocka_unit_test(queued_output_is_written_through),
    };
    return cmocka_run_group_tests_name("hygiene", tests, NULL, NULL);
}
