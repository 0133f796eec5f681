/* bench_codec.c: the reader and the encoder, arc and hiredis side by side
 * in one process. Prints one CSV line per measurement:
 *   what,shape,impl,ns_per_op
 * Each shape is fed in 16 KiB chunks (reader) or encoded into a buffer that
 * is reset every 1000 commands (encoder), best of a few passes. */
#define _POSIX_C_SOURCE 200809L
#include <arc/arc.h>
#include "peer.h" /* hiredis unless compiled with -DBENCH_PEER_... */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* A 16 KiB-ish chunk holding whole copies of one reply. */
static char *make_chunk(const char *unit, size_t ulen, size_t *n_units, size_t *len)
{
    size_t n = 16384 / ulen;
    if (n == 0)
        n = 1;
    char *chunk = malloc(n * ulen);
    for (size_t i = 0; i < n; i++)
        memcpy(chunk + i * ulen, unit, ulen);
    *n_units = n;
    *len = n * ulen;
    return chunk;
}

static double arc_reader_ns(const char *chunk, size_t len, size_t units, size_t total)
{
    arc_reader *r = arc_reader_new(NULL, NULL);
    size_t got = 0;
    double t0 = now_ns();
    while (got < total) {
        arc_reader_feed(r, chunk, len);
        arc_reply *reply;
        while (arc_reader_next(r, &reply) == ARC_OK && reply != NULL)
            got++;
    }
    double t = now_ns() - t0;
    arc_reader_free(r);
    (void)units;
    return t / (double)got;
}

static double hiredis_reader_ns(const char *chunk, size_t len, size_t total)
{
    redisReader *r = redisReaderCreate();
    size_t got = 0;
    double t0 = now_ns();
    while (got < total) {
        redisReaderFeed(r, chunk, len);
        void *reply;
        while (redisReaderGetReply(r, &reply) == REDIS_OK && reply != NULL) {
            freeReplyObject(reply);
            got++;
        }
    }
    double t = now_ns() - t0;
    redisReaderFree(r);
    return t / (double)got;
}

static double best(double a, double b)
{
    return a < b ? a : b;
}

/* Set by a command-line argument: only the shape of that name runs (and no
 * encoder), for profiling one shape at a time. */
static const char *only;

static void reader_shape(const char *name, const char *unit, size_t ulen, bool hiredis_too)
{
    if (only != NULL && strcmp(only, name) != 0)
        return;
    size_t units, len;
    char *chunk = make_chunk(unit, ulen, &units, &len);
    size_t total = 2000000 / (ulen / 16 + 1) + units;
    double a = 1e30, h = 1e30;
    for (int pass = 0; pass < 3; pass++) {
        a = best(a, arc_reader_ns(chunk, len, units, total));
        if (hiredis_too)
            h = best(h, hiredis_reader_ns(chunk, len, total));
    }
    printf("reader,%s,arc,%.2f\n", name, a);
    if (hiredis_too)
        printf("reader,%s,hiredis,%.2f\n", name, h);
    free(chunk);
}

static void encoder(void)
{
    const size_t total = 2000000;
    double a_argv = 1e30, a_fmt = 1e30, h_argv = 1e30, h_fmt = 1e30;
    const char *argv[] = {"SET", "key:000000000001", "0123456789abcdef"};
    size_t lens[] = {3, 16, 16};
    for (int pass = 0; pass < 3; pass++) {
        arc_buffer *b = arc_buffer_new(0, NULL);
        double t0 = now_ns();
        for (size_t i = 0; i < total; i++) {
            arc_format_argv(b, 3, argv, lens);
            if (i % 1000 == 999)
                arc_buffer_clear(b);
        }
        a_argv = best(a_argv, (now_ns() - t0) / (double)total);
        arc_buffer_clear(b);
        t0 = now_ns();
        for (size_t i = 0; i < total; i++) {
            arc_format(b, "SET %s %b", argv[1], argv[2], lens[2]);
            if (i % 1000 == 999)
                arc_buffer_clear(b);
        }
        a_fmt = best(a_fmt, (now_ns() - t0) / (double)total);
        arc_buffer_free(b);
        /* hiredis formats into a fresh allocation per command. */
        t0 = now_ns();
        for (size_t i = 0; i < total; i++) {
            char *cmd;
            redisFormatCommandArgv(&cmd, 3, argv, lens);
            free(cmd);
        }
        h_argv = best(h_argv, (now_ns() - t0) / (double)total);
        t0 = now_ns();
        for (size_t i = 0; i < total; i++) {
            char *cmd;
            redisFormatCommand(&cmd, "SET %s %b", argv[1], argv[2], lens[2]);
            free(cmd);
        }
        h_fmt = best(h_fmt, (now_ns() - t0) / (double)total);
    }
    printf("encoder,argv,arc,%.2f\nencoder,argv,hiredis,%.2f\n", a_argv, h_argv);
    printf("encoder,printf,arc,%.2f\nencoder,printf,hiredis,%.2f\n", a_fmt, h_fmt);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        only = argv[1];
    static char arr[4096];
    size_t n = (size_t)snprintf(arr, sizeof arr, "*100\r\n");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(arr + n, sizeof arr - n, "$16\r\n0123456789abcdef\r\n");
    static char kib[1100];
    size_t k = (size_t)snprintf(kib, sizeof kib, "$1024\r\n");
    memset(kib + k, 'v', 1024);
    memcpy(kib + k + 1024, "\r\n", 2);
    k += 1026;
    static const char map[] = "%2\r\n$5\r\nfield\r\n:1\r\n$6\r\nfield2\r\n,2.5\r\n";
    reader_shape("status", "+OK\r\n", 5, true);
    reader_shape("bulk16", "$16\r\n0123456789abcdef\r\n", 23, true);
    reader_shape("array100", arr, n, true);
    reader_shape("bulk1k", kib, k, true);
    reader_shape("integer", ":1234567\r\n", 10, true);
    reader_shape("map-resp3", map, sizeof map - 1, BENCH_PEER_RESP3);
    /* The other RESP3 shapes, for arc and the peers whose reader takes RESP3
     * (not hiredis 0.14). The doubles are the two ways servers print 3.14:
     * Redis 7.2's shortest form, and the %.17g of older servers, which has
     * more digits than a double holds. */
    reader_shape("double-resp3", ",3.14\r\n", 7, BENCH_PEER_RESP3);
    reader_shape("double17-resp3", ",3.1400000000000001\r\n", 21, BENCH_PEER_RESP3);
    reader_shape("bool-resp3", "#t\r\n", 4, BENCH_PEER_RESP3);
    static char set[512];
    size_t sn = (size_t)snprintf(set, sizeof set, "~16\r\n");
    for (int i = 0; i < 16; i++)
        sn += (size_t)snprintf(set + sn, sizeof set - sn, "$8\r\nmember%02d\r\n", i);
    reader_shape("set16-resp3", set, sn, BENCH_PEER_RESP3);
    /* Three levels, two wide: the aggregate stack pushed and popped. */
    static const char nested[] = "*2\r\n*2\r\n*2\r\n:1\r\n:2\r\n*2\r\n:3\r\n:4\r\n"
                                 "*2\r\n*2\r\n:5\r\n:6\r\n*2\r\n:7\r\n:8\r\n";
    reader_shape("nested-resp3", nested, sizeof nested - 1, false);
    if (only == NULL || strcmp(only, "encoder") == 0)
        encoder();
    return 0;
}
