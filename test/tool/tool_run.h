/* tool_run.h (tests): runs the arc-fanout program as a user would, with
 * its output captured: through pipes, or with standard output on a
 * pseudo-terminal. */
#ifndef ARC_TEST_TOOL_RUN_H
#define ARC_TEST_TOOL_RUN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct tool_opts {
    const char *stdin_data; /* written to its standard input; NULL: /dev/null */
    const char *const *env; /* "NAME=VALUE" to set, NULL-terminated; or NULL.
                               ARC_FANOUT_PASSWORD is always cleared first */
    bool pty;               /* standard output on a terminal of cols x rows
                               (output processing off: bytes as written) */
    unsigned short cols, rows;
    /* SIGINT once standard output holds `interrupt_when` this many times,
     * or `interrupt_after_ms` after the start, whichever comes first
     * (0 / NULL: not that way). */
    const char *interrupt_when;
    int interrupt_count;
    long interrupt_after_ms;
    const char *cwd; /* its working directory; NULL: ours */
    long timeout_ms; /* SIGKILL after this; 0: 30 s. Under valgrind
                        ($ARC_UNDER_VALGRIND) 8 times as long */
} tool_opts;

typedef struct tool_result {
    int status; /* exit status; 128 + N when killed by signal
                   N; -1 when it could not be run */
    bool timed_out;
    bool interrupted; /* SIGINT was sent */
    char *out;        /* standard output, NUL-terminated */
    size_t outlen;
    char *err; /* standard error, NUL-terminated */
    size_t errlen;
    long elapsed_ms;
} tool_result;

/* Runs $ARC_FANOUT with `args` (the words after the program's name,
 * NULL-terminated); under valgrind ($ARC_UNDER_VALGRIND=1) the program
 * runs under valgrind too, whose errors make it exit 99. Returns 0 (r
 * filled in; free it with tool_result_free()), or -1 with the reason on
 * stderr when the run could not be set up. */
int tool_run(const tool_opts *o, const char *const *args, tool_result *r);

void tool_result_free(tool_result *r);

/* How many times `needle` occurs in `hay`. */
int tool_count(const char *hay, const char *needle);

/* The path of the program ($ARC_FANOUT); aborts the test without it. */
const char *tool_path(void);

#endif
