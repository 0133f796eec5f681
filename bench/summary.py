#!/usr/bin/env python3
"""Medians, ratios and targets of a bench/run.sh run.

usage: summary.py OUTDIR [all|codec|async|group|instr|split|cluster]
Reads OUTDIR/codec.csv, async.csv, syscalls.csv, rss.csv and idle.csv (those that the
run made; split.csv for "split" only; cluster.csv and cluster-storm.csv for
"cluster" only), prints the tables, and writes OUTDIR/async-<server>-medians.csv for bench/async.gp. The
peers that run.sh was given (hiredis1, libvalkey) get a column each where
they were measured, beside hiredis (0.14), and a column arc/best: arc
against the best of hiredis and the peers. With peers, the targets are
against the best of them all (reader and encoder shapes at most 0.5, client
CPU per op at depth 256 against redis-server at most 0.3 on every loop);
without, against hiredis 0.14 as before."""
import csv
import os
import statistics
import sys

out, what = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "all")
LOOPS = ["poll", "libevent", "libev", "libuv", "glib"]
DEPTHS = [1, 16, 256, 4096]
PEERS = ["hiredis1", "libvalkey"]
SHORT = {"hiredis1": "hi1", "libvalkey": "vk"}
verdicts = []


def target(name, value, limit, lower_is_better=True):
    ok = value <= limit if lower_is_better else value >= limit
    sign = "<=" if lower_is_better else ">="
    verdicts.append(f"{'met' if ok else 'NOT met':8} {name}: {value:.2f} (target {sign} {limit})")


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def present(impls):
    """The peers measured, among the impls seen."""
    return [p for p in PEERS if p in impls]


if what in ("all", "codec") and os.path.exists(f"{out}/codec.csv"):
    rows = {}
    for rep, kind, shape, impl, ns in csv.reader(open(f"{out}/codec.csv")):
        rows.setdefault((kind, shape), {}).setdefault(impl, []).append(float(ns))
    peers = present({i for impls in rows.values() for i in impls})
    print("== reader and encoder: ns per reply / command, medians")
    print(f"{'what':8} {'shape':10} {'arc':>9} {'hiredis':>9} "
          + "".join(f"{p:>10}" for p in peers) + f"{'arc/hiredis':>12}"
          + (f"{'arc/best':>9}" if peers else ""))
    for (kind, shape), impls in rows.items():
        a = med(impls["arc"])
        pv = [med(impls[p]) if p in impls else None for p in peers]
        cols = "".join(f"{v:10.1f}" if v is not None else f"{'-':>10}" for v in pv)
        others = [v for v in pv if v is not None]
        if "hiredis" in impls:
            h = med(impls["hiredis"])
            others.append(h)
        bst = f"{a / min(others):9.2f}" if others else f"{'-':>9}"
        if "hiredis" in impls:
            print(f"{kind:8} {shape:10} {a:9.1f} {h:9.1f} {cols}{a / h:12.2f}"
                  + (bst if peers else ""))
            if peers and others:
                target(f"{kind} {shape} arc/best", a / min(others), 0.5)
            else:
                target(f"{kind} {shape} arc/hiredis", a / h, 0.5)
        else:
            print(f"{kind:8} {shape:10} {a:9.1f} {'-':>9} {cols}{'-':>12}" + (bst if peers else ""))
            if peers and others:  # RESP3 shapes: hiredis 0.14 has none
                target(f"{kind} {shape} arc/best", a / min(others), 0.5)
    print()

if what in ("all", "async") and os.path.exists(f"{out}/async.csv"):
    ops, cpu, heap = {}, {}, {}
    for r in csv.DictReader(open(f"{out}/async.csv")):
        k = (r["server"], r["loop"], r["impl"], int(r["depth"]))
        ops.setdefault(k, []).append(float(r["ops_per_s"]))
        cpu.setdefault(k, []).append(float(r["cpu_us_per_op"]))
        heap.setdefault(k, []).append(float(r["heap_calls_per_op"]))
    peers = present({k[2] for k in ops})
    # The loops measured (run.sh's LOOPS may leave some out), in their order.
    loops = [lp for lp in LOOPS if any(k[1] == lp for k in ops)]
    for server in ("redis", "null"):
        title = "redis-server" if server == "redis" else "null server (+OK to everything)"
        print(f"== async, one connection, SET 16 B, against {title}: medians")
        if not peers:
            print(f"{'loop':9} {'depth':>5} {'arc ops/s':>11} {'hiredis':>11} {'raw':>11} "
                  f"{'arc/hi':>7} {'arc/raw':>8} {'arc us/op':>9} {'hi us/op':>9} {'cpu a/h':>8}")
        else:
            print(f"{'loop':9} {'depth':>5} {'arc ops/s':>11} {'hiredis':>11} "
                  + "".join(f"{p:>11}" for p in peers) + f" {'raw':>11} "
                  f"{'arc/hi':>7} {'arc/best':>8} {'arc/raw':>8} {'arc us/op':>9} {'hi us/op':>9} "
                  + "".join(f" {SHORT[p] + ' us/op':>10}" for p in peers)
                  + f" {'cpu a/h':>8} {'cpu a/best':>10}")
        medians = {d: {} for d in DEPTHS}
        for d in DEPTHS:
            raw = med(ops.get((server, "-", "raw", d), []))
            medians[d]["raw"] = raw
            for loop in loops:
                a = med(ops.get((server, loop, "arc", d), []))
                h = med(ops.get((server, loop, "hiredis", d), []))
                ca = med(cpu.get((server, loop, "arc", d), []))
                ch = med(cpu.get((server, loop, "hiredis", d), []))
                medians[d][f"arc {loop}"] = a
                medians[d][f"hiredis {loop}"] = h
                if not peers:
                    print(f"{loop:9} {d:5} {a:11.0f} {h:11.0f} {raw:11.0f} {a / h:7.2f} "
                          f"{a / raw:8.2f} {ca:9.3f} {ch:9.3f} {ca / ch:8.2f}")
                else:
                    po = [med(ops.get((server, loop, p, d), [])) for p in peers]
                    pc = [med(cpu.get((server, loop, p, d), [])) for p in peers]
                    # the best: most ops/s, least CPU per op (NaN, not measured, left out)
                    bo = max((v for v in po + [h] if v == v), default=float("nan"))
                    bc = min((v for v in pc + [ch] if v == v), default=float("nan"))
                    print(f"{loop:9} {d:5} {a:11.0f} {h:11.0f} "
                          + "".join(f"{v:11.0f}" for v in po) + f" {raw:11.0f} "
                          f"{a / h:7.2f} {a / bo:8.2f} {a / raw:8.2f} {ca:9.3f} {ch:9.3f} "
                          + "".join(f"{v:11.3f}" for v in pc) + f" {ca / ch:8.2f} {ca / bc:10.2f}")
                if server == "null" and d == 256 and not peers:
                    target(f"client CPU per op, null server, depth 256, {loop}: arc/hiredis",
                           ca / ch, 0.5)
                if server == "redis" and d == 256 and peers:
                    target(f"client CPU per op, redis-server, depth 256, {loop}: arc/best",
                           ca / bc, 0.3)

                if server == "redis" and d == 256:
                    # The floor is one batch each way; arc keeps several in
                    # flight (io.c, parse_replies).
                    target(f"ops/s against redis-server, depth 256, {loop}: arc/raw floor",
                           a / raw, 1.0, lower_is_better=False)
        cols = ["raw"] + [f"{i} {l}" for l in LOOPS for i in ("arc", "hiredis")]
        with open(f"{out}/async-{server}-medians.csv", "w") as f:
            f.write("depth," + ",".join(cols) + "\n")
            for d in DEPTHS:
                f.write(f"{d}," + ",".join(f"{medians[d].get(c, float('nan')):.0f}" for c in cols) + "\n")
        print()
    print("== heap calls per command in steady state (null server, depth 256, medians)")
    for loop in loops:
        a = med(heap.get(("null", loop, "arc", 256), []))
        h = med(heap.get(("null", loop, "hiredis", 256), []))
        print(f"{loop:9} arc {a:5.2f}   hiredis {h:5.2f}"
              + "".join(f"   {p} {med(heap.get(('null', loop, p, 256), [])):5.2f}" for p in peers))
        target(f"heap calls per command, {loop}, arc", a, 0)
    print()

if what in ("all", "async") and os.path.exists(f"{out}/syscalls.csv"):
    print("== syscalls per round trip, depth 1, redis-server (strace -c, 2N minus N)")
    sc = {(r["loop"], r["impl"]): float(r["syscalls_per_round_trip"])
          for r in csv.DictReader(open(f"{out}/syscalls.csv"))}
    peers = present({k[1] for k in sc})
    for loop in [lp for lp in LOOPS if (lp, "arc") in sc]:
        print(f"{loop:9} arc {sc[(loop, 'arc')]:5.2f}   hiredis {sc[(loop, 'hiredis')]:5.2f}"
              + "".join(f"   {p} {sc[(loop, p)]:5.2f}" for p in peers))
        target(f"syscalls per round trip, {loop}, arc", sc[(loop, "arc")], 3)
    print()

if what in ("all", "async") and os.path.exists(f"{out}/rss.csv"):
    rss = {}
    for r in csv.DictReader(open(f"{out}/rss.csv")):
        rss.setdefault(r["impl"], []).append(float(r["peak_rss_kib"]))
    a, h = med(rss["arc"]), med(rss["hiredis"])
    peers = present(rss)
    print("== peak RSS over baseline with 1M SET commands in flight (poll, null server)")
    print(f"arc {a / 1024:.1f} MiB   hiredis {h / 1024:.1f} MiB   "
          + "".join(f"{p} {med(rss[p]) / 1024:.1f} MiB   " for p in peers) + f"arc/hiredis {a / h:.2f}"
          + (f"   arc/best {a / min([h] + [med(rss[p]) for p in peers]):.2f}" if peers else ""))
    target("peak RSS with 1M in flight: arc/hiredis", a / h, 0.5)
    print()

if what in ("all", "async") and os.path.exists(f"{out}/idle.csv"):
    idle = {}
    for r in csv.DictReader(open(f"{out}/idle.csv")):
        idle.setdefault(r["phase"], []).append(float(r["heap_bytes_per_context"]))
    print("== heap bytes per idle context (10,000 contexts, poll, null server, medians)")
    for phase in ("after-reply", "after-trim"):
        if phase in idle:
            print(f"{phase:12} {med(idle[phase]):9.0f} B")
    if "after-trim" in idle:
        target("heap bytes per idle context after the trim", med(idle["after-trim"]), 4096)
    print()

if what in ("all", "async") and os.path.exists(f"{out}/tls.csv"):
    tl = {}
    for r in csv.DictReader(open(f"{out}/tls.csv")):
        tl.setdefault((r["transport"], int(r["depth"])), []).append(r)
    print("== TLS beside plain TCP (arc, poll, redis-server, SET 16 B, medians)")
    print("depth   plain ops/s     TLS ops/s  tls/plain  plain us/op  TLS us/op")
    for depth in sorted({d for _, d in tl}):
        p = tl.get(("plain", depth), [])
        t = tl.get(("tls", depth), [])
        if not p or not t:
            continue
        po = med([float(r["ops_per_s"]) for r in p])
        to = med([float(r["ops_per_s"]) for r in t])
        pc = med([float(r["cpu_us_per_op"]) for r in p])
        tc = med([float(r["cpu_us_per_op"]) for r in t])
        print(f"{depth:5} {po:13.0f} {to:13.0f} {to / po:10.2f} {pc:12.3f} {tc:10.3f}")
        if depth == 256:
            target("TLS ops/s at depth 256: tls/plain", to / po, 0.8, lower_is_better=False)
    if os.path.exists(f"{out}/handshake.csv"):
        hs = list(csv.DictReader(open(f"{out}/handshake.csv")))
        if hs:
            full = med([float(r["full_ms"]) for r in hs])
            res = med([float(r["resumed_ms"]) for r in hs])
            share = med([float(r["resumed_share"]) for r in hs])
            print(f"handshake to READY: full {full:.2f} ms, resumed {res:.2f} ms "
                  f"({share:.0%} resumed)")
            target("resumed handshake: resumed/full", res / full, 0.9)
    if os.path.exists(f"{out}/tls-idle.csv"):
        # a repetition whose bench_tls failed left its value empty
        ti = [float(r["heap_bytes_per_idle_tls_connection"])
              for r in csv.DictReader(open(f"{out}/tls-idle.csv"))
              if r["heap_bytes_per_idle_tls_connection"]]
        if ti:
            print(f"heap bytes per idle TLS connection (arc + OpenSSL): {med(ti):.0f}")
    print()

if what in ("all", "instr") and os.path.exists(f"{out}/instr.csv"):
    print("== user-space instructions per SET (callgrind, libevent, null server, depth 256)")
    per = {}
    for r in csv.DictReader(open(f"{out}/instr.csv")):
        per.setdefault(r["impl"], {})[r["part"]] = float(r["instructions_per_op"])
    for impl, parts in per.items():
        rest = ", ".join(f"{p} {v:.0f}" for p, v in parts.items() if p != "total")
        print(f"{impl:10} {parts.get('total', float('nan')):6.0f}   {rest}")
    others = [per[i]["total"] for i in per if i != "arc" and "total" in per[i]]
    if "arc" in per and others:
        print(f"arc / best: {per['arc']['total'] / min(others):.2f}")
    print()

if what == "split" and os.path.exists(f"{out}/split.csv"):
    # Every client sleeps in its poll about once per window and is woken by
    # the next replies; that, in the kernel, is charged to it whatever its
    # user-space work. When arc's system time alone reaches 0.3 of the best
    # peer's whole CPU, no user-space saving meets the CPU target.
    print("== user and system time per SET, us, depth 256, redis-server (medians)")
    rows = {}
    for r in csv.DictReader(open(f"{out}/split.csv")):
        k = (r["loop"], r["impl"])
        rows.setdefault(k, []).append(r)
    loops = [lp for lp in LOOPS if any(k[0] == lp for k in rows)]
    print(f"{'loop':9} {'impl':10} {'ops/s':>10} {'user':>7} {'system':>7} {'total':>7}")
    for loop in loops:
        total = {}
        for impl in ["arc", "hiredis"] + PEERS:
            rs = rows.get((loop, impl))
            if not rs:
                continue
            cpu_ = med([float(r["cpu_us_per_op"]) for r in rs])
            sy = med([float(r["sys_us_per_op"]) for r in rs])
            total[impl] = (cpu_, sy)
            print(f"{loop:9} {impl:10} {med([float(r['ops_per_s']) for r in rs]):10.0f} "
                  f"{cpu_ - sy:7.3f} {sy:7.3f} {cpu_:7.3f}")
        others = [v[0] for i, v in total.items() if i != "arc"]
        if "arc" in total and others:
            best = min(others)
            print(f"{loop:9} arc / best peer: CPU {total['arc'][0] / best:.2f}; "
                  f"arc's system time alone {total['arc'][1] / best:.2f} (the target is 0.3)")
    print()

if what in ("all", "group") and os.path.exists(f"{out}/group.csv"):
    gr = {}
    for r in csv.DictReader(open(f"{out}/group.csv")):
        gr.setdefault((r["impl"], r["loop"]), []).append(r)
    print("== fan-out of PING to 1,000 members (null server; medians)")
    print("impl     loop      cold ms  cold CPU us/member  warm ms  warm CPU us/member")
    m = {}
    for (impl, loop), rs in sorted(gr.items()):
        vals = [med([float(r[k]) for r in rs]) for k in
                ("cold_ms", "cold_cpu_us_per_member", "warm_ms", "warm_cpu_us_per_member")]
        m[(impl, loop)] = vals
        print(f"{impl:8} {loop:9} {vals[0]:7.1f} {vals[1]:19.2f} {vals[2]:8.1f} {vals[3]:19.2f}")
    for loop in ("poll", "libevent"):
        g, a = m.get(("group", loop)), m.get(("arc", loop))
        if g and a:
            print(f"group/arc on {loop}: cold CPU {g[1] / a[1]:.2f}, warm CPU {g[3] / a[3]:.2f}, "
                  f"cold wall {g[0] / a[0]:.2f}")
            target(f"group/arc cold CPU per member, {loop}", g[1] / a[1], 1.1)
            target(f"group/arc warm CPU per member, {loop}", g[3] / a[3], 1.1)
    g, h = m.get(("group", "libevent")), m.get(("hiredis", "libevent"))
    if g and h:
        print(f"group/hiredis on libevent: cold CPU {g[1] / h[1]:.2f}, warm CPU {g[3] / h[3]:.2f}")
    if os.path.exists(f"{out}/group-idle.csv"):
        gi = {}
        for r in csv.DictReader(open(f"{out}/group-idle.csv")):
            gi.setdefault(r["impl"], []).append(float(r["heap_bytes"]))
        if "group" in gi and "arc" in gi:
            print(f"heap bytes per idle member (10,000): group {med(gi['group']):.0f}, "
                  f"plain context {med(gi['arc']):.0f}, "
                  f"the group's own {med(gi['group']) - med(gi['arc']):.0f}")
            target("heap bytes per idle group member", med(gi["group"]), 4096)
    print()

if what == "cluster" and os.path.exists(f"{out}/cluster.csv"):
    # (mode, order, depth) -> {rep: row}
    cr = {}
    for r in csv.DictReader(open(f"{out}/cluster.csv")):
        cr.setdefault((r["mode"], r["order"], int(r["depth"])), {})[r["rep"]] = r
    reps = max(len(v) for v in cr.values()) if cr else 0
    print(f"== cluster client (3 masters) against one context on one node: SET 16 B, poll, "
          f"medians of {reps}")
    print(f"{'mode':8} {'keys':6} {'depth':>5} {'ops/s':>9} {'CPU us/op':>9} {'recv/op':>8} "
          f"{'send/op':>8} {'poll/op':>8} {'sys/op':>7} {'ops/sys':>7}")
    cpu = {}
    for key in sorted(cr, key=lambda k: (k[0], k[1] != "slot", k[2])):
        rs = cr[key].values()
        v = {c: med([float(r[c]) for r in rs]) for c in
             ("ops_per_s", "cpu_us_per_op", "recv_per_op", "send_per_op", "poll_per_op")}
        calls = v["recv_per_op"] + v["send_per_op"] + v["poll_per_op"]
        cpu[key] = v["cpu_us_per_op"]
        mode, order, depth = key
        print(f"{mode:8} {order if mode == 'cluster' else '-':6} {depth:5} {v['ops_per_s']:9.0f} "
              f"{v['cpu_us_per_op']:9.3f} {v['recv_per_op']:8.4f} {v['send_per_op']:8.4f} "
              f"{v['poll_per_op']:8.4f} {calls:7.4f} {1 / calls if calls else float('nan'):7.1f}")

    def ratio(a, b):
        """The ratio of the medians, and the range of the ratios within
        each repetition (both runs of a pair ran one after the other)."""
        per = [float(cr[a][i]["cpu_us_per_op"]) / float(cr[b][i]["cpu_us_per_op"])
               for i in cr[a] if i in cr[b]]
        return cpu[a] / cpu[b], (min(per), max(per)) if per else (float("nan"),) * 2

    singles = sorted(d for m, _, d in cpu if m == "single")
    depth = max(singles) if singles else None
    if depth is not None and ("cluster", "slot", depth) in cpu:
        low = min(singles)
        wide = max(d for m, o, d in cpu if m == "cluster")
        base = ("single", "slot", depth)
        rows = [(("cluster", "slot", depth), base, "cluster, keys in slot order"),
                (("cluster", "mixed", depth), base, "cluster, keys mixed"),
                (("cluster", "mixed", depth), ("single", "slot", low),
                 f"cluster, keys mixed / single at {low}, what each connection carries"),
                (("cluster", "mixed", wide), base,
                 f"cluster at {wide}, keys mixed (each connection at about {depth})"),
                (("single", "slot", low), base, f"single at {low}")]
        print(f"client CPU per op, against single at {depth} unless said (ratio of the medians; "
              f"the ratios within each repetition, lowest and highest):")
        for a, b, what_ in rows:
            if a in cpu and b in cpu and a != b:
                r, (lo, hi) = ratio(a, b)
                print(f"  {what_:72} {r:5.2f}  ({lo:.2f} to {hi:.2f})")
        for order in ("slot", "mixed"):
            if ("cluster", order, depth) in cpu:
                target(f"cluster CPU per op, keys in {order} order, depth {depth}: cluster/single",
                       ratio(("cluster", order, depth), base)[0], 1.2)
    print()

if what == "cluster" and os.path.exists(f"{out}/cluster-storm.csv"):
    st = {}
    for r in csv.DictReader(open(f"{out}/cluster-storm.csv")):
        st.setdefault(r["event"], []).append(r)
    cols = ["base_ops_s", "dip", "recover_ms", "settle_ms", "change_ms", "lost_ms", "failed",
            "moved", "ask", "tryagain", "clusterdown", "maps"]
    reps = max(len(v) for v in st.values()) if st else 0
    print(f"== redirect storms, 3 masters + 3 replicas, SET at the run's depth, keys mixed: "
          f"medians of {reps} (each column on its own)")
    print(f"{'event':9} {'base ops/s':>10} {'dip':>5} {'recover':>8} {'settle':>7} {'change':>7} "
          f"{'after':>6} {'lost ms':>8} {'failed':>7} {'MOVED':>6} {'ASK':>6} {'TRYAGAIN':>8} "
          f"{'CLUSTERDOWN':>11} {'maps':>5}")
    for event in ("none", "migrate", "failover", "kill"):
        rs = st.get(event)
        if not rs:
            continue
        v = {c: med([float(r[c]) for r in rs]) for c in cols}
        # after: the client's own time, from the cluster whole again (or, for a
        # migration, from the ownership change) until throughput was back.
        mark = "change_ms" if event == "migrate" else "settle_ms"
        after = med([float(r["recover_ms"]) - float(r[mark]) for r in rs
                     if float(r["recover_ms"]) >= 0])
        print(f"{event:9} {v['base_ops_s']:10.0f} {v['dip']:5.2f} {v['recover_ms']:8.0f} "
              f"{v['settle_ms']:7.0f} {v['change_ms']:7.0f} {after:6.0f} {v['lost_ms']:8.1f} "
              f"{v['failed']:7.0f} {v['moved']:6.0f} {v['ask']:6.0f} {v['tryagain']:8.0f} "
              f"{v['clusterdown']:11.0f} {v['maps']:5.0f}")
        late = sum(float(r["recover_ms"]) < 0 for r in rs)
        if late:
            print(f"          ({late} run(s) not back to 90% within the run)")
    print("recover: ms from the event until 100 ms ran at >= 90% of the baseline; settle: until "
          "the harness saw the cluster whole; change (migrate): until SETSLOT NODE; after: "
          "recover minus settle (migrate: minus change)")
    print()

print("== targets")
for v in verdicts:
    print(v)
