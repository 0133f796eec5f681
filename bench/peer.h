/* peer.h: the peer client library a bench program measures arc against,
 * chosen when it is compiled. The programs are written to the hiredis API.
 *   (nothing)              hiredis, as found (meson: Debian's 0.14)
 *   -DBENCH_PEER_HIREDIS1  hiredis 1.x, from the prefix on the include path
 *   -DBENCH_PEER_LIBVALKEY libvalkey: the same API under valkey names, which
 *                          the macros below map the hiredis names to
 * BENCH_PEER_RESP3 says whether the peer's reader takes RESP3 types. */
#ifndef BENCH_PEER_H
#define BENCH_PEER_H

#if defined(BENCH_PEER_LIBVALKEY)
#include <valkey/valkey.h>

#define redisReader valkeyReader
#define redisReply valkeyReply
#define redisReaderCreate valkeyReaderCreate
#define redisReaderFeed valkeyReaderFeed
#define redisReaderGetReply valkeyReaderGetReply
#define redisReaderFree valkeyReaderFree
#define redisFormatCommand valkeyFormatCommand
#define redisFormatCommandArgv valkeyFormatCommandArgv
/* freeReplyObject keeps its name in libvalkey. */
#define REDIS_OK VALKEY_OK
#define REDIS_REPLY_STATUS VALKEY_REPLY_STATUS
#define BENCH_PEER_RESP3 true
#else
#include <hiredis/hiredis.h>
#if defined(BENCH_PEER_HIREDIS1) && (!defined(HIREDIS_MAJOR) || HIREDIS_MAJOR < 1)
#error "BENCH_PEER_HIREDIS1: the hiredis on the include path is not 1.x"
#endif
#if defined(HIREDIS_MAJOR) && HIREDIS_MAJOR >= 1
#define BENCH_PEER_RESP3 true
#else
#define BENCH_PEER_RESP3 false /* hiredis 0.14 has no RESP3 */
#endif
#endif

#endif
