#!/bin/sh
# Compares the shared library's exported functions and objects with the
# committed list, so that an accidental export (or a lost one) fails.
# usage: check-exports.sh NM LIBRARY LIST      (output: TAP)
set -u
nm=$1 lib=$2 list=$3
actual=$(mktemp) || exit 1
trap 'rm -f "$actual"' EXIT
"$nm" -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ { print $3 }' | sort -u >"$actual"
echo "1..1"
if diff -u "$list" "$actual"; then
    echo "ok 1 - exported symbols match $(basename "$list")"
else
    echo "not ok 1 - exported symbols differ from $(basename "$list") (diff above: - committed, + built)"
    exit 1
fi
