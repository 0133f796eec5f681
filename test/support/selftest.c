/* selftest.c (tests): proves the test infrastructure itself: the throwaway
 * redis-server and the scripted fake server. */
#define _GNU_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fake_server.h"
#include "redis_server.h"

/* meson sets ARC_REDIS_SERVER to '' when it found no redis-server. */
static void skip_without_redis(void)
{
    const char *bin = getenv("ARC_REDIS_SERVER");
    if (bin && !*bin)
        skip();
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int tcp_connect(int port, bool nonblocking)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    if (nonblocking)
        assert_true(rc == 0 || errno == EINPROGRESS);
    else
        assert_int_equal(rc, 0);
    return fd;
}

static void send_str(int fd, const char *s)
{
    size_t len = strlen(s);
    assert_int_equal(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Reads exactly strlen(want) bytes (blocking) and compares them. */
static void recv_expect(int fd, const char *want)
{
    size_t len = strlen(want), got = 0;
    char buf[256];
    assert_true(len < sizeof buf);
    while (got < len) {
        ssize_t n = recv(fd, buf + got, len - got, 0);
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_memory_equal(buf, want, len);
}

static void assert_status(arc_reply *r, const char *text)
{
    assert_non_null(r);
    assert_int_equal(r->type, ARC_REPLY_STATUS);
    assert_string_equal(r->str, text);
    arc_reply_free(r);
}

/* --- the throwaway redis-server ------------------------------------------ */

static void redis_start_command_restart_stop(void **state)
{
    (void)state;
    skip_without_redis();
    test_redis *s = test_redis_start(NULL);
    assert_non_null(s);
    assert_true(test_redis_port(s) > 0);
    assert_string_equal(test_redis_host(s), "127.0.0.1");
    struct stat st;
    assert_int_equal(stat(test_redis_unix_path(s), &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    int first_port = test_redis_port(s);

    assert_status(test_redis_command(s, "SET %s %b", "greeting", "hi\0there", (size_t)8), "OK");
    arc_reply *r = test_redis_command(s, "GET greeting");
    assert_non_null(r);
    assert_int_equal(r->type, ARC_REPLY_STRING);
    assert_int_equal(r->len, 8);
    assert_memory_equal(r->str, "hi\0there", 8);
    arc_reply_free(r);

    /* An error reply is a reply, not a failure. */
    r = test_redis_command(s, "NO-SUCH-COMMAND");
    assert_non_null(r);
    assert_int_equal(r->type, ARC_REPLY_ERROR);
    arc_reply_free(r);

    /* Redis 7 refuses DEBUG unless started with enable-debug-command. */
    assert_status(test_redis_command(s, "DEBUG SLEEP 0"), "OK");

    /* Plain TCP works as well, for clients other than the admin one. */
    int fd = tcp_connect(first_port, false);
    send_str(fd, "PING\r\n");
    recv_expect(fd, "+PONG\r\n");
    close(fd);

    /* When the server drops the admin connection, the next command opens a
     * new one instead of failing. */
    r = test_redis_command(s, "CLIENT KILL TYPE normal SKIPME no");
    arc_reply_free(r); /* the reply may or may not come before the close */
    usleep(50 * 1000);
    assert_status(test_redis_command(s, "PING"), "PONG");

    /* A restart keeps port and socket, loses the data (no persistence) and
     * runs a new process. */
    int old_pid = test_redis_pid(s);
    assert_int_equal(test_redis_restart(s), 0);
    assert_int_equal(test_redis_port(s), first_port);
    assert_int_not_equal(test_redis_pid(s), old_pid);
    assert_int_equal(kill(old_pid, 0), -1);
    r = test_redis_command(s, "GET greeting");
    assert_non_null(r);
    assert_int_equal(r->type, ARC_REPLY_NIL);
    arc_reply_free(r);
    fd = tcp_connect(first_port, false);
    send_str(fd, "PING\r\n");
    recv_expect(fd, "+PONG\r\n");
    close(fd);

    /* Stop ends the process and removes the directory. */
    char dir[256];
    snprintf(dir, sizeof dir, "%s", test_redis_unix_path(s));
    *strrchr(dir, '/') = '\0';
    int pid = test_redis_pid(s);
    test_redis_stop(s);
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    assert_int_equal(access(dir, F_OK), -1);
    test_redis_stop(NULL);
}

static void redis_password_and_extra_args(void **state)
{
    (void)state;
    skip_without_redis();
    const char *const extra[] = {"--maxclients", "37", NULL};
    test_redis_options opt = {.requirepass = "s3cret pass", .extra_args = extra};
    test_redis *s = test_redis_start(&opt);
    assert_non_null(s);

    /* The admin connection authenticates on its own. */
    arc_reply *r = test_redis_command(s, "CONFIG GET maxclients");
    assert_non_null(r);
    assert_int_equal(r->type, ARC_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[1]->str, "37");
    arc_reply_free(r);

    /* Anyone else must authenticate. */
    int fd = tcp_connect(test_redis_port(s), false);
    send_str(fd, "PING\r\n");
    recv_expect(fd, "-NOAUTH");
    close(fd);

    /* The password survives a restart. */
    assert_int_equal(test_redis_restart(s), 0);
    assert_status(test_redis_command(s, "PING"), "PONG");
    test_redis_stop(s);
}

/* A restart whose port was taken in the meantime fails (after a few
 * attempts) and says why; once the port is free again, a restart works. */
static void redis_restart_on_a_taken_port(void **state)
{
    (void)state;
    skip_without_redis();
    test_redis *s = test_redis_start(NULL);
    assert_non_null(s);
    int port = test_redis_port(s);
    assert_int_equal(kill(test_redis_pid(s), SIGKILL), 0);
    usleep(50 * 1000);

    int squatter = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(squatter, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(squatter, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(squatter, 8), 0);
    assert_int_equal(test_redis_restart(s), -1);
    assert_null(test_redis_command(s, "PING"));

    close(squatter);
    assert_int_equal(test_redis_restart(s), 0);
    assert_int_equal(test_redis_port(s), port);
    assert_status(test_redis_command(s, "PING"), "PONG");
    test_redis_stop(s);
}

static void redis_unix_socket(void **state)
{
    (void)state;
    skip_without_redis();
    test_redis *s = test_redis_start(NULL);
    assert_non_null(s);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", test_redis_unix_path(s));
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    send_str(fd, "*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n");
    recv_expect(fd, "$2\r\nhi\r\n");
    close(fd);
    test_redis_stop(s);
}

/* --- the scripted fake server -------------------------------------------- */

static void fake_script_runs_to_the_end(void **state)
{
    (void)state;
    fake_server *f = fake_start(
        "# a comment, then a blank line\n"
        "\n"
        "ACCEPT\n"
        "EXPECT *1\\r\\n$4\\r\\nPING\\r\\n\n"
        "SEND +PONG\\r\\n\n"
        "EXPECT_COMMAND 2\n"
        "SEND_SLOW \"+A\\r\\n\\x2bB\\r\\n\"\n"
        "SLEEP 10\n"
        "CLOSE\n");
    assert_non_null(f);
    int fd = tcp_connect(fake_port(f), false);
    send_str(fd, "*1\r\n$4\r\nPING\r\n");
    recv_expect(fd, "+PONG\r\n");
    /* Two commands, cut in awkward places. */
    send_str(fd, "*2\r\n$3\r\nGET\r\n$1");
    usleep(20 * 1000);
    send_str(fd, "\r\nk\r\n*1\r");
    usleep(20 * 1000);
    send_str(fd, "\n$4\r\nPING\r\n");
    recv_expect(fd, "+A\r\n+B\r\n");
    char c;
    assert_int_equal(recv(fd, &c, 1, 0), 0); /* CLOSE: end of stream */
    close(fd);
    assert_int_equal(fake_finish(f, 5000), 0);
}

static void fake_expect_mismatch_exits_3(void **state)
{
    (void)state;
    fake_server *f = fake_start("ACCEPT\nEXPECT hello\nSEND never\n");
    assert_non_null(f);
    int fd = tcp_connect(fake_port(f), false);
    send_str(fd, "helXo");
    assert_int_equal(fake_finish(f, 5000), 3);
    close(fd);
}

static void fake_expect_eof_exits_3(void **state)
{
    (void)state;
    fake_server *f = fake_start("ACCEPT\nEXPECT hello\n");
    assert_non_null(f);
    int fd = tcp_connect(fake_port(f), false);
    send_str(fd, "he");
    close(fd);
    assert_int_equal(fake_finish(f, 5000), 3);
}

static void fake_bad_command_exits_3(void **state)
{
    (void)state;
    fake_server *f = fake_start("ACCEPT\nEXPECT_COMMAND 1\n");
    assert_non_null(f);
    int fd = tcp_connect(fake_port(f), false);
    send_str(fd, "PING\r\n"); /* inline, not an array of bulk strings */
    assert_int_equal(fake_finish(f, 5000), 3);
    close(fd);
}

static void fake_reset_close_sends_rst(void **state)
{
    (void)state;
    fake_server *f = fake_start("ACCEPT\nRESET_CLOSE\nDRAIN\n");
    assert_non_null(f);
    int fd = tcp_connect(fake_port(f), false);
    char c;
    errno = 0;
    assert_int_equal(recv(fd, &c, 1, 0), -1);
    assert_int_equal(errno, ECONNRESET);
    close(fd);
    /* DRAIN after RESET_CLOSE has no connection: a script error. */
    assert_int_equal(fake_finish(f, 5000), 2);
}

static void fake_drain_and_exit_code(void **state)
{
    (void)state;
    fake_server *f = fake_start("ACCEPT\nDRAIN\nEXIT 7\nSEND unreachable\n");
    assert_non_null(f);
    int fd = tcp_connect(fake_port(f), false);
    send_str(fd, "whatever the client says");
    close(fd);
    assert_int_equal(fake_finish(f, 5000), 7);
}

static void fake_bad_script_fails_to_start(void **state)
{
    (void)state;
    assert_null(fake_start("ACCEPT\nFROBNICATE\n"));
    assert_null(fake_start("SEND \"unterminated\n"));
    assert_null(fake_start("SEND \\q\n"));
    assert_null(fake_start("SLEEP soon\n"));
}

static void fake_stall_stops_with_0(void **state)
{
    (void)state;
    fake_server *f = fake_start("ACCEPT\nSTALL\n");
    assert_non_null(f);
    int fd = tcp_connect(fake_port(f), false);
    send_str(fd, "*1\r\n$4\r\nPING\r\n");
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 200), 0); /* no answer, no close */
    assert_int_equal(fake_stop(f), 0);
    close(fd);
}

static void fake_finish_times_out(void **state)
{
    (void)state;
    fake_server *f = fake_start("SLEEP 5000\n");
    assert_non_null(f);
    long long t0 = now_ms();
    assert_int_equal(fake_finish(f, 100), -1);
    assert_true(now_ms() - t0 < 3000);
}

static void fake_backlog_full_stalls_connect(void **state)
{
    (void)state;
    fake_server *f = fake_start("BACKLOG_FULL\n");
    assert_non_null(f);
    int fd = tcp_connect(fake_port(f), true);
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    long long t0 = now_ms();
    assert_int_equal(poll(&pfd, 1, 1200), 0);
    assert_true(now_ms() - t0 >= 1000);
    close(fd);
    assert_int_equal(fake_stop(f), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(redis_start_command_restart_stop),
        cmocka_unit_test(redis_password_and_extra_args),
        cmocka_unit_test(redis_restart_on_a_taken_port),
        cmocka_unit_test(redis_unix_socket),
        cmocka_unit_test(fake_script_runs_to_the_end),
        cmocka_unit_test(fake_expect_mismatch_exits_3),
        cmocka_unit_test(fake_expect_eof_exits_3),
        cmocka_unit_test(fake_bad_command_exits_3),
        cmocka_unit_test(fake_reset_close_sends_rst),
        cmocka_unit_test(fake_drain_and_exit_code),
        cmocka_unit_test(fake_bad_script_fails_to_start),
        cmocka_unit_test(fake_stall_stops_with_0),
        cmocka_unit_test(fake_finish_times_out),
        cmocka_unit_test(fake_backlog_full_stalls_connect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
