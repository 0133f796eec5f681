/* reader.h (internal): what the context needs from the reader beyond the
 * public API: reading from a socket straight into the reader's buffer. */
#ifndef ARC_CORE_READER_H
#define ARC_CORE_READER_H

#include <arc/reader.h>

#include "arena.h"
#include "buffer.h"

/* Room to read() into, at most `want` bytes and never past max_buffer.
 * ARC_OK with space and avail set, ARC_ERR_LIMIT (the buffer is full of an
 * unfinished line), ARC_ERR_NOMEM or ARC_ERR_PROTOCOL (already failed). */
int arc__reader_space(arc_reader *r, size_t want, char **space, size_t *avail);

/* True while a reply other than a push is partly read: bytes of it are
 * buffered or already taken into the reply being built. The context's
 * liveness timeout counts that as progress. */
bool arc__reader_midway(const arc_reader *r);

/* Marks `n` bytes written into the space as fed. */
void arc__reader_commit(arc_reader *r, size_t n);

#endif
