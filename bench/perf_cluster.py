#!/usr/bin/env python3
"""Where bench_cluster's client time goes, from a perf profile with call chains.

usage: perf script -i perf.data -F comm,ip,sym,dso --inline | perf_cluster.py

perf record --call-graph dwarf on a release build with -g (see
bench/README.md, "Cluster: routing"). Only the samples of the load count:
those whose chain holds bench_cluster's run(), not connecting, the key
table or exiting. Each sample goes to one part: the first function, from
the leaf up, that a part names (so a memcpy counts for whoever called it,
a syscall's kernel time for the syscall, and the command parser
arc__cmdview_* for the cluster's classify or the context's queue entry,
which both read the command). Then, for the routing
functions, the share of samples that have them anywhere in the chain
(inclusive) and as the leaf (self). Inlined functions count as functions:
perf reports them from the debug information."""
import re
import sys

# (part, functions), in the order printed. The first four are what the
# cluster client does that one context does not; the hand-off to the
# node's context is partly that (the copy of the bytes) and partly what
# a context does anyway (its queue entry).
PARTS = [
    ("routing: key slot (CRC16)", {"arc__key_slot", "arc__crc16"}),
    ("routing: classify (command name, key walk)",
     {"classify", "visit_key", "arc__keys_walk", "arc__keytable_find_ex", "arc__keytable_find",
      "arg_at"}),
    ("routing: submit (the command's record, its copy, the list)",
     {"arc__cluster_submit", "submit_scratch", "arc_cluster_vcommand", "arc_cluster_command",
      "arc_buffer_clear"}),
    ("routing: route, send_to", {"route", "send_to", "arc__cluster_node_context",
                                 "arc__cluster_node_link", "pick_replica", "any_master"}),
    ("routing: reply side (on_node_reply, finish)",
     {"on_node_reply", "arc__cluster_finish", "arc__cluster_call", "arc__cluster_unref",
      "error_is"}),
    ("hand-off to the node's context (arc__command_trusted)", {"arc__command_trusted"}),
    ("encoder (printf form)", {"arc_vformat", "walk_arg", "parse_spec", "count_args", "sink_put",
                               "put_header", "put_digits", "arc_vcommand_with", "arc_vcommand",
                               "arc_command"}),
    ("context: queue entry, write-through",
     {"issue@libarc", "classify@context", "queue_encoded", "arc__queue_put", "arc__queue_reserve",
      "arc__buffer_put", "arc_buffer_append", "arc__buffer_reserve"}),
    ("reader", {"parse_replies", "arc_reader_next", "step_line", "find_crlf", "arc__rd_node",
                "arc__rd_string_node"}),
    ("dispatch", {"arc__dispatch", "take_one", "to_head", "arc__queue_pop"}),
    ("syscalls (kernel time included)", {"recv", "send", "poll", "syscall"}),
    ("bench program", {"on_cluster", "on_context", "issue@bench_cluster", "run"}),
]
ROUTING = ["arc_cluster_command", "arc_cluster_vcommand", "arc__cluster_submit", "classify",
           "arc__keys_walk", "arc__key_slot", "route", "send_to", "arc__command_trusted",
           "on_node_reply", "arc__cluster_finish", "arc_vformat", "malloc", "free"]
# malloc and free stand for the C library's functions under them too.
ALIASES = {"malloc": {"malloc", "_int_malloc", "__libc_malloc", "tcache_get"},
           "free": {"free", "_int_free", "cfree", "__GI___libc_free", "tcache_put"}}
HEAP = ALIASES["malloc"] | ALIASES["free"]

FRAME = re.compile(r"^\s*[0-9a-f]+ (.+?) \((.*)\)\s*$")
SUFFIX = re.compile(r"\.(constprop|isra|part|cold)\.?\d*")


def name_of(sym, dso):
    sym = sym.replace(" (inlined)", "")
    sym = SUFFIX.sub("", sym).split("@")[0]
    # Two functions are called issue: command.c's (libarc) and the bench's.
    if sym == "issue":
        sym += "@libarc" if "libarc" in dso else "@bench_cluster"
    return sym


def samples(lines):
    chain = None
    for line in lines:
        if not line.strip():
            if chain:
                yield chain
            chain = None
        elif not line[0].isspace():
            chain = [] if line.startswith("bench_cluster") else None
        elif chain is not None:
            m = FRAME.match(line)
            if m:
                chain.append(name_of(m.group(1), m.group(2)))
    if chain:
        yield chain


def told_apart(chain):
    """command.c has a classify of its own (which commands change the
    context's state): the cluster's is the one arc__cluster_submit calls."""
    return [f + "@context" if f == "classify" and chain[i + 1:i + 2] != ["arc__cluster_submit"]
            else f for i, f in enumerate(chain)]


part_of = {f: p for p, fs in PARTS for f in fs}
counts = {p: 0 for p, _ in PARTS}
counts["other"] = 0
incl = {f: 0 for f in ROUTING}
self_ = {f: 0 for f in ROUTING}
heap_in_routing = 0
total = 0
for chain in map(told_apart, samples(sys.stdin)):
    if "run" not in chain or "bench_slot_keys" in chain or "arc_cluster_key_slot" in chain:
        continue
    total += 1
    part = next((part_of[f] for f in chain if f in part_of), "other")
    counts[part] += 1
    if part.startswith("routing") and any(f in HEAP for f in chain[:3]):
        heap_in_routing += 1
    names = set(chain)
    for f in ROUTING:
        these = ALIASES.get(f, {f})
        if names & these:
            incl[f] += 1
        if chain and chain[0] in these:
            self_[f] += 1

if total == 0:
    sys.exit("perf_cluster.py: no samples of bench_cluster's run() in the input")
print(f"{total} samples of the load")
print(f"{'part':60} {'share':>6}")
routing = 0
for p, _ in PARTS + [("other", None)]:
    if p.startswith("routing"):
        routing += counts[p]
    print(f"{p:60} {100 * counts[p] / total:5.1f}%")
print(f"{'routing, the five parts together':60} {100 * routing / total:5.1f}%")
# perf's own work for each sample (a dwarf call chain is a copy of the
# stack) lands in the kernel and swells the syscalls' part: outside it the
# shares are steadier from run to run.
user = total - counts["syscalls (kernel time included)"]
print(f"{'  of the samples outside syscalls':60} {100 * routing / user:5.1f}%")
print(f"{'  of which heap calls (the record of each command)':60} "
      f"{100 * heap_in_routing / total:5.1f}%")
print()
print(f"{'function':24} {'inclusive':>9} {'self':>6}")
for f in ROUTING:
    print(f"{f:24} {100 * incl[f] / total:8.1f}% {100 * self_[f] / total:5.1f}%")
