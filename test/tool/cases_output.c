/* cases_output.c (tests): what arc-fanout prints per server, as lines and
 * as JSON, and the exit statuses that go with it. */
#define _GNU_SOURCE
#include "fanout_test.h"

#include <stdlib.h>
#include <unistd.h>

#include <stdio.h>
#include <string.h>

void lines_each_server_once(void **state)
{
    (void)state;
    tool_result r =
        run_tool(NULL, ARGS(fx.one_name, fx.two_name, fx.refused_name, fx.unix_name, "--", "PING"));
    expect_status(&r, 1);
    assert_int_equal(count_lines(r.out), 4);
    char rest[512];
    const char *answered[] = {fx.one_name, fx.two_name, fx.unix_name};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(line_of(r.out, answered[i], rest, sizeof rest), 1);
        assert_string_equal(rest, "ok\tPONG");
    }
    assert_int_equal(line_of(r.out, fx.refused_name, rest, sizeof rest), 1);
    assert_true(strncmp(rest, "failed\tARC_ERR_REFUSED ", strlen("failed\tARC_ERR_REFUSED ")) == 0);
    assert_non_null(strstr(rest, "refused"));
    assert_non_null(strstr(r.err, "4 servers: 3 answered, 1 failed in "));
    assert_int_equal(count_lines(r.err), 1);
    tool_result_free(&r);
}

void all_answered_exits_zero(void **state)
{
    (void)state;
    tool_result r = run_tool(NULL, ARGS(fx.one_name, fx.unix_name, "--", "ECHO", "hello there"));
    expect_status(&r, 0);
    char rest[512];
    assert_int_equal(line_of(r.out, fx.one_name, rest, sizeof rest), 1);
    assert_string_equal(rest, "ok\thello there");
    assert_int_equal(line_of(r.out, fx.unix_name, rest, sizeof rest), 1);
    assert_string_equal(rest, "ok\thello there");
    assert_non_null(strstr(r.err, "2 servers: 2 answered, 0 failed in "));
    tool_result_free(&r);
}

/* An error reply is an answer, but not a good one: exit 1. */
void error_reply_exits_one(void **state)
{
    (void)state;
    tool_result r = run_tool(NULL, ARGS(fx.one_name, fx.two_name, "--", "NOSUCHCOMMAND", "x"));
    expect_status(&r, 1);
    char rest[512];
    assert_int_equal(line_of(r.out, fx.one_name, rest, sizeof rest), 1);
    assert_true(strncmp(rest, "error\tERR unknown command", strlen("error\tERR unknown command")) ==
                0);
    assert_non_null(strstr(r.err, "2 servers: 2 answered (2 with an error reply), 0 failed"));
    tool_result_free(&r);
}

/* One connect at a time still reaches every server, the dead one too. */
void concurrency_one_at_a_time(void **state)
{
    (void)state;
    tool_result r = run_tool(NULL, ARGS("-n", "1", fx.one_name, fx.refused_name, fx.two_name,
                                        fx.unix_name, "--", "PING"));
    expect_status(&r, 1);
    assert_int_equal(count_lines(r.out), 4);
    assert_int_equal(tool_count(r.out, "\tok\tPONG\n"), 3);
    assert_int_equal(tool_count(r.out, "\tfailed\tARC_ERR_REFUSED "), 1);
    tool_result_free(&r);

    /* And the long form, all of them answering. */
    r = run_tool(NULL, ARGS("--concurrency=1", fx.one_name, fx.two_name, "--", "PING"));
    expect_status(&r, 0);
    assert_int_equal(tool_count(r.out, "\tok\tPONG\n"), 2);
    tool_result_free(&r);
}

static void check_answered(const jv *o, const char *reply);

/* A server as [IPV6]:PORT (nothing listens on ::1 there: the address
 * tried is the point), and a unix socket by a path relative to the
 * working directory. */
void server_forms(void **state)
{
    (void)state;
    char dir[] = "/tmp/arc-fanout-cwd-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char link[96];
    snprintf(link, sizeof link, "%s/redis.sock", dir);
    assert_int_equal(symlink(fx.unix_name, link), 0);
    char v6[64], v6_tried[80];
    int port = atoi(strrchr(fx.refused_name, ':') + 1);
    snprintf(v6, sizeof v6, "[::1]:%d", port);
    snprintf(v6_tried, sizeof v6_tried, "\"address\":\"[::1]:%d\"", port);

    tool_result r =
        run_tool(&(tool_opts){.cwd = dir}, ARGS("--json", "./redis.sock", v6, "--", "PING"));
    expect_status(&r, 1);
    jv *v[4];
    size_t n = parse_json_lines(r.out, v, 4);
    assert_int_equal(n, 2);
    check_answered(json_server(v, n, "./redis.sock"), "PONG");
    const jv *dead = json_server(v, n, v6);
    assert_false(json_field(dead, "answered", JV_BOOL)->boolean);
    assert_non_null(strstr(r.out, v6_tried));
    for (size_t i = 0; i < n; i++)
        jv_free(v[i]);
    tool_result_free(&r);
    unlink(link);
    rmdir(dir);
}

static void check_addresses(const jv *obj, const char *address, const char *status)
{
    const jv *a = json_field(obj, "addresses", JV_ARRAY);
    assert_true(a->n >= 1);
    bool found = false;
    for (size_t i = 0; i < a->n; i++) {
        const jv *addr = json_field(a->items[i], "address", JV_STRING);
        const jv *st = jv_get(a->items[i], "status");
        assert_non_null(st);
        assert_true(json_field(a->items[i], "ms", JV_NUMBER)->number >= 0);
        if (strcmp(addr->str, address) == 0) {
            assert_int_equal(st->type, JV_STRING);
            assert_string_equal(st->str, status);
            found = true;
        }
    }
    assert_true(found);
}

static void check_answered(const jv *o, const char *reply)
{
    assert_true(json_field(o, "ok", JV_BOOL)->boolean);
    assert_true(json_field(o, "answered", JV_BOOL)->boolean);
    assert_string_equal(json_field(o, "state", JV_STRING)->str, "READY");
    assert_string_equal(json_field(o, "status", JV_STRING)->str, "ARC_OK");
    json_field(o, "failure", JV_NULL);
    json_field(o, "error", JV_NULL);
    assert_string_equal(json_field(o, "reply", JV_STRING)->str, reply);
    assert_int_equal(json_field(o, "round", JV_NUMBER)->number, 1);
    assert_true(json_field(o, "ms", JV_NUMBER)->number >= 0);
}

void json_fields_per_server(void **state)
{
    (void)state;
    tool_result r = run_tool(NULL, ARGS("--json", fx.one_name, fx.two_name, fx.refused_name,
                                        fx.unix_name, "--", "PING"));
    expect_status(&r, 1);
    jv *v[8];
    size_t n = parse_json_lines(r.out, v, 8);
    assert_int_equal(n, 4);

    const jv *one = json_server(v, n, fx.one_name);
    check_answered(one, "PONG");
    check_addresses(one, fx.one_name, "ARC_OK");
    /* localhost was looked up: the address that answered is the one of
     * the name. */
    const jv *two = json_server(v, n, fx.two_name);
    check_answered(two, "PONG");
    check_addresses(two, fx.two_addr, "ARC_OK");
    const jv *local = json_server(v, n, fx.unix_name);
    check_answered(local, "PONG");
    check_addresses(local, fx.unix_name, "ARC_OK");

    const jv *dead = json_server(v, n, fx.refused_name);
    assert_false(json_field(dead, "ok", JV_BOOL)->boolean);
    assert_false(json_field(dead, "answered", JV_BOOL)->boolean);
    assert_string_equal(json_field(dead, "state", JV_STRING)->str, "FAILED");
    assert_string_not_equal(json_field(dead, "status", JV_STRING)->str, "ARC_OK");
    assert_string_equal(json_field(dead, "failure", JV_STRING)->str, "ARC_ERR_REFUSED");
    assert_non_null(strstr(json_field(dead, "error", JV_STRING)->str, "refused"));
    json_field(dead, "reply", JV_NULL);
    check_addresses(dead, fx.refused_name, "ARC_ERR_REFUSED");
    for (size_t i = 0; i < n; i++)
        jv_free(v[i]);
    tool_result_free(&r);
}

/* NUL, newline, quote, backslash, a byte that is no UTF-8 and a real
 * UTF-8 character, in one value. */
static const char binary_value[] = "a\0b\nc\"\\\xff\xc3\xa9";
#define BINARY_LEN (sizeof binary_value - 1)

static void set_binary(void)
{
    arc_reply *ok =
        test_redis_command(fx.two, "SET %s %b", "fanout:bin", binary_value, (size_t)BINARY_LEN);
    assert_non_null(ok);
    assert_int_equal(ok->type, ARC_REPLY_STATUS);
    arc_reply_free(ok);
}

void json_binary_reply_escaped(void **state)
{
    (void)state;
    set_binary();
    tool_result r = run_tool(NULL, ARGS("--json", fx.two_name, "--", "GET", "fanout:bin"));
    expect_status(&r, 0);
    /* As escaped on the wire: \u0000 for the NUL, \u00ff for the stray
     * byte, the UTF-8 character as it is. */
    assert_non_null(strstr(r.out, "\"reply\":\"a\\u0000b\\nc\\\"\\\\\\u00ff\xc3\xa9\""));
    jv *v[2];
    assert_int_equal(parse_json_lines(r.out, v, 2), 1);
    const jv *reply = json_field(v[0], "reply", JV_STRING);
    static const char decoded[] = "a\0b\nc\"\\\xc3\xbf\xc3\xa9"; /* 0xff read as U+00FF */
    assert_int_equal(reply->len, sizeof decoded - 1);
    assert_memory_equal(reply->str, decoded, sizeof decoded - 1);
    jv_free(v[0]);
    tool_result_free(&r);
}

void lines_binary_reply_escaped(void **state)
{
    (void)state;
    set_binary();
    tool_result r = run_tool(NULL, ARGS(fx.two_name, "--", "GET", "fanout:bin"));
    expect_status(&r, 0);
    char rest[512];
    assert_int_equal(line_of(r.out, fx.two_name, rest, sizeof rest), 1);
    assert_string_equal(rest, "ok\ta\\x00b\\nc\"\\\\\\xff\\xc3\\xa9");
    assert_int_equal(count_lines(r.out), 1);
    tool_result_free(&r);
}

static jv *one_json(const char *const *args, int status)
{
    tool_result r = run_tool(NULL, args);
    expect_status(&r, status);
    jv *v[2];
    assert_int_equal(parse_json_lines(r.out, v, 2), 1);
    tool_result_free(&r);
    return v[0];
}

void json_reply_types(void **state)
{
    (void)state;
    arc_reply *ok = test_redis_command(fx.one, "SET %s %s", "fanout:n", "41");
    arc_reply_free(ok);

    jv *o = one_json(ARGS("--json", fx.one_name, "--", "INCR", "fanout:n"), 0);
    assert_int_equal(json_field(o, "reply", JV_NUMBER)->number, 42);
    jv_free(o);

    o = one_json(ARGS("--json", fx.one_name, "--", "GET", "fanout:missing"), 0);
    json_field(o, "reply", JV_NULL);
    assert_true(json_field(o, "ok", JV_BOOL)->boolean);
    jv_free(o);

    o = one_json(ARGS("--json", fx.one_name, "--", "LRANGE", "fanout:missing", "0", "-1"), 0);
    assert_int_equal(json_field(o, "reply", JV_ARRAY)->n, 0);
    jv_free(o);

    /* An error reply: answered, not ok, the text under "error". */
    o = one_json(ARGS("--json", fx.one_name, "--", "NOSUCHCOMMAND"), 1);
    assert_true(json_field(o, "answered", JV_BOOL)->boolean);
    assert_false(json_field(o, "ok", JV_BOOL)->boolean);
    const jv *reply = json_field(o, "reply", JV_OBJECT);
    assert_non_null(strstr(json_field(reply, "error", JV_STRING)->str, "ERR unknown command"));
    jv_free(o);
}
