#!/usr/bin/env bash
# bench/build-peer.sh SRC_DIR PREFIX: build a peer client library from a
# checkout of its sources into a scratch prefix, for bench/run.sh's
# HIREDIS_PREFIX and LIBVALKEY_PREFIX. It knows two peers, told apart by
# their files:
#   hiredis 1.x   hiredis.h with HIREDIS_MAJOR >= 1, built with its Makefile
#   libvalkey     include/valkey/valkey.h, built with its Makefile
# Both are built without TLS, with their own optimisation (-O3), and install
# their headers (the adapters included: header-only, so the bench programs
# bring libevent, libev, libuv and GLib themselves) and their libraries under
# PREFIX. The script builds in SRC_DIR: give it a scratch copy, not a tree
# you keep.
set -euo pipefail
if [ $# -ne 2 ]; then
    echo "usage: bench/build-peer.sh SRC_DIR PREFIX" >&2
    exit 2
fi
src=$1
prefix=$2
[ -d "$src" ] || { echo "build-peer: $src is not a directory" >&2; exit 1; }
case $prefix in /*) ;; *) prefix=$(pwd)/$prefix ;; esac
pkg-config --exists libevent || {
    echo "build-peer: libevent not found (pkg-config libevent); the bench needs it" >&2
    exit 1
}
jobs=$(nproc 2>/dev/null || echo 2)
# Both Makefiles take LIBRARY_PATH and INCLUDE_PATH from the environment,
# where LIBRARY_PATH is often the linker's search path: name them here.
paths=(LIBRARY_PATH=lib PKGCONF_PATH=pkgconfig)

if [ -f "$src/hiredis.h" ] && [ -f "$src/async.h" ] && [ -f "$src/Makefile" ]; then
    major=$(awk '/#define HIREDIS_MAJOR/ {print $3}' "$src/hiredis.h")
    minor=$(awk '/#define HIREDIS_MINOR/ {print $3}' "$src/hiredis.h")
    if [ -z "$major" ] || [ "$major" -lt 1 ]; then
        echo "build-peer: $src is hiredis ${major:-?}.${minor:-?}; only hiredis 1.x is a peer here" \
            "(0.14 is Debian's libhiredis-dev)" >&2
        exit 1
    fi
    echo "build-peer: detected hiredis $major.$minor in $src"
    make -C "$src" -j"$jobs" USE_SSL=0 PREFIX="$prefix" "${paths[@]}" INCLUDE_PATH=include/hiredis >/dev/null
    make -C "$src" USE_SSL=0 PREFIX="$prefix" "${paths[@]}" INCLUDE_PATH=include/hiredis install >/dev/null
    [ -f "$prefix/include/hiredis/adapters/libevent.h" ] && [ -f "$prefix/lib/libhiredis.so" ] || {
        echo "build-peer: make install left no $prefix/lib/libhiredis.so or hiredis/adapters/libevent.h" >&2
        exit 1
    }
elif [ -f "$src/include/valkey/valkey.h" ] && [ -f "$src/Makefile" ]; then
    ver=$(awk '/#define LIBVALKEY_VERSION_(MAJOR|MINOR)/ {printf "%s%s", sep, $3; sep="."}' \
        "$src/include/valkey/valkey.h")
    echo "build-peer: detected libvalkey ${ver:-(version not found)} in $src"
    make -C "$src" -j"$jobs" USE_TLS=0 USE_RDMA=0 USE_WERROR=0 PREFIX="$prefix" "${paths[@]}" \
        INCLUDE_PATH=include/valkey >/dev/null
    make -C "$src" USE_TLS=0 USE_RDMA=0 USE_WERROR=0 PREFIX="$prefix" "${paths[@]}" \
        INCLUDE_PATH=include/valkey install >/dev/null
    [ -f "$prefix/include/valkey/adapters/libevent.h" ] && [ -f "$prefix/lib/libvalkey.so" ] || {
        echo "build-peer: make install left no $prefix/lib/libvalkey.so or valkey/adapters/libevent.h" >&2
        exit 1
    }
else
    echo "build-peer: $src is neither hiredis 1.x (hiredis.h, async.h, Makefile)" \
        "nor libvalkey (include/valkey/valkey.h, Makefile)" >&2
    exit 1
fi
if git -C "$src" rev-parse HEAD >/dev/null 2>&1; then
    echo "build-peer: commit $(git -C "$src" rev-parse HEAD)"
fi
echo "build-peer: installed under $prefix"
