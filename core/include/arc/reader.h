/* arc/reader.h: the incremental RESP2 + RESP3 parser: bytes in, replies out. */
#ifndef ARC_READER_H
#define ARC_READER_H

#include <arc/alloc.h>
#include <arc/base.h>
#include <arc/reply.h>
#include <arc/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct arc_reader arc_reader;

/* Defaults of the limits below; each stops a server (or a man in the middle)
 * from making the client allocate without bound. */
#define ARC_READER_DEFAULT_MAX_BUFFER (64u * 1024 * 1024)   /* an endless line */
#define ARC_READER_DEFAULT_MAX_BULK (512u * 1024 * 1024)    /* a huge announced string */
#define ARC_READER_DEFAULT_MAX_ELEMENTS (16u * 1024 * 1024) /* a huge announced aggregate */
#define ARC_READER_DEFAULT_MAX_DEPTH 64u                    /* unbounded nesting */
/* An endless status or error line, cut off long before max_buffer. 1 MiB is
 * 16 times the 64 KiB Redis allows for an inline command, and far above the
 * lines real servers send: a Lua error is its script's message plus a name
 * and line number, usually under 1 KiB; long texts (INFO, CLUSTER NODES, a
 * script's strings) come as bulk strings, which this limit leaves alone. */
#define ARC_READER_DEFAULT_MAX_LINE (1u * 1024 * 1024)

/* Reader limits. A zero field means its default. A header that announces
 * more than a limit is a protocol error before anything is allocated for it.
 * Fields are only ever appended, so code that zeroes the struct and sets
 * fields by name keeps its meaning. */
typedef struct arc_reader_limits {
    size_t max_buffer;   /* bytes held unparsed, e.g. a line with no CRLF yet */
    size_t max_bulk;     /* length of one string ($, !, =, ( and streamed $?) */
    size_t max_elements; /* children of one aggregate (a map counts 2 per pair) */
    size_t max_depth;    /* nesting of aggregates, the top level counting 1 */
    size_t max_line;     /* text of one line (status, error, number, header):
                          * checked as bytes arrive, not when the CRLF does */
} arc_reader_limits;

/* A new reader. `limits` and `alloc` may be NULL (defaults); both are copied,
 * but the allocator's function and data must outlive the reader. Returns NULL
 * when the allocation fails. */
ARC_API arc_reader *arc_reader_new(const arc_reader_limits *limits, const arc_allocator *alloc);

/* Frees the reader and the reply it last handed out. NULL is ignored. */
ARC_API void arc_reader_free(arc_reader *r);

/* Appends `len` bytes of server output (copied; `data` stays the caller's).
 * Returns ARC_OK, ARC_ERR_INVALID (data NULL with len > 0),
 * ARC_ERR_NOMEM, ARC_ERR_LIMIT (the unparsed bytes would pass max_buffer;
 * nothing is appended) or ARC_ERR_PROTOCOL (the reader already failed). */
ARC_API int arc_reader_feed(arc_reader *r, const char *data, size_t len);

/* Parses the next complete reply. On ARC_OK, *out is the reply, or NULL when
 * more bytes are needed. The reply is borrowed from the reader and stays
 * valid until the next call to arc_reader_next() or arc_reader_free().
 * RESP3 attributes never come out on their own: they hang on the reply that
 * follows them (reply->attribute).
 * Errors: ARC_ERR_PROTOCOL (invalid input or a limit passed; the message says
 * what and where, and the reader stays failed), ARC_ERR_NOMEM (the reader
 * can be called again once memory is back), ARC_ERR_INVALID (r or out NULL). */
ARC_API int arc_reader_next(arc_reader *r, arc_reply **out);

/* The last error's message, "" when there was none. Valid until the next
 * call on the reader. */
ARC_API const char *arc_reader_error(const arc_reader *r);

/* Bytes fed but not yet consumed by the parser. */
ARC_API size_t arc_reader_pending(const arc_reader *r);

#ifdef __cplusplus
}
#endif

#endif
