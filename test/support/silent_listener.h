/* silent_listener.h (tests): a TCP server that accepts connections and never speaks. */
#ifndef ARC_TEST_SILENT_LISTENER_H
#define ARC_TEST_SILENT_LISTENER_H

/* Listens on 127.0.0.1 at a free port, which it stores in *port. The
 * kernel completes the TCP handshake of up to 64 clients (the listen
 * backlog) and nobody ever accepts, reads or writes: a client sees its
 * connect succeed and then silence, as from a server that stalls before
 * (or in the middle of) a TLS handshake. Knows nothing of TLS or RESP.
 * Returns the listening fd (close-on-exec), which the caller closes; closing
 * it resets the connections waiting in the backlog. -1 on failure, reason
 * on stderr. */
int test_tcp_listener_silent(int *port);

#endif
