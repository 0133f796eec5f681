/* fake_resolver.h (tests): make any host name resolve to a list of
 * loopback addresses, through the core's resolver hook, so that "a host with
 * several addresses" needs no /etc/hosts entry, and so that a lookup can be
 * made to take its time. */
#ifndef ARC_TEST_FAKE_RESOLVER_H
#define ARC_TEST_FAKE_RESOLVER_H

#include <stdbool.h>

/* The most entries one lookup answers with. */
#define FAKE_RESOLVER_MAX 16

/* Until fake_resolver_off(), every name resolves to `hosts`, in order
 * (NULL-terminated, at most FAKE_RESOLVER_MAX). An entry is dotted IPv4,
 * "A.B.C.D" on `port`, or "A.B.C.D:PORT" on a port of its own; entries
 * that are neither are skipped. The entries are copied when this is called.
 * It also sets the lookup delay back to 0 and releases a hold, so that a
 * test that failed half-way leaves nothing behind for the next one.
 *
 * The hook is in force for contexts made (arc_connect) from now until
 * fake_resolver_off(); a context keeps it afterwards. A lookup reads the
 * entries and the delay when it starts, on its own thread, so a context
 * made before the next fake_resolver_on() may see that call's entries if
 * its lookup has not started yet: change them only once the lookups of
 * the contexts before have begun (fake_resolver_counts_now().started).
 *
 * An IP literal as the name is answered as itself, with no delay, as a
 * real resolver does for a numeric host. */
void fake_resolver_on(const char *const *hosts, int port);
void fake_resolver_off(void);

/* Lookups that start from now on sleep `ms` first (on the lookup thread,
 * which is what the core's resolver runs them on), until the next
 * fake_resolver_on() or fake_resolver_delay(). */
void fake_resolver_delay(long ms);

/* While held, a lookup that enters the fake waits (on its thread) before
 * it answers, until fake_resolver_hold(false): "a lookup still running"
 * without guessing how long it takes. The wait comes before the delay and
 * lasts 10 s at most. */
void fake_resolver_hold(bool hold);

/* What the fake has done since the process began; counts only grow. */
typedef struct fake_resolver_counts {
    int started;  /* lookups that entered the fake getaddrinfo */
    int finished; /* lookups that returned from it */
    int freed;    /* answers handed back to the fake freeaddrinfo */
} fake_resolver_counts;
fake_resolver_counts fake_resolver_counts_now(void);

#endif
