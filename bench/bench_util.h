/* bench_util.h: what the small bench programs share: a monotonic clock,
 * the process's CPU time (and its system part), and an allocator that counts the bytes live. */
#ifndef ARC_BENCH_UTIL_H
#define ARC_BENCH_UTIL_H

#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

/* CLOCK_MONOTONIC in seconds. */
static inline double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* User + system CPU time of the process so far, in seconds (getrusage). */
static inline double bench_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The system part of bench_cpu_s(), in seconds. getrusage samples which of
 * the two a tick falls in, so the split holds only over runs of seconds. */
static inline double bench_sys_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

typedef struct bench_counter {
    size_t live;
} bench_counter;

/* An arc_allocator function (ud: a bench_counter) keeping the bytes live:
 * each block carries its size in front, so that frees can be counted. */
static inline void *bench_counting(void *ud, void *ptr, size_t size)
{
    bench_counter *k = (bench_counter *)ud;
    size_t *p = ptr ? (size_t *)ptr - 2 : NULL;
    if (size == 0) {
        if (p != NULL) {
            k->live -= p[0];
            free(p);
        }
        return NULL;
    }
    size_t old = p ? p[0] : 0;
    size_t *q = (size_t *)realloc(p, size + 2 * sizeof(size_t));
    if (q == NULL)
        return NULL;
    k->live += size - old;
    q[0] = size;
    return q + 2;
}

#endif
