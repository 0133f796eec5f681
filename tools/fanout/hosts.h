/* hosts.h (arc-fanout): the servers to ask, from the command line and from
 * host files. */
#ifndef ARC_FANOUT_HOSTS_H
#define ARC_FANOUT_HOSTS_H

#include <stddef.h>
#include <stdio.h>

/* The port of a host given without one. */
#define FO_DEFAULT_PORT 6379

/* One server. Every string is owned by the list. */
typedef struct fo_target {
    char *spec; /* as the user wrote it: the server's name in all output */
    char *host; /* TCP host name or address (an IPv6 one without brackets);
                   NULL for a unix socket */
    int port;
    char *path; /* the unix socket path; NULL for TCP */
} fo_target;

typedef struct fo_targets {
    fo_target *v;
    size_t n;
    size_t cap;
} fo_targets;

/* Parses one server and appends it:
 *   HOST            TCP, port 6379
 *   HOST:PORT       TCP
 *   [IPV6]:PORT     TCP over IPv6 (and [IPV6] for port 6379)
 *   IPV6            more than one colon and no brackets: an IPv6 address,
 *                   port 6379
 *   /PATH, ./PATH, ../PATH   a unix socket
 * Returns 0, or -1 with the reason in err (bad port, empty host, a control
 * character, out of memory); the list is unchanged then. */
int fo_targets_add(fo_targets *list, const char *spec, char *err, size_t errlen);

/* Appends every server of `f`: one per line, surrounding blanks ignored,
 * blank lines and lines starting with '#' skipped. `name` names the file in
 * messages ("hosts.txt:3: ..."). Returns 0, or -1 with the reason in err at
 * the first bad line or read error (servers before it stay in the list). */
int fo_targets_read(fo_targets *list, FILE *f, const char *name, char *err, size_t errlen);

void fo_targets_free(fo_targets *list);

#endif
