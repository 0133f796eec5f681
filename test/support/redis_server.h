/* redis_server.h (tests): a throwaway redis-server per test process. */
#ifndef ARC_TEST_REDIS_SERVER_H
#define ARC_TEST_REDIS_SERVER_H

#include <arc/reply.h>

#include <stdarg.h>

/* One running redis-server with its own temporary directory (log, unix
 * socket), a free loopback port and no persistence. The process cannot
 * outlive the test: it dies with the test's thread (PR_SET_PDEATHSIG) and an
 * atexit handler stops whatever the test forgot to stop.
 *
 * The server binary is $ARC_REDIS_SERVER when set, else "redis-server" from
 * $PATH. Its temporary directory is made under $TMPDIR (default /tmp). */
typedef struct test_redis test_redis;

typedef struct test_redis_options {
    const char *requirepass;       /* NULL: none */
    const char *const *extra_args; /* NULL-terminated extra words, e.g.
                                      {"--maxclients", "10", NULL}; or NULL.
                                      They come last, so they can override
                                      any other setting. */
    /* TLS (the files are those of tls_certs.h). With `tls` set, the server
     * also listens for TLS on a second free port, test_redis_tls_port(),
     * with the certificate below (default: server_cert and server_key, for
     * "localhost") and tls-ca-cert-file ca_cert; the plain port and the unix
     * socket stay as they are. */
    int tls;
    int tls_auth_clients;      /* 0: tls-auth-clients no; 1: yes, a client
                                  must present a certificate that ca_cert
                                  issued (client_cert) */
    const char *tls_cert_file; /* NULL: server_cert; else, with tls_key_file, */
    const char *tls_key_file;  /* e.g. wrong_name_cert or expired_cert. Both
                                  or neither, and only with `tls`. */
    /* Sentinel mode (see sentinels.h): when not NULL, these lines (e.g.
     * "sentinel monitor m 127.0.0.1 6379 2\n") become <tmpdir>/sentinel.conf
     * and the server runs as `redis-server <that file> --sentinel ...`.
     * Sentinel rewrites the file as its state changes, and a restart reads
     * it back, so a restarted sentinel keeps its id and what it learned. */
    const char *sentinel_config;
    /* Cluster mode (see cluster.h): with `cluster` set, the server runs with
     * cluster-enabled yes, its nodes.conf in its temporary directory, and
     * its cluster bus on a free port of its own, test_redis_bus_port(), set
     * with cluster-port: the default, port + 10000, may lie beyond 65535 or
     * in the range the kernel hands out to outgoing connections. Like the
     * other ports it is chosen anew on each start attempt and kept across
     * restarts; so is nodes.conf, so a restarted node keeps its id. */
    int cluster;
} test_redis_options;

/* Starts a server and waits (10 s at most) until it answers PING on both its
 * unix socket and its TCP port (and, with TLS, accepts a TCP connection on
 * its TLS port). `opt` may be NULL; its strings are copied. Returns NULL on
 * failure (bad options, no certificates, no TLS in the redis-server
 * binary...), after printing the reason and the tail of the server's log on
 * stderr. Free with test_redis_stop(). */
test_redis *test_redis_start(const test_redis_options *opt);

/* Where the server listens. The strings live as long as `s`. */
int test_redis_port(const test_redis *s);
int test_redis_tls_port(const test_redis *s);          /* 0 without TLS */
int test_redis_bus_port(const test_redis *s);          /* 0 outside cluster mode */
const char *test_redis_host(const test_redis *s);      /* "127.0.0.1" */
const char *test_redis_unix_path(const test_redis *s); /* <tmpdir>/redis.sock */

/* The server's process id (e.g. to SIGSTOP it); -1 while it is down. */
int test_redis_pid(const test_redis *s);

/* Runs one command on a blocking admin connection over the unix socket,
 * opened on first use (and again after the server closed it, e.g. after
 * CLIENT KILL or a restart), authenticated when the server has a password.
 * `fmt` is arc_format()'s printf form. Returns a copy of the reply (an error
 * reply is a reply too) that the caller frees with arc_reply_free(), or NULL
 * on a bad format, an I/O error, a protocol error or no reply within 60 s;
 * the reason goes to stderr. No printf format attribute: the compiler would
 * reject arc_format()'s %b (pointer and length). */
arc_reply *test_redis_command(test_redis *s, const char *fmt, ...);
/* The same with a va_list, for wrappers such as test_sentinels_command(). */
arc_reply *test_redis_vcommand(test_redis *s, const char *fmt, va_list ap);

/* Prints the last lines of the server's log on stderr, e.g. when a test
 * gives up waiting for the server to do something. */
void test_redis_print_log_tail(const test_redis *s);

/* SIGTERM, wait (SIGKILL after 5 s), remove the temporary directory and free
 * `s`. NULL is ignored. */
void test_redis_stop(test_redis *s);

/* Stops the process and starts a new one with the same ports, socket, options
 * (TLS included) and directory (the old log is kept; the new server appends to it). Returns
 * 0 once the new server answers PING, -1 (reason on stderr) otherwise; either
 * way `s` must still be given to test_redis_stop(). */
int test_redis_restart(test_redis *s);

#endif
