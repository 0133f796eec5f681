/* resolve.c: one thread per lookup, a pipe to say it is done. */
#define _GNU_SOURCE /* pipe2 */
#include "resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A job is shared by the context and its thread, and freed by whichever
 * lets go of it last (`refs`). Its memory comes from malloc, not from the
 * context's allocator: an abandoned lookup finishes after the context, and
 * possibly its allocator, are gone. The addresses handed to the context
 * are copied through the context's allocator. */
struct arc_resolve_job {
    atomic_int refs;
    atomic_bool done;
    int rfd, wfd;
    arc_resolver rv;
    int port;
    int family;
    int rc;  /* getaddrinfo's code */
    int err; /* its errno */
    struct addrinfo *res;
    char host[]; /* the name looked up */
};

static void job_release(arc_resolve_job *j)
{
    if (atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (j->res != NULL)
        j->rv.fai(j->res);
    close(j->rfd);
    close(j->wfd);
    free(j);
}

static void *lookup_thread(void *arg)
{
    arc_resolve_job *j = arg;
    j->rc = arc__net_lookup(&j->rv, j->host, j->port, j->family, &j->res, &j->err);
    atomic_store_explicit(&j->done, true, memory_order_release);
    /* The byte only wakes the loop; a full or abandoned pipe is harmless. */
    ssize_t w;
    do
        w = write(j->wfd, "", 1);
    while (w < 0 && errno == EINTR);
    job_release(j);
    return NULL;
}

int arc__resolve_start(const arc_resolver *rv, const char *host, int port, int family,
                       arc_resolve_job **job)
{
    size_t n = strlen(host);
    arc_resolve_job *j = malloc(sizeof *j + n + 1);
    if (j == NULL)
        return ARC_ERR_NOMEM;
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
        int err = errno;
        free(j);
        return err == EMFILE || err == ENFILE ? ARC_ERR_NOFD : ARC_ERR_NOMEM;
    }
    atomic_init(&j->refs, 2);
    atomic_init(&j->done, false);
    j->rfd = p[0];
    j->wfd = p[1];
    j->rv = *rv;
    j->port = port;
    j->family = family;
    j->rc = 0;
    j->err = 0;
    j->res = NULL;
    memcpy(j->host, host, n + 1);

    pthread_attr_t attr;
    pthread_t tid;
    int rc = pthread_attr_init(&attr);
    if (rc == 0) {
        /* Lookups need little stack; a small one keeps 10,000 contexts
         * resolving at once from reserving gigabytes of address space. */
        (void)pthread_attr_setstacksize(&attr, 256 * 1024);
        (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        rc = pthread_create(&tid, &attr, lookup_thread, j);
        pthread_attr_destroy(&attr);
    }
    if (rc != 0) {
        close(j->rfd);
        close(j->wfd);
        free(j);
        return ARC_ERR_NOMEM;
    }
    *job = j;
    return ARC_OK;
}

int arc__resolve_fd(const arc_resolve_job *job)
{
    return job->rfd;
}

bool arc__resolve_done(const arc_resolve_job *job)
{
    return atomic_load_explicit(&((arc_resolve_job *)job)->done, memory_order_acquire);
}

int arc__resolve_finish(arc_resolve_job *job, const arc_allocator *alloc, arc_addr **out,
                        size_t *count, char *msg, size_t msglen)
{
    struct addrinfo *res = job->res;
    job->res = NULL; /* arc__net_addrs frees it */
    int rc = arc__net_addrs(&job->rv, job->rc, job->err, res, job->host, job->family, alloc,
                            out, count, msg, msglen);
    job_release(job);
    return rc;
}

void arc__resolve_abandon(arc_resolve_job *job)
{
    job_release(job);
}
