#!/usr/bin/env bash
# run.sh (tests): arc as a user's project meets it. (1) installed into a
# temporary prefix, found with pkg-config (arc-libevent); (2) as a meson
# subproject, through dependency('arc-libuv'). Each builds consumer.c and
# runs it against a throwaway redis-server on a unix socket. Output: TAP.
#   usage: run.sh ARC_SOURCE_ROOT
set -u
src=$(cd "$1" && pwd)
here=$src/test/consumer
tmp=$(mktemp -d "${TMPDIR:-/tmp}/arc-consumer-XXXXXX")
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
echo "1..3"
unset CC CFLAGS LDFLAGS # the consumer is an ordinary build
opts=(-Dtests=disabled -Dexamples=false -Dintegration_tests=disabled -Dbench=disabled
      -Dfuzz=disabled)

redis-server --port 0 --unixsocket "$tmp/redis.sock" --unixsocketperm 700 --save '' \
    --appendonly no --dir "$tmp" --logfile "$tmp/redis.log" &
pid=$!
for _ in $(seq 100); do [ -S "$tmp/redis.sock" ] && break; sleep 0.05; done

# (1) meson install, then pkg-config.
if meson setup "$tmp/build" "$src" --prefix "$tmp/prefix" "${opts[@]}" >"$tmp/1.log" 2>&1 &&
   meson install -C "$tmp/build" >>"$tmp/1.log" 2>&1; then
    pc=$(dirname "$(find "$tmp/prefix" -name arc-libevent.pc | head -n 1)")
    libdir=$(PKG_CONFIG_PATH=$pc pkg-config --variable=libdir arc)
    if PKG_CONFIG_PATH=$pc cc -std=c11 -Wall -Wextra -Werror "$here/consumer.c" \
           $(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs arc-libevent) \
           -Wl,-rpath,"$libdir" -o "$tmp/consumer-pc" >>"$tmp/1.log" 2>&1 &&
       "$tmp/consumer-pc" "$tmp/redis.sock" >>"$tmp/1.log" 2>&1; then
        echo "ok 1 - installed: pkg-config arc-libevent"
    else
        sed 's/^/# /' "$tmp/1.log" | tail -n 30
        echo "not ok 1 - installed: pkg-config arc-libevent"
    fi
else
    sed 's/^/# /' "$tmp/1.log" | tail -n 30
    echo "not ok 1 - installed: meson install failed"
fi

# (3, run below the subproject) CMake's find_package(arc).
cmake_check() {
    local cm=$tmp/cmake
    mkdir -p "$cm"
    cp "$here/consumer.c" "$cm/"
    cat >"$cm/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.13)
project(consumer C)
find_package(arc 0.1 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(EVENT REQUIRED IMPORTED_TARGET libevent_core)
add_executable(consumer consumer.c)
target_link_libraries(consumer PRIVATE arc::arc PkgConfig::EVENT)
CMAKE
    cmake -S "$cm" -B "$cm/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/3.log" 2>&1 &&
        cmake --build "$cm/build" >>"$tmp/3.log" 2>&1 &&
        "$cm/build/consumer" "$tmp/redis.sock" >>"$tmp/3.log" 2>&1
}

# (2) a meson subproject.
proj=$tmp/proj
mkdir -p "$proj/subprojects"
ln -s "$src" "$proj/subprojects/arc"
cp "$here/consumer.c" "$proj/"
cat >"$proj/meson.build" <<MESON
project('consumer', 'c', default_options: ['c_std=c11', 'warning_level=2', 'werror=true'])
arc_libuv = dependency('arc-libuv', fallback: ['arc'],
  default_options: ['tests=disabled', 'examples=false', 'integration_tests=disabled'])
executable('consumer', 'consumer.c', c_args: ['-DUSE_LIBUV'], dependencies: arc_libuv)
MESON
if meson setup "$proj/build" "$proj" >"$tmp/2.log" 2>&1 && ninja -C "$proj/build" >>"$tmp/2.log" 2>&1 &&
   "$proj/build/consumer" "$tmp/redis.sock" >>"$tmp/2.log" 2>&1; then
    echo "ok 2 - subproject: dependency('arc-libuv')"
else
    sed 's/^/# /' "$tmp/2.log" | tail -n 30
    echo "not ok 2 - subproject: dependency('arc-libuv')"
fi

if command -v cmake >/dev/null && [ -d "$tmp/prefix" ] && cmake_check; then
    echo "ok 3 - installed: CMake find_package(arc)"
else
    sed 's/^/# /' "$tmp/3.log" 2>/dev/null | tail -n 30
    echo "not ok 3 - installed: CMake find_package(arc)"
fi
