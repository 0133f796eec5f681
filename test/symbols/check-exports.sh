#!/bin/sh
# Compares the shared library's exported functions and objects with the
# committed list, so that an accidental export (or a lost one) fails.
# usage: check-exports.sh NM LIBRARY LIST      (output: TAP)
#
# What the toolchain links in is left out: coverage (__gcov_*; gcc's
# libgcov also exports mangle_path and gcov_write, clang's profile runtime
# lprof*, llvm_* and two *_fn_list variables), LLVM's __llvm_*, sanitizer
# runtimes, and the linker's own markers. Every other symbol, arc's or
# not, is compared exactly.
set -u
nm=$1 lib=$2 list=$3
actual=$(mktemp) || exit 1
trap 'rm -f "$actual"' EXIT
"$nm" -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVWiu]$/ { print $3 }' |
    sed 's/@.*//' |
    grep -vE '^(__gcov|__llvm|llvm_|lprof|__asan|__ubsan|__lsan|__msan|__tsan|__sanitizer|__interceptor_)' |
    grep -vxE '_init|_fini|_edata|_end|__bss_start|__gmon_start__|mangle_path|gcov_write' |
    grep -vxE 'reset_fn_list|writeout_fn_list' |
    sort -u >"$actual"
echo "1..1"
if diff -u "$list" "$actual"; then
    echo "ok 1 - exported symbols match $(basename "$list")"
else
    echo "not ok 1 - exported symbols differ from $(basename "$list") (diff above: - committed, + built)"
    exit 1
fi
