/* fuzz_reader.c: the reader against arbitrary bytes, in arbitrary chunks,
 * under tight or default limits. Every reply tree is walked in full (ASan
 * catches any read past what the reader allocated) and now and then copied
 * and freed. */
#include <arc/arc.h>

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const arc_reply *r, int depth)
{
    size_t sum = (size_t)r->type;
    if (depth > 200)
        __builtin_trap(); /* deeper than any limit allows */
    if (r->str != NULL) {
        for (size_t i = 0; i < r->len; i++)
            sum += (unsigned char)r->str[i];
        if (r->str[r->len] != '\0')
            __builtin_trap();
    }
    for (size_t i = 0; i < r->elements; i++) {
        if (r->element == NULL || r->element[i] == NULL)
            __builtin_trap();
        sum += walk(r->element[i], depth + 1);
    }
    if (r->attribute != NULL)
        sum += walk(r->attribute, depth + 1);
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    /* Byte 0 picks the limits, byte 1 the chunk size. */
    arc_reader_limits lim;
    memset(&lim, 0, sizeof lim);
    if (data[0] & 1) {
        lim.max_bulk = 64;
        lim.max_elements = 16;
        lim.max_depth = 1 + (data[0] >> 4);
        lim.max_buffer = 256;
    }
    size_t chunk = data[1] ? data[1] : size;
    data += 2;
    size -= 2;
    arc_reader *r = arc_reader_new(&lim, NULL);
    if (r == NULL)
        return 0;
    volatile size_t sink = 0;
    size_t replies = 0;
    for (size_t off = 0; off < size;) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (arc_reader_feed(r, (const char *)data + off, n) != ARC_OK)
            break;
        off += n;
        arc_reply *reply;
        int rc;
        while ((rc = arc_reader_next(r, &reply)) == ARC_OK && reply != NULL) {
            sink += walk(reply, 0);
            if (++replies % 3 == 0) {
                arc_reply *copy = arc_reply_dup(reply, NULL);
                if (copy != NULL)
                    sink += walk(copy, 0);
                arc_reply_free(copy);
            }
        }
        if (rc != ARC_OK) {
            if (arc_reader_error(r)[0] == '\0')
                __builtin_trap(); /* an error must say what */
            break;
        }
    }
    arc_reader_free(r);
    (void)sink;
    return 0;
}
