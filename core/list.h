/* list.h (internal): intrusive doubly linked lists with a head and a tail:
 * `o` is the owner holding the `head` and `tail` fields, `m` the entry with
 * its `prev` and `next` (the field names are arguments, so one entry can be
 * on several lists). Used by the group's lists and the cluster's waiting
 * commands and subscriptions. */
#ifndef ARC_CORE_LIST_H
#define ARC_CORE_LIST_H

#include <stddef.h>

#define LIST_APPEND(o, m, head, tail, prev, next)                                       \
    do {                                                                               \
        (m)->prev = (o)->tail;                                                         \
        (m)->next = NULL;                                                              \
        if ((o)->tail)                                                                 \
            (o)->tail->next = (m);                                                     \
        else                                                                           \
            (o)->head = (m);                                                           \
        (o)->tail = (m);                                                               \
    } while (0)

#define LIST_UNLINK(o, m, head, tail, prev, next)                                       \
    do {                                                                               \
        if ((m)->prev)                                                                 \
            (m)->prev->next = (m)->next;                                               \
        else                                                                           \
            (o)->head = (m)->next;                                                     \
        if ((m)->next)                                                                 \
            (m)->next->prev = (m)->prev;                                               \
        else                                                                           \
            (o)->tail = (m)->prev;                                                     \
        (m)->prev = (m)->next = NULL;                                                  \
    } while (0)

#endif
