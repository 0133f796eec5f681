/* net.c: resolution, socket creation and non-blocking connect. */
#define _GNU_SOURCE /* SOCK_CLOEXEC, SOCK_NONBLOCK, TCP_KEEPIDLE */
#include "net.h"

#include "alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

static arc__getaddrinfo_fn *resolve_fn = getaddrinfo;
static arc__freeaddrinfo_fn *resolve_free_fn = freeaddrinfo;

void arc__net_set_resolver(arc__getaddrinfo_fn *gai, arc__freeaddrinfo_fn *fai)
{
    resolve_fn = gai ? gai : getaddrinfo;
    resolve_free_fn = fai ? fai : freeaddrinfo;
}

static int rank(int family, int pref)
{
    if (pref == ARC_FAMILY_PREFER_IPV4)
        return family == AF_INET ? 0 : 1;
    if (pref == ARC_FAMILY_PREFER_IPV6)
        return family == AF_INET6 ? 0 : 1;
    return 0;
}

int arc__net_resolve(const char *host, int port, int family, const arc_allocator *alloc,
                     arc_addr **out, size_t *count, char *msg, size_t msglen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = family == ARC_FAMILY_IPV4   ? AF_INET
                      : family == ARC_FAMILY_IPV6 ? AF_INET6
                                                  : AF_UNSPEC;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int rc = resolve_fn(host, service, &hints, &res);
    if (rc != 0) {
        snprintf(msg, msglen, "cannot resolve '%s': %s", host,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return rc == EAI_MEMORY ? ARC_ERR_NOMEM : ARC_ERR_NOADDR;
    }
    size_t n = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
            ai->ai_addrlen <= sizeof(struct sockaddr_storage))
            n++;
    if (n == 0) {
        resolve_free_fn(res);
        snprintf(msg, msglen, "'%s' has no IPv4 or IPv6 address", host);
        return ARC_ERR_NOADDR;
    }
    arc_addr *a = arc_mem_alloc(alloc, arc__mul_size(n, sizeof *a));
    if (a == NULL) {
        resolve_free_fn(res);
        return ARC_ERR_NOMEM;
    }
    /* A stable pass per rank keeps the resolver's order within a family. */
    size_t k = 0;
    for (int r = 0; r < 2; r++) {
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
                ai->ai_addrlen > sizeof(struct sockaddr_storage) ||
                rank(ai->ai_family, family) != r)
                continue;
            memset(&a[k], 0, sizeof a[k]);
            memcpy(&a[k].sa, ai->ai_addr, ai->ai_addrlen);
            a[k].len = (socklen_t)ai->ai_addrlen;
            a[k].family = ai->ai_family;
            k++;
        }
    }
    resolve_free_fn(res);
    *out = a;
    *count = k;
    return ARC_OK;
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

static int connect_status(int err)
{
    switch (err) {
    case 0:
        return ARC_OK;
    case EINPROGRESS:
        return ARC_ERR_STATE;
    case ECONNREFUSED:
    case ENOENT: /* a unix socket path with no server */
        return ARC_ERR_REFUSED;
    case ETIMEDOUT:
        return ARC_ERR_TIMEOUT;
    default:
        return ARC_ERR_IO;
    }
}

int arc__net_connect(int fd, const arc_addr *addr)
{
    int rc;
    do
        rc = connect(fd, (const struct sockaddr *)&addr->sa, addr->len);
    while (rc < 0 && errno == EINTR);
    if (rc == 0)
        return ARC_OK;
    /* A unix socket whose accept queue is full says EAGAIN at once, where
     * TCP would retry the SYN: the caller waits and tries again. */
    if (errno == EAGAIN)
        return ARC_ERR_LIMIT;
    return connect_status(errno);
}

int arc__net_connect_result(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return ARC_ERR_IO;
    if (err == EINPROGRESS)
        return ARC_ERR_STATE;
    errno = err;
    return connect_status(err);
}

void arc__net_tune(int fd, int keepalive_s)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (keepalive_s > 0) {
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
#ifdef TCP_KEEPIDLE
        int idle = keepalive_s, intvl = keepalive_s / 3 ? keepalive_s / 3 : 1, cnt = 3;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
#endif
    }
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
