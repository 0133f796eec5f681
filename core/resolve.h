/* resolve.h (internal): name resolution off the event loop. Each lookup
 * runs getaddrinfo (through the context's resolver seam) on a thread of its
 * own and signals completion on a descriptor that the loop watches for
 * readability, the way the one-descriptor hook model can see it. */
#ifndef ARC_CORE_RESOLVE_H
#define ARC_CORE_RESOLVE_H

#include "net.h"

typedef struct arc_resolve_job arc_resolve_job;

/* Starts a lookup of host:port. ARC_OK with *job, ARC_ERR_NOFD (no
 * descriptor for the signal), ARC_ERR_NOMEM (no memory or no thread). */
int arc__resolve_start(const arc_resolver *rv, const char *host, int port, int family,
                       arc_resolve_job **job);

/* Readable once the lookup is done. */
int arc__resolve_fd(const arc_resolve_job *job);

/* True once the lookup is done (a wake-up can be spurious). */
bool arc__resolve_done(const arc_resolve_job *job);

/* Takes the outcome of a finished lookup, as arc__net_addrs() does, and
 * releases the job. */
int arc__resolve_finish(arc_resolve_job *job, const arc_allocator *alloc, arc_addr **out,
                        size_t *count, char *msg, size_t msglen);

/* Gives a lookup up (timeout, arc_free): it finishes on its own thread
 * and frees itself; the caller never hears of it again. */
void arc__resolve_abandon(arc_resolve_job *job);

#endif
