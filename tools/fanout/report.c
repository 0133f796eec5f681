/* report.c (arc-fanout): the forms of report.h. */
#include "report.h"

#include "render.h"

#include <arc/arc.h>

#include <string.h>

/* Statuses that only say the connection was not there: the member's own
 * failure (refused, a timeout while connecting...) says why. */
static bool connection_status(int status)
{
    return status == ARC_ERR_NOT_SENT || status == ARC_ERR_UNANSWERED || status == ARC_ERR_CLOSED ||
           status == ARC_ERR_OFFLINE;
}

/* The status to show for a member that got no reply; its message goes
 * into `msg`. */
static int failure_of(const fo_report *r, fo_text *msg)
{
    const arc_member *m = r->server->member;
    int failure = arc_member_failure(m);
    if (r->status == ARC_ERR_FREED) {
        /* The group was freed under the fan-out: only SIGINT does that. */
        fo_text_puts(msg, "interrupted");
        return r->status;
    }
    if (failure != ARC_OK && connection_status(r->status)) {
        const char *e = arc_member_error(m);
        fo_text_puts(msg, e[0] != '\0' ? e : arc_strerror(failure));
        if (r->status == ARC_ERR_UNANSWERED)
            fo_text_puts(msg, " (the command was sent: it may have run)");
        return failure;
    }
    fo_text_puts(msg, arc_strerror(r->status));
    if (r->status == ARC_ERR_TIMEOUT)
        fo_text_printf(msg, " (no reply within %ld ms)", r->timeout_ms);
    else if (r->status == ARC_ERR_UNANSWERED)
        fo_text_puts(msg, " (the command was sent: it may have run)");
    return r->status;
}

static bool error_reply(const fo_report *r)
{
    return r->reply != NULL && r->reply->type == ARC_REPLY_ERROR;
}

void fo_report_line(fo_text *t, const fo_report *r)
{
    const char *name = r->server->target->spec;
    fo_escape_line(t, name, strlen(name));
    if (error_reply(r)) {
        fo_text_puts(t, "\terror\t");
        fo_escape_line(t, r->reply->str, r->reply->len);
    } else if (r->reply != NULL) {
        fo_text_puts(t, "\tok\t");
        fo_reply_line(t, r->reply, false, 0);
    } else {
        fo_text msg = {0};
        int shown = failure_of(r, &msg);
        fo_text_printf(t, "\tfailed\t%s ", arc_status_name(shown));
        fo_escape_line(t, fo_text_str(&msg), msg.len);
        if (msg.failed)
            t->failed = true;
        fo_text_free(&msg);
    }
    fo_text_putc(t, '\n');
}

static void json_addresses(fo_text *t, const arc_member *m)
{
    int64_t now = arc_now_ms();
    fo_text_putc(t, '[');
    size_t n = arc_member_attempts(m);
    for (size_t i = 0; i < n; i++) {
        const arc_attempt *a = arc_member_attempt(m, i);
        if (a == NULL)
            break;
        fo_text_puts(t, i > 0 ? ",{\"address\":" : "{\"address\":");
        fo_json_cstring(t, a->address);
        fo_text_puts(t, ",\"status\":");
        if (a->done)
            fo_json_cstring(t, arc_status_name(a->status));
        else
            fo_text_puts(t, "null");
        fo_text_printf(t, ",\"ms\":%ld}", a->done ? a->duration_ms : (long)(now - a->started_ms));
    }
    fo_text_putc(t, ']');
}

void fo_report_json(fo_text *t, const fo_report *r)
{
    const arc_member *m = r->server->member;
    bool answered = r->reply != NULL;
    fo_text_puts(t, "{\"server\":");
    fo_json_cstring(t, r->server->target->spec);
    fo_text_printf(t, ",\"round\":%u,\"ok\":%s,\"answered\":%s,\"state\":", r->round,
                   answered && !error_reply(r) ? "true" : "false", answered ? "true" : "false");
    fo_json_cstring(t, arc_state_name(arc_member_state(m)));
    fo_text_puts(t, ",\"status\":");
    fo_json_cstring(t, arc_status_name(r->status));
    /* The connection's failure only where it explains a missing reply: it
     * is kept after the fact, and would mislead next to an answer. */
    fo_text_puts(t, ",\"failure\":");
    int failure = arc_member_failure(m);
    if (!answered && failure != ARC_OK)
        fo_json_cstring(t, arc_status_name(failure));
    else
        fo_text_puts(t, "null");
    fo_text_puts(t, ",\"error\":");
    if (!answered) {
        fo_text msg = {0};
        failure_of(r, &msg);
        fo_json_string(t, fo_text_str(&msg), msg.len);
        if (msg.failed)
            t->failed = true;
        fo_text_free(&msg);
    } else {
        fo_text_puts(t, "null");
    }
    fo_text_puts(t, ",\"reply\":");
    fo_json_reply(t, r->reply);
    fo_text_puts(t, ",\"addresses\":");
    json_addresses(t, m);
    fo_text_printf(t, ",\"ms\":%ld}\n", r->server->ms);
}

void fo_report_brief(fo_text *t, const fo_report *r, size_t limit)
{
    if (r->reply != NULL) {
        fo_reply_line(t, r->reply, true, limit);
        return;
    }
    fo_text msg = {0};
    int shown = failure_of(r, &msg);
    fo_text_printf(t, "%s: ", arc_status_name(shown));
    fo_escape_line(t, fo_text_str(&msg), msg.len);
    fo_text_free(&msg);
}
