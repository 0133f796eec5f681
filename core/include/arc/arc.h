/* arc/arc.h: the whole public API of arc in one include. */
#ifndef ARC_ARC_H
#define ARC_ARC_H

#include <arc/alloc.h>
#include <arc/base.h>
#include <arc/buffer.h>
#include <arc/cluster.h>
#include <arc/context.h>
#include <arc/events.h>
#include <arc/format.h>
#include <arc/group.h>
#include <arc/reader.h>
#include <arc/reply.h>
#include <arc/status.h>
#include <arc/transport.h>

#endif
