/* cluster_internal.h (internal): what cluster.c lends the other files of
 * the cluster client (cluster_split.c). */
#ifndef ARC_CORE_CLUSTER_INTERNAL_H
#define ARC_CORE_CLUSTER_INTERNAL_H

#include <arc/cluster.h>

#include <stdbool.h>
#include <stddef.h>

/* Queues one well-formed RESP command (the caller checked it), routed by
 * its keys, which must be in one slot. The statuses of
 * arc_cluster_command_formatted_with(). */
int arc__cluster_submit(arc_cluster *cl, const arc_cluster_command_options *o,
                        arc_cluster_reply_fn *fn, void *privdata, const char *cmd, size_t len);

/* Calls a command's callback with arc_cluster_error() saying `reason`
 * (NULL: "") for its duration. */
void arc__cluster_call(arc_cluster *cl, arc_cluster_reply_fn *fn, arc_reply *r, int status,
                       void *privdata, const char *reason);

const arc_allocator *arc__cluster_allocator(const arc_cluster *cl);

/* cluster_split.c: whether a command is one the split knows (MGET, MSET,
 * DEL, UNLINK, EXISTS, TOUCH), and the split itself: ARC_OK once the parts
 * are queued (the callback runs once, after the last), or the status of
 * the first part's refusal, nothing sent. */
bool arc__cluster_splittable(const char *cmd, size_t len);
int arc__cluster_split(arc_cluster *cl, const arc_cluster_command_options *o,
                       arc_cluster_reply_fn *fn, void *privdata, const char *cmd, size_t len);

#endif
