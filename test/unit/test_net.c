/* test_net.c: resolution order and family choice, unix addresses, socket
 * flags, connect outcomes. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A resolver that answers v6, v4, v6, v4 and remembers the hints. */
static int seen_family;
static int answer_error;

static struct addrinfo *mk(int family, int last_byte)
{
    size_t sl = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    struct addrinfo *ai = calloc(1, sizeof *ai + sl);
    ai->ai_family = family;
    ai->ai_socktype = SOCK_STREAM;
    ai->ai_addr = (struct sockaddr *)(ai + 1);
    ai->ai_addrlen = (socklen_t)sl;
    if (family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)ai->ai_addr;
        s->sin_family = AF_INET;
        s->sin_addr.s_addr = htonl(0x7f000000u | (unsigned)last_byte);
    } else {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)ai->ai_addr;
        s->sin6_family = AF_INET6;
        s->sin6_addr.s6_addr[15] = (unsigned char)last_byte;
    }
    return ai;
}

static int fake_gai(const char *node, const char *service, const struct addrinfo *hints,
                    struct addrinfo **res)
{
    (void)node;
    (void)service;
    seen_family = hints->ai_family;
    if (answer_error)
        return answer_error;
    struct addrinfo *a = mk(AF_INET6, 1), *b = mk(AF_INET, 2), *c = mk(AF_INET6, 3),
                    *d = mk(AF_INET, 4);
    a->ai_next = b;
    b->ai_next = c;
    c->ai_next = d;
    *res = a;
    return 0;
}

static void fake_free(struct addrinfo *ai)
{
    while (ai) {
        struct addrinfo *n = ai->ai_next;
        free(ai);
        ai = n;
    }
}

static int tag(const arc_addr *a)
{
    if (a->family == AF_INET)
        return (int)(ntohl(((const struct sockaddr_in *)&a->sa)->sin_addr.s_addr) & 0xff);
    return ((const struct sockaddr_in6 *)&a->sa)->sin6_addr.s6_addr[15];
}

static void order_for(int family, const int *want, int expect_hint)
{
    arc_addr *addrs = NULL;
    size_t n = 0;
    char msg[128];
    arc__net_set_resolver(fake_gai, fake_free);
    assert_int_equal(arc__net_resolve(NULL, "h", 1, family, NULL, &addrs, &n, msg, sizeof msg), ARC_OK);
    arc__net_set_resolver(NULL, NULL);
    assert_int_equal(seen_family, expect_hint);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tag(&addrs[i]), want[i]);
    arc_mem_free(NULL, addrs);
}

static void resolution_order(void **state)
{
    (void)state;
    static const int any[] = {1, 2, 3, 4}, v4[] = {2, 4, 1, 3}, v6[] = {1, 3, 2, 4};
    order_for(ARC_FAMILY_ANY, any, AF_UNSPEC);
    order_for(ARC_FAMILY_PREFER_IPV4, v4, AF_UNSPEC);
    order_for(ARC_FAMILY_PREFER_IPV6, v6, AF_UNSPEC);
    /* Only one family: the resolver is asked for just that one. */
    arc_addr *addrs = NULL;
    size_t n = 0;
    char msg[128];
    arc__net_set_resolver(fake_gai, fake_free);
    arc__net_resolve(NULL, "h", 1, ARC_FAMILY_IPV4, NULL, &addrs, &n, msg, sizeof msg);
    assert_int_equal(seen_family, AF_INET);
    arc_mem_free(NULL, addrs);
    arc__net_resolve(NULL, "h", 1, ARC_FAMILY_IPV6, NULL, &addrs, &n, msg, sizeof msg);
    assert_int_equal(seen_family, AF_INET6);
    arc_mem_free(NULL, addrs);
    arc__net_set_resolver(NULL, NULL);
}

static void resolution_failure_names_host(void **state)
{
    (void)state;
    arc_addr *addrs = NULL;
    size_t n = 0;
    char msg[128];
    answer_error = EAI_NONAME;
    arc__net_set_resolver(fake_gai, fake_free);
    assert_int_equal(arc__net_resolve(NULL, "nowhere.test", 1, 0, NULL, &addrs, &n, msg, sizeof msg),
                     ARC_ERR_NOADDR);
    arc__net_set_resolver(NULL, NULL);
    answer_error = 0;
    assert_non_null(strstr(msg, "nowhere.test"));
    assert_null(addrs);
}

static void unix_addresses(void **state)
{
    (void)state;
    arc_addr a;
    assert_int_equal(arc__net_unix_addr("", &a), ARC_ERR_INVALID);
    char longpath[200];
    memset(longpath, 'p', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    assert_int_equal(arc__net_unix_addr(longpath, &a), ARC_ERR_INVALID);
    assert_int_equal(arc__net_unix_addr("/tmp/x.sock", &a), ARC_OK);
    assert_int_equal(a.family, AF_UNIX);
    int fd;
    assert_int_equal(arc__net_socket(AF_UNIX, &fd), ARC_OK);
    /* No socket file there: no such address (ENOENT), not a refusal. */
    int status = ARC_OK;
    assert_int_equal(arc__net_connect(fd, &a, &status), ARC_CONNECT_FAILED);
    assert_int_equal(status, ARC_ERR_NOADDR);
    assert_int_equal(errno, ENOENT);
    close(fd);
}

static void sockets_are_nonblocking_cloexec(void **state)
{
    (void)state;
    int fd;
    assert_int_equal(arc__net_socket(AF_INET, &fd), ARC_OK);
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(arc__net_adopt(sv[0]), ARC_OK);
    assert_true(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(sv[0], F_GETFD) & FD_CLOEXEC);
    close(sv[0]);
    close(sv[1]);
}

/* Connecting to a listener, and to a port nobody listens on. */
static void connect_outcomes(void **state)
{
    (void)state;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(l, 4), 0);
    socklen_t sl = sizeof sin;
    getsockname(l, (struct sockaddr *)&sin, &sl);
    arc_addr a;
    memset(&a, 0, sizeof a);
    memcpy(&a.sa, &sin, sizeof sin);
    a.len = sizeof sin;
    a.family = AF_INET;
    int fd, status = ARC_OK;
    assert_int_equal(arc__net_socket(AF_INET, &fd), ARC_OK);
    int rc = arc__net_connect(fd, &a, &status);
    if (rc == ARC_CONNECT_PENDING) {
        struct pollfd p = {fd, POLLOUT, 0};
        assert_int_equal(poll(&p, 1, 2000), 1);
        rc = arc__net_connect_result(fd, &status);
    }
    assert_int_equal(rc, ARC_CONNECT_DONE);
    close(fd);
    close(l); /* now nobody listens on that port */
    assert_int_equal(arc__net_socket(AF_INET, &fd), ARC_OK);
    rc = arc__net_connect(fd, &a, &status);
    if (rc == ARC_CONNECT_PENDING) {
        struct pollfd p = {fd, POLLOUT, 0};
        assert_int_equal(poll(&p, 1, 2000), 1);
        rc = arc__net_connect_result(fd, &status);
    }
    assert_int_equal(rc, ARC_CONNECT_FAILED);
    assert_int_equal(status, ARC_ERR_REFUSED);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resolution_order),
        cmocka_unit_test(resolution_failure_names_host),
        cmocka_unit_test(unix_addresses),
        cmocka_unit_test(sockets_are_nonblocking_cloexec),
        cmocka_unit_test(connect_outcomes),
    };
    return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
