/* fuzz_format.c: the encoder and the pre-formatted validator. Raw input is
 * validated; the input split into arguments is encoded, and the encoding must
 * validate and decode back to the same arguments; a format string built from
 * the input (only %b, %s and %% kept) must encode or be refused cleanly. */
#include <arc/arc.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_raw(const char *in, size_t n)
{
    size_t count = 0;
    int rc = arc_format_check(in, n, &count);
    arc_buffer *b = arc_buffer_new(0, NULL);
    if (b == NULL)
        return;
    size_t count2 = 0;
    int rc2 = arc_format_raw(b, in, n, &count2);
    if (rc != rc2 || (rc == ARC_OK && (count != count2 || count == 0)))
        __builtin_trap();
    if (rc == ARC_OK && (arc_buffer_len(b) != n || memcmp(arc_buffer_data(b), in, n) != 0))
        __builtin_trap();
    if (rc != ARC_OK && arc_buffer_len(b) != 0)
        __builtin_trap(); /* a refused input leaves the buffer as it was */
    arc_buffer_free(b);
}

/* Reads "$len\r\n<bytes>\r\n" at *p; the encoder wrote it, so it must be
 * there exactly. */
static const char *next_arg(const char **p, const char *end, size_t *len)
{
    const char *q = *p;
    if (q >= end || *q != '$')
        __builtin_trap();
    q++;
    size_t v = 0;
    while (q < end && *q >= '0' && *q <= '9')
        v = v * 10 + (size_t)(*q++ - '0');
    if (end - q < 2 || q[0] != '\r' || q[1] != '\n')
        __builtin_trap();
    q += 2;
    if ((size_t)(end - q) < v + 2)
        __builtin_trap();
    *len = v;
    *p = q + v + 2;
    return q;
}

static void check_argv(const char *in, size_t n)
{
    /* Split on 0xff into at most 64 arguments. */
    const char *argv[64];
    size_t lens[64];
    int argc = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n && argc < 64; i++) {
        if (i == n || (unsigned char)in[i] == 0xff) {
            argv[argc] = in + start;
            lens[argc] = i - start;
            argc++;
            start = i + 1;
        }
    }
    arc_buffer *b = arc_buffer_new(0, NULL);
    if (b == NULL)
        return;
    if (arc_format_argv(b, argc, argv, lens) == ARC_OK) {
        const char *out = arc_buffer_data(b);
        size_t olen = arc_buffer_len(b), count = 0;
        if (arc_format_check(out, olen, &count) != ARC_OK || count != 1)
            __builtin_trap();
        const char *p = out, *end = out + olen;
        while (p < end && *p != '\n')
            p++;
        p++;
        for (int i = 0; i < argc; i++) {
            size_t len;
            const char *a = next_arg(&p, end, &len);
            if (len != lens[i] || memcmp(a, argv[i], len) != 0)
                __builtin_trap();
        }
        if (p != end)
            __builtin_trap();
    }
    arc_buffer_free(b);
}

static void check_printf(const char *in, size_t n)
{
    /* A format from the input: "%b" and "%s" become "%b" (at most four, so
     * the four pairs passed below always cover them), "%%" stays, and any
     * other '%' is escaped. NUL bytes become spaces. */
    char *fmt = malloc(2 * n + 1);
    if (fmt == NULL)
        return;
    size_t j = 0;
    int convs = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i] ? in[i] : ' ';
        char d = i + 1 < n ? in[i + 1] : '\0';
        if (c == '%' && (d == 'b' || d == 's') && convs < 4) {
            fmt[j++] = '%';
            fmt[j++] = 'b';
            convs++;
            i++;
        } else if (c == '%') {
            fmt[j++] = '%';
            fmt[j++] = '%';
            if (d == '%')
                i++;
        } else {
            fmt[j++] = c;
        }
    }
    fmt[j] = '\0';
    arc_buffer *b = arc_buffer_new(0, NULL);
    if (b != NULL) {
        size_t half = n / 2;
        int rc = arc_format(b, fmt, in, half, in + half, n - half, "", (size_t)0, "x",
                            (size_t)1);
        size_t count = 0;
        if (rc == ARC_OK &&
            (arc_format_check(arc_buffer_data(b), arc_buffer_len(b), &count) != ARC_OK ||
             count != 1))
            __builtin_trap();
        if (rc != ARC_OK && arc_buffer_len(b) != 0)
            __builtin_trap();
        arc_buffer_free(b);
    }
    free(fmt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    check_raw(in, size);
    check_argv(in, size);
    check_printf(in, size);
    return 0;
}
