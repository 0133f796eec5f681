/* options.c (arc-fanout): parsing the command line of options.h, and the
 * help text. getopt_long is not used: it moves the hosts after the "--"
 * that ends the options, and here "--" is what separates the hosts from
 * the command. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "options.h"

#include <arc/arc.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifndef ARC_FANOUT_VERSION
#define ARC_FANOUT_VERSION "unknown"
#endif

#define DEFAULT_CONNECT_TIMEOUT_MS 2000
#define DEFAULT_TIMEOUT_MS 5000
/* --every below this would be a load test, not a watch. */
#define MIN_EVERY_MS 10
/* A day: longer is surely a typo in the unit. */
#define MAX_EVERY_MS (24L * 3600 * 1000)

static const char usage_line[] =
    "usage: arc-fanout [OPTION]... HOST[:PORT]... -- COMMAND [ARG]...\n";

static const char help_text[] =
    "Runs one command on many Redis (or RESP) servers at once and shows each\n"
    "server's answer.\n"
    "\n"
    "Servers:\n"
    "  HOST  HOST:PORT  [IPV6]:PORT   TCP (port 6379 when none is given)\n"
    "  /PATH  ./PATH  ../PATH         a unix socket\n"
    "  -f, --hosts-file FILE   read servers from FILE, one per line ('-': stdin);\n"
    "                          blank lines and lines starting with '#' are skipped;\n"
    "                          may be repeated and mixed with servers on the line\n"
    "\n"
    "Connection:\n"
    "  -c, --connect-timeout MS   resolve + connect + handshake, per server\n"
    "                             (default 2000; 0: none)\n"
    "  -t, --timeout MS           the command's own deadline per server, counted\n"
    "                             from when it is issued (default 5000; 0: none)\n"
    "  -n, --concurrency N        at most N connections being made at once\n"
    "                             (default 64)\n"
    "  -3, --resp3                speak RESP3 (HELLO 3); same as --resp 3\n"
    "      --resp 2|3             the protocol version (default 2)\n"
    "  -u, --user NAME            AUTH as NAME (with --pass)\n"
    "  -a, --pass PASSWORD        AUTH with PASSWORD; better: put it in the\n"
    "                             environment as ARC_FANOUT_PASSWORD, where other\n"
    "                             users cannot see it in the process list\n"
    "  -d, --db N                 SELECT database N first\n"
    "\n"
    "TLS (any of these but --tls implies --tls):\n"
    "      --tls                  connect over TLS, verifying the server's\n"
    "                             certificate and name\n"
    "      --cacert FILE          trust the CAs in FILE (PEM) instead of the\n"
    "                             system's\n"
    "      --cert FILE            present this client certificate (PEM)\n"
    "      --key FILE             its private key (default: in --cert's file)\n"
    "      --sni NAME             send and verify NAME instead of each host\n"
    "      --insecure             verify nothing (tests only: anyone in the path\n"
    "                             can read and change the traffic)\n"
    "\n"
    "Rounds:\n"
    "      --every DURATION       run the command again every DURATION (500ms,\n"
    "                             2s, 1.5s, 1m; a bare number is seconds) on the\n"
    "                             same connections, until SIGINT (Ctrl-C); servers\n"
    "                             that go away are reconnected\n"
    "\n"
    "Output (the last one given wins):\n"
    "      --table                a live table, redrawn as answers come (the\n"
    "                             default when standard output is a terminal)\n"
    "      --lines                one line per server as it ends, tab-separated:\n"
    "                               SERVER ok REPLY\n"
    "                               SERVER error REPLY      (an error reply)\n"
    "                               SERVER failed STATUS MESSAGE\n"
    "                             (the default otherwise)\n"
    "      --json                 one JSON object per server and round, a line\n"
    "                             each: server, round, ok, answered, state, status,\n"
    "                             failure, error, reply, addresses, ms\n"
    "  -h, --help                 this text\n"
    "      --version              the versions of arc-fanout and libarc\n"
    "\n"
    "A summary line goes to standard error at the end, e.g.\n"
    "  3 servers: 2 answered, 1 failed in 0.21 s\n"
    "\n"
    "Exit status:\n"
    "  0    every server answered, none with an error reply\n"
    "  1    some server did not answer, or answered with an error reply (-ERR...);\n"
    "       with --every, as of the last round completed\n"
    "  2    a usage error: bad option or server, no '--' or no command, an\n"
    "       unreadable host file, a TLS setup that cannot be made\n"
    "  130  interrupted (SIGINT) before every server had answered (with --every:\n"
    "       before the first round completed)\n"
    "\n"
    "Examples:\n"
    "  arc-fanout 10.0.0.1 10.0.0.2:6380 /run/redis.sock -- PING\n"
    "  arc-fanout -f servers.txt --json -- INFO replication\n"
    "  ARC_FANOUT_PASSWORD=secret arc-fanout -f servers.txt -- DBSIZE\n"
    "  arc-fanout --every 2s -f servers.txt -- INFO memory\n"
    "  arc-fanout --tls --cacert ca.pem redis.example.com:6380 -- PING\n";

enum opt_id {
    OPT_HOSTS_FILE,
    OPT_CONNECT_TIMEOUT,
    OPT_TIMEOUT,
    OPT_CONCURRENCY,
    OPT_RESP3,
    OPT_RESP,
    OPT_USER,
    OPT_PASS,
    OPT_DB,
    OPT_TLS,
    OPT_CACERT,
    OPT_CERT,
    OPT_KEY,
    OPT_SNI,
    OPT_INSECURE,
    OPT_EVERY,
    OPT_TABLE,
    OPT_LINES,
    OPT_JSON,
    OPT_HELP,
    OPT_VERSION,
};

typedef struct opt_def {
    const char *name; /* long, without "--" */
    char letter;      /* short; 0: none */
    bool value;       /* takes a value */
    enum opt_id id;
} opt_def;

static const opt_def opts[] = {
    {"hosts-file", 'f', true, OPT_HOSTS_FILE},
    {"connect-timeout", 'c', true, OPT_CONNECT_TIMEOUT},
    {"timeout", 't', true, OPT_TIMEOUT},
    {"concurrency", 'n', true, OPT_CONCURRENCY},
    {"resp3", '3', false, OPT_RESP3},
    {"resp", 0, true, OPT_RESP},
    {"user", 'u', true, OPT_USER},
    {"pass", 'a', true, OPT_PASS},
    {"db", 'd', true, OPT_DB},
    {"tls", 0, false, OPT_TLS},
    {"cacert", 0, true, OPT_CACERT},
    {"cert", 0, true, OPT_CERT},
    {"key", 0, true, OPT_KEY},
    {"sni", 0, true, OPT_SNI},
    {"insecure", 0, false, OPT_INSECURE},
    {"every", 0, true, OPT_EVERY},
    {"table", 0, false, OPT_TABLE},
    {"lines", 0, false, OPT_LINES},
    {"json", 0, false, OPT_JSON},
    {"help", 'h', false, OPT_HELP},
    {"version", 0, false, OPT_VERSION},
};

static fo_parse_result bad(FILE *err, const char *fmt, const char *what)
{
    fputs("arc-fanout: ", err);
    fprintf(err, fmt, what);
    fputs("\n", err);
    fputs(usage_line, err);
    fputs("Try 'arc-fanout --help' for more.\n", err);
    return FO_PARSE_BAD;
}

/* A whole decimal number in [min, max]. */
static bool parse_long(const char *s, long min, long max, long *out)
{
    if (s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* "500ms", "2s", "1.5s", "1m", "1h"; a bare number is seconds. */
static bool parse_duration(const char *s, long *ms)
{
    double whole = 0;
    size_t i = 0;
    bool digits = false;
    for (; s[i] >= '0' && s[i] <= '9'; i++, digits = true)
        whole = whole * 10 + (s[i] - '0');
    if (s[i] == '.') {
        double scale = 0.1;
        for (i++; s[i] >= '0' && s[i] <= '9'; i++, digits = true, scale /= 10)
            whole += (s[i] - '0') * scale;
    }
    if (!digits || whole > 1e9)
        return false;
    const char *unit = s + i;
    double factor;
    if (strcmp(unit, "ms") == 0)
        factor = 1;
    else if (strcmp(unit, "s") == 0 || *unit == '\0')
        factor = 1000;
    else if (strcmp(unit, "m") == 0)
        factor = 60 * 1000;
    else if (strcmp(unit, "h") == 0)
        factor = 3600 * 1000;
    else
        return false;
    double v = whole * factor + 0.5;
    if (v < MIN_EVERY_MS || v > MAX_EVERY_MS)
        return false;
    *ms = (long)v;
    return true;
}

static bool add_file(fo_config *cfg, const char *name, bool *stdin_used, FILE *err)
{
    char why[600];
    int rc;
    if (strcmp(name, "-") == 0) {
        if (*stdin_used) {
            bad(err, "%s: standard input can be read once", "-f -");
            return false;
        }
        *stdin_used = true;
        rc = fo_targets_read(&cfg->targets, stdin, "(stdin)", why, sizeof why);
    } else {
        FILE *f = fopen(name, "r");
        if (f == NULL) {
            fprintf(err, "arc-fanout: %s: %s\n", name, strerror(errno));
            return false;
        }
        rc = fo_targets_read(&cfg->targets, f, name, why, sizeof why);
        fclose(f);
    }
    if (rc != 0)
        fprintf(err, "arc-fanout: %s\n", why);
    return rc == 0;
}

/* Applies one option with its value (NULL for a flag). */
static fo_parse_result apply(fo_config *cfg, const opt_def *d, const char *v, const char *as,
                             bool *stdin_used, FILE *out, FILE *err)
{
    long n;
    switch (d->id) {
    case OPT_HOSTS_FILE: return add_file(cfg, v, stdin_used, err) ? FO_PARSE_RUN : FO_PARSE_BAD;
    case OPT_CONNECT_TIMEOUT:
    case OPT_TIMEOUT:
        if (!parse_long(v, 0, LONG_MAX / 2, &n))
            return bad(err, "%s: expected milliseconds (0: none)", as);
        *(d->id == OPT_TIMEOUT ? &cfg->timeout_ms : &cfg->connect_timeout_ms) = n;
        break;
    case OPT_CONCURRENCY:
        if (!parse_long(v, 1, 1000000, &n))
            return bad(err, "%s: expected a count of at least 1", as);
        cfg->concurrency = (unsigned)n;
        break;
    case OPT_RESP3: cfg->resp = 3; break;
    case OPT_RESP:
        if (strcmp(v, "2") != 0 && strcmp(v, "3") != 0)
            return bad(err, "%s: expected 2 or 3", as);
        cfg->resp = v[0] - '0';
        break;
    case OPT_USER: cfg->user = v; break;
    case OPT_PASS:
        /* Kept as a copy, and the argument overwritten, so that the
         * process list shows it for as short a time as can be. */
        free(cfg->password_copy);
        cfg->password_copy = strdup(v);
        if (cfg->password_copy == NULL) {
            fputs("arc-fanout: out of memory\n", err);
            return FO_PARSE_BAD;
        }
        memset((char *)v, 'x', strlen(v));
        cfg->password = cfg->password_copy;
        break;
    case OPT_DB:
        if (!parse_long(v, 0, INT_MAX, &n))
            return bad(err, "%s: expected a database number", as);
        cfg->db = (int)n;
        break;
    case OPT_TLS: cfg->tls = true; break;
    case OPT_CACERT:
        cfg->cacert = v;
        cfg->tls = true;
        break;
    case OPT_CERT:
        cfg->cert = v;
        cfg->tls = true;
        break;
    case OPT_KEY:
        cfg->key = v;
        cfg->tls = true;
        break;
    case OPT_SNI:
        cfg->sni = v;
        cfg->tls = true;
        break;
    case OPT_INSECURE:
        cfg->insecure = true;
        cfg->tls = true;
        break;
    case OPT_EVERY:
        if (!parse_duration(v, &cfg->every_ms))
            return bad(err, "%s: expected a duration from 10ms to 24h, e.g. 500ms or 2s", as);
        break;
    case OPT_TABLE: cfg->output = FO_OUTPUT_TABLE; break;
    case OPT_LINES: cfg->output = FO_OUTPUT_LINES; break;
    case OPT_JSON: cfg->output = FO_OUTPUT_JSON; break;
    case OPT_HELP:
        fputs(usage_line, out);
        fputs(help_text, out);
        return FO_PARSE_DONE;
    case OPT_VERSION:
        fprintf(out, "arc-fanout %s (libarc %s)\n", ARC_FANOUT_VERSION, arc_version());
        return FO_PARSE_DONE;
    }
    return FO_PARSE_RUN;
}

static const opt_def *find_long(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

static const opt_def *find_short(char letter)
{
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (opts[i].letter == letter)
            return &opts[i];
    return NULL;
}

/* One argument that starts with '-': *i moves past a value taken from the
 * next argument. */
static fo_parse_result option(fo_config *cfg, int argc, char **argv, int *i, bool *stdin_used,
                              FILE *out, FILE *err)
{
    const char *arg = argv[*i];
    const opt_def *d;
    const char *value = NULL;
    if (arg[1] == '-') {
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        d = find_long(name, eq ? (size_t)(eq - name) : strlen(name));
        if (d == NULL)
            return bad(err, "unknown option '%s'", arg);
        if (eq != NULL) {
            if (!d->value)
                return bad(err, "'%s' takes no value", arg);
            value = eq + 1;
        }
    } else {
        d = find_short(arg[1]);
        if (d == NULL)
            return bad(err, "unknown option '%s'", arg);
        if (arg[2] != '\0') {
            if (!d->value)
                return bad(err, "unknown option '%s' (short options are given one by one)", arg);
            value = arg + 2;
        }
    }
    if (d->value && value == NULL) {
        if (*i + 1 >= argc)
            return bad(err, "'%s' needs a value", arg);
        value = argv[++*i];
    }
    return apply(cfg, d, value, arg, stdin_used, out, err);
}

fo_parse_result fo_config_parse(fo_config *cfg, int argc, char **argv, FILE *out, FILE *err)
{
    *cfg = (fo_config){0};
    cfg->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    cfg->timeout_ms = DEFAULT_TIMEOUT_MS;
    cfg->resp = 2;
    bool stdin_used = false;
    bool dashdash = false;
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            dashdash = true;
            i++;
            break;
        }
        if (arg[0] == '-' && arg[1] != '\0') {
            fo_parse_result r = option(cfg, argc, argv, &i, &stdin_used, out, err);
            if (r != FO_PARSE_RUN)
                return r;
            continue;
        }
        char why[400];
        if (fo_targets_add(&cfg->targets, arg, why, sizeof why) != 0)
            return bad(err, "%s", why);
    }
    if (!dashdash)
        return bad(err, "%s", "no '--' before the command");
    if (i >= argc)
        return bad(err, "%s", "no command after '--'");
    if (cfg->targets.n == 0)
        return bad(err, "%s", "no servers: give HOST[:PORT]... or -f FILE before '--'");
    if (cfg->key != NULL && cfg->cert == NULL)
        return bad(err, "%s", "--key needs --cert");
    if (cfg->password == NULL) {
        const char *env = getenv("ARC_FANOUT_PASSWORD");
        if (env != NULL && env[0] != '\0')
            cfg->password = env;
    }
    if (cfg->user != NULL && cfg->password == NULL)
        return bad(err, "%s", "--user needs a password (--pass or ARC_FANOUT_PASSWORD)");
    cfg->argc = argc - i;
    cfg->argv = (const char *const *)argv + i;
    return FO_PARSE_RUN;
}

void fo_config_free(fo_config *cfg)
{
    fo_targets_free(&cfg->targets);
    free(cfg->password_copy);
    cfg->password_copy = NULL;
}
