/* peer_async.h: the peer's async client and its adapters for libevent,
 * libev, libuv and GLib, under the hiredis names (see peer.h). The libev
 * adapter comes first: libevent's headers define EV_READ and EV_WRITE as
 * macros with other values, which would turn the libev adapters' masks
 * invalid. Include it after <arc/adapters/libev.h> and before any other
 * adapter. BENCH_PEER_CONNECT_CONST is how the peer's connect callback takes
 * its context (const in hiredis, not in libvalkey). */
#ifndef BENCH_PEER_ASYNC_H
#define BENCH_PEER_ASYNC_H

#if defined(BENCH_PEER_LIBVALKEY)
#include <valkey/adapters/libev.h>

#include <valkey/adapters/glib.h>
#include <valkey/adapters/libevent.h>
#include <valkey/adapters/libuv.h>
#include <valkey/async.h>

#define redisAsyncContext valkeyAsyncContext
#define redisAsyncConnect valkeyAsyncConnect
#define redisAsyncCommandArgv valkeyAsyncCommandArgv
#define redisAsyncHandleRead valkeyAsyncHandleRead
#define redisAsyncHandleWrite valkeyAsyncHandleWrite
#define redisAsyncSetConnectCallback valkeyAsyncSetConnectCallback
#define redisLibeventAttach valkeyLibeventAttach
#define redisLibevAttach valkeyLibevAttach
#define redisLibuvAttach valkeyLibuvAttach
#define redis_source_new valkey_source_new
#define BENCH_PEER_CONNECT_CONST
#else
#include <hiredis/adapters/libev.h>

#include <hiredis/adapters/glib.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#define BENCH_PEER_CONNECT_CONST const
#endif

#include "peer.h"

#endif
