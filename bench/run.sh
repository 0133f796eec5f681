#!/usr/bin/env bash
# bench/run.sh: arc and hiredis side by side, in one run, on this machine.
# Builds the benchmarks (meson -Dbench=enabled, release), starts its own
# redis-server and null server on free loopback ports, runs every
# measurement REPS times (default 5) interleaved arc, hiredis, arc, ..., and
# prints medians, ratios and the targets of bench/README.md.
#   bench/run.sh            everything
#   bench/run.sh codec      only the reader and encoder
#   bench/run.sh async      only the async client, syscalls, heap and RSS
#   bench/run.sh group      only the group: fan-out to 1,000 members, idle cost
#   bench/run.sh instr      only the user-space instructions per SET (callgrind,
#                           libevent, null server, depth 256), split into parts
#                           (bench/instr_parts.py), arc and every peer
#   bench/run.sh split      only the user and system time per SET at depth 256
#                           against redis-server, arc and every peer, long runs
#                           (SPLIT_COUNT, default 4,000,000) on LOOPS (default
#                           poll libevent): the system time every client pays
#                           (not part of "everything": about 2 minutes)
#   bench/run.sh cluster    only the cluster client: routing against one context,
#                           and redirect storms (about 35 s a repetition; not
#                           part of "everything"). Its own build, BUILD (default
#                           build-bench-cluster), with the tests: the storms run
#                           on the test harness's clusters (test/support).
# Peers beside hiredis 0.14, each from a prefix that bench/build-peer.sh
# made: HIREDIS_PREFIX (hiredis 1.x) and LIBVALKEY_PREFIX. With either set,
# bench_codec and bench_async are also compiled against that peer (with cc,
# into build-bench/peer-<name>/), and the codec and async measurements run
# it too, as impl hiredis1 or libvalkey. LOOPS (default: all five) limits the
# loops of the async runs.
# Results go to $OUT (default bench-results/): codec.csv, async.csv,
# syscalls.csv, rss.csv, group.csv, group-idle.csv, cluster.csv,
# cluster-storm.csv (and storm-<event>-<rep>.csv, a trace each),
# summary.txt, and async-redis.svg / async-null.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
reps=${REPS:-5}
out=${OUT:-bench-results}
what=${1:-all}
mkdir -p "$out"

bash tools/deps.sh
need=()
for p in libhiredis-dev gnuplot-nox strace; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || { echo "bench: as root: apt-get install -y ${need[*]}" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ "$what" = cluster ]; then
    # bench_cluster_storm links the test harness, which is built with the
    # tests only: a build of its own, and of the two programs only.
    b=${BUILD:-build-bench-cluster}
    [ -f "$b/build.ninja" ] || meson setup "$b" -Dbench=enabled -Dbuildtype=release \
        -Dtests=enabled -Dintegration_tests=disabled >/dev/null
    ninja -C "$b" bench/bench_cluster bench/bench_cluster_storm >/dev/null
else
    b=build-bench
    [ -f "$b/build.ninja" ] || meson setup "$b" -Dbench=enabled -Dbuildtype=release -Dtests=disabled >/dev/null
    ninja -C "$b" >/dev/null
fi

# The peers: name, prefix, the macro that selects it in bench/peer.h, its
# library. Each gets its own bench_codec and bench_async, built against arc
# from $b and the peer from its prefix (both found at run time by rpath).
peers=()
build_peer_bench() {
    local name=$1 prefix=$2 macro=$3 lib=$4 d=$b/peer-$1
    [ -d "$prefix/include" ] && [ -d "$prefix/lib" ] || {
        echo "bench: $name: $prefix has no include/ and lib/ (bench/build-peer.sh SRC $prefix)" >&2
        exit 1
    }
    prefix=$(cd "$prefix" && pwd)
    mkdir -p "$d"
    local cflags=(-std=c11 -O3 -Wall -Wextra -D_FILE_OFFSET_BITS=64 "-D$macro"
        -I"$prefix/include" -Icore/include -Iadapters/include -Ibench)
    local link=(-L"$b/core" -Wl,-rpath,"$root/$b/core" -larc
        -L"$prefix/lib" -Wl,-rpath,"$prefix/lib" "-l$lib")
    cc "${cflags[@]}" bench/bench_codec.c -o "$d/bench_codec" "${link[@]}"
    # shellcheck disable=SC2046
    cc "${cflags[@]}" $(pkg-config --cflags libevent_core libuv glib-2.0) bench/bench_async.c \
        -o "$d/bench_async" "${link[@]}" $(pkg-config --libs libevent_core libuv glib-2.0) -lev
    peers+=("$name")
}
if [ "$what" != cluster ]; then
    [ -z "${HIREDIS_PREFIX:-}" ] || build_peer_bench hiredis1 "$HIREDIS_PREFIX" BENCH_PEER_HIREDIS1 hiredis
    [ -z "${LIBVALKEY_PREFIX:-}" ] || build_peer_bench libvalkey "$LIBVALKEY_PREFIX" BENCH_PEER_LIBVALKEY valkey
fi
# An impl's bench_async and its IMPL argument: arc and hiredis (0.14) are
# $b's; a peer is the hiredis of its own build.
ba_of() { case $1 in arc | hiredis) echo "$b/bench/bench_async" ;; *) echo "$b/peer-$1/bench_async" ;; esac; }
arg_of() { case $1 in arc) echo arc ;; *) echo hiredis ;; esac; }

if [ "$what" = all ] || [ "$what" = codec ]; then
    : >"$out/codec.csv"
    for i in $(seq "$reps"); do
        "$b/bench/bench_codec" | sed "s/^/$i,/" >>"$out/codec.csv"
        for p in "${peers[@]}"; do
            "$b/peer-$p/bench_codec" | grep -v ',arc,' | sed "s/,hiredis,/,$p,/; s/^/$i,/" >>"$out/codec.csv"
        done
    done
fi

pids=()
tmp=$(mktemp -d)
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

if [ "$what" = all ] || [ "$what" = async ] || [ "$what" = group ] || [ "$what" = instr ] ||
    [ "$what" = split ]; then
    rport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$tmp" --logfile "$tmp/redis.log" &
    pids+=($!)
    "$b/bench/nullserver" >"$tmp/null.port" &
    pids+=($!)
    for _ in $(seq 100); do
        redis-cli -p "$rport" ping >/dev/null 2>&1 && [ -s "$tmp/null.port" ] && break
        sleep 0.1
    done
    nport=$(awk '{print $2}' "$tmp/null.port")
fi

if [ "$what" = split ]; then
    # User and system time per command, apart: getrusage samples which of
    # the two a tick falls in, so a run must be seconds long for the split
    # to hold to a few percent. The impls alternate within each repetition.
    read -r -a loops <<<"${LOOPS:-poll libevent}"
    n=${SPLIT_COUNT:-4000000}
    echo "rep,loop,impl,ops_per_s,cpu_us_per_op,heap_calls_per_op,sys_us_per_op" >"$out/split.csv"
    for i in $(seq "$reps"); do
        for loop in "${loops[@]}"; do
            for impl in arc hiredis "${peers[@]}"; do
                r=$("$(ba_of "$impl")" run "$(arg_of "$impl")" "$loop" 127.0.0.1 "$rport" 256 "$n")
                echo "$i,$loop,$impl,$r" >>"$out/split.csv"
            done
        done
        echo "split: repetition $i of $reps done" >&2
    done
fi

if [ "$what" = all ] || [ "$what" = group ]; then
    # A group against hand-written contexts and hiredis: one PING to each of
    # 1,000 connections to the null server, cold (connects included) and
    # warm (bench_group.c), interleaved; then bytes per idle member.
    echo "rep,impl,loop,members,cold_ms,cold_cpu_us_per_member,warm_ms,warm_cpu_us_per_member" >"$out/group.csv"
    for i in $(seq "$reps"); do
        for run in "group poll" "arc poll" "group libevent" "arc libevent" "hiredis libevent" \
            "group64 poll"; do
            set -- $run
            (ulimit -n 20000 2>/dev/null; "$b/bench/bench_group" fanout "$1" "$2" 127.0.0.1 "$nport" 1000) |
                sed "s/^fanout,/$i,/" >>"$out/group.csv"
        done
    done
    echo "rep,impl,members,heap_bytes" >"$out/group-idle.csv"
    for i in $(seq 3); do
        (ulimit -n 20000 2>/dev/null; "$b/bench/bench_group" idle 127.0.0.1 "$nport" 10000) |
            sed "s/^idle,/$i,/" >>"$out/group-idle.csv"
    done
fi

if [ "$what" = all ] || [ "$what" = instr ]; then
    # Instructions, not time: the one measure of the client's own work that
    # a shared machine does not blur. Two runs of N and 3N commands (each
    # with its tenth of warm-up), so that start-up and exit cancel out.
    echo "impl,part,instructions_per_op" >"$out/instr.csv"
    for impl in arc hiredis "${peers[@]}"; do
        for n in 50000 150000; do
            valgrind --tool=callgrind --callgrind-out-file="$tmp/cg-$impl-$n" \
                "$(ba_of "$impl")" run "$(arg_of "$impl")" libevent 127.0.0.1 "$nport" 256 "$n" \
                >/dev/null 2>"$tmp/cg-$impl-$n.log"
        done
        python3 bench/instr_parts.py "$impl" "$tmp/cg-$impl-50000" "$tmp/cg-$impl-150000" 110000 \
            >>"$out/instr.csv"
    done
fi

if [ "$what" = all ] || [ "$what" = async ]; then
    ba=$b/bench/bench_async
    read -r -a loops <<<"${LOOPS:-poll libevent libev libuv glib}"
    impls=(arc hiredis "${peers[@]}")
    count_for() { case $1 in 1) echo 20000 ;; 16) echo 100000 ;; *) echo 300000 ;; esac; }

    echo "rep,server,loop,impl,depth,ops_per_s,cpu_us_per_op,heap_calls_per_op,sys_us_per_op" >"$out/async.csv"
    for i in $(seq "$reps"); do
        for depth in 1 16 256 4096; do
            n=$(count_for "$depth")
            for server in redis null; do
                port=$rport
                [ "$server" = null ] && port=$nport
                echo "$i,$server,-,raw,$depth,$("$ba" raw 127.0.0.1 "$port" "$depth" "$n")" >>"$out/async.csv"
                for loop in "${loops[@]}"; do
                    for impl in "${impls[@]}"; do
                        r=$("$(ba_of "$impl")" run "$(arg_of "$impl")" "$loop" 127.0.0.1 "$port" "$depth" "$n")
                        echo "$i,$server,$loop,$impl,$depth,$r" >>"$out/async.csv"
                    done
                done
            done
        done
        echo "async: repetition $i of $reps done" >&2
    done

    # Syscalls per round trip at depth 1: the difference between N and 2N
    # commands, so that connecting and exiting cancel out.
    echo "loop,impl,syscalls_per_round_trip" >"$out/syscalls.csv"
    count_syscalls() {
        strace -f -c -o "$tmp/strace" "$(ba_of "$1")" run "$(arg_of "$1")" "$2" 127.0.0.1 "$rport" 1 "$3" >/dev/null
        awk '/ total$/ {print $(NF-2)}' "$tmp/strace"
    }
    for loop in "${loops[@]}"; do
        for impl in "${impls[@]}"; do
            s1=$(count_syscalls "$impl" "$loop" 2000)
            s2=$(count_syscalls "$impl" "$loop" 4000)
            # each run makes its count plus a tenth of it as warm-up
            echo "$loop,$impl,$(python3 -c "print(round(($s2 - $s1) / 2200, 2))")" >>"$out/syscalls.csv"
        done
    done

    echo "rep,impl,peak_rss_kib" >"$out/rss.csv"
    for i in $(seq 3); do
        for impl in "${impls[@]}"; do
            echo "$i,$impl,$("$(ba_of "$impl")" rss "$(arg_of "$impl")" 127.0.0.1 "$nport" 1000000)" >>"$out/rss.csv"
        done
    done

    # TLS beside plain TCP, against one redis-server listening both ways
    # (certificates made here with the openssl command).
    if [ -x "$b/bench/bench_tls" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj /CN=bench-ca -keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
            -keyout "$tmp/srv.key" -out "$tmp/srv.csr" 2>/dev/null
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tmp/san.cnf"
        openssl x509 -req -in "$tmp/srv.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
            -CAcreateserial -days 2 -extfile "$tmp/san.cnf" -out "$tmp/srv.pem" 2>/dev/null
        pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        tport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        redis-server --port "$pport" --tls-port "$tport" --bind 127.0.0.1 --save '' \
            --appendonly no --dir "$tmp" --logfile "$tmp/redis-tls.log" \
            --tls-cert-file "$tmp/srv.pem" --tls-key-file "$tmp/srv.key" \
            --tls-ca-cert-file "$tmp/ca.pem" --tls-auth-clients no &
        pids+=($!)
        for _ in $(seq 100); do
            redis-cli -p "$pport" ping >/dev/null 2>&1 && break
            sleep 0.1
        done
        echo "rep,transport,depth,ops_per_s,cpu_us_per_op" >"$out/tls.csv"
        echo "rep,full_ms,resumed_ms,resumed_share" >"$out/handshake.csv"
        for i in $(seq "$reps"); do
            for depth in 1 16 256; do
                n=$(count_for "$depth")
                echo "$i,plain,$depth,$("$b/bench/bench_tls" ops localhost "$pport" "$tmp/ca.pem" 0 "$depth" "$n")" >>"$out/tls.csv"
                echo "$i,tls,$depth,$("$b/bench/bench_tls" ops localhost "$tport" "$tmp/ca.pem" 1 "$depth" "$n")" >>"$out/tls.csv"
            done
            echo "$i,$("$b/bench/bench_tls" handshake localhost "$tport" "$tmp/ca.pem" 30)" >>"$out/handshake.csv"
        done
        echo "rep,heap_bytes_per_idle_tls_connection" >"$out/tls-idle.csv"
        for i in $(seq 3); do
            echo "$i,$(ulimit -n 20000 2>/dev/null; "$b/bench/bench_tls" idle localhost "$tport" "$tmp/ca.pem" 2000)" >>"$out/tls-idle.csv"
        done
    fi

    # What an idle connection costs: 10,000 contexts, one command each, then
    # idle past the trim (bench_idle.c). Heap bytes arc holds per context.
    echo "rep,phase,contexts,heap_bytes_per_context,rss_kib_per_context" >"$out/idle.csv"
    for i in $(seq 3); do
        (ulimit -n 20000 2>/dev/null; "$b/bench/bench_idle" "$nport" 10000) | sed "s/^idle,/$i,/" >>"$out/idle.csv"
    done
fi

if [ "$what" = cluster ]; then
    bc=$b/bench/bench_cluster
    storm=$b/bench/bench_cluster_storm
    depth=${CLUSTER_DEPTH:-256}
    masters=3
    n=300000
    # One standalone node and a cluster of three masters without replicas
    # (bench_cluster_storm serve): no node also feeds a replica.
    sport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    redis-server --port "$sport" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$tmp" --logfile "$tmp/redis-single.log" &
    pids+=($!)
    "$storm" serve "$masters" >"$tmp/cluster.port" &
    serve=$!
    pids+=("$serve")
    for _ in $(seq 300); do
        redis-cli -p "$sport" ping >/dev/null 2>&1 && [ -s "$tmp/cluster.port" ] && break
        sleep 0.1
    done
    cport=$(cat "$tmp/cluster.port")
    # The cluster in slot order (the window on one master at a time) and
    # mixed (spread over the three); one context at the same depth, and at
    # depth / masters, which is what each connection of the mixed cluster
    # carries; the mixed cluster at depth * masters, each connection at depth.
    runs=("cluster $cport $depth slot" "single $sport $depth slot"
        "single $sport $((depth / masters)) slot" "cluster $cport $depth mixed"
        "cluster $cport $((depth * masters)) mixed")
    echo "rep,mode,order,depth,ops_per_s,cpu_us_per_op,recv_per_op,send_per_op,poll_per_op" >"$out/cluster.csv"
    for i in $(seq "$reps"); do
        for run in "${runs[@]}"; do
            set -- $run
            echo "$i,$("$bc" "$1" 127.0.0.1 "$2" "$3" "$n" "$4")" >>"$out/cluster.csv"
        done
    done
    # Its nodes stop before the storms start theirs.
    kill "$serve"
    wait "$serve" || true

    # Redirect storms: each run starts its own cluster of three masters and
    # three replicas (bench_cluster_storm.c), so that every event meets the
    # same cluster. What failed goes to cluster-storm.log.
    echo "rep,event,base_ops_s,dip,recover_ms,settle_ms,change_ms,lost_ms,failed,moved,ask,tryagain,clusterdown,maps" \
        >"$out/cluster-storm.csv"
    : >"$out/cluster-storm.log"
    for i in $(seq "$reps"); do
        for event in none migrate failover kill; do
            if r=$("$storm" "$event" "$depth" "$out/storm-$event-$i.csv" 2>>"$out/cluster-storm.log"); then
                echo "$i,$r" >>"$out/cluster-storm.csv"
            else
                echo "bench: storm $event (repetition $i) failed; see $out/cluster-storm.log" >&2
            fi
        done
        echo "cluster storms: repetition $i of $reps done" >&2
    done
fi

python3 bench/summary.py "$out" "$what" | tee "$out/summary.txt"
if [ -f "$out/async.csv" ] && { [ "$what" = all ] || [ "$what" = async ]; }; then
    for server in redis null; do
        gnuplot -e "csvdir='$out'; server='$server'" bench/async.gp >"$out/async-$server.svg"
    done
    echo "plots: $out/async-redis.svg $out/async-null.svg"
fi
