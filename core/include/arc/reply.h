/* arc/reply.h: the reply tree that the reader builds and callbacks receive. */
#ifndef ARC_REPLY_H
#define ARC_REPLY_H

#include <arc/alloc.h>
#include <arc/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reply types. The numbers are the ones hiredis users know, so porting is a
 * rename. RESP2 nil ($-1, *-1) and RESP3 null (_) are both ARC_REPLY_NIL. */
enum arc_reply_type {
    ARC_REPLY_STRING = 1,  /* $ bulk string; str/len */
    ARC_REPLY_ARRAY = 2,   /* * array; elements/element */
    ARC_REPLY_INTEGER = 3, /* : integer; integer */
    ARC_REPLY_NIL = 4,     /* $-1, *-1, _ */
    ARC_REPLY_STATUS = 5,  /* + simple string; str/len */
    ARC_REPLY_ERROR = 6,   /* - simple error and ! blob error; str/len */
    ARC_REPLY_DOUBLE = 7,  /* , double; dval, and its text in str/len */
    ARC_REPLY_BOOL = 8,    /* # boolean; integer is 1 or 0 */
    ARC_REPLY_MAP = 9,     /* % map; elements = 2 * pairs, key then value */
    ARC_REPLY_SET = 10,    /* ~ set; elements/element */
    ARC_REPLY_ATTR = 11,   /* | attribute; only ever found in reply->attribute */
    ARC_REPLY_PUSH = 12,   /* > push; elements/element */
    ARC_REPLY_BIGNUM = 13, /* ( big number; its digits in str/len */
    ARC_REPLY_VERB = 14,   /* = verbatim string; vtype is its 3-letter format */
};

/* One node of a reply tree.
 *
 * Ownership: a reply handed out by a reader or to a callback is borrowed:
 * it stays valid until the next arc_reader_next() on that reader, or until
 * the callback returns. Keep it longer with arc_reply_dup(). Every string is
 * NUL-terminated (str[len] == '\0') and may also contain NUL bytes. */
typedef struct arc_reply {
    int type;                    /* an arc_reply_type */
    long long integer;           /* INTEGER, BOOL */
    double dval;                 /* DOUBLE */
    size_t len;                  /* length of str */
    char *str;                   /* STRING, STATUS, ERROR, DOUBLE, BIGNUM, VERB */
    char vtype[4];               /* VERB: e.g. "txt" or "mkd", NUL-terminated */
    size_t elements;             /* ARRAY, MAP, SET, PUSH, ATTR */
    struct arc_reply **element;  /* the children */
    struct arc_reply *attribute; /* the RESP3 attribute sent just before this
                                    reply (type ATTR, key/value elements), or NULL */
} arc_reply;

/* A deep copy of `reply` (attributes included) in one allocation made through
 * `alloc` (NULL: the default). The caller owns it and frees it with
 * arc_reply_free(). NULL if reply is NULL or the allocation failed. */
ARC_API arc_reply *arc_reply_dup(const arc_reply *reply, const arc_allocator *alloc);

/* Frees a tree made by arc_reply_dup() in one call. NULL is ignored. Never
 * pass a borrowed reply (one from a reader or a callback). */
ARC_API void arc_reply_free(arc_reply *reply);

/* The type's name, e.g. "string", "map"; "unknown" for other values. */
ARC_API const char *arc_reply_type_name(int type);

#ifdef __cplusplus
}
#endif

#endif
