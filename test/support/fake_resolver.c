/* fake_resolver.c (tests): the resolver hook's stand-in. */
#define _GNU_SOURCE
#include "fake_resolver.h"

#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The core calls the fake from its lookup threads while a test thread may
 * change what it answers: everything below is read and written under
 * `lock`, and a lookup takes a copy before it sleeps. */
typedef struct fake_entry {
    struct in_addr addr;
    int port; /* 0: the port fake_resolver_on() was given */
} fake_entry;

typedef struct fake_config {
    fake_entry entries[FAKE_RESOLVER_MAX];
    int n;
    int port;
    long delay_ms;
} fake_config;

/* The longest a hold keeps one lookup waiting. */
#define HOLD_MAX_S 10

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t released = PTHREAD_COND_INITIALIZER;
static bool held;
static fake_config config;
static fake_resolver_counts counts;

static void count(int *which)
{
    pthread_mutex_lock(&lock);
    (*which)++;
    pthread_mutex_unlock(&lock);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* One entry of a result, with its address in the same allocation. */
static struct addrinfo *new_entry(int family, const void *addr, int port)
{
    struct addrinfo *ai = calloc(1, sizeof *ai + sizeof(struct sockaddr_in6));
    if (ai == NULL)
        return NULL;
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)(ai + 1);
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        memcpy(&sin->sin_addr, addr, sizeof sin->sin_addr);
        ai->ai_addrlen = sizeof *sin;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(ai + 1);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        memcpy(&sin6->sin6_addr, addr, sizeof sin6->sin6_addr);
        ai->ai_addrlen = sizeof *sin6;
    }
    ai->ai_family = family;
    ai->ai_socktype = SOCK_STREAM;
    ai->ai_addr = (struct sockaddr *)(ai + 1);
    return ai;
}

static int fake_getaddrinfo(const char *node, const char *service,
                            const struct addrinfo *hints, struct addrinfo **res)
{
    (void)hints;
    count(&counts.started);
    int service_port = service ? atoi(service) : 0;
    struct addrinfo *head = NULL, **tail = &head;
    unsigned char literal[sizeof(struct in6_addr)];
    int family = inet_pton(AF_INET, node, literal) == 1    ? AF_INET
                 : inet_pton(AF_INET6, node, literal) == 1 ? AF_INET6
                                                           : AF_UNSPEC;
    if (family != AF_UNSPEC) {
        /* A numeric host needs no lookup: answer it as itself, at once. */
        head = new_entry(family, literal, service_port);
    } else {
        pthread_mutex_lock(&lock);
        fake_config now = config;
        /* Bounded, so that a lookup run on the loop's own thread (a
         * regression) fails the scenario that holds it instead of hanging. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += HOLD_MAX_S;
        while (held && pthread_cond_timedwait(&released, &lock, &until) != ETIMEDOUT) {
        }
        pthread_mutex_unlock(&lock);
        if (now.delay_ms > 0)
            sleep_ms(now.delay_ms);
        for (int i = 0; i < now.n; i++) {
            int port = now.entries[i].port ? now.entries[i].port : now.port;
            struct addrinfo *ai = new_entry(AF_INET, &now.entries[i].addr, port);
            if (ai == NULL)
                break;
            *tail = ai;
            tail = &ai->ai_next;
        }
    }
    *res = head;
    count(&counts.finished);
    return head ? 0 : EAI_MEMORY;
}

static void fake_freeaddrinfo(struct addrinfo *ai)
{
    if (ai != NULL)
        count(&counts.freed);
    while (ai != NULL) {
        struct addrinfo *next = ai->ai_next;
        free(ai);
        ai = next;
    }
}

/* "A.B.C.D" or "A.B.C.D:PORT" into *e; false when it is neither. */
static bool parse_entry(const char *s, fake_entry *e)
{
    char ip[INET_ADDRSTRLEN];
    const char *colon = strchr(s, ':');
    size_t n = colon ? (size_t)(colon - s) : strlen(s);
    if (n >= sizeof ip)
        return false;
    memcpy(ip, s, n);
    ip[n] = '\0';
    if (inet_pton(AF_INET, ip, &e->addr) != 1)
        return false;
    e->port = 0;
    if (colon != NULL) {
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (*end != '\0' || port <= 0 || port > 65535)
            return false;
        e->port = (int)port;
    }
    return true;
}

void fake_resolver_on(const char *const *hosts, int port)
{
    fake_config next;
    memset(&next, 0, sizeof next);
    next.port = port;
    for (int i = 0; hosts[i] != NULL && next.n < FAKE_RESOLVER_MAX; i++)
        if (parse_entry(hosts[i], &next.entries[next.n]))
            next.n++;
    pthread_mutex_lock(&lock);
    config = next;
    held = false;
    pthread_cond_broadcast(&released);
    pthread_mutex_unlock(&lock);
    arc__net_set_resolver(fake_getaddrinfo, fake_freeaddrinfo);
}

void fake_resolver_off(void)
{
    arc__net_set_resolver(NULL, NULL);
}

void fake_resolver_delay(long ms)
{
    pthread_mutex_lock(&lock);
    config.delay_ms = ms;
    pthread_mutex_unlock(&lock);
}

void fake_resolver_hold(bool hold)
{
    pthread_mutex_lock(&lock);
    held = hold;
    if (!hold)
        pthread_cond_broadcast(&released);
    pthread_mutex_unlock(&lock);
}

fake_resolver_counts fake_resolver_counts_now(void)
{
    pthread_mutex_lock(&lock);
    fake_resolver_counts now = counts;
    pthread_mutex_unlock(&lock);
    return now;
}
