/* server.h (arc-fanout): one server's row: its member of the group and the
 * outcome of its last round, as every output reads them. */
#ifndef ARC_FANOUT_SERVER_H
#define ARC_FANOUT_SERVER_H

#include "hosts.h"
#include "text.h"

#include <arc/group.h>

typedef struct fo_server {
    const fo_target *target; /* its name (target->spec) and address */
    arc_member *member;      /* NULL once the group is freed */
    bool pending;            /* the current round's command is out */
    unsigned round;          /* the round `outcome` is from; 0: none yet */
    bool answered;           /* a reply came (an error reply included) */
    bool error_reply;
    fo_text outcome; /* the reply (brief form) or why none came */
    long ms;         /* from the round's start to the outcome */
} fo_server;

/* The addresses the member tried, on one line: "ADDRESS OUTCOME, ..."
 * where OUTCOME is "ok", the failure's status in lower case without its
 * ARC_ERR_ prefix ("refused"), or "..." while the attempt goes on. */
void fo_server_addresses(fo_text *t, const arc_member *m);

/* Labels for people, written into `buf` (which is returned): a state's
 * name in lower case ("ready"), a status's without its ARC_ERR_ prefix
 * ("refused"; ARC_OK is "ok"). */
const char *fo_state_label(arc_state s, char *buf, size_t len);
const char *fo_status_label(int status, char *buf, size_t len);

#endif
