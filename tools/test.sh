#!/usr/bin/env bash
# test.sh: the whole test suite, four ways: gcc (-Werror); gcc at -O0
# (buildtype debug, -Werror: warnings only that level shows) with the fast
# suites; clang with AddressSanitizer + UndefinedBehaviorSanitizer, the
# libFuzzer targets included; and the gcc build under valgrind. Prints one
# line "NAME: N passed, N failed, N skipped" per run and ends with one line
# "N passed, N failed, N skipped" counting test cases over all runs; exits
# non-zero when anything failed.
#   tools/test.sh            all four
#   tools/test.sh --quick    gcc only
# Build directories go under $ARC_CI_DIR (default: build-ci).
set -uo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
dir=${ARC_CI_DIR:-build-ci}
quick=0
[ "${1:-}" = "--quick" ] && quick=1

bash tools/deps.sh || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }

total_pass=0
total_fail=0
total_skip=0
status=0
common=(-Dwerror=true -Dtests=enabled -Dintegration_tests=enabled -Dexamples=enabled)

# run NAME[:BUILD] SETUP-ARGS... -- TEST-ARGS...   (BUILD defaults to NAME)
run() {
    local name=${1%%:*} bdir=${1#*:}; shift
    local setup=() testargs=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do setup+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    testargs=("$@")
    local b=$dir/$bdir start=$SECONDS
    echo "=== $name: meson setup ${setup[*]}"
    # An existing build directory is reconfigured, so that the options
    # given here (a new one, say) always apply.
    local again=()
    [ -f "$b/build.ninja" ] && again=(--reconfigure)
    if ! meson setup "${again[@]}" "$b" "${setup[@]}" >"$b.setup.log" 2>&1; then
        cat "$b.setup.log"
        echo "$name: setup failed"
        total_fail=$((total_fail + 1)); status=1; return
    fi
    if ! ninja -C "$b" >"$b.build.log" 2>&1; then
        tail -n 60 "$b.build.log"
        echo "$name: build failed"
        total_fail=$((total_fail + 1)); status=1; return
    fi
    local log=$b/meson-logs/testlog.json
    for a in "${testargs[@]}"; do
        case $a in --setup=*) log=$b/meson-logs/testlog-${a#--setup=}.json ;; esac
    done
    rm -f "$log"
    meson test -C "$b" --num-processes 2 --print-errorlogs "${testargs[@]}" >"$b.test.log" 2>&1
    local rc=$?
    grep -E '^ *[0-9]+/[0-9]+ ' "$b.test.log" || true
    if [ $rc -ne 0 ]; then
        grep -vE '^ *[0-9]+/[0-9]+ ' "$b.test.log" | tail -n 80
        status=1
    fi
    local counts p=0 f=1 s=0
    if [ -f "$log" ] && counts=$(python3 tools/count-tests.py "$log"); then
        read -r p f s <<<"$counts"
    fi
    [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
    echo "$name: $p passed, $f failed, $s skipped ($((SECONDS - start)) s)"
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + s))
}

mkdir -p "$dir"
run gcc "${common[@]}" --
if [ $quick -eq 0 ]; then
    # -O0 builds code paths and warnings of its own (-Wformat-truncation, say).
    run debug --buildtype=debug "${common[@]}" -- --suite unit --suite fault \
        --suite fuzz-corpus --suite alloc --suite symbols
    # Any sanitizer report fails the test that produced it.
    export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    CC=clang run asan "${common[@]}" -Db_sanitize=address,undefined -Db_lundef=false \
        -Dfuzz=enabled --
    # The symbols and consumer checks are shell scripts: valgrind would
    # test the shell.
    run valgrind:gcc "${common[@]}" -- --setup=valgrind --no-rebuild --no-suite symbols \
        --no-suite consumer
fi
cd "$root"
[ $total_fail -ne 0 ] && status=1
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
exit $status
