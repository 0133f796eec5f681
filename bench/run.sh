#!/usr/bin/env bash
# bench/run.sh: builds the benchmarks (meson -Dbench=enabled, release) and
# runs arc and hiredis interleaved, REPS times (default 5), then prints the
# median ns/op of each and the ratio arc/hiredis. CSV of every run in
# $OUT (default bench-results.csv).
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${REPS:-5}
out=${OUT:-bench-results.csv}
bash tools/deps.sh
dpkg-query -W -f='${Status}' libhiredis-dev 2>/dev/null | grep -q 'install ok installed' ||
    { [ "$(id -u)" -eq 0 ] && apt-get install -y -qq libhiredis-dev >/dev/null; }
b=build-bench
[ -f "$b/build.ninja" ] || meson setup "$b" -Dbench=enabled -Dbuildtype=release -Dtests=disabled >/dev/null
ninja -C "$b" bench/bench_codec >/dev/null
: >"$out"
for i in $(seq "$reps"); do
    "$b/bench/bench_codec" | sed "s/^/$i,/" >>"$out"
done
python3 - "$out" <<'PY'
import csv, statistics, sys
rows = {}
for rep, what, shape, impl, ns in csv.reader(open(sys.argv[1])):
    rows.setdefault((what, shape), {}).setdefault(impl, []).append(float(ns))
print(f"{'what':8} {'shape':10} {'arc ns':>9} {'hiredis ns':>11} {'arc/hiredis':>12}")
for (what, shape), impls in rows.items():
    a = statistics.median(impls["arc"])
    h = statistics.median(impls["hiredis"]) if "hiredis" in impls else None
    ratio = f"{a / h:.2f}" if h else "-"
    hs = f"{h:.1f}" if h else "-"
    print(f"{what:8} {shape:10} {a:9.1f} {hs:>11} {ratio:>12}")
PY
