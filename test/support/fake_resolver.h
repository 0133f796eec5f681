/* fake_resolver.h (tests): make any host name resolve to a list of IPv4
 * loopback addresses, through the core's resolver hook, so that "a host with
 * several addresses" needs no /etc/hosts entry. */
#ifndef ARC_TEST_FAKE_RESOLVER_H
#define ARC_TEST_FAKE_RESOLVER_H

/* Until fake_resolver_off(), every name resolves to `hosts` (dotted IPv4,
 * NULL-terminated, at most 8; the strings must outlive the use) on `port`. */
void fake_resolver_on(const char *const *hosts, int port);
void fake_resolver_off(void);

#endif
