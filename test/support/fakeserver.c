/* fakeserver.c (tests): arc-fakeserver, a TCP server that follows a script,
 * for faults that a real server will not produce on demand.
 *
 * Usage: arc-fakeserver [--bind ADDR] SCRIPT_FILE
 *
 * Reads the whole script, listens on ADDR (default 127.0.0.1) port 0, prints
 * "PORT <n>" on stdout, then runs the script, one command per line. Blank
 * lines and lines starting with '#' are ignored.
 *
 *   ACCEPT             wait (10 s) for the next connection; it becomes the
 *                      current one (earlier ones stay open)
 *   EXPECT bytes       read exactly these bytes from the current connection
 *   EXPECT_COMMAND n   read n complete RESP commands (arrays of bulk strings)
 *   SEND bytes         write the bytes
 *   SEND_SLOW bytes    write them one byte at a time, 1 ms apart
 *   SLEEP ms
 *   CLOSE              close the current connection (FIN)
 *   RESET_CLOSE        close it with SO_LINGER 0 (RST)
 *   DRAIN              read and discard until the client closes (10 s)
 *   STALL              keep everything open, read nothing; SIGTERM exits 0
 *   BACKLOG_FULL       fill the listening socket's accept queue, so further
 *                      connects hang in SYN_SENT; then STALL. As the first
 *                      command it runs before the PORT line is printed.
 *   EXIT code          exit now with that code
 *
 * In SEND and SEND_SLOW bytes, ${PORT} stands for the port the program
 * listens on, in decimal: a script can name its own address (a cluster
 * node's slot map, a redirect to itself) before the port is known.
 * "bytes" is the rest of the line, or a "quoted" string; both take the
 * escapes \r \n \t \0 \\ \" and \xNN. Unquoted bytes lose trailing blanks.
 * Every read and write waits 10 s at most. Input that came in but was not
 * consumed by an EXPECT stays for the next one. Closing a connection that
 * has unread input makes the kernel send RST instead of FIN.
 *
 * Exit status: 0 at the end of the script, 2 bad usage or script, 3 the
 * client did not do what the script expected (wrong bytes, end of stream,
 * timeout), 4 a system call failed, or EXIT's code. */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

#define IO_TIMEOUT_MS 10000
#define MAX_CONNECTIONS 64
#define MAX_INPUT (64u * 1024 * 1024) /* a client that sends without end */
#define MAX_ARGS 1000000L             /* a command header announcing too much */

enum { EXIT_SCRIPT = 2, EXIT_EXPECT = 3, EXIT_SYSTEM = 4 };

enum op {
    OP_ACCEPT,
    OP_EXPECT,
    OP_EXPECT_COMMAND,
    OP_SEND,
    OP_SEND_SLOW,
    OP_SLEEP,
    OP_CLOSE,
    OP_RESET_CLOSE,
    OP_DRAIN,
    OP_STALL,
    OP_BACKLOG_FULL,
    OP_EXIT,
};

enum arg { ARG_NONE, ARG_BYTES, ARG_NUMBER };

static const struct {
    const char *name;
    enum op op;
    enum arg arg;
    long min, max; /* for ARG_NUMBER */
} ops[] = {
    {"ACCEPT", OP_ACCEPT, ARG_NONE, 0, 0},
    {"EXPECT", OP_EXPECT, ARG_BYTES, 0, 0},
    {"EXPECT_COMMAND", OP_EXPECT_COMMAND, ARG_NUMBER, 1, 1000000},
    {"SEND", OP_SEND, ARG_BYTES, 0, 0},
    {"SEND_SLOW", OP_SEND_SLOW, ARG_BYTES, 0, 0},
    {"SLEEP", OP_SLEEP, ARG_NUMBER, 0, 3600000},
    {"CLOSE", OP_CLOSE, ARG_NONE, 0, 0},
    {"RESET_CLOSE", OP_RESET_CLOSE, ARG_NONE, 0, 0},
    {"DRAIN", OP_DRAIN, ARG_NONE, 0, 0},
    {"STALL", OP_STALL, ARG_NONE, 0, 0},
    {"BACKLOG_FULL", OP_BACKLOG_FULL, ARG_NONE, 0, 0},
    {"EXIT", OP_EXIT, ARG_NUMBER, 0, 255},
};

typedef struct step {
    enum op op;
    int line;
    char *bytes;
    size_t len;
    long num;
} step;

typedef struct conn {
    int fd;
    char *in; /* received, not consumed yet */
    size_t len, cap;
} conn;

static int listen_fd = -1;
static int listen_port;
static bool backlog_filled;
static conn conns[MAX_CONNECTIONS];
static int nconns;
static conn *cur;
static int cur_line; /* of the step being run, for messages */

static void fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "arc-fakeserver: line %d: ", cur_line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(code);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Prints bytes with C escapes, at most 300 of them. */
static void print_escaped(FILE *f, const char *p, size_t len)
{
    fputc('"', f);
    for (size_t i = 0; i < len && i < 300; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\r')
            fputs("\\r", f);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c == '\\' || c == '"')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
    if (len > 300)
        fprintf(f, "... (%zu bytes)", len);
}

/* --- the script ---------------------------------------------------------- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes [p, end) into s->bytes. A leading quote makes it a quoted string
 * that must end at its closing quote. */
static void parse_bytes(step *s, const char *p, const char *end)
{
    bool quoted = p < end && *p == '"';
    if (quoted)
        p++;
    s->bytes = malloc((size_t)(end - p) + 1);
    if (!s->bytes)
        fail(EXIT_SYSTEM, "out of memory");
    size_t n = 0;
    for (;;) {
        if (p == end) {
            if (quoted)
                fail(EXIT_SCRIPT, "missing closing quote");
            break;
        }
        char c = *p++;
        if (quoted && c == '"') {
            while (p < end && is_blank(*p))
                p++;
            if (p != end)
                fail(EXIT_SCRIPT, "text after the closing quote");
            break;
        }
        if (c != '\\') {
            s->bytes[n++] = c;
            continue;
        }
        if (p == end)
            fail(EXIT_SCRIPT, "a backslash ends the line");
        c = *p++;
        switch (c) {
        case 'r': s->bytes[n++] = '\r'; break;
        case 'n': s->bytes[n++] = '\n'; break;
        case 't': s->bytes[n++] = '\t'; break;
        case '0': s->bytes[n++] = '\0'; break;
        case '\\': s->bytes[n++] = '\\'; break;
        case '"': s->bytes[n++] = '"'; break;
        case 'x': {
            int hi = end - p >= 2 ? hex(p[0]) : -1;
            int lo = end - p >= 2 ? hex(p[1]) : -1;
            if (hi < 0 || lo < 0)
                fail(EXIT_SCRIPT, "\\x needs two hex digits");
            s->bytes[n++] = (char)(hi * 16 + lo);
            p += 2;
            break;
        }
        default:
            fail(EXIT_SCRIPT, "unknown escape \\%c", c);
        }
    }
    s->len = n;
}

static long parse_number(const char *p, const char *end, long min, long max)
{
    long v = 0;
    if (p == end)
        fail(EXIT_SCRIPT, "a number is missing");
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            fail(EXIT_SCRIPT, "not a number: %.*s", (int)(end - p), p);
        v = v * 10 + (*p - '0');
        if (v > max)
            break;
    }
    if (v < min || v > max)
        fail(EXIT_SCRIPT, "the number must be in [%ld, %ld]", min, max);
    return v;
}

/* Parses every line first, so a typo fails before any client connects. */
static step *parse_script(char *text, size_t size, size_t *count)
{
    step *steps = NULL;
    size_t n = 0, cap = 0;
    char *line = text, *text_end = text + size;
    for (int lineno = 1; line < text_end; lineno++) {
        char *eol = memchr(line, '\n', (size_t)(text_end - line));
        if (!eol)
            eol = text_end;
        cur_line = lineno;
        char *p = line, *end = eol;
        line = eol + 1;
        while (p < end && is_blank(*p))
            p++;
        while (end > p && is_blank(end[-1]))
            end--;
        if (p == end || *p == '#')
            continue;

        char *word = p;
        while (p < end && !is_blank(*p))
            p++;
        size_t wlen = (size_t)(p - word);
        while (p < end && is_blank(*p))
            p++;

        size_t k = 0;
        while (k < sizeof ops / sizeof ops[0] &&
               !(strlen(ops[k].name) == wlen && memcmp(ops[k].name, word, wlen) == 0))
            k++;
        if (k == sizeof ops / sizeof ops[0])
            fail(EXIT_SCRIPT, "unknown command %.*s", (int)wlen, word);

        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            step *grown = realloc(steps, cap * sizeof *steps);
            if (!grown)
                fail(EXIT_SYSTEM, "out of memory");
            steps = grown;
        }
        step *s = &steps[n++];
        memset(s, 0, sizeof *s);
        s->op = ops[k].op;
        s->line = lineno;
        switch (ops[k].arg) {
        case ARG_NONE:
            if (p != end)
                fail(EXIT_SCRIPT, "%s takes no argument", ops[k].name);
            break;
        case ARG_BYTES:
            if (p == end)
                fail(EXIT_SCRIPT, "%s needs bytes (\"\" for none)", ops[k].name);
            parse_bytes(s, p, end);
            break;
        case ARG_NUMBER:
            s->num = parse_number(p, end, ops[k].min, ops[k].max);
            break;
        }
    }
    *count = n;
    return steps;
}

static char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rbe");
    if (!f) {
        fprintf(stderr, "arc-fakeserver: %s: %s\n", path, strerror(errno));
        exit(EXIT_SCRIPT);
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            char *grown = realloc(text, cap);
            if (!grown) {
                fprintf(stderr, "arc-fakeserver: out of memory\n");
                exit(EXIT_SYSTEM);
            }
            text = grown;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "arc-fakeserver: reading %s failed\n", path);
        exit(EXIT_SCRIPT);
    }
    fclose(f);
    *size = len;
    return text;
}

/* --- connections ------------------------------------------------------- */

static conn *need_conn(const char *what)
{
    if (!cur)
        fail(EXIT_SCRIPT, "%s with no current connection (ACCEPT first)", what);
    return cur;
}

/* Waits for `events` on fd until the deadline; false on timeout. */
static bool wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd = {.fd = fd, .events = events};
        int rc = poll(&pfd, 1, (int)left);
        if (rc > 0)
            return true;
        if (rc < 0 && errno != EINTR)
            fail(EXIT_SYSTEM, "poll: %s", strerror(errno));
    }
}

enum fill_result { FILL_DATA, FILL_EOF, FILL_RESET, FILL_TIMEOUT };

/* Reads what is there (waiting for it until the deadline) onto c->in. */
static enum fill_result fill(conn *c, long long deadline)
{
    for (;;) {
        if (c->cap - c->len < 16384) {
            if (c->cap >= MAX_INPUT)
                fail(EXIT_EXPECT, "the client sent more than %u bytes unread", MAX_INPUT);
            size_t cap = c->cap ? c->cap * 2 : 32768;
            char *grown = realloc(c->in, cap);
            if (!grown)
                fail(EXIT_SYSTEM, "out of memory");
            c->in = grown;
            c->cap = cap;
        }
        ssize_t n = recv(c->fd, c->in + c->len, c->cap - c->len, 0);
        if (n > 0) {
            c->len += (size_t)n;
            return FILL_DATA;
        }
        if (n == 0)
            return FILL_EOF;
        if (errno == ECONNRESET)
            return FILL_RESET;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            fail(EXIT_SYSTEM, "recv: %s", strerror(errno));
        if (!wait_fd(c->fd, POLLIN, deadline))
            return FILL_TIMEOUT;
    }
}

static const char *fill_name(enum fill_result r)
{
    return r == FILL_EOF ? "end of stream" : r == FILL_RESET ? "connection reset" : "timeout";
}

static void consume(conn *c, size_t n)
{
    if (n == 0)
        return;
    memmove(c->in, c->in + n, c->len - n);
    c->len -= n;
}

static void expect_bytes(const step *s)
{
    conn *c = need_conn("EXPECT");
    long long deadline = now_ms() + IO_TIMEOUT_MS;
    for (;;) {
        size_t have = c->len < s->len ? c->len : s->len;
        bool match = have == 0 || memcmp(c->in, s->bytes, have) == 0;
        if (match && have == s->len) {
            consume(c, s->len);
            return;
        }
        if (!match) { /* fail at the first wrong byte, not after the timeout */
            fprintf(stderr, "arc-fakeserver: line %d: EXPECT mismatch\n  expected: ", s->line);
            print_escaped(stderr, s->bytes, s->len);
            fputs("\n  received: ", stderr);
            print_escaped(stderr, c->in, c->len);
            fputc('\n', stderr);
            exit(EXIT_EXPECT);
        }
        enum fill_result r = fill(c, deadline);
        if (r != FILL_DATA) {
            fprintf(stderr, "arc-fakeserver: line %d: EXPECT got %s\n  expected: ", s->line,
                    fill_name(r));
            print_escaped(stderr, s->bytes, s->len);
            fputs("\n  received: ", stderr);
            print_escaped(stderr, c->in, c->len);
            fputc('\n', stderr);
            exit(EXIT_EXPECT);
        }
    }
}

/* Reads "<prefix><decimal>\r\n" at *pos. 1 done, 0 need more, -1 malformed. */
static int header(const conn *c, size_t *pos, char prefix, long max, long *value)
{
    size_t i = *pos;
    if (i >= c->len)
        return 0;
    if (c->in[i++] != prefix)
        return -1;
    long v = 0;
    size_t digits = 0;
    for (; i < c->len && c->in[i] >= '0' && c->in[i] <= '9'; i++, digits++) {
        v = v * 10 + (c->in[i] - '0');
        if (v > max)
            return -1;
    }
    if (i + 2 > c->len)
        return 0;
    if (digits == 0 || c->in[i] != '\r' || c->in[i + 1] != '\n')
        return -1;
    *pos = i + 2;
    *value = v;
    return 1;
}

/* The length of the complete command at the start of c->in; 0 when more
 * bytes are needed, -1 when it is not an array of bulk strings. */
static long command_length(const conn *c)
{
    size_t pos = 0;
    long argc, len;
    int rc = header(c, &pos, '*', MAX_ARGS, &argc);
    if (rc <= 0)
        return rc;
    if (argc < 1)
        return -1;
    for (long i = 0; i < argc; i++) {
        rc = header(c, &pos, '$', (long)MAX_INPUT, &len);
        if (rc <= 0)
            return rc;
        if (c->len - pos < (size_t)len + 2)
            return 0;
        if (c->in[pos + (size_t)len] != '\r' || c->in[pos + (size_t)len + 1] != '\n')
            return -1;
        pos += (size_t)len + 2;
    }
    return (long)pos;
}

static void expect_commands(const step *s)
{
    conn *c = need_conn("EXPECT_COMMAND");
    long long deadline = now_ms() + IO_TIMEOUT_MS;
    for (long done = 0; done < s->num;) {
        long n = command_length(c);
        if (n > 0) {
            consume(c, (size_t)n);
            done++;
            continue;
        }
        if (n < 0) {
            fprintf(stderr, "arc-fakeserver: line %d: EXPECT_COMMAND: command %ld of %ld is "
                            "not a RESP array of bulk strings: ", s->line, done + 1, s->num);
            print_escaped(stderr, c->in, c->len);
            fputc('\n', stderr);
            exit(EXIT_EXPECT);
        }
        enum fill_result r = fill(c, deadline);
        if (r != FILL_DATA) {
            fprintf(stderr, "arc-fakeserver: line %d: EXPECT_COMMAND got %s after %ld of %ld "
                            "commands; pending: ", s->line, fill_name(r), done, s->num);
            print_escaped(stderr, c->in, c->len);
            fputc('\n', stderr);
            exit(EXIT_EXPECT);
        }
    }
}

/* Puts the listening port where a SEND's bytes say ${PORT}. */
static void substitute_port(step *s)
{
    static const char var[] = "${PORT}";
    const size_t vlen = sizeof var - 1;
    char port[16];
    int plen = snprintf(port, sizeof port, "%d", listen_port);
    for (size_t i = 0; i + vlen <= s->len;) {
        if (memcmp(s->bytes + i, var, vlen) != 0) {
            i++;
            continue;
        }
        size_t len = s->len - vlen + (size_t)plen;
        char *b = malloc(len + 1);
        if (b == NULL)
            fail(EXIT_SYSTEM, "out of memory");
        memcpy(b, s->bytes, i);
        memcpy(b + i, port, (size_t)plen);
        memcpy(b + i + plen, s->bytes + i + vlen, s->len - i - vlen);
        b[len] = '\0';
        free(s->bytes);
        s->bytes = b;
        s->len = len;
        i += (size_t)plen;
    }
}

static void send_bytes(const step *s, bool slow)
{
    conn *c = need_conn(slow ? "SEND_SLOW" : "SEND");
    long long deadline = now_ms() + IO_TIMEOUT_MS;
    size_t off = 0;
    while (off < s->len) {
        size_t chunk = slow ? 1 : s->len - off;
        ssize_t n = send(c->fd, s->bytes + off, chunk, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            if (slow && off < s->len)
                sleep_ms(1);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_fd(c->fd, POLLOUT, deadline))
                fail(EXIT_EXPECT, "SEND: the client read nothing for %d ms", IO_TIMEOUT_MS);
            continue;
        }
        fail(EXIT_SYSTEM, "SEND after %zu of %zu bytes: %s", off, s->len, strerror(errno));
    }
}

static void drain(void)
{
    conn *c = need_conn("DRAIN");
    long long deadline = now_ms() + IO_TIMEOUT_MS;
    for (;;) {
        c->len = 0;
        enum fill_result r = fill(c, deadline);
        if (r == FILL_EOF || r == FILL_RESET)
            return;
        if (r == FILL_TIMEOUT)
            fail(EXIT_EXPECT, "DRAIN: the client did not close within %d ms", IO_TIMEOUT_MS);
    }
}

static void close_current(bool reset)
{
    conn *c = need_conn(reset ? "RESET_CLOSE" : "CLOSE");
    if (reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        if (setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0)
            fail(EXIT_SYSTEM, "SO_LINGER: %s", strerror(errno));
    }
    close(c->fd);
    free(c->in);
    *c = conns[--nconns];
    cur = NULL;
}

static void accept_one(void)
{
    if (nconns == MAX_CONNECTIONS)
        fail(EXIT_SCRIPT, "more than %d open connections", MAX_CONNECTIONS);
    long long deadline = now_ms() + IO_TIMEOUT_MS;
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            /* Every SEND_SLOW byte goes out as its own segment. */
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            conns[nconns] = (conn){.fd = fd};
            cur = &conns[nconns++];
            return;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
            errno != ECONNABORTED)
            fail(EXIT_SYSTEM, "accept: %s", strerror(errno));
        if (!wait_fd(listen_fd, POLLIN, deadline))
            fail(EXIT_EXPECT, "ACCEPT: no connection within %d ms", IO_TIMEOUT_MS);
    }
}

/* Holds everything open until SIGTERM or SIGINT, then exits 0. */
static void stall(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sig;
    while (sigwait(&set, &sig) != 0) {
    }
    exit(0);
}

/* Linux drops a SYN when the listener's accept queue is full, and with a
 * backlog of 0 one waiting connection fills it. So: shrink the backlog, then
 * connect throwaway sockets (never accepted) until one stays pending. From
 * then on every new connect stays in SYN_SENT while its SYNs are dropped. */
static void fill_backlog(void)
{
    if (listen(listen_fd, 0) != 0)
        fail(EXIT_SYSTEM, "listen: %s", strerror(errno));
    struct sockaddr_storage sa;
    socklen_t salen = sizeof sa;
    if (getsockname(listen_fd, (struct sockaddr *)&sa, &salen) != 0)
        fail(EXIT_SYSTEM, "getsockname: %s", strerror(errno));
    for (int i = 0; i < 16; i++) {
        int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            fail(EXIT_SYSTEM, "socket: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *)&sa, salen) == 0)
            continue; /* completed at once: the queue had room */
        if (errno != EINPROGRESS)
            fail(EXIT_SYSTEM, "connect: %s", strerror(errno));
        if (!wait_fd(fd, POLLOUT, now_ms() + 300))
            return; /* this one hangs: so will the client's */
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0)
            fail(EXIT_SYSTEM, "BACKLOG_FULL: throwaway connect: %s", strerror(err));
    }
    fail(EXIT_SYSTEM, "BACKLOG_FULL: 16 connects completed; this kernel does not let a "
                      "full accept queue stall connects");
}

/* --- main ---------------------------------------------------------------- */

static void open_listener(const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        len = sizeof *in4;
    } else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        len = sizeof *in6;
    } else {
        fprintf(stderr, "arc-fakeserver: not a numeric address: %s\n", addr);
        exit(EXIT_SCRIPT);
    }
    listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&ss, len) != 0 ||
        listen(listen_fd, 64) != 0 || getsockname(listen_fd, (struct sockaddr *)&ss, &len) != 0) {
        fprintf(stderr, "arc-fakeserver: listening on %s: %s\n", addr, strerror(errno));
        exit(EXIT_SYSTEM);
    }
    listen_port = ntohs(ss.ss_family == AF_INET ? in4->sin_port : in6->sin6_port);
}

static void usage(void)
{
    fprintf(stderr, "usage: arc-fakeserver [--bind ADDR] SCRIPT_FILE\n");
    exit(EXIT_SCRIPT);
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1";
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc)
            addr = argv[++i];
        else if (argv[i][0] == '-' || path)
            usage();
        else
            path = argv[i];
    }
    if (!path)
        usage();
    signal(SIGPIPE, SIG_IGN);

    size_t size, nsteps;
    char *text = read_file(path, &size);
    step *steps = parse_script(text, size, &nsteps);
    free(text);
    open_listener(addr);
    /* A script that starts with BACKLOG_FULL has the queue full before the
     * port is printed, so that no client connect can slip in first. */
    if (nsteps > 0 && steps[0].op == OP_BACKLOG_FULL) {
        cur_line = steps[0].line;
        fill_backlog();
        backlog_filled = true;
    }
    for (size_t i = 0; i < nsteps; i++)
        if (steps[i].op == OP_SEND || steps[i].op == OP_SEND_SLOW)
            substitute_port(&steps[i]);
    printf("PORT %d\n", listen_port);
    fflush(stdout);

    for (size_t i = 0; i < nsteps; i++) {
        const step *s = &steps[i];
        cur_line = s->line;
        switch (s->op) {
        case OP_ACCEPT: accept_one(); break;
        case OP_EXPECT: expect_bytes(s); break;
        case OP_EXPECT_COMMAND: expect_commands(s); break;
        case OP_SEND: send_bytes(s, false); break;
        case OP_SEND_SLOW: send_bytes(s, true); break;
        case OP_SLEEP: sleep_ms(s->num); break;
        case OP_CLOSE: close_current(false); break;
        case OP_RESET_CLOSE: close_current(true); break;
        case OP_DRAIN: drain(); break;
        case OP_STALL: stall(); break;
        case OP_BACKLOG_FULL:
            if (!backlog_filled)
                fill_backlog();
            stall();
            break;
        case OP_EXIT: exit((int)s->num);
        }
    }
    for (size_t i = 0; i < nsteps; i++)
        free(steps[i].bytes);
    free(steps);
    for (int i = 0; i < nconns; i++) {
        close(conns[i].fd);
        free(conns[i].in);
    }
    close(listen_fd);
    return 0;
}
