/* format.c: encoding commands as RESP arrays of bulk strings. */
#include <arc/format.h>

#include "buffer.h"
#include "bytes.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- decimal without the printf family ---- */

static size_t digits(uint64_t v)
{
    /* Argument counts and lengths are nearly always under 1000. */
    if (v < 10)
        return 1;
    if (v < 100)
        return 2;
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* Writes v in exactly n = digits(v) bytes. */
static void put_digits(char *dst, uint64_t v, size_t n)
{
    while (n > 0) {
        dst[--n] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* "$len\r\n" or "*len\r\n": bytes it takes. */
static size_t header_len(size_t v)
{
    return 1 + digits(v) + 2;
}

/* Writes "$len\r\n" (or '*') at p, which has room; returns its end. */
static char *write_header(char *p, char type, size_t v)
{
    *p++ = type;
    if (v < 10) {
        *p++ = (char)('0' + v);
    } else if (v < 100) {
        *p++ = (char)('0' + v / 10);
        *p++ = (char)('0' + v % 10);
    } else {
        size_t n = digits(v);
        put_digits(p, v, n);
        p += n;
    }
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

static void put_header(arc_buffer *b, char type, size_t v)
{
    char *p = arc__buffer_tail(b);
    arc__buffer_commit(b, (size_t)(write_header(p, type, v) - p));
}

/* ---- argv form ---- */

/* The exact size of the command: header, and each argument's header, bytes
 * and CRLF. 0 when it would not fit a size_t. */
static size_t argv_size(int argc, const char *const *argv, const size_t *argvlen)
{
    size_t total = header_len((size_t)argc);
    for (int i = 0; i < argc; i++) {
        size_t n = argvlen ? argvlen[i] : strlen(argv[i]);
        size_t part = header_len(n) + 2;
        if (n > SIZE_MAX - part || total > SIZE_MAX - (n + part))
            return 0;
        total += n + part;
    }
    return total;
}

/* The widest a "$len\r\n" header and the CRLF after its bytes can be: a
 * 64-bit length has 20 digits. */
#define ARGV_PART_MAX (1 + 20 + 2 + 2)

int arc_format_argv(arc_buffer *out, int argc, const char *const *argv, const size_t *argvlen)
{
    if (out == NULL || argc < 1 || argv == NULL)
        return ARC_ERR_INVALID;
    /* The arguments' bytes, and a bound on the rest: when the room for that
     * is there (nearly always), the command is written in one pass more.
     * Otherwise its exact size is reserved, so that the buffer grows at
     * most once and a limit refuses only what is too long. Either way an
     * error leaves the buffer untouched. */
    size_t bytes = 0;
    for (int i = 0; i < argc; i++) {
        if (argv[i] == NULL)
            return ARC_ERR_INVALID;
        size_t n = argvlen ? argvlen[i] : strlen(argv[i]);
        if (n > SIZE_MAX / 2 - bytes)
            return ARC_ERR_LIMIT;
        bytes += n;
    }
    if ((size_t)argc >= (SIZE_MAX / 2) / ARGV_PART_MAX ||
        bytes + ARGV_PART_MAX * ((size_t)argc + 1) > arc__buffer_room(out)) {
        size_t total = argv_size(argc, argv, argvlen);
        if (total == 0)
            return ARC_ERR_LIMIT;
        int rc = arc__buffer_reserve(out, total);
        if (rc != ARC_OK)
            return rc;
    }
    /* Written through one cursor, committed once: the room is there. */
    char *start = arc__buffer_tail(out);
    char *p = write_header(start, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        size_t n = argvlen ? argvlen[i] : strlen(argv[i]);
        p = write_header(p, '$', n);
        arc__copy_short(p, argv[i], n);
        p += n;
        *p++ = '\r';
        *p++ = '\n';
    }
    arc__buffer_commit(out, (size_t)(p - start));
    return ARC_OK;
}

/* ---- printf form ---- */

/* One conversion specification, parsed from the format alone. */
typedef struct spec {
    size_t len;       /* bytes of the specification, '%' included */
    char conv;        /* s b d i u x X o c f F g G e E a A % */
    char length[3];   /* "", "hh", "h", "l", "ll", "z", "j", "t", "L" */
    bool plain;       /* no flags, width or precision */
    int stars;        /* '*' width / precision: ints taken from the arguments */
} spec;

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parses the specification at p (p[0] == '%'); false when it is not one
 * this encoder knows. */
static bool parse_spec(const char *p, spec *s)
{
    char c = p[1];
    if (c == 's' || c == 'b' || c == 'd' || c == 'i' || c == 'u' || c == '%') {
        /* The usual ones, bare: what the long way below finds for them. */
        s->len = 2;
        s->conv = c;
        s->length[0] = '\0';
        s->plain = true;
        s->stars = 0;
        return true;
    }
    size_t i = 1;
    memset(s, 0, sizeof *s);
    s->plain = true;
    while (p[i] == '-' || p[i] == '+' || p[i] == ' ' || p[i] == '#' || p[i] == '0') {
        s->plain = false;
        i++;
    }
    if (p[i] == '*') {
        s->plain = false;
        s->stars++;
        i++;
    } else {
        while (is_digit(p[i])) {
            s->plain = false;
            i++;
        }
    }
    if (p[i] == '.') {
        s->plain = false;
        i++;
        if (p[i] == '*') {
            s->stars++;
            i++;
        } else {
            while (is_digit(p[i]))
                i++;
        }
    }
    size_t l = 0;
    if ((p[i] == 'h' && p[i + 1] == 'h') || (p[i] == 'l' && p[i + 1] == 'l')) {
        s->length[l++] = p[i++];
        s->length[l++] = p[i++];
    } else if (p[i] == 'h' || p[i] == 'l' || p[i] == 'z' || p[i] == 'j' || p[i] == 't' ||
               p[i] == 'L') {
        s->length[l++] = p[i++];
    }
    s->conv = p[i];
    s->len = i + 1;
    bool integer = strchr("diuxXoc", s->conv) != NULL && s->conv != '\0';
    bool floating = strchr("fFgGeEaA", s->conv) != NULL && s->conv != '\0';
    if (s->conv == '%' || s->conv == 's' || s->conv == 'b')
        return s->len == 2; /* no flags or modifiers on these */
    if (integer)
        return s->length[0] != 'L';
    if (floating)
        return l == 0 || (l == 1 && (s->length[0] == 'L' || s->length[0] == 'l'));
    return false;
}

/* Where converted bytes go: counted only, or counted and written into a
 * buffer that was reserved for exactly that many. */
typedef struct sink {
    arc_buffer *b;
    size_t n;
} sink;

static void sink_put(sink *k, const void *p, size_t n)
{
    if (k->b)
        arc__buffer_put(k->b, p, n);
    k->n += n;
}

static void put_signed(sink *k, long long v)
{
    char tmp[24];
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t n = digits(m), at = 0;
    if (v < 0)
        tmp[at++] = '-';
    put_digits(tmp + at, m, n);
    sink_put(k, tmp, at + n);
}

static void put_unsigned(sink *k, unsigned long long v)
{
    char tmp[24];
    size_t n = digits(v);
    put_digits(tmp, v, n);
    sink_put(k, tmp, n);
}

/* Takes a signed integer argument of the spec's length. */
static long long arg_signed(const spec *s, va_list *ap)
{
    const char *l = s->length;
    if (l[0] == '\0')
        return va_arg(*ap, int);
    if (!strcmp(l, "hh"))
        return (signed char)va_arg(*ap, int);
    if (!strcmp(l, "h"))
        return (short)va_arg(*ap, int);
    if (!strcmp(l, "l"))
        return va_arg(*ap, long);
    if (!strcmp(l, "ll"))
        return va_arg(*ap, long long);
    if (!strcmp(l, "z"))
        return (long long)va_arg(*ap, size_t);
    if (!strcmp(l, "j"))
        return (long long)va_arg(*ap, intmax_t);
    if (!strcmp(l, "t"))
        return (long long)va_arg(*ap, ptrdiff_t);
    return va_arg(*ap, int);
}

static unsigned long long arg_unsigned(const spec *s, va_list *ap)
{
    const char *l = s->length;
    if (l[0] == '\0')
        return va_arg(*ap, unsigned);
    if (!strcmp(l, "hh"))
        return (unsigned char)va_arg(*ap, unsigned);
    if (!strcmp(l, "h"))
        return (unsigned short)va_arg(*ap, unsigned);
    if (!strcmp(l, "l"))
        return va_arg(*ap, unsigned long);
    if (!strcmp(l, "ll"))
        return va_arg(*ap, unsigned long long);
    if (!strcmp(l, "z"))
        return va_arg(*ap, size_t);
    if (!strcmp(l, "j"))
        return (unsigned long long)va_arg(*ap, uintmax_t);
    if (!strcmp(l, "t"))
        return (unsigned long long)va_arg(*ap, ptrdiff_t);
    return va_arg(*ap, unsigned);
}

/* Flags, width, precision and floating point go through snprintf, into a
 * bounded buffer; the plain integer conversions never do. */
static int put_printf(sink *k, const char *specp, const spec *s, va_list *ap)
{
    char fmt[32], tmp[512];
    if (s->len >= sizeof fmt)
        return ARC_ERR_INVALID;
    memcpy(fmt, specp, s->len);
    fmt[s->len] = '\0';
    int star[2] = {0, 0};
    for (int i = 0; i < s->stars; i++)
        star[i] = va_arg(*ap, int);
    int n;
    bool is_float = strchr("fFgGeEaA", s->conv) != NULL;
    bool is_signed = s->conv == 'd' || s->conv == 'i';
    /* The argument is taken at its promoted type and handed on with a
     * format whose length modifier says the same type. */
    if (is_float) {
        if (s->length[0] == 'L') {
            long double v = va_arg(*ap, long double);
            n = s->stars == 2   ? snprintf(tmp, sizeof tmp, fmt, star[0], star[1], v)
                : s->stars == 1 ? snprintf(tmp, sizeof tmp, fmt, star[0], v)
                                : snprintf(tmp, sizeof tmp, fmt, v);
        } else {
            double v = va_arg(*ap, double);
            n = s->stars == 2   ? snprintf(tmp, sizeof tmp, fmt, star[0], star[1], v)
                : s->stars == 1 ? snprintf(tmp, sizeof tmp, fmt, star[0], v)
                                : snprintf(tmp, sizeof tmp, fmt, v);
        }
    } else {
        /* Rewrite the length modifier to ll so that one call shape serves
         * every integer width. */
        size_t cut = s->len - 1 - strlen(s->length);
        char f2[40];
        memcpy(f2, specp, cut);
        size_t at = cut;
        if (s->conv != 'c') {
            f2[at++] = 'l';
            f2[at++] = 'l';
        }
        f2[at++] = s->conv;
        f2[at] = '\0';
        if (s->conv == 'c') {
            int v = va_arg(*ap, int);
            n = s->stars == 2   ? snprintf(tmp, sizeof tmp, f2, star[0], star[1], v)
                : s->stars == 1 ? snprintf(tmp, sizeof tmp, f2, star[0], v)
                                : snprintf(tmp, sizeof tmp, f2, v);
        } else if (is_signed) {
            long long v = arg_signed(s, ap);
            n = s->stars == 2   ? snprintf(tmp, sizeof tmp, f2, star[0], star[1], v)
                : s->stars == 1 ? snprintf(tmp, sizeof tmp, f2, star[0], v)
                                : snprintf(tmp, sizeof tmp, f2, v);
        } else {
            unsigned long long v = arg_unsigned(s, ap);
            n = s->stars == 2   ? snprintf(tmp, sizeof tmp, f2, star[0], star[1], v)
                : s->stars == 1 ? snprintf(tmp, sizeof tmp, f2, star[0], v)
                                : snprintf(tmp, sizeof tmp, f2, v);
        }
    }
    if (n < 0 || (size_t)n >= sizeof tmp)
        return ARC_ERR_INVALID; /* a width past the bound, or an encoding error */
    sink_put(k, tmp, (size_t)n);
    return ARC_OK;
}

/* The next %s (a string: NULL is refused) or %b (a pointer and a length:
 * NULL only with 0) from *ap, as bytes and their count; `used` bytes of the
 * argument came before it, and the whole must stay below SIZE_MAX / 2. */
static int bytes_arg(char conv, va_list *ap, size_t used, const void **v, size_t *n)
{
    *v = va_arg(*ap, const void *);
    if (conv == 's') {
        if (*v == NULL)
            return ARC_ERR_INVALID;
        *n = strlen(*v);
    } else {
        *n = va_arg(*ap, size_t);
        if (*v == NULL && *n > 0)
            return ARC_ERR_INVALID;
    }
    return *n > SIZE_MAX / 2 - used ? ARC_ERR_LIMIT : ARC_OK;
}

/* Converts one argument: from *fmtp up to the next unquoted space or the
 * end. Run twice per argument: once counting (on a copy of the va_list)
 * to learn the $length, once writing. */
static int walk_arg(const char **fmtp, va_list *ap, sink *k)
{
    const char *p = *fmtp;
    while (*p != '\0' && *p != ' ') {
        if (*p != '%') {
            const char *q = p;
            while (*q != '\0' && *q != ' ' && *q != '%')
                q++;
            sink_put(k, p, (size_t)(q - p));
            p = q;
            continue;
        }
        spec s;
        if (!parse_spec(p, &s))
            return ARC_ERR_INVALID;
        int rc = ARC_OK;
        switch (s.conv) {
        case '%':
            sink_put(k, "%", 1);
            break;
        case 's':
        case 'b': {
            const void *v;
            size_t n;
            if ((rc = bytes_arg(s.conv, ap, k->n, &v, &n)) != ARC_OK)
                return rc;
            sink_put(k, v, n);
            break;
        }
        default:
            if (s.plain && s.conv != 'c' && s.conv != 'x' && s.conv != 'X' && s.conv != 'o' &&
                strchr("fFgGeEaA", s.conv) == NULL) {
                if (s.conv == 'u')
                    put_unsigned(k, arg_unsigned(&s, ap));
                else
                    put_signed(k, arg_signed(&s, ap));
            } else {
                rc = put_printf(k, p, &s, ap);
            }
            break;
        }
        if (rc != ARC_OK)
            return rc;
        p += s.len;
    }
    *fmtp = p;
    return ARC_OK;
}

/* Counts the arguments from the format alone: each maximal run of
 * characters between unquoted spaces is one (a spec such as "% d" holds a
 * space that does not split). -1 on an unknown conversion. */
static long count_args(const char *p)
{
    long n = 0;
    bool in = false;
    while (*p) {
        if (*p == ' ') {
            in = false;
            p++;
            continue;
        }
        if (!in) {
            n++;
            in = true;
        }
        if (*p == '%') {
            spec s;
            if (!parse_spec(p, &s))
                return -1;
            p += s.len;
        } else {
            p++;
        }
    }
    return n;
}

int arc_vformat(arc_buffer *out, const char *fmt, va_list ap)
{
    if (out == NULL || fmt == NULL)
        return ARC_ERR_INVALID;
    long argc = count_args(fmt);
    if (argc <= 0)
        return ARC_ERR_INVALID;
    size_t mark = arc__buffer_len(out);
    va_list args;
    va_copy(args, ap);
    int rc = arc__buffer_reserve(out, header_len((size_t)argc));
    if (rc == ARC_OK)
        put_header(out, '*', (size_t)argc);
    const char *p = fmt;
    while (rc == ARC_OK) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        /* An argument that is one %s or %b, or has no conversion at all,
         * knows its length without the counting pass. */
        const void *one = NULL;
        size_t n = 0;
        bool direct = false;
        if (p[0] == '%' && (p[1] == 's' || p[1] == 'b') && (p[2] == ' ' || p[2] == '\0')) {
            direct = true;
            if ((rc = bytes_arg(p[1], &args, 0, &one, &n)) != ARC_OK)
                break;
            p += 2;
        } else if (p[0] != '%') {
            const char *q = p;
            while (*q != '\0' && *q != ' ' && *q != '%')
                q++;
            if (*q != '%') {
                direct = true;
                one = p;
                n = (size_t)(q - p);
                p = q;
            }
        }
        if (direct) {
            rc = arc__buffer_reserve(out, header_len(n) + n + 2);
            if (rc != ARC_OK)
                break;
            put_header(out, '$', n);
            arc__copy_short(arc__buffer_tail(out), one, n);
            arc__buffer_commit(out, n);
            arc__buffer_putc(out, '\r');
            arc__buffer_putc(out, '\n');
            continue;
        }
        sink count = {NULL, 0};
        const char *q = p;
        va_list probe;
        va_copy(probe, args);
        rc = walk_arg(&q, &probe, &count);
        va_end(probe);
        if (rc != ARC_OK)
            break;
        if (count.n > SIZE_MAX - 32) {
            rc = ARC_ERR_LIMIT;
            break;
        }
        rc = arc__buffer_reserve(out, header_len(count.n) + count.n + 2);
        if (rc != ARC_OK)
            break;
        put_header(out, '$', count.n);
        sink write = {out, 0};
        rc = walk_arg(&p, &args, &write);
        if (rc == ARC_OK && write.n != count.n)
            rc = ARC_ERR_INVALID; /* an argument changed between the passes */
        if (rc != ARC_OK)
            break;
        arc__buffer_putc(out, '\r');
        arc__buffer_putc(out, '\n');
    }
    va_end(args);
    if (rc != ARC_OK)
        arc__buffer_truncate(out, mark);
    return rc;
}

int arc_format(arc_buffer *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = arc_vformat(out, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- pre-formatted input ---- */

/* Reads "<type><digits>\r\n" at *pos; the number has no sign and no
 * overflow. */
static bool read_header(const char *p, size_t len, size_t *pos, char type, size_t *out)
{
    size_t i = *pos;
    if (i >= len || p[i] != type)
        return false;
    i++;
    size_t start = i, v = 0;
    while (i < len && is_digit(p[i])) {
        size_t d = (size_t)(p[i] - '0');
        if (v > (SIZE_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        i++;
    }
    if (i == start || len - i < 2 || p[i] != '\r' || p[i + 1] != '\n')
        return false;
    *pos = i + 2;
    *out = v;
    return true;
}

int arc_format_check(const char *cmd, size_t len, size_t *count)
{
    if (cmd == NULL || len == 0)
        return ARC_ERR_INVALID;
    size_t pos = 0, n = 0;
    while (pos < len) {
        size_t argc;
        if (!read_header(cmd, len, &pos, '*', &argc) || argc == 0)
            return ARC_ERR_INVALID;
        for (size_t i = 0; i < argc; i++) {
            size_t blen;
            if (!read_header(cmd, len, &pos, '$', &blen))
                return ARC_ERR_INVALID;
            if (blen > len - pos || len - pos - blen < 2 || cmd[pos + blen] != '\r' ||
                cmd[pos + blen + 1] != '\n')
                return ARC_ERR_INVALID;
            pos += blen + 2;
        }
        n++;
    }
    if (count != NULL)
        *count = n;
    return ARC_OK;
}

int arc_format_raw(arc_buffer *out, const char *cmd, size_t len, size_t *count)
{
    if (out == NULL)
        return ARC_ERR_INVALID;
    size_t n;
    int rc = arc_format_check(cmd, len, &n);
    if (rc != ARC_OK)
        return rc;
    rc = arc_buffer_append(out, cmd, len);
    if (rc == ARC_OK && count != NULL)
        *count = n;
    return rc;
}
