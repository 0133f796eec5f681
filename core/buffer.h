/* buffer.h (internal): the growable byte buffer's layout and its fast paths. */
#ifndef ARC_CORE_BUFFER_H
#define ARC_CORE_BUFFER_H

#include <arc/buffer.h>

#include <string.h>

/* Bytes live in data[start, end). Consuming from the front moves `start`
 * instead of the bytes, so a partly written output buffer costs no memmove
 * per write(); space is reclaimed when the buffer empties or must grow. */
struct arc_buffer {
    char *data;
    size_t start;
    size_t end;
    size_t cap;
    size_t max; /* the most bytes it may hold (end - start) */
    arc_allocator alloc;
};

void arc__buffer_init(arc_buffer *b, size_t max, const arc_allocator *alloc);
void arc__buffer_release(arc_buffer *b); /* frees the bytes; b stays usable */

/* arc__buffer_reserve() when the room is not there yet. */
int arc__buffer_grow(arc_buffer *b, size_t extra);

/* Makes room for `extra` more bytes after the end: ARC_OK, ARC_ERR_LIMIT or
 * ARC_ERR_NOMEM (unchanged on error). Inline: every command and every read
 * asks, and the room is nearly always there already. */
static inline int arc__buffer_reserve(arc_buffer *b, size_t extra)
{
    return extra <= b->cap - b->end ? ARC_OK : arc__buffer_grow(b, extra);
}

/* Frees the memory of an empty buffer when it has grown past `keep` bytes, so
 * that one burst does not pin its peak forever. */
void arc__buffer_shrink(arc_buffer *b, size_t keep);

static inline size_t arc__buffer_len(const arc_buffer *b)
{
    return b->end - b->start;
}

/* An empty buffer may have no memory yet: NULL + 0 is undefined in C. */
static inline char *arc__buffer_head(const arc_buffer *b)
{
    return b->data ? b->data + b->start : NULL;
}

static inline char *arc__buffer_tail(const arc_buffer *b)
{
    return b->data ? b->data + b->end : NULL;
}

/* Room after the end, without growing. */
static inline size_t arc__buffer_room(const arc_buffer *b)
{
    return b->cap - b->end;
}

/* Marks `n` bytes written at the tail (after arc__buffer_reserve). */
static inline void arc__buffer_commit(arc_buffer *b, size_t n)
{
    b->end += n;
}

/* Drops `n` bytes from the front. */
static inline void arc__buffer_consume(arc_buffer *b, size_t n)
{
    b->start += n;
    if (b->start == b->end)
        b->start = b->end = 0;
}

/* Empties the buffer, keeping its memory. */
static inline void arc__buffer_clear(arc_buffer *b)
{
    b->start = b->end = 0;
}

/* Cuts the buffer back to `len` bytes (used to undo a half-written command). */
static inline void arc__buffer_truncate(arc_buffer *b, size_t len)
{
    b->end = b->start + len;
    if (len == 0)
        b->start = b->end = 0;
}

/* Appends without a reservation check; the caller reserved first. */
static inline void arc__buffer_put(arc_buffer *b, const void *p, size_t n)
{
    if (n) {
        memcpy(b->data + b->end, p, n);
        b->end += n;
    }
}

static inline void arc__buffer_putc(arc_buffer *b, char c)
{
    b->data[b->end++] = c;
}

#endif
