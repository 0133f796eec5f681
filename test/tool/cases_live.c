/* cases_live.c (tests): the live table on a pseudo-terminal, the output
 * chosen by what standard output is, rounds with --every and SIGINT. */
#define _GNU_SOURCE
#include "fanout_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The last frame the table drew: what follows its last "go back up"
 * (ESC [ N A), or the whole output when it drew one frame only; with
 * every escape sequence taken out. */
static char *last_frame(const char *out)
{
    const char *from = out;
    for (const char *p = out; (p = strstr(p, "\x1b[")) != NULL; p += 2) {
        const char *q = p + 2;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q > p + 2 && *q == 'A')
            from = q + 1;
    }
    char *plain = malloc(strlen(from) + 1);
    assert_non_null(plain);
    size_t n = 0;
    for (const char *p = from; *p != '\0'; p++) {
        if (p[0] == '\x1b' && p[1] == '[') {
            p += 2;
            while (*p != '\0' && !(*p >= 0x40 && *p <= 0x7e))
                p++;
            if (*p == '\0')
                break;
            continue;
        }
        plain[n++] = *p;
    }
    plain[n] = '\0';
    return plain;
}

/* The frame's line that starts with `start`; fails without one. */
static const char *frame_line(const char *frame, const char *start, char *buf, size_t len)
{
    for (const char *p = frame; *p != '\0';) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (strncmp(p, start, strlen(start)) == 0) {
            n = n < len - 1 ? n : len - 1;
            memcpy(buf, p, n);
            buf[n] = '\0';
            return buf;
        }
        p += n + (end != NULL);
    }
    fprintf(stderr, "no line starting with '%s' in the frame:\n%s\n", start, frame);
    fail();
    return NULL;
}

static size_t longest_line(const char *text)
{
    size_t most = 0;
    for (const char *p = text; *p != '\0';) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        most = n > most ? n : most;
        p += n + (end != NULL);
    }
    return most;
}

void table_on_a_terminal(void **state)
{
    (void)state;
    tool_opts o = {.pty = true, .cols = 100, .rows = 30};
    tool_result r =
        run_tool(&o, ARGS(fx.one_name, fx.two_name, fx.refused_name, "--", "INFO", "server"));
    expect_status(&r, 1);
    /* Drawn with escapes, the cursor hidden while live and shown again. */
    assert_non_null(strstr(r.out, "\x1b[?25l"));
    assert_non_null(strstr(r.out + r.outlen - 16, "\x1b[?25h"));
    char *frame = last_frame(r.out);
    char line[256];
    frame_line(frame, "SERVER", line, sizeof line);
    assert_non_null(strstr(line, "STATE"));
    assert_non_null(strstr(line, "ADDRESSES"));
    assert_non_null(strstr(line, "REPLY"));
    /* INFO's many lines shown as the first and a count. */
    frame_line(frame, fx.one_name, line, sizeof line);
    assert_non_null(strstr(line, " ready "));
    char tried[96];
    snprintf(tried, sizeof tried, "%s ok ", fx.one_name); /* the address column */
    assert_non_null(strstr(line, tried));
    assert_non_null(strstr(line, "# Server ("));
    assert_non_null(strstr(line, " lines)"));
    frame_line(frame, fx.two_name, line, sizeof line);
    assert_non_null(strstr(line, " ready "));
    assert_non_null(strstr(line, fx.two_addr)); /* the address localhost gave */
    frame_line(frame, fx.refused_name, line, sizeof line);
    assert_non_null(strstr(line, " failed "));
    assert_non_null(strstr(line, " refused "));
    assert_non_null(strstr(line, "ARC_ERR_REFUSED"));
    frame_line(frame, "answered 2 / failed 1 / pending 0", line, sizeof line);
    /* Nothing wraps: each line is cut to the terminal's width. */
    assert_true(longest_line(frame) < 100);
    assert_non_null(strstr(r.err, "3 servers: 2 answered, 1 failed in "));
    free(frame);
    tool_result_free(&r);
}

/* More servers than the window has lines: live frames fit the window
 * (the rest summed up in one line, so that the next frame can go back
 * over all of it), and the last frame shows every row. */
void table_taller_than_the_window(void **state)
{
    (void)state;
    tool_opts o = {.pty = true, .cols = 100, .rows = 6};
    tool_result r =
        run_tool(&o, ARGS(fx.one_name, fx.two_name, fx.unix_name, fx.refused_name, "--", "PING"));
    expect_status(&r, 1);
    /* The first frame is drawn before any answer: live, cut short. */
    assert_non_null(strstr(r.out, "... and 2 more"));
    char *frame = last_frame(r.out);
    assert_null(strstr(frame, "more"));
    char line[256];
    const char *rows[] = {fx.one_name, fx.two_name, fx.unix_name, fx.refused_name};
    for (size_t i = 0; i < 4; i++)
        frame_line(frame, rows[i], line, sizeof line);
    frame_line(frame, "answered 3 / failed 1 / pending 0", line, sizeof line);
    free(frame);
    tool_result_free(&r);
}

void output_chosen_against_the_terminal(void **state)
{
    (void)state;
    /* --lines on a terminal: plain lines, no escapes. */
    tool_opts term = {.pty = true, .cols = 80, .rows = 24};
    tool_result r = run_tool(&term, ARGS("--lines", fx.one_name, "--", "PING"));
    expect_status(&r, 0);
    assert_null(strchr(r.out, '\x1b'));
    char rest[128];
    assert_int_equal(line_of(r.out, fx.one_name, rest, sizeof rest), 1);
    assert_string_equal(rest, "ok\tPONG");
    tool_result_free(&r);

    /* --json on a terminal: JSON. */
    r = run_tool(&term, ARGS("--json", fx.one_name, "--", "PING"));
    expect_status(&r, 0);
    jv *v[2];
    assert_int_equal(parse_json_lines(r.out, v, 2), 1);
    jv_free(v[0]);
    tool_result_free(&r);

    /* --table into a pipe: the table all the same (80 columns). */
    r = run_tool(NULL, ARGS("--table", fx.one_name, "--", "PING"));
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "\x1b["));
    char *frame = last_frame(r.out);
    char line[256];
    frame_line(frame, "answered 1 / failed 0 / pending 0", line, sizeof line);
    frame_line(frame, fx.one_name, line, sizeof line);
    assert_non_null(strstr(line, "PONG"));
    free(frame);
    tool_result_free(&r);

    /* The last output option given wins. */
    r = run_tool(NULL, ARGS("--table", "--json", "--lines", fx.one_name, "--", "PING"));
    expect_status(&r, 0);
    assert_int_equal(line_of(r.out, fx.one_name, rest, sizeof rest), 1);
    assert_string_equal(rest, "ok\tPONG");
    tool_result_free(&r);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Two connections to one server (TCP and its unix socket), INCR every
 * 200 ms: each reply a new number, none lost or repeated, until SIGINT;
 * then a clean exit with the last round's status. */
void every_repeats_until_sigint(void **state)
{
    (void)state;
    tool_opts o = {.interrupt_when = "\tok\t", .interrupt_count = 8};
    tool_result r = run_tool(
        &o, ARGS("--every", "200ms", fx.one_name, fx.unix_name, "--", "INCR", "fanout:every"));
    assert_true(r.interrupted);
    expect_status(&r, 0);
    int lines = count_lines(r.out);
    assert_true(lines >= 8);
    assert_int_equal(tool_count(r.out, "\tok\t(integer) "), lines);
    long values[64];
    assert_true(lines <= 64);
    const char *p = r.out;
    for (int i = 0; i < lines; i++) {
        p = strstr(p, "(integer) ") + strlen("(integer) ");
        values[i] = strtol(p, NULL, 10);
    }
    qsort(values, (size_t)lines, sizeof values[0], cmp_long);
    for (int i = 1; i < lines; i++)
        assert_int_equal(values[i], values[i - 1] + 1);
    /* At least four rounds, each on the beat: they are 200 ms apart. */
    assert_non_null(strstr(r.err, "round 1: 2 servers: 2 answered, 0 failed"));
    assert_non_null(strstr(r.err, "round 4: 2 servers: 2 answered, 0 failed"));
    assert_non_null(strstr(r.err, " rounds; the last: 2 servers: 2 answered, 0 failed"));
    assert_true(r.elapsed_ms >= 600);
    int rounds = tool_count(r.err, "round ");
    assert_true(rounds <= r.elapsed_ms / 200 + 2);
    tool_result_free(&r);
}

void every_table_stays_live(void **state)
{
    (void)state;
    /* SIGINT once the fourth round shows (about a second: under valgrind
     * the start alone can take that): several rounds drawn in place. */
    tool_opts o = {
        .pty = true, .cols = 120, .rows = 20, .interrupt_when = "round 4: ", .interrupt_count = 1};
    tool_result r =
        run_tool(&o, ARGS("--every", "0.2", fx.one_name, fx.refused_name, "--", "PING"));
    assert_true(r.interrupted);
    /* The last round had a server down. */
    expect_status(&r, 1);
    assert_non_null(strstr(r.out, "round 1: answered 1 / failed 1 / pending 0"));
    assert_non_null(strstr(r.out, "round 2: answered 1 / failed 1 / pending 0"));
    assert_non_null(strstr(r.out, "\x1b[?25h"));
    char *frame = last_frame(r.out);
    char line[256];
    frame_line(frame, fx.one_name, line, sizeof line);
    assert_non_null(strstr(line, "PONG"));
    /* The dead server is tried again each round. */
    frame_line(frame, fx.refused_name, line, sizeof line);
    assert_non_null(strstr(line, "ARC_ERR_REFUSED"));
    free(frame);
    assert_non_null(strstr(r.err, " rounds; the last: 2 servers: 1 answered, 1 failed"));
    tool_result_free(&r);
}

void every_json_numbers_rounds(void **state)
{
    (void)state;
    tool_opts o = {.interrupt_when = "\"round\":3,", .interrupt_count = 1};
    tool_result r = run_tool(&o, ARGS("--json", "--every", "100ms", fx.one_name, "--", "PING"));
    expect_status(&r, 0);
    jv *v[32];
    size_t n = parse_json_lines(r.out, v, 32);
    assert_true(n >= 3);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(json_field(v[i], "round", JV_NUMBER)->number, (double)(i + 1));
        assert_string_equal(json_field(v[i], "reply", JV_STRING)->str, "PONG");
        jv_free(v[i]);
    }
    tool_result_free(&r);
}

/* SIGINT in a single round: each server still pending gets its line
 * ("interrupted"), the summary says so, and the exit status is 130. */
void sigint_reports_pending_servers(void **state)
{
    (void)state;
    char when[80];
    snprintf(when, sizeof when, "%s\tfailed\t", fx.refused_name);
    tool_opts o = {.interrupt_when = when, .interrupt_count = 1};
    tool_result r = run_tool(
        &o, ARGS("-t", "0", fx.refused_name, fx.one_name, "--", "BLPOP", "fanout:never", "0"));
    assert_true(r.interrupted);
    expect_status(&r, 130);
    char rest[256];
    assert_int_equal(line_of(r.out, fx.one_name, rest, sizeof rest), 1);
    assert_string_equal(rest, "failed\tARC_ERR_FREED interrupted");
    assert_int_equal(count_lines(r.out), 2);
    assert_non_null(strstr(r.err, "2 servers: 0 answered, 2 failed in "));
    assert_non_null(strstr(r.err, "(interrupted)"));
    tool_result_free(&r);
}
