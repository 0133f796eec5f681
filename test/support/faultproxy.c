/* faultproxy.c (tests): arc-faultproxy, a TCP proxy that injects faults on
 * command, for the link failures a real server will not produce on demand
 * in the middle of real traffic.
 *
 * Usage: arc-faultproxy UPSTREAM_PORT
 *
 * Listens on 127.0.0.1 port 0, prints "PORT <n>" on stdout, and forwards
 * every connection it accepts to 127.0.0.1:UPSTREAM_PORT, byte for byte in
 * both directions: it never parses what it forwards, so TLS passes as well
 * as RESP. It uses none of arc, so a bug in arc cannot hide in the tool that
 * checks it. One thread, one poll() loop, non-blocking sockets.
 *
 * It is driven by lines on stdin and answers each one with one line on
 * stdout, "ok ..." once the fault is in force (nothing is forwarded against
 * it after the answer) or "err ..." for a bad line. Modes:
 *
 *   pass              forward both ways (the default). Also ends blackhole,
 *                     trickle and refuse, and disarms cut and close-on-write.
 *   reset             every open connection now gets an RST on both sides
 *                     (SO_LINGER 0, then close); then as pass.
 *   cut N             each connection open now forwards N more bytes from
 *                     the server to the client, then its client side gets a
 *                     FIN and its server side is closed: the client reads a
 *                     reply cut short, then the end of the stream. What the
 *                     client still sends is read and dropped until it
 *                     closes (so the kernel sends no RST over the FIN).
 *                     One-shot; new connections pass.
 *   blackhole         forward nothing, read nothing, keep every socket
 *                     open: the peers look alive to TCP but silent. New
 *                     connections are accepted (and connected upstream)
 *                     and held the same way. Nothing is dropped: the bytes
 *                     wait in the kernel's buffers (and the proxy's) and
 *                     flow when pass comes. A peer that resets or shuts
 *                     its socket while held takes its connection down.
 *   trickle MS        server to client one byte every MS ms (client to
 *                     server as usual), on open and new connections.
 *   close-on-write N  each connection open now forwards N more bytes from
 *                     the client to the server, then is closed on both
 *                     sides; a client still writing gets an RST (the kernel
 *                     sends one for input it drops). One-shot; new
 *                     connections pass.
 *   refuse            new connections are accepted and reset at once
 *                     (the client's connect succeeds, its first read or
 *                     write fails); open ones pass.
 *   stats             "ok connections=<accepted so far> open=<open now>"
 *
 * N is 0 and up (0: at once); MS 1 to 60000. A connection whose upstream
 * connect fails gets an RST; an end of stream is passed on as a FIN once
 * the bytes before it are through; an error on either side resets both.
 *
 * It exits 0 at the end of stdin or on SIGTERM/SIGINT, 2 on bad usage, 4 when
 * a system call it cannot do without fails. */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_USAGE = 2, EXIT_SYSTEM = 4 };

/* Per direction and connection: enough to keep a pipeline moving, small
 * enough that a client that never reads is pushed back by TCP. */
#define BUF_CAP (256u * 1024)
/* The kernel's receive buffer on both sides, fixed (which turns off its
 * autotuning, up to megabytes on loopback): what a client can push into the
 * proxy beyond its own buffer stays small and about the same from run to
 * run, so a fault lands where the test meant it to. Linux doubles it. */
#define SOCK_RCVBUF (64 * 1024)
#define LINE_MAX_LEN 256
#define DRAIN_MS 5000 /* a cut connection waits this long for the client's close */
#define MAX_COUNT 1000000000000LL

typedef struct buf {
    char *data;
    size_t off, len;
} buf;

typedef struct pair {
    int cfd, sfd; /* client side, server side; -1 once closed */
    bool connecting;
    bool c_eof, s_eof;   /* read the end of stream from that side */
    bool c_shut, s_shut; /* sent our FIN to that side */
    bool dead;           /* both closed; swept after the round */
    bool draining;       /* cut: the server side is gone, the client's bytes dropped */
    long long drain_until;
    long long cut_left; /* -1: no cut armed */
    long long cow_left; /* -1: no close-on-write armed */
    long long next_trickle;
    buf to_c, to_s;
} pair;

enum mode { MODE_PASS, MODE_BLACKHOLE, MODE_TRICKLE, MODE_REFUSE };

static enum mode mode = MODE_PASS;
static long trickle_ms;
static int listen_fd = -1;
static struct sockaddr_in upstream;
static pair **pairs;
static size_t npairs, pairs_cap;
static unsigned long long accepted;
static volatile sig_atomic_t stop_signal;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("arc-faultproxy: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(EXIT_SYSTEM);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool again(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

/* --- closing ---------------------------------------------------------------- */

static void close_fd(int *fd, bool rst)
{
    if (*fd < 0)
        return;
    if (rst) {
        /* SO_LINGER with a zero timeout: close() sends RST and drops
         * whatever is unsent, as a crashed or reset peer would. */
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(*fd);
    *fd = -1;
}

static void pair_close(pair *p, bool rst)
{
    close_fd(&p->cfd, rst);
    close_fd(&p->sfd, rst);
    p->dead = true;
}

/* cut: the client gets its N bytes, then a FIN; the server side goes. */
static void pair_cut(pair *p)
{
    close_fd(&p->sfd, false);
    shutdown(p->cfd, SHUT_WR);
    p->draining = true;
    p->drain_until = now_ms() + DRAIN_MS;
    p->to_c.len = p->to_s.len = 0;
    p->cut_left = p->cow_left = -1;
}

/* --- buffers ---------------------------------------------------------------- */

static size_t buf_room(const buf *b)
{
    return BUF_CAP - b->len;
}

/* Reads what fits from fd into b: >0 bytes, 0 end of stream, -1 error
 * (errno), -2 nothing there now. */
static ssize_t buf_fill(buf *b, int fd)
{
    if (b->len == 0)
        b->off = 0;
    if (b->off + b->len == BUF_CAP) {
        memmove(b->data, b->data + b->off, b->len);
        b->off = 0;
    }
    size_t space = BUF_CAP - b->off - b->len;
    if (space == 0)
        return -2;
    ssize_t n = recv(fd, b->data + b->off + b->len, space, 0);
    if (n < 0)
        return again(errno) ? -2 : -1;
    b->len += (size_t)n;
    return n;
}

/* Writes up to `limit` bytes of b to fd (limit < 0: no limit): the count
 * written (0 when the socket is full), or -1 on an error. */
static ssize_t buf_flush(buf *b, int fd, long long limit)
{
    size_t len = b->len;
    if (limit >= 0 && (unsigned long long)limit < len)
        len = (size_t)limit;
    if (len == 0)
        return 0;
    ssize_t n = send(fd, b->data + b->off, len, MSG_NOSIGNAL);
    if (n < 0)
        return again(errno) ? 0 : -1;
    b->off += (size_t)n;
    b->len -= (size_t)n;
    return n;
}

/* --- connections ------------------------------------------------------------ */

static void nodelay(int fd)
{
    /* Small writes go out at once: a trickled byte, a pipeline's tail. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Before listen() or connect(): the window is offered in the handshake. */
static void small_rcvbuf(int fd)
{
    int size = SOCK_RCVBUF;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

static void pair_add(int cfd)
{
    int sfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (sfd < 0) {
        fprintf(stderr, "arc-faultproxy: socket: %s\n", strerror(errno));
        close_fd(&cfd, true);
        return;
    }
    nodelay(cfd);
    nodelay(sfd);
    small_rcvbuf(sfd);
    bool connecting = false;
    if (connect(sfd, (struct sockaddr *)&upstream, sizeof upstream) != 0) {
        if (errno != EINPROGRESS) {
            /* The server is not there: the client sees its connection reset. */
            close_fd(&sfd, false);
            close_fd(&cfd, true);
            return;
        }
        connecting = true;
    }
    pair *p = calloc(1, sizeof *p);
    char *mem = malloc(2 * (size_t)BUF_CAP);
    if (npairs == pairs_cap) {
        size_t cap = pairs_cap ? pairs_cap * 2 : 16;
        pair **grown = realloc(pairs, cap * sizeof *grown);
        if (!grown)
            die("out of memory");
        pairs = grown;
        pairs_cap = cap;
    }
    if (!p || !mem)
        die("out of memory");
    p->cfd = cfd;
    p->sfd = sfd;
    p->connecting = connecting;
    p->cut_left = p->cow_left = -1;
    p->next_trickle = now_ms();
    p->to_c.data = mem;
    p->to_s.data = mem + BUF_CAP;
    pairs[npairs++] = p;
}

static void sweep(void)
{
    size_t kept = 0;
    for (size_t i = 0; i < npairs; i++) {
        if (pairs[i]->dead) {
            free(pairs[i]->to_c.data); /* the one block of both buffers */
            free(pairs[i]);
        } else {
            pairs[kept++] = pairs[i];
        }
    }
    npairs = kept;
}

static void accept_all(void)
{
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (!again(errno) && errno != ECONNABORTED)
                fprintf(stderr, "arc-faultproxy: accept: %s\n", strerror(errno));
            if (errno == ECONNABORTED || errno == EINTR)
                continue;
            return; /* EAGAIN, or out of descriptors: the next round retries */
        }
        accepted++;
        if (mode == MODE_REFUSE)
            close_fd(&fd, true);
        else
            pair_add(fd);
    }
}

/* The client to server direction: forward, count down close-on-write. */
static void flush_to_server(pair *p)
{
    if (p->connecting || p->sfd < 0 || p->to_s.len == 0)
        return;
    ssize_t n = buf_flush(&p->to_s, p->sfd, p->cow_left);
    if (n < 0) {
        pair_close(p, true);
        return;
    }
    if (p->cow_left >= 0) {
        p->cow_left -= n;
        if (p->cow_left == 0)
            pair_close(p, false);
    }
}

/* The server to client direction, at most `limit` bytes (-1: all). */
static void flush_to_client(pair *p, long long limit)
{
    if (p->to_c.len == 0)
        return;
    if (p->cut_left >= 0 && (limit < 0 || p->cut_left < limit))
        limit = p->cut_left;
    ssize_t n = buf_flush(&p->to_c, p->cfd, limit);
    if (n < 0) {
        pair_close(p, true);
        return;
    }
    if (n > 0 && limit == 1)
        p->next_trickle = now_ms() + trickle_ms;
    if (p->cut_left >= 0) {
        p->cut_left -= n;
        if (p->cut_left == 0)
            pair_cut(p);
    }
}

/* An end of stream goes on once the bytes before it are through; both
 * passed on, the connection is done. */
static void pass_eofs(pair *p)
{
    if (p->dead || p->draining)
        return;
    if (p->c_eof && p->to_s.len == 0 && !p->s_shut && !p->connecting) {
        shutdown(p->sfd, SHUT_WR);
        p->s_shut = true;
    }
    if (p->s_eof && p->to_c.len == 0 && !p->c_shut) {
        shutdown(p->cfd, SHUT_WR);
        p->c_shut = true;
    }
    if (p->c_shut && p->s_shut)
        pair_close(p, false);
}

/* One side's input into its buffer; false when the connection died. */
static bool read_side(pair *p, bool client)
{
    int fd = client ? p->cfd : p->sfd;
    buf *b = client ? &p->to_s : &p->to_c;
    bool *eof = client ? &p->c_eof : &p->s_eof;
    if (*eof)
        return true;
    ssize_t n = buf_fill(b, fd);
    if (n == -1) {
        pair_close(p, true);
        return false;
    }
    if (n == 0)
        *eof = true;
    return true;
}

static void step_draining(pair *p, short crev)
{
    if (!(crev & (POLLIN | POLLERR | POLLHUP)))
        return;
    char sink[16384];
    for (;;) {
        ssize_t n = recv(p->cfd, sink, sizeof sink, 0);
        if (n > 0)
            continue;
        if (n < 0 && again(errno))
            return;
        pair_close(p, false); /* the client closed, or reset */
        return;
    }
}

static void step(pair *p, short crev, short srev)
{
    if (p->draining) {
        step_draining(p, crev);
        return;
    }
    if (p->connecting && srev) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(p->sfd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            close_fd(&p->sfd, false);
            pair_close(p, true);
            return;
        }
        p->connecting = false;
        srev &= (short)~POLLOUT;
    }
    if (mode == MODE_BLACKHOLE) {
        /* Only a peer that went away ends a held connection. */
        if ((crev | srev) & (POLLERR | POLLHUP))
            pair_close(p, true);
        return;
    }
    if ((crev & (POLLIN | POLLERR | POLLHUP)) && !read_side(p, true))
        return;
    if (!p->connecting && (srev & (POLLIN | POLLERR | POLLHUP)) && !read_side(p, false))
        return;
    flush_to_server(p);
    if (p->dead)
        return;
    if (mode != MODE_TRICKLE)
        flush_to_client(p, -1);
    if (!p->dead && !p->draining)
        pass_eofs(p);
}

static void trickle_due(long long now)
{
    if (mode != MODE_TRICKLE)
        return;
    for (size_t i = 0; i < npairs; i++) {
        pair *p = pairs[i];
        if (p->dead || p->draining || p->to_c.len == 0 || now < p->next_trickle)
            continue;
        flush_to_client(p, 1);
        if (!p->dead && !p->draining && p->to_c.len > 0 && now >= p->next_trickle)
            p->next_trickle = now + 1; /* the client's socket is full: soon again */
        if (!p->dead && !p->draining)
            pass_eofs(p);
    }
}

/* --- commands --------------------------------------------------------------- */

static void answer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void answer(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* A count argument: digits only, 0..max. */
static bool parse_count(const char *s, long long max, long long *out)
{
    if (*s == '\0')
        return false;
    long long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (*s - '0');
        if (v > max)
            return false;
    }
    *out = v;
    return true;
}

static size_t open_count(void)
{
    size_t n = 0;
    for (size_t i = 0; i < npairs; i++)
        n += !pairs[i]->dead;
    return n;
}

/* Arms cut (true) or close-on-write on every open connection; how many. */
static size_t arm(bool cut, long long n)
{
    size_t armed = 0;
    for (size_t i = 0; i < npairs; i++) {
        pair *p = pairs[i];
        if (p->dead || p->draining)
            continue;
        armed++;
        if (cut) {
            p->cut_left = n;
            if (n == 0)
                pair_cut(p);
        } else {
            p->cow_left = n;
            if (n == 0)
                pair_close(p, false);
        }
    }
    return armed;
}

static void command(char *line)
{
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        line[--len] = '\0';
    char *word = line;
    while (*word == ' ' || *word == '\t')
        word++;
    char *arg = word + strcspn(word, " \t");
    if (*arg) {
        *arg++ = '\0';
        while (*arg == ' ' || *arg == '\t')
            arg++;
    }
    bool wants_arg = strcmp(word, "cut") == 0 || strcmp(word, "trickle") == 0 ||
                     strcmp(word, "close-on-write") == 0;
    if (*word == '\0') {
        answer("err empty line (commands: pass reset cut blackhole trickle close-on-write "
               "refuse stats)");
        return;
    }
    if (!wants_arg && *arg) {
        answer("err %s takes no argument", word);
        return;
    }
    long long n = 0;
    if (wants_arg) {
        long long max = strcmp(word, "trickle") == 0 ? 60000 : MAX_COUNT;
        long long min = strcmp(word, "trickle") == 0 ? 1 : 0;
        if (!parse_count(arg, max, &n) || n < min) {
            answer("err %s needs a number from %lld to %lld, got \"%s\"", word, min, max, arg);
            return;
        }
    }
    if (strcmp(word, "pass") == 0) {
        mode = MODE_PASS;
        for (size_t i = 0; i < npairs; i++)
            pairs[i]->cut_left = pairs[i]->cow_left = -1;
        answer("ok pass");
    } else if (strcmp(word, "reset") == 0) {
        size_t k = 0;
        for (size_t i = 0; i < npairs; i++) {
            if (!pairs[i]->dead) {
                pair_close(pairs[i], true);
                k++;
            }
        }
        mode = MODE_PASS;
        answer("ok reset %zu", k);
    } else if (strcmp(word, "cut") == 0) {
        size_t k = arm(true, n);
        answer("ok cut %lld armed on %zu", n, k);
    } else if (strcmp(word, "close-on-write") == 0) {
        size_t k = arm(false, n);
        answer("ok close-on-write %lld armed on %zu", n, k);
    } else if (strcmp(word, "blackhole") == 0) {
        mode = MODE_BLACKHOLE;
        answer("ok blackhole");
    } else if (strcmp(word, "trickle") == 0) {
        mode = MODE_TRICKLE;
        trickle_ms = (long)n;
        long long now = now_ms();
        for (size_t i = 0; i < npairs; i++)
            pairs[i]->next_trickle = now;
        answer("ok trickle %lld", n);
    } else if (strcmp(word, "refuse") == 0) {
        mode = MODE_REFUSE;
        answer("ok refuse");
    } else if (strcmp(word, "stats") == 0) {
        answer("ok connections=%llu open=%zu", accepted, open_count());
    } else {
        answer("err unknown command \"%s\" (commands: pass reset cut blackhole trickle "
               "close-on-write refuse stats)",
               word);
    }
}

static char line_buf[LINE_MAX_LEN + 1];
static size_t line_len;
static bool line_too_long;

/* Reads stdin and runs every complete line; false at its end. */
static bool read_commands(void)
{
    char chunk[1024];
    ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
    if (n < 0)
        return again(errno);
    if (n == 0)
        return false;
    for (ssize_t i = 0; i < n; i++) {
        char c = chunk[i];
        if (c == '\n') {
            if (line_too_long) {
                answer("err line longer than %d bytes", LINE_MAX_LEN);
            } else {
                line_buf[line_len] = '\0';
                command(line_buf);
                sweep();
            }
            line_len = 0;
            line_too_long = false;
        } else if (line_len < LINE_MAX_LEN) {
            line_buf[line_len++] = c;
        } else {
            line_too_long = true;
        }
    }
    return true;
}

/* --- main ------------------------------------------------------------------- */

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void open_listener(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd >= 0)
        small_rcvbuf(listen_fd); /* accepted sockets inherit it */
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(listen_fd, 128) != 0 || getsockname(listen_fd, (struct sockaddr *)&sa, &len) != 0)
        die("listening on 127.0.0.1: %s", strerror(errno));
    printf("PORT %d\n", ntohs(sa.sin_port));
    fflush(stdout);
}

/* The poll timeout: the next trickled byte or the end of a drain. */
static int next_timeout(long long now)
{
    long long next = -1;
    for (size_t i = 0; i < npairs; i++) {
        const pair *p = pairs[i];
        long long at = -1;
        if (p->draining)
            at = p->drain_until;
        else if (mode == MODE_TRICKLE && p->to_c.len > 0)
            at = p->next_trickle;
        if (at >= 0 && (next < 0 || at < next))
            next = at;
    }
    if (next < 0)
        return -1;
    return next <= now ? 0 : (int)(next - now);
}

/* What to watch on a pair's two sides (fd -1: nothing, since poll reports
 * POLLHUP even on no events, and a socket with nothing to do would spin). */
static void watch(const pair *p, struct pollfd *c, struct pollfd *s)
{
    c->events = s->events = 0;
    if (p->draining) {
        c->events = POLLIN;
    } else if (mode == MODE_BLACKHOLE) {
        /* Watched for nothing but errors and hang-ups (always reported). */
        c->fd = p->cfd;
        s->fd = p->sfd;
        s->events = p->connecting ? POLLOUT : 0;
        return;
    } else {
        if (!p->c_eof && buf_room(&p->to_s) > 0)
            c->events |= POLLIN;
        if (p->to_c.len > 0 && mode != MODE_TRICKLE)
            c->events |= POLLOUT;
        if (p->connecting) {
            s->events = POLLOUT;
        } else {
            if (!p->s_eof && buf_room(&p->to_c) > 0)
                s->events |= POLLIN;
            if (p->to_s.len > 0)
                s->events |= POLLOUT;
        }
    }
    c->fd = c->events ? p->cfd : -1;
    s->fd = s->events ? p->sfd : -1;
}

int main(int argc, char **argv)
{
    long long port = 0;
    if (argc != 2 || !parse_count(argv[1], 65535, &port) || port == 0) {
        fprintf(stderr, "usage: arc-faultproxy UPSTREAM_PORT (commands on stdin)\n");
        return EXIT_USAGE;
    }
    upstream.sin_family = AF_INET;
    upstream.sin_port = htons((uint16_t)port);
    upstream.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    signal(SIGPIPE, SIG_IGN);
    /* SIGTERM and SIGINT are let in only inside ppoll(), so one that comes
     * between two rounds cannot be lost before the loop sleeps. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigset_t block, during_poll;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &during_poll);
    sigdelset(&during_poll, SIGTERM);
    sigdelset(&during_poll, SIGINT);

    open_listener();

    struct pollfd *fds = NULL;
    size_t fds_cap = 0;
    bool stdin_open = true;
    while (stdin_open && !stop_signal) {
        size_t polled = npairs;
        size_t need = 2 + 2 * polled;
        if (need > fds_cap) {
            struct pollfd *grown = realloc(fds, need * 2 * sizeof *grown);
            if (!grown)
                die("out of memory");
            fds = grown;
            fds_cap = need * 2;
        }
        fds[0] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
        fds[1] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
        for (size_t i = 0; i < polled; i++)
            watch(pairs[i], &fds[2 + 2 * i], &fds[3 + 2 * i]);
        int timeout = next_timeout(now_ms());
        struct timespec ts = {timeout / 1000, (timeout % 1000) * 1000000L};
        int rc = ppoll(fds, need, timeout < 0 ? NULL : &ts, &during_poll);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            die("poll: %s", strerror(errno));
        }
        for (size_t i = 0; i < polled; i++) {
            pair *p = pairs[i];
            short crev = fds[2 + 2 * i].fd >= 0 ? fds[2 + 2 * i].revents : 0;
            short srev = fds[3 + 2 * i].fd >= 0 ? fds[3 + 2 * i].revents : 0;
            if (!p->dead && (crev || srev))
                step(p, crev, srev);
        }
        long long now = now_ms();
        trickle_due(now);
        for (size_t i = 0; i < npairs; i++)
            if (pairs[i]->draining && !pairs[i]->dead && now >= pairs[i]->drain_until)
                pair_close(pairs[i], false);
        sweep();
        if (fds[1].revents & POLLIN)
            accept_all();
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
            stdin_open = read_commands();
    }
    for (size_t i = 0; i < npairs; i++)
        pair_close(pairs[i], false);
    sweep();
    free(pairs);
    free(fds);
    close(listen_fd);
    return 0;
}
