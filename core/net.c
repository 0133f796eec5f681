/* net.c: resolution, socket creation and non-blocking connect. */
#define _GNU_SOURCE /* SOCK_CLOEXEC, SOCK_NONBLOCK, TCP_KEEPIDLE */
#include "net.h"

#include "alloc.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

static arc_resolver current = {getaddrinfo, freeaddrinfo};

void arc__net_set_resolver(arc__getaddrinfo_fn *gai, arc__freeaddrinfo_fn *fai)
{
    current.gai = gai ? gai : getaddrinfo;
    current.fai = fai ? fai : freeaddrinfo;
}

arc_resolver arc__net_resolver(void)
{
    return current;
}

bool arc__net_is_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int rank(int family, int pref)
{
    if (pref == ARC_FAMILY_PREFER_IPV4)
        return family == AF_INET ? 0 : 1;
    if (pref == ARC_FAMILY_PREFER_IPV6)
        return family == AF_INET6 ? 0 : 1;
    return 0;
}

int arc__net_lookup(const arc_resolver *rv, const char *host, int port, int family,
                    struct addrinfo **res, int *err)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = family == ARC_FAMILY_IPV4   ? AF_INET
                      : family == ARC_FAMILY_IPV6 ? AF_INET6
                                                  : AF_UNSPEC;
    if (arc__net_is_literal(host))
        hints.ai_flags = AI_NUMERICHOST; /* never a lookup, never blocks */
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    *res = NULL;
    int rc = rv->gai(host, service, &hints, res);
    *err = errno;
    return rc;
}

static bool usable(const struct addrinfo *ai)
{
    return (ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
           ai->ai_addrlen <= sizeof(struct sockaddr_storage);
}

int arc__net_addrs(const arc_resolver *rv, int rc, int err, struct addrinfo *res,
                   const char *host, int family, const arc_allocator *alloc, arc_addr **out,
                   size_t *count, char *msg, size_t msglen)
{
    if (rc != 0) {
        if (res != NULL)
            rv->fai(res);
        snprintf(msg, msglen, "cannot resolve '%s': %s", host,
                 rc == EAI_SYSTEM ? strerror(err) : gai_strerror(rc));
        return rc == EAI_MEMORY ? ARC_ERR_NOMEM : ARC_ERR_NOADDR;
    }
    size_t n = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if (usable(ai))
            n++;
    if (n == 0) {
        if (res != NULL)
            rv->fai(res);
        snprintf(msg, msglen, "'%s' has no IPv4 or IPv6 address", host);
        return ARC_ERR_NOADDR;
    }
    arc_addr *a = arc_mem_alloc(alloc, arc__mul_size(n, sizeof *a));
    if (a == NULL) {
        rv->fai(res);
        snprintf(msg, msglen, "out of memory for the addresses of '%s'", host);
        return ARC_ERR_NOMEM;
    }
    /* A stable pass per rank keeps the resolver's order within a family. */
    size_t k = 0;
    for (int r = 0; r < 2; r++) {
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            if (!usable(ai) || rank(ai->ai_family, family) != r)
                continue;
            memset(&a[k], 0, sizeof a[k]);
            memcpy(&a[k].sa, ai->ai_addr, ai->ai_addrlen);
            a[k].len = (socklen_t)ai->ai_addrlen;
            a[k].family = ai->ai_family;
            k++;
        }
    }
    rv->fai(res);
    *out = a;
    *count = k;
    return ARC_OK;
}

int arc__net_resolve(const arc_resolver *rv, const char *host, int port, int family,
                     const arc_allocator *alloc, arc_addr **out, size_t *count, char *msg,
                     size_t msglen)
{
    struct addrinfo *res;
    int err;
    arc_resolver now = current;
    if (rv == NULL)
        rv = &now;
    int rc = arc__net_lookup(rv, host, port, family, &res, &err);
    return arc__net_addrs(rv, rc, err, res, host, family, alloc, out, count, msg, msglen);
}

void arc__net_addr_text(const arc_addr *a, char *buf, size_t n)
{
    char ip[INET6_ADDRSTRLEN];
    if (a->family == AF_UNIX) {
        const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->sa;
        snprintf(buf, n, "%s", sun->sun_path);
    } else if (a->family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
        snprintf(buf, n, "[%s]:%u", ip, (unsigned)ntohs(s6->sin6_port));
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
        snprintf(buf, n, "%s:%u", ip, (unsigned)ntohs(s4->sin_port));
    }
}

int arc__net_unix_addr(const char *path, arc_addr *out)
{
    struct sockaddr_un *sun = (struct sockaddr_un *)&out->sa;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof sun->sun_path)
        return ARC_ERR_INVALID;
    memset(out, 0, sizeof *out);
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, path, n + 1);
    out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    out->family = AF_UNIX;
    return ARC_OK;
}

int arc__net_socket(int family, int *fd)
{
    *fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (*fd >= 0)
        return ARC_OK;
    if (errno == EMFILE || errno == ENFILE)
        return ARC_ERR_NOFD;
    return ARC_ERR_IO;
}

/* What a connect's errno means. A unix path with no socket file says
 * ENOENT: there is no such address, which is not a refusal. */
static int outcome(int err, int *status)
{
    switch (err) {
    case 0:
        return ARC_CONNECT_DONE;
    case EINPROGRESS:
        return ARC_CONNECT_PENDING;
    case ECONNREFUSED:
        *status = ARC_ERR_REFUSED;
        break;
    case ENOENT:
    case ENOTDIR:
        *status = ARC_ERR_NOADDR;
        break;
    case ETIMEDOUT:
        *status = ARC_ERR_TIMEOUT;
        break;
    default:
        *status = ARC_ERR_IO;
        break;
    }
    errno = err;
    return ARC_CONNECT_FAILED;
}

int arc__net_connect(int fd, const arc_addr *addr, int *status)
{
    int rc;
    do
        rc = connect(fd, (const struct sockaddr *)&addr->sa, addr->len);
    while (rc < 0 && errno == EINTR);
    if (rc == 0)
        return ARC_CONNECT_DONE;
    /* A unix socket whose accept queue is full says EAGAIN at once, where
     * TCP would retry the SYN: the caller waits and tries again. */
    if (errno == EAGAIN)
        return ARC_CONNECT_BUSY;
    return outcome(errno, status);
}

int arc__net_connect_result(int fd, int *status)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    else if (err == 0) {
        /* SO_ERROR is 0 both when connected and while still in progress
         * (a spurious wake-up): only a peer address tells them apart. */
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0)
            return errno == ENOTCONN ? ARC_CONNECT_PENDING : outcome(errno, status);
    }
    return outcome(err, status);
}

void arc__net_tune(int fd, const arc_net_tuning *t)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (t->keepalive_s > 0) {
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
#ifdef TCP_KEEPIDLE
        int idle = t->keepalive_s;
        int intvl = t->keepalive_interval_s > 0 ? t->keepalive_interval_s
                    : idle / 3 > 0              ? idle / 3
                                                : 1;
        int cnt = t->keepalive_count > 0 ? t->keepalive_count : 3;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
#endif
    }
#ifdef TCP_USER_TIMEOUT
    if (t->user_timeout_ms > 0) {
        unsigned ms = t->user_timeout_ms > (long)UINT_MAX ? UINT_MAX : (unsigned)t->user_timeout_ms;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
    }
#endif
}

int arc__net_adopt(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return ARC_ERR_IO;
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)
        return ARC_ERR_IO;
    return ARC_OK;
}
