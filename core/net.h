/* net.h (internal): name resolution, sockets, non-blocking connect. */
#ifndef ARC_CORE_NET_H
#define ARC_CORE_NET_H

#include <arc/context.h>

#include <sys/socket.h>

struct addrinfo;

/* One address to try: resolved TCP addresses are copied into an array of
 * these, so the context owns plain memory instead of a resolver's list. */
typedef struct arc_addr {
    struct sockaddr_storage sa;
    socklen_t len;
    int family;
} arc_addr;

/* Resolves host:port into *out (allocated through `alloc`, *count entries),
 * ordered by the family preference. ARC_ERR_NOADDR (with the resolver's
 * message in msg) or ARC_ERR_NOMEM. */
int arc__net_resolve(const char *host, int port, int family, const arc_allocator *alloc,
                     arc_addr **out, size_t *count, char *msg, size_t msglen);

/* A unix socket address; ARC_ERR_INVALID when the path does not fit. */
int arc__net_unix_addr(const char *path, arc_addr *out);

/* A new non-blocking, close-on-exec stream socket. ARC_ERR_NOFD when the
 * process or system is out of descriptors, ARC_ERR_IO otherwise; errno set. */
int arc__net_socket(int family, int *fd);

/* Starts connecting. ARC_OK: connected at once; ARC_ERR_STATE: in progress
 * (wait for writability, then arc__net_connect_result); ARC_ERR_LIMIT: a
 * unix socket's accept queue is full (try again shortly); else the failure
 * (ARC_ERR_REFUSED, ARC_ERR_IO) with errno set. */
int arc__net_connect(int fd, const arc_addr *addr);

/* The outcome of an in-progress connect, as arc__net_connect; errno set. */
int arc__net_connect_result(int fd);

/* TCP_NODELAY and optional keepalive on a TCP socket; failures are not fatal. */
void arc__net_tune(int fd, int keepalive_s);

/* Makes an adopted socket non-blocking and close-on-exec. */
int arc__net_adopt(int fd);

/* For tests: replace getaddrinfo/freeaddrinfo (NULL restores them), so that
 * a host can resolve to several loopback addresses on any machine. */
typedef int arc__getaddrinfo_fn(const char *node, const char *service,
                                const struct addrinfo *hints, struct addrinfo **res);
typedef void arc__freeaddrinfo_fn(struct addrinfo *res);
void arc__net_set_resolver(arc__getaddrinfo_fn *gai, arc__freeaddrinfo_fn *fai);

#endif
