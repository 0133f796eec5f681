/* fake_resolver.c (tests): the resolver hook's stand-in. */
#define _GNU_SOURCE
#include "fake_resolver.h"

#include "net.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>

static const char *const *fake_hosts;
static int fake_port_number;

static int fake_getaddrinfo(const char *node, const char *service,
                            const struct addrinfo *hints, struct addrinfo **res)
{
    (void)node;
    (void)service;
    (void)hints;
    struct addrinfo *head = NULL, **tail = &head;
    for (int i = 0; i < 8 && fake_hosts[i] != NULL; i++) {
        struct addrinfo *ai = calloc(1, sizeof *ai + sizeof(struct sockaddr_in));
        if (ai == NULL)
            break;
        struct sockaddr_in *sin = (struct sockaddr_in *)(ai + 1);
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)fake_port_number);
        inet_pton(AF_INET, fake_hosts[i], &sin->sin_addr);
        ai->ai_family = AF_INET;
        ai->ai_socktype = SOCK_STREAM;
        ai->ai_addr = (struct sockaddr *)sin;
        ai->ai_addrlen = sizeof *sin;
        *tail = ai;
        tail = &ai->ai_next;
    }
    *res = head;
    return head ? 0 : EAI_MEMORY;
}

static void fake_freeaddrinfo(struct addrinfo *ai)
{
    while (ai != NULL) {
        struct addrinfo *next = ai->ai_next;
        free(ai);
        ai = next;
    }
}

void fake_resolver_on(const char *const *hosts, int port)
{
    fake_hosts = hosts;
    fake_port_number = port;
    arc__net_set_resolver(fake_getaddrinfo, fake_freeaddrinfo);
}

void fake_resolver_off(void)
{
    arc__net_set_resolver(NULL, NULL);
}
