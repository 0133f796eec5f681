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

/* The resolver seam: getaddrinfo-shaped functions. Tests replace them
 * (arc__net_set_resolver) so that a host resolves to several loopback
 * addresses on any machine, or takes its time; a context keeps the pair in
 * force when it was created, and its lookup thread calls them. */
typedef int arc__getaddrinfo_fn(const char *node, const char *service,
                                const struct addrinfo *hints, struct addrinfo **res);
typedef void arc__freeaddrinfo_fn(struct addrinfo *res);
typedef struct arc_resolver {
    arc__getaddrinfo_fn *gai;
    arc__freeaddrinfo_fn *fai;
} arc_resolver;

/* NULL restores the C library's functions. */
void arc__net_set_resolver(arc__getaddrinfo_fn *gai, arc__freeaddrinfo_fn *fai);
arc_resolver arc__net_resolver(void);

/* True when `host` is an IPv4 or IPv6 literal: no lookup is needed, and
 * arc__net_resolve() answers without blocking. */
bool arc__net_is_literal(const char *host);

/* The lookup itself (blocking: run it on a resolver thread unless `host` is
 * a literal). Returns getaddrinfo's code; *err keeps errno for EAI_SYSTEM. */
int arc__net_lookup(const arc_resolver *rv, const char *host, int port, int family,
                    struct addrinfo **res, int *err);

/* Turns a lookup's outcome into *out (allocated through `alloc`, *count
 * entries), ordered by the family preference, and frees `res`.
 * ARC_ERR_NOADDR (with the reason in msg) or ARC_ERR_NOMEM. */
int arc__net_addrs(const arc_resolver *rv, int rc, int err, struct addrinfo *res,
                   const char *host, int family, const arc_allocator *alloc, arc_addr **out,
                   size_t *count, char *msg, size_t msglen);

/* Both of the above in one call through `rv` (NULL: the seam in force
 * now): for literals, which never block, and for tests. */
int arc__net_resolve(const arc_resolver *rv, const char *host, int port, int family,
                     const arc_allocator *alloc, arc_addr **out, size_t *count, char *msg,
                     size_t msglen);

/* "127.0.0.1:6379", "[::1]:6379" or the unix path, into buf. */
void arc__net_addr_text(const arc_addr *a, char *buf, size_t n);

/* A unix socket address; ARC_ERR_INVALID when the path does not fit. */
int arc__net_unix_addr(const char *path, arc_addr *out);

/* A new non-blocking, close-on-exec stream socket. ARC_ERR_NOFD when the
 * process or system is out of descriptors, ARC_ERR_IO otherwise; errno set. */
int arc__net_socket(int family, int *fd);

/* The outcome of starting or finishing a connect. */
enum arc_connect_outcome {
    ARC_CONNECT_DONE,       /* connected */
    ARC_CONNECT_PENDING,    /* in progress: wait for writability, then ask
                               arc__net_connect_result */
    ARC_CONNECT_BUSY,       /* a unix socket's accept queue is full: try
                               again shortly, on a new socket */
    ARC_CONNECT_FAILED,     /* *status says why (ARC_ERR_REFUSED,
                               ARC_ERR_NOADDR for a missing unix path,
                               ARC_ERR_TIMEOUT, ARC_ERR_IO); errno set */
};

int arc__net_connect(int fd, const arc_addr *addr, int *status);
int arc__net_connect_result(int fd, int *status);

/* How a TCP socket is set up beyond TCP_NODELAY; zero fields: not set
 * (interval and count: derived from keepalive_s). */
typedef struct arc_net_tuning {
    int keepalive_s;        /* SO_KEEPALIVE + TCP_KEEPIDLE */
    int keepalive_interval_s;
    int keepalive_count;
    long user_timeout_ms;   /* TCP_USER_TIMEOUT */
} arc_net_tuning;

/* TCP_NODELAY, keepalive and the user timeout on a TCP socket; failures
 * are not fatal (a system without an option keeps its defaults). */
void arc__net_tune(int fd, const arc_net_tuning *t);

/* Makes an adopted socket non-blocking and close-on-exec. */
int arc__net_adopt(int fd);


#endif
