/* keypos.h (internal): where the keys of a command are, so that a cluster
 * client can route it by the slot of its keys and refuse a command whose
 * keys span slots. A built-in table covers the core commands; the table a
 * cluster fetched with COMMAND (so that module commands route too) takes
 * precedence. Pure: no socket, no clock. */
#ifndef ARC_CORE_KEYPOS_H
#define ARC_CORE_KEYPOS_H

#include <arc/alloc.h>
#include <arc/reply.h>

#include <stdbool.h>
#include <stddef.h>

#include "cmdview.h"

/* How to find a command's keys. */
typedef enum arc_keys_kind {
    ARC_KEYS_NONE = 0, /* no keys (PING, INFO, CLUSTER ...): any node */
    ARC_KEYS_RANGE,    /* arguments first, first+step, ... up to last
                          (negative: counted from the end, -1 the last) */
    ARC_KEYS_NUMKEYS,  /* the argument at `first` is a count N; the keys are
                          the N arguments after it (EVAL, FCALL, ZUNION ...);
                          `last` > 0: one more key at that index before it
                          (ZUNIONSTORE's destination at 1, numkeys at 2) */
    ARC_KEYS_STREAMS,  /* XREAD / XREADGROUP: after the STREAMS keyword, the
                          first half of the remaining arguments */
    ARC_KEYS_UNKNOWN,  /* a command with keys whose positions cannot be
                          told (movablekeys not handled here): route by
                          nothing, send to any node */
} arc_keys_kind;

typedef struct arc_keyspec {
    arc_keys_kind kind;
    int first;   /* argument index, the name being 0 */
    int last;
    int step;
    bool readonly; /* the "readonly" flag: may go to a replica */
} arc_keyspec;

/* The spec of a core command by name (case-insensitive), "name|sub" for a
 * container's subcommand ("object|encoding", "xinfo|stream", "memory|usage");
 * false when the name is not in the built-in table. */
bool arc__keypos_builtin(const char *name, size_t len, arc_keyspec *out);

/* For tests: the i-th entry of the built-in table (its name, lowercase,
 * and spec), so that its order and contents can be checked whole; false
 * past the end. */
bool arc__keypos_builtin_entry(size_t i, const char **name, size_t *len, arc_keyspec *out);

/* A table of specs read from a COMMAND reply (RESP2 or RESP3; each entry
 * [name, arity, flags, first, last, step, ...]; the "movablekeys" flag on a
 * command the built-in table does not know makes it ARC_KEYS_UNKNOWN, on one
 * it knows keeps the built-in spec (with the server's "readonly")),
 * subcommands of container commands included as "name|sub" where the reply
 * lists them (entry element 9). Elements past those are skipped. Any entry
 * of the wrong shape (too short, a wrong type, a negative first key or
 * step, a step of 0 or a last key of 0 or before the first with keys)
 * refuses the whole reply: ARC_ERR_PROTOCOL and *out NULL; *out is NULL on
 * NOMEM too. Of two entries with one name the first is kept. The table is
 * one allocation through `alloc` (NULL: the default), and holds no pointer
 * into `r`. */
typedef struct arc_keytable arc_keytable;
int arc__keytable_from_command(arc_keytable **out, const arc_reply *r,
                               const arc_allocator *alloc); /* ARC_OK, NOMEM, PROTOCOL */
/* Looks up a command (case-insensitive): for a container command (OBJECT,
 * XINFO, MEMORY, CLIENT, ...) with its first argument `sub` (NULL when it
 * has none), "name|sub" first; then "name". The table's spec when it has
 * one, else the built-in one; false when neither knows the command. `t`
 * may be NULL (the built-in table only). */
bool arc__keytable_find(const arc_keytable *t, const char *name, size_t len, const char *sub,
                        size_t sublen, arc_keyspec *out);
/* The same, also telling whether the command is a container (its spec
 * then depends on `sub`): a caller may remember the spec of a command
 * that is not one by its name alone. */
bool arc__keytable_find_ex(const arc_keytable *t, const char *name, size_t len, const char *sub,
                           size_t sublen, arc_keyspec *out, bool *is_container);
void arc__keytable_free(arc_keytable *t);

/* Walks the keys of an encoded command (`args` positioned after the name;
 * argc counts the name, and is held to the arguments `args` has). Calls
 * `fn` for each key in argument order until it returns false (the key it
 * returned false for counts as visited). Returns the number of keys
 * visited, or -1 when the command's arguments do not fit the spec, and then
 * before any call of `fn`: a key at a fixed position that is not there
 * (GET with no key), a numkeys that is not a count (digits, no sign, no
 * leading zero) or runs past the end, no STREAMS keyword or an odd number
 * of arguments after it, a spec that makes no sense (a step below 1...).
 * A list that ends at a negative `last` may be empty (SUNSUBSCRIBE, DEL
 * with no key: 0). NONE and UNKNOWN visit nothing and return 0. STREAMS
 * steps over COUNT and BLOCK (one value) and GROUP (two) before the
 * keyword, so that a group named "streams" is not taken for it. */
typedef bool arc_key_visit(const char *key, size_t len, void *data);
long arc__keys_walk(const arc_keyspec *spec, const arc_cmdview *args, size_t argc,
                    arc_key_visit *fn, void *data);

#endif
