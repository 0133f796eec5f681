/* test_fanout.c (tests): arc-fanout through its output, as a user runs it:
 * real redis-servers, a port where nothing listens and a unix socket; the
 * lines, the JSON, the table on a pseudo-terminal, rounds with --every,
 * SIGINT, host files, usage errors and the exit statuses. The program is
 * $ARC_FANOUT, its man page $ARC_FANOUT_MAN. */
#define _GNU_SOURCE
#include "fanout_test.h"
#include "tls_certs.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

fanout_env fx;

tool_result run_tool(const tool_opts *o, const char *const *args)
{
    tool_result r;
    assert_int_equal(tool_run(o, args, &r), 0);
    if (r.timed_out)
        fprintf(stderr, "stdout:\n%s\nstderr:\n%s\n", r.out, r.err);
    assert_false(r.timed_out);
    return r;
}

void expect_status(const tool_result *r, int status)
{
    if (r->status != status)
        fprintf(stderr, "exit status %d, expected %d\n--- stdout:\n%s\n--- stderr:\n%s\n",
                r->status, status, r->out, r->err);
    assert_int_equal(r->status, status);
}

int line_of(const char *out, const char *name, char *buf, size_t len)
{
    int found = 0;
    size_t nlen = strlen(name);
    for (const char *p = out; *p != '\0';) {
        const char *end = strchr(p, '\n');
        size_t linelen = end ? (size_t)(end - p) : strlen(p);
        if (linelen > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '\t') {
            if (found++ == 0 && len > 0) {
                size_t n = linelen - nlen - 1;
                n = n < len - 1 ? n : len - 1;
                memcpy(buf, p + nlen + 1, n);
                buf[n] = '\0';
            }
        }
        p += linelen + (end != NULL);
    }
    return found;
}

int count_lines(const char *out)
{
    return tool_count(out, "\n");
}

size_t parse_json_lines(const char *out, jv **v, size_t max)
{
    size_t n = 0;
    for (const char *p = out; *p != '\0';) {
        const char *end = strchr(p, '\n');
        assert_non_null(end); /* every object ends its line */
        char err[200];
        jv *one = jv_parse(p, (size_t)(end - p), err, sizeof err);
        if (one == NULL)
            fprintf(stderr, "not JSON (%s): %.*s\n", err, (int)(end - p), p);
        assert_non_null(one);
        assert_int_equal(one->type, JV_OBJECT);
        assert_true(n < max);
        v[n++] = one;
        p = end + 1;
    }
    return n;
}

const jv *json_field(const jv *obj, const char *key, jv_type type)
{
    const jv *f = jv_get(obj, key);
    if (f == NULL || f->type != type)
        fprintf(stderr, "field \"%s\": %s\n", key, f == NULL ? "missing" : "of another type");
    assert_non_null(f);
    assert_int_equal(f->type, type);
    return f;
}

const jv *json_server(jv *const *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        const jv *s = jv_get(v[i], "server");
        if (s != NULL && s->type == JV_STRING && strcmp(s->str, name) == 0)
            return v[i];
    }
    fprintf(stderr, "no object for server %s\n", name);
    fail();
    return NULL;
}

/* A loopback port that was free a moment ago and has no listener: bound,
 * then closed without listen(). */
static int refused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int group_setup(void **state)
{
    (void)state;
    test_redis_options one = {0};
#ifdef ARC_FANOUT_TEST_TLS
    if (test_tls_files_get() == NULL)
        return -1;
    one.tls = 1;
#endif
    fx.one = test_redis_start(&one);
    fx.two = test_redis_start(NULL);
    fx.locked = test_redis_start(&(test_redis_options){.requirepass = FANOUT_PASSWORD});
    int refused = refused_port();
    if (fx.one == NULL || fx.two == NULL || fx.locked == NULL || refused < 0)
        return -1;
    snprintf(fx.one_name, sizeof fx.one_name, "127.0.0.1:%d", test_redis_port(fx.one));
    snprintf(fx.two_name, sizeof fx.two_name, "localhost:%d", test_redis_port(fx.two));
    snprintf(fx.two_addr, sizeof fx.two_addr, "127.0.0.1:%d", test_redis_port(fx.two));
    snprintf(fx.locked_name, sizeof fx.locked_name, "127.0.0.1:%d", test_redis_port(fx.locked));
    snprintf(fx.refused_name, sizeof fx.refused_name, "127.0.0.1:%d", refused);
    fx.unix_name = test_redis_unix_path(fx.one);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    test_redis_stop(fx.one);
    test_redis_stop(fx.two);
    test_redis_stop(fx.locked);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_each_server_once),
        cmocka_unit_test(all_answered_exits_zero),
        cmocka_unit_test(error_reply_exits_one),
        cmocka_unit_test(concurrency_one_at_a_time),
        cmocka_unit_test(server_forms),
        cmocka_unit_test(json_fields_per_server),
        cmocka_unit_test(json_binary_reply_escaped),
        cmocka_unit_test(json_reply_types),
        cmocka_unit_test(lines_binary_reply_escaped),
        cmocka_unit_test(usage_errors_exit_two),
        cmocka_unit_test(help_names_every_option_of_the_man_page),
        cmocka_unit_test(version_names_the_library),
        cmocka_unit_test(hosts_from_a_file),
        cmocka_unit_test(hosts_from_stdin),
        cmocka_unit_test(bad_host_file_exits_two),
        cmocka_unit_test(table_on_a_terminal),
        cmocka_unit_test(table_taller_than_the_window),
        cmocka_unit_test(output_chosen_against_the_terminal),
        cmocka_unit_test(every_repeats_until_sigint),
        cmocka_unit_test(every_table_stays_live),
        cmocka_unit_test(every_json_numbers_rounds),
        cmocka_unit_test(sigint_reports_pending_servers),
        cmocka_unit_test(password_from_the_environment),
        cmocka_unit_test(database_selected),
        cmocka_unit_test(command_timeout),
        cmocka_unit_test(resp3_map_as_object),
#ifdef ARC_FANOUT_TEST_TLS
        cmocka_unit_test(tls_verified_and_not),
#endif
    };
    return cmocka_run_group_tests_name("fanout", tests, group_setup, group_teardown);
}
