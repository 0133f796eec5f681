/* json_check.h (tests): a strict JSON reader (RFC 8259), so that a test
 * can say "this line is valid JSON" and then read its fields. */
#ifndef ARC_TEST_JSON_CHECK_H
#define ARC_TEST_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

typedef enum jv_type { JV_NULL, JV_BOOL, JV_NUMBER, JV_STRING, JV_ARRAY, JV_OBJECT } jv_type;

typedef struct jv {
    jv_type type;
    bool boolean;
    double number;
    char *str; /* STRING: the text decoded, as UTF-8 (may hold NULs) */
    size_t len;
    struct jv **items; /* ARRAY and OBJECT values */
    char **keys;       /* OBJECT keys, decoded, NUL-terminated */
    size_t n;
} jv;

/* Parses exactly one value (whitespace around it allowed, nothing else):
 * strict about what RFC 8259 forbids (raw control characters in strings,
 * bad escapes, lone surrogates, invalid UTF-8, leading zeros, trailing
 * commas). NULL on error, with the reason and offset in err. */
jv *jv_parse(const char *text, size_t len, char *err, size_t errlen);

/* The member `key` of an object; NULL when absent or `v` is no object. */
const jv *jv_get(const jv *v, const char *key);

void jv_free(jv *v);

#endif
