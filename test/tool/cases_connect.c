/* cases_connect.c (tests): what the connection options do, seen in the
 * output: AUTH (from the environment), SELECT, the command timeout, RESP3
 * and TLS. */
#include "fanout_test.h"

#include "tls_certs.h"

#include <stdio.h>
#include <string.h>

void password_from_the_environment(void **state)
{
    (void)state;
    char rest[256];
    tool_result r = run_tool(NULL, ARGS(fx.locked_name, "--", "PING"));
    expect_status(&r, 1);
    assert_int_equal(line_of(r.out, fx.locked_name, rest, sizeof rest), 1);
    assert_true(strncmp(rest, "error\tNOAUTH", strlen("error\tNOAUTH")) == 0);
    tool_result_free(&r);

    const char *const good[] = {"ARC_FANOUT_PASSWORD=" FANOUT_PASSWORD, NULL};
    r = run_tool(&(tool_opts){.env = good}, ARGS(fx.locked_name, "--", "PING"));
    expect_status(&r, 0);
    assert_int_equal(line_of(r.out, fx.locked_name, rest, sizeof rest), 1);
    assert_string_equal(rest, "ok\tPONG");
    tool_result_free(&r);

    /* A wrong password is a refused handshake: no answer. */
    r = run_tool(NULL, ARGS("-a", "wrong", fx.locked_name, "--", "PING"));
    expect_status(&r, 1);
    assert_int_equal(line_of(r.out, fx.locked_name, rest, sizeof rest), 1);
    assert_true(strncmp(rest, "failed\tARC_ERR_HANDSHAKE ", strlen("failed\tARC_ERR_HANDSHAKE ")) ==
                0);
    tool_result_free(&r);

    /* -a wins over the environment; --user names the default user. */
    const char *const bad[] = {"ARC_FANOUT_PASSWORD=wrong", NULL};
    r = run_tool(&(tool_opts){.env = bad}, ARGS("--user", "default", "--pass", FANOUT_PASSWORD,
                                                fx.locked_name, "--", "PING"));
    expect_status(&r, 0);
    tool_result_free(&r);
}

void database_selected(void **state)
{
    (void)state;
    static const char *const setup[] = {"SELECT 3", "SET fanout:db three", "SELECT 0"};
    for (size_t i = 0; i < 3; i++) {
        arc_reply *ok = test_redis_command(fx.two, setup[i]);
        assert_non_null(ok);
        assert_int_equal(ok->type, ARC_REPLY_STATUS);
        arc_reply_free(ok);
    }
    char rest[256];
    tool_result r = run_tool(NULL, ARGS("-d", "3", fx.two_name, "--", "GET", "fanout:db"));
    expect_status(&r, 0);
    assert_int_equal(line_of(r.out, fx.two_name, rest, sizeof rest), 1);
    assert_string_equal(rest, "ok\tthree");
    tool_result_free(&r);
    r = run_tool(NULL, ARGS(fx.two_name, "--", "GET", "fanout:db"));
    expect_status(&r, 0);
    assert_int_equal(line_of(r.out, fx.two_name, rest, sizeof rest), 1);
    assert_string_equal(rest, "ok\t(nil)");
    tool_result_free(&r);
}

void command_timeout(void **state)
{
    (void)state;
    tool_result r =
        run_tool(NULL, ARGS("-t", "300", fx.one_name, "--", "BLPOP", "fanout:none", "30"));
    expect_status(&r, 1);
    char rest[256];
    assert_int_equal(line_of(r.out, fx.one_name, rest, sizeof rest), 1);
    assert_true(strncmp(rest, "failed\tARC_ERR_TIMEOUT ", strlen("failed\tARC_ERR_TIMEOUT ")) == 0);
    assert_non_null(strstr(rest, "300 ms"));
    /* The deadline, not the server's 30 s. */
    assert_true(r.elapsed_ms < 20000);
    tool_result_free(&r);
}

void resp3_map_as_object(void **state)
{
    (void)state;
    arc_reply *ok = test_redis_command(fx.one, "HSET fanout:h f1 v1 f2 v2");
    assert_non_null(ok);
    arc_reply_free(ok);
    tool_result r = run_tool(NULL, ARGS("--json", "-3", fx.one_name, "--", "HGETALL", "fanout:h"));
    expect_status(&r, 0);
    jv *v[2];
    assert_int_equal(parse_json_lines(r.out, v, 2), 1);
    const jv *map = json_field(v[0], "reply", JV_OBJECT);
    assert_int_equal(map->n, 2);
    assert_string_equal(json_field(map, "f1", JV_STRING)->str, "v1");
    assert_string_equal(json_field(map, "f2", JV_STRING)->str, "v2");
    jv_free(v[0]);
    tool_result_free(&r);

    /* RESP2 has no maps: the same reply is a flat array. */
    r = run_tool(NULL, ARGS("--json", "--resp", "2", fx.one_name, "--", "HGETALL", "fanout:h"));
    expect_status(&r, 0);
    assert_int_equal(parse_json_lines(r.out, v, 2), 1);
    assert_int_equal(json_field(v[0], "reply", JV_ARRAY)->n, 4);
    jv_free(v[0]);
    tool_result_free(&r);

    /* And in the lines: the map's pairs. */
    r = run_tool(NULL, ARGS("--resp3", fx.one_name, "--", "HGETALL", "fanout:h"));
    expect_status(&r, 0);
    char rest[256];
    assert_int_equal(line_of(r.out, fx.one_name, rest, sizeof rest), 1);
    assert_true(strcmp(rest, "ok\t(map of 2) \"f1\": \"v1\", \"f2\": \"v2\"") == 0 ||
                strcmp(rest, "ok\t(map of 2) \"f2\": \"v2\", \"f1\": \"v1\"") == 0);
    tool_result_free(&r);
}

#ifdef ARC_FANOUT_TEST_TLS
void tls_verified_and_not(void **state)
{
    (void)state;
    const test_tls_files *files = test_tls_files_get();
    assert_non_null(files);
    char verified[64], by_ip[64], rest[256];
    snprintf(verified, sizeof verified, "localhost:%d", test_redis_tls_port(fx.one));
    snprintf(by_ip, sizeof by_ip, "127.0.0.1:%d", test_redis_tls_port(fx.one));

    /* --cacert alone means TLS. */
    tool_result r = run_tool(NULL, ARGS("--cacert", files->ca_cert, verified, "--", "PING"));
    expect_status(&r, 0);
    assert_int_equal(line_of(r.out, verified, rest, sizeof rest), 1);
    assert_string_equal(rest, "ok\tPONG");
    tool_result_free(&r);

    /* The system's trust store does not know the test CA. */
    r = run_tool(NULL, ARGS("--tls", by_ip, "--", "PING"));
    expect_status(&r, 1);
    assert_int_equal(line_of(r.out, by_ip, rest, sizeof rest), 1);
    assert_true(strncmp(rest, "failed\tARC_ERR_TLS ", strlen("failed\tARC_ERR_TLS ")) == 0);
    tool_result_free(&r);

    /* A name the certificate does not have. */
    r = run_tool(NULL, ARGS("--tls", "--cacert", files->ca_cert, "--sni", "wrong.example", by_ip,
                            "--", "PING"));
    expect_status(&r, 1);
    assert_non_null(strstr(r.out, "\tfailed\tARC_ERR_TLS "));
    tool_result_free(&r);

    /* --insecure: no verification at all. */
    r = run_tool(NULL, ARGS("--tls", "--insecure", by_ip, "--", "PING"));
    expect_status(&r, 0);
    assert_int_equal(tool_count(r.out, "\tok\tPONG\n"), 1);
    tool_result_free(&r);

    /* A client certificate where none is asked for is fine. */
    r = run_tool(NULL, ARGS("--cacert", files->ca_cert, "--cert", files->client_cert, "--key",
                            files->client_key, verified, "--", "PING"));
    expect_status(&r, 0);
    tool_result_free(&r);

    /* A configuration that cannot be made is a usage error. */
    r = run_tool(NULL, ARGS("--cacert", "/nonexistent/ca.pem", verified, "--", "PING"));
    expect_status(&r, 2);
    assert_non_null(strstr(r.err, "arc-fanout: TLS: "));
    tool_result_free(&r);
}
#endif
