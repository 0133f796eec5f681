/* render.h (arc-fanout): replies as one line of text or as JSON. */
#ifndef ARC_FANOUT_RENDER_H
#define ARC_FANOUT_RENDER_H

#include "text.h"

#include <arc/reply.h>

/* Appends `n` bytes so that they stay on one line and can be read back:
 * printable ASCII as is, a backslash as \\, newline, return and tab as
 * \n \r \t, every other byte (control, DEL, non-ASCII) as \xNN. Each
 * output byte is one terminal column. */
void fo_escape_line(fo_text *t, const char *s, size_t n);

/* Appends a reply on one line, escaped as above:
 *   string, verbatim, status   the text
 *   error                      (error) TEXT
 *   integer, double, bignum    (integer) 42, (double) 1.5, (bignum) 123
 *   nil, boolean               (nil), (true), (false)
 *   array, set, push           (array of 2) "a" 1; (empty array)
 *   map                        (map of 1) "field": "value"
 * inside aggregates strings are quoted, integers bare, nested aggregates
 * in [ ] and { }. With `brief` (the table), a string of several lines is
 * shown as its first line and "(N lines)", and about `limit` bytes are
 * appended at most (0: no limit); without it, the whole reply. */
void fo_reply_line(fo_text *t, const arc_reply *r, bool brief, size_t limit);

/* Appends a JSON string (quotes included) of `n` bytes. Valid UTF-8 goes
 * through as is; control characters, DEL, '"' and '\' are escaped; each
 * byte that is not part of valid UTF-8 becomes \u0080 to \u00ff (its value
 * as a code point), so that binary values come out as valid JSON. */
void fo_json_string(fo_text *t, const char *s, size_t n);
void fo_json_cstring(fo_text *t, const char *s);

/* Appends a reply as a JSON value:
 *   string, status, verbatim, bignum   a string (a bignum keeps all its
 *                                      digits that way)
 *   integer                            a number
 *   double                             a number; inf, -inf, nan as strings
 *   boolean, nil                       true / false, null
 *   error                              {"error": TEXT}
 *   array, set, push                   an array
 *   map                                an object when every key is a string
 *                                      or status, else an array of [key,
 *                                      value] pairs
 * Attributes are left out. */
void fo_json_reply(fo_text *t, const arc_reply *r);

#endif
