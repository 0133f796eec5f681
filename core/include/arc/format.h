/* arc/format.h: encoding commands as RESP arrays of bulk strings. */
#ifndef ARC_FORMAT_H
#define ARC_FORMAT_H

#include <stdarg.h>

#include <arc/base.h>
#include <arc/buffer.h>
#include <arc/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every function here appends one encoded command to `out` or, on error,
 * leaves `out` exactly as it was. Nothing is allocated besides the buffer's
 * own growth. Errors: ARC_ERR_INVALID (bad arguments or format string),
 * ARC_ERR_NOMEM, ARC_ERR_LIMIT (the buffer's maximum). */

/* argv form, binary-safe: argv[i] has argvlen[i] bytes. When argvlen is NULL
 * each argv[i] is a NUL-terminated string. argc must be at least 1. */
ARC_API int arc_format_argv(arc_buffer *out, int argc, const char *const *argv,
                            const size_t *argvlen);

/* printf form. The format is split on unquoted spaces into arguments; each
 * conversion is spliced into the argument it stands in:
 *   %s  a NUL-terminated string         %b  a pointer and a size_t length
 *   %d %i %u %x %o %c  with the h, hh, l, ll, z, j, t length modifiers
 *   %f %g %e %a (and upper-case forms) a double; L for long double
 *   %%  a literal percent sign
 * Flags, width and precision are accepted on the numeric conversions. Any
 * other conversion, or a format that yields no argument, is ARC_ERR_INVALID.
 * An empty %s or %b still makes an (empty) argument. */
/* No printf format attribute: compilers read %b as C23's binary integer and
 * would reject arc's (pointer, length) pair. */
ARC_API int arc_format(arc_buffer *out, const char *fmt, ...);
ARC_API int arc_vformat(arc_buffer *out, const char *fmt, va_list ap);

/* Pre-formatted input: `cmd` must be one or more complete RESP commands, each
 * an array (*N, N >= 1) of bulk strings ($len, binary-safe), with nothing
 * after the last one. arc_format_check() only validates; arc_format_raw()
 * validates, then appends the bytes as they are. On success *count (if not
 * NULL) is the number of commands. ARC_ERR_INVALID names malformed input. */
ARC_API int arc_format_check(const char *cmd, size_t len, size_t *count);
ARC_API int arc_format_raw(arc_buffer *out, const char *cmd, size_t len, size_t *count);

#ifdef __cplusplus
}
#endif

#endif
