/* report.h (arc-fanout): one server's outcome in a round, as the lines,
 * the JSON and the table show it. */
#ifndef ARC_FANOUT_REPORT_H
#define ARC_FANOUT_REPORT_H

#include "server.h"
#include "text.h"

#include <arc/reply.h>

typedef struct fo_report {
    const fo_server *server; /* its name, member and round's ms */
    const arc_reply *reply;  /* NULL: none came */
    int status;              /* what the fan-out said for the member */
    unsigned round;
    long timeout_ms; /* the command's, for a timeout's message */
} fo_report;

/* "NAME\tok\tREPLY\n", "NAME\terror\tTEXT\n" or
 * "NAME\tfailed\tSTATUS MESSAGE\n", escaped to stay one line. */
void fo_report_line(fo_text *t, const fo_report *r);

/* One JSON object and a newline (fields in docs/arc-fanout.md). */
void fo_report_json(fo_text *t, const fo_report *r);

/* The table's cell: the reply's brief form (about `limit` bytes at most),
 * or "STATUS: MESSAGE". */
void fo_report_brief(fo_text *t, const fo_report *r, size_t limit);

#endif
