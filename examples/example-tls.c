/* example-tls: PING and INFO over TLS, the certificate verified against a
 * CA file, with a per-command timeout, on the built-in poll loop.
 *   usage: example-tls [HOST [PORT [CA_FILE]]]
 * Without CA_FILE the system trust store is used (a managed service). */
#include <arc/adapters/poll.h>
#include <arc/tls.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failed;

static void on_connect(arc_context *c, int status, void *data)
{
    (void)data;
    if (status != ARC_OK) {
        fprintf(stderr, "connect failed: %s (%s)\n", arc_strerror(status), arc_context_error(c));
        failed = 1;
    } else {
        printf("connected over %s%s\n", arc_tls_version_of(c),
               arc_tls_resumed(c) ? ", session resumed" : "");
    }
}

static void on_ping(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)c;
    (void)privdata;
    if (r == NULL || r->type == ARC_REPLY_ERROR) {
        fprintf(stderr, "PING failed: %s\n", r ? r->str : arc_strerror(status));
        failed = 1;
    } else {
        printf("PING -> %.*s\n", (int)r->len, r->str);
    }
}

static void on_info(arc_context *c, arc_reply *r, int status, void *privdata)
{
    (void)privdata;
    if (r == NULL || r->type != ARC_REPLY_STRING) {
        fprintf(stderr, "INFO failed: %s\n", r ? arc_reply_type_name(r->type) : arc_strerror(status));
        failed = 1;
    } else {
        const char *v = strstr(r->str, "redis_version:");
        printf("server %.*s\n", v ? (int)strcspn(v, "\r\n") : 7, v ? v : "unknown");
    }
    arc_disconnect(c);
}

int main(int argc, char **argv)
{
    arc_tls_options t = {0};
    t.ca_file = argc > 3 ? argv[3] : NULL; /* NULL: the system trust store */
    char err[256];
    arc_tls *tls = arc_tls_new(&t, err, sizeof err);
    if (tls == NULL) {
        fprintf(stderr, "TLS setup failed: %s\n", err);
        return 1;
    }

    arc_options opt = {0};
    opt.host = argc > 1 ? argv[1] : "localhost"; /* the name the certificate says */
    opt.port = argc > 2 ? atoi(argv[2]) : 6380;
    opt.connect_timeout_ms = 5000;
    opt.command_timeout_ms = 5000;
    opt.on_connect = on_connect;
    opt.transport = arc_tls_transport(tls);

    arc_poll_loop *loop = arc_poll_loop_new();
    arc_context *c = arc_connect(&opt);
    int status = loop == NULL || c == NULL ? ARC_ERR_NOMEM : arc_poll_attach(c, loop);
    if (status != ARC_OK) {
        fprintf(stderr, "setup failed: %s\n", arc_strerror(status));
        failed = 1;
    } else {
        arc_command_options quick = {.timeout_ms = 1000}; /* this one only */
        if (arc_command_with(c, &quick, on_ping, NULL, "PING") != ARC_OK ||
            arc_command(c, on_info, NULL, "INFO server") != ARC_OK) {
            failed = 1;
            arc_disconnect(c);
        }
        arc_poll_loop_run(loop);
    }

    arc_free(c);
    arc_poll_loop_free(loop);
    arc_tls_free(tls); /* after every context that used it */
    return failed ? 1 : 0;
}
