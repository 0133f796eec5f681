/* cases_usage.c (tests): the command line: usage errors, --help against
 * the man page, --version, and servers from host files and stdin. */
#define _GNU_SOURCE
#include "fanout_test.h"

#include <arc/base.h>

#include <ctype.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void usage_errors_exit_two(void **state)
{
    (void)state;
    const struct {
        const char *const *args;
        const char *says;
    } cases[] = {
        {ARGS("127.0.0.1:1", "PING"), "no '--' before the command"},
        {ARGS("--", "PING"), "no servers"},
        {ARGS("127.0.0.1:1", "--"), "no command after '--'"},
        {ARGS("--bogus", "127.0.0.1:1", "--", "PING"), "unknown option '--bogus'"},
        {ARGS("-x", "127.0.0.1:1", "--", "PING"), "unknown option '-x'"},
        {ARGS("127.0.0.1:99999", "--", "PING"), "bad port '99999'"},
        {ARGS("127.0.0.1:", "--", "PING"), "bad port ''"},
        {ARGS("redis:1:2", "--", "PING"), "more than one ':'"},
        {ARGS("[::1", "--", "PING"), "expected [IPV6]"},
        {ARGS("127.0.0.1:1", "-t"), "'-t' needs a value"},
        {ARGS("-t", "soon", "127.0.0.1:1", "--", "PING"), "expected milliseconds"},
        {ARGS("-n", "0", "127.0.0.1:1", "--", "PING"), "expected a count"},
        {ARGS("--every", "0", "127.0.0.1:1", "--", "PING"), "expected a duration"},
        {ARGS("--every=5parsecs", "127.0.0.1:1", "--", "PING"), "expected a duration"},
        {ARGS("--resp", "4", "127.0.0.1:1", "--", "PING"), "expected 2 or 3"},
        {ARGS("--json=yes", "127.0.0.1:1", "--", "PING"), "takes no value"},
        {ARGS("--key", "k.pem", "127.0.0.1:1", "--", "PING"), "--key needs --cert"},
        {ARGS("-u", "alice", "127.0.0.1:1", "--", "PING"), "--user needs a password"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tool_result r = run_tool(NULL, cases[i].args);
        if (strstr(r.err, cases[i].says) == NULL)
            fprintf(stderr, "case %zu: expected \"%s\" in:\n%s\n", i, cases[i].says, r.err);
        expect_status(&r, 2);
        assert_non_null(strstr(r.err, cases[i].says));
        assert_non_null(strstr(r.err, "usage: arc-fanout"));
        assert_int_equal(r.outlen, 0);
        tool_result_free(&r);
    }
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fprintf(stderr, "%s: cannot open\n", path);
    assert_non_null(f);
    char *s = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&s, &cap, '\0', f);
    fclose(f);
    assert_true(n > 0);
    return s;
}

/* The options a text names: "--word" and "-X" (X a letter or digit, not
 * part of a longer word), each once, in `found` (max of them). In roff a
 * dash is written "\-", so those are read as dashes first. */
static size_t options_in(const char *text, char found[][32], size_t max)
{
    size_t n = 0;
    size_t len = strlen(text);
    char *plain = malloc(len + 1);
    assert_non_null(plain);
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\\' && text[i + 1] == '-')
            i++;
        plain[j++] = text[i];
    }
    plain[j] = '\0';
    for (size_t i = 0; i < j; i++) {
        if (plain[i] != '-' ||
            (i > 0 && (plain[i - 1] == '-' || isalnum((unsigned char)plain[i - 1]))))
            continue;
        size_t start = i, k = i + 1;
        if (plain[k] == '-')
            k++;
        size_t name = k;
        while (isalnum((unsigned char)plain[k]) || (k > name && plain[k] == '-'))
            k++;
        bool longopt = name == start + 2;
        if (k == name || (!longopt && k != name + 1) || k - start >= 32)
            continue;
        char opt[32];
        memcpy(opt, plain + start, k - start);
        opt[k - start] = '\0';
        bool seen = false;
        for (size_t m = 0; m < n && !seen; m++)
            seen = strcmp(found[m], opt) == 0;
        if (!seen && n < max)
            strcpy(found[n++], opt);
    }
    free(plain);
    return n;
}

void help_names_every_option_of_the_man_page(void **state)
{
    (void)state;
    const char *man_path = getenv("ARC_FANOUT_MAN");
    assert_non_null(man_path);
    char *man = read_file(man_path);
    tool_result r = run_tool(NULL, ARGS("--help"));
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "usage: arc-fanout"));
    assert_non_null(strstr(r.out, "Exit status"));
    assert_non_null(strstr(r.out, "Examples"));

    static char in_man[64][32], in_help[64][32];
    size_t nman = options_in(man, in_man, 64);
    size_t nhelp = options_in(r.out, in_help, 64);
    /* The page names them all: a parse that found few would prove
     * nothing. */
    size_t longs = 0;
    for (size_t i = 0; i < nman; i++)
        longs += in_man[i][1] == '-';
    assert_true(longs >= 20);
    assert_true(nman - longs >= 8);
    for (size_t i = 0; i < nman; i++) {
        if (strstr(r.out, in_man[i]) == NULL)
            fprintf(stderr, "--help does not name %s\n", in_man[i]);
        assert_non_null(strstr(r.out, in_man[i]));
    }
    /* And the other way round: nothing in --help that the page lacks. */
    for (size_t i = 0; i < nhelp; i++) {
        bool listed = false;
        for (size_t m = 0; m < nman && !listed; m++)
            listed = strcmp(in_man[m], in_help[i]) == 0;
        if (!listed)
            fprintf(stderr, "the man page does not name %s\n", in_help[i]);
        assert_true(listed);
    }
    free(man);
    tool_result_free(&r);
}

void version_names_the_library(void **state)
{
    (void)state;
    tool_result r = run_tool(NULL, ARGS("--version"));
    expect_status(&r, 0);
    char want[64];
    snprintf(want, sizeof want, "arc-fanout %d.%d.%d (libarc %s)\n", ARC_VERSION_MAJOR,
             ARC_VERSION_MINOR, ARC_VERSION_PATCH, arc_version());
    assert_string_equal(r.out, want);
    tool_result_free(&r);
}

static void write_file(char *path, const char *content)
{
    strcpy(path, "/tmp/arc-fanout-hosts-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(content);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
}

void hosts_from_a_file(void **state)
{
    (void)state;
    char content[512], path[64];
    snprintf(content, sizeof content, "# the fleet\n\n   %s  \n\t%s\r\n# end\n", fx.one_name,
             fx.unix_name);
    write_file(path, content);
    tool_result r = run_tool(NULL, ARGS("-f", path, "--", "PING"));
    expect_status(&r, 0);
    assert_int_equal(count_lines(r.out), 2);
    assert_int_equal(line_of(r.out, fx.one_name, NULL, 0), 1);
    assert_int_equal(line_of(r.out, fx.unix_name, NULL, 0), 1);
    assert_int_equal(tool_count(r.out, "\tok\tPONG\n"), 2);
    tool_result_free(&r);

    /* Mixed with servers on the command line, and given twice. */
    r = run_tool(NULL, ARGS(fx.two_name, "--hosts-file", path, "--hosts-file=", "--", "PING"));
    expect_status(&r, 2); /* "--hosts-file=" names no file */
    tool_result_free(&r);
    char eq[80];
    snprintf(eq, sizeof eq, "--hosts-file=%s", path);
    r = run_tool(NULL, ARGS(fx.two_name, "-f", path, eq, "--", "PING"));
    expect_status(&r, 0);
    assert_int_equal(count_lines(r.out), 5);
    assert_int_equal(line_of(r.out, fx.one_name, NULL, 0), 2);
    assert_int_equal(line_of(r.out, fx.two_name, NULL, 0), 1);
    assert_non_null(strstr(r.err, "5 servers: 5 answered, 0 failed"));
    tool_result_free(&r);
    unlink(path);
}

void hosts_from_stdin(void **state)
{
    (void)state;
    char content[512];
    snprintf(content, sizeof content, "%s\n# comment\n%s\n%s\n", fx.one_name, fx.refused_name,
             fx.unix_name);
    tool_result r = run_tool(&(tool_opts){.stdin_data = content}, ARGS("-f", "-", "--", "PING"));
    expect_status(&r, 1);
    assert_int_equal(count_lines(r.out), 3);
    char rest[512];
    assert_int_equal(line_of(r.out, fx.one_name, rest, sizeof rest), 1);
    assert_string_equal(rest, "ok\tPONG");
    assert_int_equal(line_of(r.out, fx.refused_name, rest, sizeof rest), 1);
    assert_non_null(strstr(rest, "failed\tARC_ERR_REFUSED"));
    assert_int_equal(line_of(r.out, fx.unix_name, rest, sizeof rest), 1);
    assert_string_equal(rest, "ok\tPONG");
    tool_result_free(&r);

    /* stdin holds one list: a second "-f -" is a mistake. */
    r = run_tool(&(tool_opts){.stdin_data = content}, ARGS("-f", "-", "-f", "-", "--", "PING"));
    expect_status(&r, 2);
    assert_non_null(strstr(r.err, "standard input can be read once"));
    tool_result_free(&r);
}

void bad_host_file_exits_two(void **state)
{
    (void)state;
    char path[64];
    write_file(path, "# ok so far\n127.0.0.1:6379\n127.0.0.1:0\n");
    tool_result r = run_tool(NULL, ARGS("-f", path, "--", "PING"));
    expect_status(&r, 2);
    char where[96];
    snprintf(where, sizeof where, "%s:3: '127.0.0.1:0': bad port", path);
    assert_non_null(strstr(r.err, where));
    assert_int_equal(r.outlen, 0);
    tool_result_free(&r);
    unlink(path);

    r = run_tool(NULL, ARGS("-f", "/nonexistent/hosts", "--", "PING"));
    expect_status(&r, 2);
    assert_non_null(strstr(r.err, "/nonexistent/hosts: No such file or directory"));
    tool_result_free(&r);
}
