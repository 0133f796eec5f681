/* fanout_test.h (tests): what the arc-fanout test cases share: the servers
 * the group setup starts, and helpers to run the tool and read its lines. */
#ifndef ARC_TEST_FANOUT_TEST_H
#define ARC_TEST_FANOUT_TEST_H

#include "json_check.h"
#include "redis_server.h"
#include "tool_run.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* The servers, as the tool's command line names them. */
typedef struct fanout_env {
    test_redis *one;    /* plain; with TLS builds also a TLS port */
    test_redis *two;    /* plain */
    test_redis *locked; /* requirepass FANOUT_PASSWORD */
    char one_name[64];  /* "127.0.0.1:PORT" */
    char two_name[64];  /* "localhost:PORT": resolved by name */
    char two_addr[64];  /* "127.0.0.1:PORT", the address it resolves to */
    char locked_name[64];
    char refused_name[64]; /* "127.0.0.1:PORT" where nothing listens */
    const char *unix_name; /* one's unix socket */
} fanout_env;

#define FANOUT_PASSWORD "fanout-sekret"

extern fanout_env fx;

/* A NULL-terminated argument list. */
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Runs the tool (o may be NULL); the test fails when it cannot be run or
 * timed out. */
tool_result run_tool(const tool_opts *o, const char *const *args);

/* Fails the test unless the tool exited with `status`; says what it
 * printed otherwise (valgrind's findings included: they exit 99). */
void expect_status(const tool_result *r, int status);

/* How many lines of `out` start with "NAME\t", and the rest of the first
 * such line (after the tab) in buf. */
int line_of(const char *out, const char *name, char *buf, size_t len);

/* Lines of `out` (the count of '\n'). */
int count_lines(const char *out);

/* Parses each line of `out` as one JSON value; fails the test on a line
 * that is not valid JSON. Returns how many, stored in v[] (max). */
size_t parse_json_lines(const char *out, jv **v, size_t max);
const jv *json_field(const jv *obj, const char *key, jv_type type);
/* The object whose "server" is `name` among v[0..n); fails without one. */
const jv *json_server(jv *const *v, size_t n, const char *name);

/* The test cases, by file. */
void lines_each_server_once(void **state);
void all_answered_exits_zero(void **state);
void error_reply_exits_one(void **state);
void concurrency_one_at_a_time(void **state);
void server_forms(void **state);
void json_fields_per_server(void **state);
void json_binary_reply_escaped(void **state);
void json_reply_types(void **state);
void lines_binary_reply_escaped(void **state);

void usage_errors_exit_two(void **state);
void help_names_every_option_of_the_man_page(void **state);
void version_names_the_library(void **state);
void hosts_from_a_file(void **state);
void hosts_from_stdin(void **state);
void bad_host_file_exits_two(void **state);

void table_on_a_terminal(void **state);
void table_taller_than_the_window(void **state);
void output_chosen_against_the_terminal(void **state);
void every_repeats_until_sigint(void **state);
void every_table_stays_live(void **state);
void every_json_numbers_rounds(void **state);
void sigint_reports_pending_servers(void **state);

void password_from_the_environment(void **state);
void database_selected(void **state);
void command_timeout(void **state);
void resp3_map_as_object(void **state);
#ifdef ARC_FANOUT_TEST_TLS
void tls_verified_and_not(void **state);
#endif

#endif
