/* options.h (arc-fanout): the command line, parsed into one configuration. */
#ifndef ARC_FANOUT_OPTIONS_H
#define ARC_FANOUT_OPTIONS_H

#include "hosts.h"

#include <stdbool.h>
#include <stdio.h>

/* Exit statuses, as --help and the man page list them. */
enum {
    FO_EXIT_OK = 0,           /* every server answered, none with an error */
    FO_EXIT_FAILED = 1,       /* a server did not answer, or answered an error */
    FO_EXIT_USAGE = 2,        /* bad command line, host file or TLS setup */
    FO_EXIT_INTERRUPTED = 130 /* SIGINT before the answers were in */
};

typedef enum fo_output {
    FO_OUTPUT_AUTO = 0, /* the table on a terminal, else lines */
    FO_OUTPUT_TABLE,
    FO_OUTPUT_LINES,
    FO_OUTPUT_JSON,
} fo_output;

typedef struct fo_config {
    long connect_timeout_ms; /* 0: none */
    long timeout_ms;         /* the command's; 0: none */
    unsigned concurrency;    /* connects at once; 0: the group's default */
    int resp;                /* 2 or 3 */
    const char *user;        /* NULL: none */
    const char *password;    /* -a, else $ARC_FANOUT_PASSWORD; NULL: none */
    char *password_copy;     /* -a's value, owned (argv's is overwritten) */
    int db;                  /* 0: no SELECT */
    bool tls;
    const char *cacert;
    const char *cert;
    const char *key;
    const char *sni;
    bool insecure;
    long every_ms; /* 0: one round */
    fo_output output;
    fo_targets targets;
    int argc;                /* the command: words after "--", borrowed */
    const char *const *argv; /* from main's argv */
} fo_config;

typedef enum fo_parse_result {
    FO_PARSE_RUN,  /* the configuration is complete: run it */
    FO_PARSE_DONE, /* --help or --version was printed: exit 0 */
    FO_PARSE_BAD,  /* a message went to `err`: exit FO_EXIT_USAGE */
} fo_parse_result;

/* Parses argv (host files included: -f reads them now) into `cfg`, which
 * must then be given to fo_config_free() whatever the result. Help and
 * version go to `out`, mistakes to `err`. */
fo_parse_result fo_config_parse(fo_config *cfg, int argc, char **argv, FILE *out, FILE *err);

void fo_config_free(fo_config *cfg);

#endif
