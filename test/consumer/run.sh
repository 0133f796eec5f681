#!/usr/bin/env bash
# run.sh (tests): arc as a user's project meets it. Installed into a
# temporary prefix and found with pkg-config or CMake's find_package; and
# as a meson subproject of a parent built with werror=true. The programs
# run against a throwaway redis-server on a unix socket. The names agree
# everywhere: arc and arc-<adapter> (pkg-config, meson), arc::arc and
# arc::<adapter> (CMake), one per adapter built; arc-tls and arc::tls for
# the TLS transport when it is built. Output: TAP.
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
echo "1..13"
unset CC CFLAGS LDFLAGS # the consumer is an ordinary build
opts=(-Dtests=disabled -Dexamples=disabled -Dintegration_tests=disabled -Dbench=disabled
      -Dfuzz=disabled)

n=0
# check NAME LOG COMMAND...: one TAP line; on failure the end of LOG too.
check() {
    local name=$1 log=$2
    shift 2
    n=$((n + 1))
    if "$@" >>"$log" 2>&1; then
        echo "ok $n - $name"
    else
        sed 's/^/# /' "$log" | tail -n 30
        echo "not ok $n - $name"
    fi
}

redis-server --port 0 --unixsocket "$tmp/redis.sock" --unixsocketperm 700 --save '' \
    --appendonly no --dir "$tmp" --logfile "$tmp/redis.log" &
pid=$!
for _ in $(seq 100); do [ -S "$tmp/redis.sock" ] && break; sleep 0.05; done

# ---- installed: meson install into a prefix, then pkg-config ----
prefix=$tmp/prefix
installed() {
    meson setup "$tmp/build" "$src" --prefix "$prefix" "${opts[@]}" &&
        meson install -C "$tmp/build"
}
installed >"$tmp/install.log" 2>&1
pcdir=$(dirname "$(find "$prefix" -name arc.pc 2>/dev/null | head -n 1)")
# The adapters built: one installed header each. The TLS transport: its
# header, when OpenSSL was found.
adapters=()
for h in "$prefix"/include/arc/adapters/*.h; do
    [ -f "$h" ] && adapters+=("$(basename "$h" .h)")
done
have_tls=
[ -f "$prefix/include/arc/tls.h" ] && have_tls=1

# pc_build NAME MODULE [CFLAGS...]: consumer.c through `pkg-config MODULE`,
# linked with an rpath to the prefix (README "Building": custom prefixes).
pc_build() {
    local name=$1 module=$2
    shift 2
    cat "$tmp/install.log"
    local libdir flags
    libdir=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir arc) &&
        flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs "$module") &&
        cc -std=c11 -Wall -Wextra -Werror "$@" "$here/consumer.c" $flags \
            -Wl,-rpath,"$libdir" -o "$tmp/$name" &&
        "$tmp/$name" "$tmp/redis.sock"
}
check "installed: pkg-config arc-libevent" "$tmp/1.log" pc_build consumer-libevent arc-libevent
check "installed: pkg-config arc-poll" "$tmp/2.log" pc_build consumer-poll arc-poll -DUSE_POLL

# Every adapter has its header, arc-<adapter>.pc and nothing else does
# (but arc-tls, with <arc/tls.h>); poll is always among them.
pc_names() {
    [ ${#adapters[@]} -gt 0 ] && [ -f "$prefix/include/arc/adapters/poll.h" ] || return 1
    local want have
    want=$(printf 'arc\n'; printf 'arc-%s\n' "${adapters[@]}"; [ -n "$have_tls" ] && echo arc-tls)
    have=$(cd "$pcdir" && ls ./*.pc | sed 's|^\./||; s|\.pc$||')
    echo "adapters built: ${adapters[*]}"
    diff <(sort <<<"$want") <(sort <<<"$have") || return 1
    for m in $want; do
        PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs "$m" || return 1
    done
}
check "installed: one arc-<adapter>.pc per adapter built, each resolves" "$tmp/3.log" pc_names

# ---- installed: the TLS transport, libarc-tls ----
# A consumer of <arc/tls.h>: a configuration with no options (the system
# trust store) made and freed, and the options a context would get; no
# server needed. It uses libarc too, as every user of libarc-tls does.
cat >"$tmp/tls-consumer.c" <<'C'
#include <arc/tls.h>

#include <stdio.h>

int main(void)
{
    char err[256];
    arc_tls *tls = arc_tls_new(NULL, err, sizeof err);
    if (tls == NULL) {
        fprintf(stderr, "arc_tls_new: %s\n", err);
        return 1;
    }
    arc_options o = {0};
    o.transport = arc_tls_transport(tls);
    if (o.transport == NULL)
        return 1;
    printf("arc_tls_new and arc_tls_free: ok (%s)\n", arc_strerror(ARC_ERR_TLS));
    arc_tls_free(tls);
    return 0;
}
C
# tls_check NAME LOG COMMAND...: as check, or a TAP skip without libarc-tls.
tls_check() {
    if [ -z "$have_tls" ]; then
        n=$((n + 1))
        echo "ok $n - $1 # SKIP libarc-tls was not built (no OpenSSL)"
        return
    fi
    check "$@"
}
pc_tls() {
    local libdir flags
    PKG_CONFIG_PATH=$pcdir pkg-config --exists arc-tls || return 1
    libdir=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir arc-tls) &&
        flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs arc-tls) &&
        echo "pkg-config --cflags --libs arc-tls: $flags" &&
        cc -std=c11 -Wall -Wextra -Werror "$tmp/tls-consumer.c" $flags \
            -Wl,-rpath,"$libdir" -o "$tmp/tls-consumer" &&
        "$tmp/tls-consumer"
}
tls_check "installed: pkg-config arc-tls and <arc/tls.h>: arc_tls_new, arc_tls_free" \
    "$tmp/12.log" pc_tls

# ---- installed: CMake's find_package(arc) ----
cm=$tmp/cmake
mkdir -p "$cm/ok" "$cm/nosuch"
cp "$here/consumer.c" "$cm/ok/"
cat >"$cm/ok/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.13)
project(consumer C)
find_package(arc 0.1 REQUIRED COMPONENTS ${adapters[*]})
foreach(t arc arc_static ${adapters[*]})
  if(NOT TARGET arc::\${t})
    message(FATAL_ERROR "find_package(arc) gave no arc::\${t}")
  endif()
endforeach()
add_executable(consumer consumer.c)
target_link_libraries(consumer PRIVATE arc::libevent)
add_executable(consumer-static consumer.c)
target_compile_definitions(consumer-static PRIVATE USE_POLL)
target_link_libraries(consumer-static PRIVATE arc::arc_static)
CMAKE
cmake_ok() {
    cmake -S "$cm/ok" -B "$cm/ok/build" -DCMAKE_PREFIX_PATH="$prefix" &&
        cmake --build "$cm/ok/build" &&
        "$cm/ok/build/consumer" "$tmp/redis.sock" &&
        "$cm/ok/build/consumer-static" "$tmp/redis.sock" &&
        ! readelf -d "$cm/ok/build/consumer-static" | grep -q 'NEEDED.*libarc'
}
check "installed: CMake COMPONENTS (every adapter), arc::libevent, arc::arc_static" \
    "$tmp/4.log" cmake_ok

cat >"$cm/nosuch/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.13)
project(consumer C)
find_package(arc 0.1 REQUIRED COMPONENTS libuv nosuch)
CMAKE
cmake_nosuch() {
    cmake -S "$cm/nosuch" -B "$cm/nosuch/build" -DCMAKE_PREFIX_PATH="$prefix" \
        >"$cm/nosuch.log" 2>&1
    local rc=$?
    cat "$cm/nosuch.log"
    [ $rc -ne 0 ] && grep -q "no adapter 'nosuch'" "$cm/nosuch.log"
}
check "installed: CMake COMPONENTS nosuch fails, saying so" "$tmp/5.log" cmake_nosuch

# ---- a meson subproject, the parent with werror=true ----
proj=$tmp/proj
mkdir -p "$proj/subprojects"
ln -s "$src" "$proj/subprojects/arc"
cp "$here/consumer.c" "$proj/"
names=
[ ${#adapters[@]} -gt 0 ] && names=$(printf "'%s', " "${adapters[@]}")
[ -n "$have_tls" ] && names="$names'tls', "
cat >"$proj/meson.build" <<MESON
project('consumer', 'c', default_options: ['c_std=c11', 'warning_level=2', 'werror=true'])
# The same names as pkg-config's: arc, arc-poll, arc-<loop>, arc-tls ...
foreach name : ['arc'] + [${names%, }]
  d = dependency(name == 'arc' ? 'arc' : 'arc-' + name, fallback: ['arc'])
endforeach
arc_libuv = dependency('arc-libuv', fallback: ['arc'])
executable('consumer', 'consumer.c', c_args: ['-DUSE_LIBUV'], dependencies: arc_libuv)
MESON
# forcefallback: the subproject, even where arc is installed on the machine.
sub_build() {
    meson setup "$proj/build" "$proj" --wrap-mode=forcefallback -Dwerror=true &&
        ninja -C "$proj/build" &&
        "$proj/build/consumer" "$tmp/redis.sock"
}
check "subproject (werror=true): dependency('arc-libuv'), every arc-<adapter>, arc-tls" \
    "$tmp/6.log" sub_build

# arc_targets BUILD_DIR: the names of the targets the arc subproject defines.
arc_targets() {
    meson introspect --targets "$1" | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t.get("subproject") == "arc":
        print(t["name"], t["type"], t["defined_in"])'
}
# Nothing but the libraries (libarc shared and static; libarc-tls when
# OpenSSL is found) comes from arc by default.
sub_lean() {
    arc_targets "$proj/build" >"$tmp/targets" || return 1
    cat "$tmp/targets"
    [ -s "$tmp/targets" ] && ! grep -qvE '^arc(-tls)? ' "$tmp/targets"
}
check "subproject: only the libraries are built (no tests, examples or fuzz)" "$tmp/7.log" \
    sub_lean

# A part asked for by name is built: tests and examples (configured only).
sub_asked() {
    meson setup "$proj/asked" "$proj" --wrap-mode=forcefallback -Darc:tests=enabled \
        -Darc:examples=enabled -Darc:integration_tests=disabled &&
        arc_targets "$proj/asked" >"$tmp/targets-asked" &&
        grep -q '^test_status ' "$tmp/targets-asked" &&
        grep -q '^example-poll ' "$tmp/targets-asked"
}
check "subproject: -Darc:tests=enabled -Darc:examples=enabled builds them" "$tmp/8.log" sub_asked

# ---- the names, once more, from the CMake side: arc::poll for arc-poll ----
mkdir -p "$cm/poll"
cp "$here/consumer.c" "$cm/poll/"
cat >"$cm/poll/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.13)
project(consumer C)
find_package(arc REQUIRED COMPONENTS poll)
add_executable(consumer consumer.c)
target_compile_definitions(consumer PRIVATE USE_POLL)
target_link_libraries(consumer PRIVATE arc::poll)
CMAKE
cmake_poll() {
    cmake -S "$cm/poll" -B "$cm/poll/build" -DCMAKE_PREFIX_PATH="$prefix" &&
        cmake --build "$cm/poll/build" &&
        "$cm/poll/build/consumer" "$tmp/redis.sock"
}
check "installed: CMake arc::poll (no version asked)" "$tmp/9.log" cmake_poll

# The TLS transport from the CMake side: COMPONENTS tls, arc::tls.
mkdir -p "$cm/tls"
cp "$tmp/tls-consumer.c" "$cm/tls/consumer.c"
cat >"$cm/tls/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.13)
project(consumer C)
find_package(arc 0.1 REQUIRED COMPONENTS tls)
if(NOT arc_tls_FOUND)
  message(FATAL_ERROR "arc_tls_FOUND is not set")
endif()
add_executable(consumer consumer.c)
target_link_libraries(consumer PRIVATE arc::tls)
CMAKE
cmake_tls() {
    cmake -S "$cm/tls" -B "$cm/tls/build" -DCMAKE_PREFIX_PATH="$prefix" &&
        cmake --build "$cm/tls/build" &&
        "$cm/tls/build/consumer"
}
tls_check "installed: CMake COMPONENTS tls, arc::tls (OpenSSL through find_dependency)" \
    "$tmp/13.log" cmake_tls

# A component arc has but this installation lacks fails too: an install
# with libuv and TLS disabled.
cmake_unbuilt() {
    meson setup "$tmp/build-nouv" "$src" --prefix "$tmp/prefix-nouv" "${opts[@]}" \
        -Dlibuv=disabled -Dtls=disabled && meson install -C "$tmp/build-nouv" || return 1
    mkdir -p "$cm/unbuilt"
    cat >"$cm/unbuilt/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.13)
project(consumer C)
find_package(arc REQUIRED COMPONENTS libuv)
CMAKE
    cmake -S "$cm/unbuilt" -B "$cm/unbuilt/build" -DCMAKE_PREFIX_PATH="$tmp/prefix-nouv" \
        >"$cm/unbuilt.log" 2>&1
    local rc=$?
    cat "$cm/unbuilt.log"
    [ $rc -ne 0 ] && grep -q "libuv adapter was not built" "$cm/unbuilt.log" || return 1
    mkdir -p "$cm/unbuilt-tls"
    sed 's/COMPONENTS libuv/COMPONENTS tls/' "$cm/unbuilt/CMakeLists.txt" \
        >"$cm/unbuilt-tls/CMakeLists.txt"
    cmake -S "$cm/unbuilt-tls" -B "$cm/unbuilt-tls/build" \
        -DCMAKE_PREFIX_PATH="$tmp/prefix-nouv" >"$cm/unbuilt-tls.log" 2>&1
    rc=$?
    cat "$cm/unbuilt-tls.log"
    [ $rc -ne 0 ] && grep -q "tls transport was not built" "$cm/unbuilt-tls.log" &&
        [ ! -e "$tmp/prefix-nouv/include/arc/tls.h" ]
}
check "installed without libuv and TLS: CMake COMPONENTS libuv, tls fail, saying so" \
    "$tmp/10.log" cmake_unbuilt

# README's thirty lines, built the way README says for a prefix of one's
# own: PKG_CONFIG_PATH at the multiarch libdir, an rpath for run time. Not
# run: it talks to whatever listens on port 6379; the loader must resolve
# libarc from the prefix.
readme_build() {
    local lib
    lib=$prefix/lib/$(gcc -print-multiarch) || return 1
    awk '/^## Thirty lines/ { on = 1 } on && /^```c$/ { code = 1; next }
         code && /^```$/ { exit } code { print }' "$src/README.md" >"$tmp/thirty.c"
    cat "$tmp/thirty.c"
    [ -s "$tmp/thirty.c" ] &&
        PKG_CONFIG_PATH=$lib/pkgconfig cc -std=c11 -Wall -Wextra -Werror "$tmp/thirty.c" \
            $(PKG_CONFIG_PATH=$lib/pkgconfig pkg-config --cflags --libs arc-poll) \
            -Wl,-rpath,"$lib" -o "$tmp/thirty" &&
        ldd "$tmp/thirty" | grep -F "libarc.so.0 => $lib/"
}
check "README: the thirty lines build against a prefix as README says" "$tmp/11.log" readme_build
