/* hosts.c (arc-fanout): parsing servers as hosts.h describes. */
#define _POSIX_C_SOURCE 200809L
#include "hosts.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A host file line longer than this is not a server name; refusing it
 * keeps a binary file given by mistake from becoming one huge "host". */
#define FO_MAX_LINE 4096

static char *copy(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* 1..65535 in decimal digits only: "80x", "+80" and "" are mistakes. */
static bool parse_port(const char *s, size_t n, int *port)
{
    if (n == 0 || n > 5)
        return false;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return false;
    *port = v;
    return true;
}

static bool has_control(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += *s == c;
    return n;
}

/* What an IPv6 address may hold: hex digits, ':', '.' (an IPv4 tail) and
 * a '%' zone such as %eth0. */
static bool ipv6_chars(const char *s)
{
    const char *zone = strchr(s, '%');
    for (; *s != '\0' && s != zone; s++) {
        char c = *s;
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex && c != ':' && c != '.')
            return false;
    }
    return true;
}

/* Splits `spec` into t->host/t->port or t->path (allocated). */
static int parse(const char *spec, fo_target *t, char *err, size_t errlen)
{
    if (spec[0] == '\0') {
        snprintf(err, errlen, "empty server name");
        return -1;
    }
    if (has_control(spec)) {
        snprintf(err, errlen, "server name with a control character");
        return -1;
    }
    if (spec[0] == '/' || starts_with(spec, "./") || starts_with(spec, "../")) {
        t->path = copy(spec, strlen(spec));
        return t->path != NULL ? 0 : -2;
    }
    const char *host = spec;
    size_t hostlen;
    const char *port = NULL;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL || close == spec + 1) {
            snprintf(err, errlen, "'%s': expected [IPV6] or [IPV6]:PORT", spec);
            return -1;
        }
        host = spec + 1;
        hostlen = (size_t)(close - host);
        if (close[1] == ':')
            port = close + 2;
        else if (close[1] != '\0') {
            snprintf(err, errlen, "'%s': expected ':PORT' after ']'", spec);
            return -1;
        }
    } else if (count_char(spec, ':') == 1) {
        const char *colon = strchr(spec, ':');
        hostlen = (size_t)(colon - spec);
        port = colon + 1;
    } else {
        /* No colon: a name. Several and no brackets: an IPv6 address,
         * whose last group cannot be told from a port. */
        hostlen = strlen(spec);
        if (hostlen != 0 && strchr(spec, ':') != NULL && !ipv6_chars(spec)) {
            snprintf(err, errlen,
                     "'%s': more than one ':' (an IPv6 address with a port "
                     "is written [ADDRESS]:PORT)",
                     spec);
            return -1;
        }
    }
    if (hostlen == 0) {
        snprintf(err, errlen, "'%s': empty host", spec);
        return -1;
    }
    if (memchr(host, ' ', hostlen) != NULL) {
        snprintf(err, errlen, "'%s': a host name has no spaces", spec);
        return -1;
    }
    t->port = FO_DEFAULT_PORT;
    if (port != NULL && !parse_port(port, strlen(port), &t->port)) {
        snprintf(err, errlen, "'%s': bad port '%s' (1 to 65535)", spec, port);
        return -1;
    }
    t->host = copy(host, hostlen);
    return t->host != NULL ? 0 : -2;
}

int fo_targets_add(fo_targets *list, const char *spec, char *err, size_t errlen)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        fo_target *v = cap <= SIZE_MAX / sizeof *v ? realloc(list->v, cap * sizeof *v) : NULL;
        if (v == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        list->v = v;
        list->cap = cap;
    }
    fo_target t = {0};
    int rc = parse(spec, &t, err, errlen);
    if (rc == 0)
        t.spec = copy(spec, strlen(spec));
    if (rc == -2 || (rc == 0 && t.spec == NULL)) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    if (rc != 0) {
        free(t.host);
        free(t.path);
        free(t.spec);
        return -1;
    }
    list->v[list->n++] = t;
    return 0;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int fo_targets_read(fo_targets *list, FILE *f, const char *name, char *err, size_t errlen)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    unsigned long lineno = 0;
    int rc = 0;
    errno = 0;
    while (rc == 0 && (got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t n = (size_t)got;
        if (n > FO_MAX_LINE) {
            snprintf(err, errlen, "%s:%lu: line longer than %d bytes", name, lineno, FO_MAX_LINE);
            rc = -1;
            break;
        }
        if (memchr(line, '\0', n) != NULL) {
            snprintf(err, errlen, "%s:%lu: a NUL byte: not a host file", name, lineno);
            rc = -1;
            break;
        }
        size_t start = 0;
        while (start < n && blank(line[start]))
            start++;
        while (n > start && blank(line[n - 1]))
            n--;
        if (n == start || line[start] == '#')
            continue;
        line[n] = '\0';
        char why[300];
        if (fo_targets_add(list, line + start, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s:%lu: %s", name, lineno, why);
            rc = -1;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: %s", name, strerror(errno ? errno : EIO));
        rc = -1;
    }
    free(line);
    return rc;
}

void fo_targets_free(fo_targets *list)
{
    for (size_t i = 0; i < list->n; i++) {
        free(list->v[i].spec);
        free(list->v[i].host);
        free(list->v[i].path);
    }
    free(list->v);
    *list = (fo_targets){0};
}
