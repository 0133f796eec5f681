/* nullserver.c: a server that answers every command with +OK and does
 * nothing else, so that in the async benchmarks the client is the
 * bottleneck. One thread, epoll, any number of connections.
 *
 *   nullserver [port]     0 or nothing: a free port; prints "port N" once
 *                         it listens, then serves until killed.
 *
 * Commands are counted, not parsed: a resumable scan of RESP arrays of bulk
 * strings (what clients send), an inline command being one line. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define IN_SIZE (256 * 1024)
#define OK "+OK\r\n"

typedef struct conn {
    int fd;
    /* the scan */
    long args_left; /* bulks still due in the current array */
    long skip;      /* bytes of a bulk (and its CRLF) still to pass over */
    char line[64];  /* a header split across reads */
    size_t line_len;
    /* the answers */
    char *out;
    size_t out_len, out_cap;
    int want_out;
} conn;

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* One header line (without CRLF): advances the scan, returns the number of
 * commands it completed, -1 when the input is not RESP a client sends. */
static long header(conn *k, const char *s, size_t n)
{
    if (k->args_left == 0) {
        if (n == 0 || s[0] != '*')
            return 1; /* an inline command */
        long v = strtol(s + 1, NULL, 10);
        if (v <= 0)
            return v < 0 ? -1 : 1;
        k->args_left = v;
        return 0;
    }
    if (n == 0 || s[0] != '$')
        return -1;
    long v = strtol(s + 1, NULL, 10);
    if (v < 0)
        return -1;
    k->skip = v + 2;
    return 0;
}

/* Scans `n` bytes; returns the commands they completed, -1 on bad input. */
static long scan(conn *k, const char *p, size_t n)
{
    const char *end = p + n;
    long done = 0;
    while (p < end) {
        if (k->skip > 0) {
            size_t take = (size_t)(end - p) < (size_t)k->skip ? (size_t)(end - p) : (size_t)k->skip;
            p += take;
            k->skip -= (long)take;
            if (k->skip == 0 && --k->args_left == 0)
                done++;
            continue;
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t part = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        if (k->line_len + part >= sizeof k->line)
            return -1;
        memcpy(k->line + k->line_len, p, part);
        k->line_len += part;
        if (nl == NULL)
            break;
        p = nl + 1;
        size_t len = k->line_len;
        if (len > 0 && k->line[len - 1] == '\r')
            len--;
        k->line[len] = '\0';
        k->line_len = 0;
        long c = header(k, k->line, len);
        if (c < 0)
            return -1;
        done += c;
    }
    return done;
}

static int flush(conn *k)
{
    while (k->out_len > 0) {
        ssize_t w = send(k->fd, k->out, k->out_len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -1;
        }
        memmove(k->out, k->out + w, k->out_len - (size_t)w);
        k->out_len -= (size_t)w;
    }
    return 0;
}

static int answer(conn *k, long count)
{
    size_t need = k->out_len + (size_t)count * 5;
    if (need > k->out_cap) {
        size_t cap = k->out_cap ? k->out_cap : 4096;
        while (cap < need)
            cap *= 2;
        char *p = realloc(k->out, cap);
        if (p == NULL)
            return -1;
        k->out = p;
        k->out_cap = cap;
    }
    for (long i = 0; i < count; i++, k->out_len += 5)
        memcpy(k->out + k->out_len, OK, 5);
    return flush(k);
}

static void drop(int ep, conn *k)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, k->fd, NULL);
    close(k->fd);
    free(k->out);
    free(k);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    int port = argc > 1 ? atoi(argv[1]) : 0;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0)
        die("socket");
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4096) < 0)
        die("bind/listen");
    socklen_t al = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &al);
    printf("port %d\n", ntohs(a.sin_port));
    fflush(stdout);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    static char in[IN_SIZE];
    for (;;) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            conn *k = evs[i].data.ptr;
            if (k == NULL) {
                int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                    continue;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                k = calloc(1, sizeof *k);
                if (k == NULL) {
                    close(fd);
                    continue;
                }
                k->fd = fd;
                struct epoll_event e = {.events = EPOLLIN, .data.ptr = k};
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                continue;
            }
            int bad = 0;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t r = recv(k->fd, in, sizeof in, 0);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                    bad = 1;
                } else if (r > 0) {
                    long c = scan(k, in, (size_t)r);
                    bad = c < 0 || answer(k, c) < 0;
                }
            }
            if (!bad && (evs[i].events & EPOLLOUT))
                bad = flush(k) < 0;
            if (bad) {
                drop(ep, k);
                continue;
            }
            int want = k->out_len > 0;
            if (want != k->want_out) {
                k->want_out = want;
                struct epoll_event e = {.events = EPOLLIN | (want ? EPOLLOUT : 0u), .data.ptr = k};
                epoll_ctl(ep, EPOLL_CTL_MOD, k->fd, &e);
            }
        }
    }
}
