#!/usr/bin/env bash
# run-example.sh: build arc and run the poll example against a throwaway
# redis-server (free loopback port, temporary directory, no persistence).
# The server is stopped and its directory removed on every way out; the
# script exits with the example's status.
#
# Environment: REDIS_SERVER  the server binary (default: redis-server on PATH)
#              BUILD_DIR     the meson build directory (default: build)
set -euo pipefail

cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
example=$build/examples/example-poll

say() { printf 'run-example: %s\n' "$*" >&2; }

if [ -f tools/deps.sh ]; then
    say "installing what the build needs (tools/deps.sh)"
    if ! bash tools/deps.sh; then
        say "tools/deps.sh failed; install the dependencies it names, then run again"
        exit 1
    fi
fi

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build"
fi
ninja -C "$build"

if [ ! -x "$example" ]; then
    say "$example was not built (is the examples option off, or is the example not written yet?)"
    exit 1
fi

redis=${REDIS_SERVER:-$(command -v redis-server || true)}
if [ -z "$redis" ]; then
    say "redis-server not found: install it (Debian: apt-get install redis-server) or set REDIS_SERVER"
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/arc-example-XXXXXX")
pid=     # the server
example_pid=

# shellcheck disable=SC2317  # called through the trap
cleanup() {
    if [ -n "$example_pid" ]; then
        kill -TERM "$example_pid" 2>/dev/null || true
        wait "$example_pid" 2>/dev/null || true
    fi
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do # 5 s, then SIGKILL
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# True when something on 127.0.0.1:$1 answers PING with +PONG.
answers_ping() {
    local line
    { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 1 line <&3 || line=
    exec 3>&-
    [ "${line%$'\r'}" = "+PONG" ]
}

# A random port that nothing listens on; the server may still lose it to
# someone else before it binds, so starting tries up to 5 ports.
port=
for _ in 1 2 3 4 5; do
    candidate=$((20000 + RANDOM % 40000))
    if { exec 3<>"/dev/tcp/127.0.0.1/$candidate"; } 2>/dev/null; then
        exec 3>&-
        continue # taken
    fi
    "$redis" --bind 127.0.0.1 --port "$candidate" --save "" --appendonly no \
        --dir "$tmp" --daemonize no --logfile "$tmp/redis.log" </dev/null &
    pid=$!
    for _ in $(seq 100); do # 10 s
        if answers_ping "$candidate"; then
            port=$candidate
            break
        fi
        kill -0 "$pid" 2>/dev/null || break # it exited: port taken or bad setup
        sleep 0.1
    done
    [ -n "$port" ] && break
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
done
if [ -z "$port" ]; then
    say "redis-server did not start; the end of its log:"
    tail -n 20 "$tmp/redis.log" >&2 2>/dev/null || say "(no log: see its stderr above)"
    exit 1
fi

say "redis-server (pid $pid) listens on 127.0.0.1:$port; running $example"
# In the background so that a signal to this script runs its trap at once
# (bash runs traps only between foreground commands); <&0 keeps stdin.
status=0
"$example" 127.0.0.1 "$port" <&0 &
example_pid=$!
wait "$example_pid" || status=$?
example_pid=
say "the example exited with status $status"
exit "$status"
