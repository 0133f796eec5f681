#!/usr/bin/env bash
# soak.sh: the soak runs at full length on a release build: for each event
# loop built (poll always, libuv when found), millions of commands, then a
# thousand connect/kill cycles, then a thousand server restarts (SIGKILL)
# under load with one reconnecting context, against a redis-server of its
# own; RSS and open descriptors must stay flat (see test/soak/soak.c). The
# short version of the same program is meson's suite "soak".
#   tools/soak.sh                 the defaults (10M commands, 1000 cycles,
#                                 1000 restarts)
#   tools/soak.sh --commands N --cycles N --restarts N
#                                 any arguments go to every run; 0 skips a
#                                 phase (--commands 0 --cycles 0: restarts only)
# Builds into build-soak; each run's output goes to build-soak/soak-<loop>.log
# too. Exits non-zero when a run failed.
set -uo pipefail

cd "$(dirname "$0")/.."
dir=build-soak
opts=(-Dbuildtype=release -Dtests=enabled -Dintegration_tests=enabled)

if [ -f "$dir/build.ninja" ]; then
    meson configure "$dir" "${opts[@]}" >/dev/null || exit 1
else
    out=$(meson setup "$dir" "${opts[@]}" 2>&1) || { echo "$out"; exit 1; }
fi

# The list is read whole first: grep -q leaving a pipe early would make
# ninja die of SIGPIPE, and pipefail would count that as "not found".
all_targets=$(ninja -C "$dir" -t targets all 2>/dev/null)
loops=()
for loop in poll libuv; do
    if grep -q "^test/soak/soak_$loop:" <<<"$all_targets"; then
        loops+=("$loop")
    fi
done
[ ${#loops[@]} -gt 0 ] || { echo "soak.sh: no soak programs (is redis-server installed?)" >&2; exit 1; }

targets=()
for loop in "${loops[@]}"; do targets+=("test/soak/soak_$loop"); done
ninja -C "$dir" "${targets[@]}" >/dev/null || { ninja -C "$dir" "${targets[@]}"; exit 1; }

status=0
for loop in "${loops[@]}"; do
    echo "=== soak $loop: $dir/test/soak/soak_$loop $*"
    start=$SECONDS
    if ! "$dir/test/soak/soak_$loop" "$@" 2>&1 | tee "$dir/soak-$loop.log"; then
        status=1
        echo "=== soak $loop: FAILED ($((SECONDS - start)) s)"
    else
        echo "=== soak $loop: passed ($((SECONDS - start)) s)"
    fi
done
exit $status
