/* example-group: one command to many servers from one loop. A group of
 * three members (the server twice, the second with options of its own,
 * and a port where nothing listens) gets one fan-out of INFO server; each member's
 * answer or failure is printed as it ends, then the table of changes.
 *   usage: example-group [HOST [PORT]] */
#include <arc/adapters/poll.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int done;

static void on_reply(arc_group *g, arc_member *m, arc_reply *r, int status, void *privdata)
{
    (void)g;
    (void)privdata;
    if (r != NULL && r->type == ARC_REPLY_STRING) {
        const char *v = strstr(r->str, "redis_version:");
        int n = v ? (int)strcspn(v, "\r\n") : 0;
        printf("%-22s %.*s\n", arc_member_name(m), n, v ? v : "");
        arc_member_set_user_status(m, 1); /* answered: the caller's own field */
    } else {
        printf("%-22s no reply: %s (%s)\n", arc_member_name(m), arc_status_name(status),
               arc_member_error(m));
    }
}

static void on_done(arc_group *g, arc_fanout *f, void *privdata)
{
    (void)g;
    (void)privdata;
    printf("answered %zu, failed %zu\n", arc_fanout_answered(f), arc_fanout_failed(f));
    done = 1;
}

int main(int argc, char **argv)
{
    const char *host = argc > 1 ? argv[1] : "127.0.0.1";
    int port = argc > 2 ? atoi(argv[2]) : 6379;
    arc_options member = {0};
    member.connect_timeout_ms = 2000;
    arc_group_options go = {0};
    go.member_options = &member; /* every member starts from these */
    arc_group *g = arc_group_new(&go);
    arc_poll_loop *loop = arc_poll_loop_new();
    if (g == NULL || loop == NULL)
        return 1;
    arc_member *a = arc_group_add(g, host, port, NULL);
    arc_options own = member; /* full options: another database */
    own.host = host;
    own.port = port;
    own.db = 1;
    arc_member *b = arc_group_add_options(g, &own);
    arc_member *refused = arc_group_add(g, host, 1, NULL); /* nothing listens on port 1 */
    arc_group_attach(g, arc_poll_attach_loop, loop);

    arc_fanout_options fo = {0};
    fo.timeout_ms = 2000;
    fo.on_reply = on_reply;
    fo.on_done = on_done;
    if (arc_group_fanout(g, &fo, "INFO server") != ARC_OK)
        return 1;
    while (!done)
        arc_poll_loop_run_once(loop, 100);

    /* Each member that changed since the last look, once. */
    arc_state was;
    for (arc_member *m; (m = arc_group_next_changed(g, &was)) != NULL;)
        printf("%-22s %s -> %s, %zu address(es) tried\n", arc_member_name(m),
               arc_state_name(was), arc_state_name(arc_member_state(m)), arc_member_attempts(m));
    int ok = arc_member_user_status(a) && arc_member_user_status(b) &&
             arc_member_state(refused) == ARC_STATE_FAILED &&
             arc_member_failure(refused) == ARC_ERR_REFUSED;
    arc_group_free(g);
    arc_poll_loop_free(loop);
    return ok ? 0 : 1;
}
