/* fuzz_double.c: arc__parse_double and arc__double_prefix on any bytes.
 * The parse must take exactly the texts arc__valid_double takes (up to
 * ARC__DOUBLE_MAX bytes), and what it takes must come out as strtod reads
 * it, bit for bit (a NaN as a NaN of the same sign). A prefix must be a
 * text the parse takes whole, with the same value. Any difference aborts,
 * which libFuzzer records as a crash. The input is the text itself, with
 * no CRLF. */
#include "numbers.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    /* The prefix the reader takes from a line's bytes must be a double that
     * arc__parse_double reads, whole, to the same value. */
    double pre = 0, whole = 0;
    size_t k = arc__double_prefix(p, size, &pre);
    bool agrees = k == 0 || (k <= size && arc__parse_double(p, k, &whole) &&
                             memcmp(&pre, &whole, sizeof pre) == 0);
    if (!agrees) {
        fprintf(stderr, "prefix of %zu bytes disagrees with the parse\n", k);
        abort();
    }
    double got = 0;
    bool took = arc__parse_double(p, size, &got);
    bool valid = size <= ARC__DOUBLE_MAX && arc__valid_double(p, size);
    if (took != valid) {
        fprintf(stderr, "parse %s what the grammar %s\n", took ? "took" : "refused",
                valid ? "takes" : "refuses");
        abort();
    }
    if (!took)
        return 0;
    /* The grammar has no byte strtod would stop at early, so the copy is
     * read whole; libFuzzer runs in the C locale, whose point is '.'. */
    char text[ARC__DOUBLE_MAX + 1];
    memcpy(text, p, size);
    text[size] = '\0';
    char *end;
    double want = strtod(text, &end);
    if (end != text + size) {
        fprintf(stderr, "strtod stopped at byte %zu of \"%s\"\n", (size_t)(end - text), text);
        abort();
    }
    if (isnan(want) && isnan(got) && !signbit(want) == !signbit(got))
        return 0;
    uint64_t a, b;
    memcpy(&a, &got, sizeof a);
    memcpy(&b, &want, sizeof b);
    if (a != b) {
        fprintf(stderr, "\"%s\": got %a, strtod %a\n", text, got, want);
        abort();
    }
    return 0;
}
