/* transport.h (internal): the plain transport (transport_tcp.c). The
 * interface itself is public, <arc/transport.h>, so that TLS can live in a
 * library of its own. */
#ifndef ARC_CORE_TRANSPORT_H
#define ARC_CORE_TRANSPORT_H

#include <arc/transport.h>

/* Plain stream sockets: send with MSG_NOSIGNAL, recv. */
extern const arc_transport_ops arc__transport_plain;

#endif
