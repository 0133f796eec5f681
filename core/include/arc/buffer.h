/* arc/buffer.h: a growable byte buffer with a maximum size, used for output. */
#ifndef ARC_BUFFER_H
#define ARC_BUFFER_H

#include <arc/alloc.h>
#include <arc/base.h>
#include <arc/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct arc_buffer arc_buffer;

/* Default maximum of a buffer created with max == 0. */
#define ARC_BUFFER_DEFAULT_MAX (1024u * 1024 * 1024)

/* A new empty buffer that will never grow past `max` bytes (0: the default).
 * `alloc` may be NULL (the default allocator); it must outlive the buffer.
 * NULL when the allocation fails. */
ARC_API arc_buffer *arc_buffer_new(size_t max, const arc_allocator *alloc);

/* Frees the buffer and its bytes. NULL is ignored. */
ARC_API void arc_buffer_free(arc_buffer *b);

/* The bytes held and their count. The pointer stays valid until the buffer
 * is next changed; it may be NULL when the length is 0. */
ARC_API const char *arc_buffer_data(const arc_buffer *b);
ARC_API size_t arc_buffer_len(const arc_buffer *b);

/* Empties the buffer and keeps its memory for reuse. */
ARC_API void arc_buffer_clear(arc_buffer *b);

/* Appends bytes. ARC_ERR_LIMIT when the result would pass the maximum,
 * ARC_ERR_NOMEM when growing failed; either way the buffer is unchanged. */
ARC_API int arc_buffer_append(arc_buffer *b, const void *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif
