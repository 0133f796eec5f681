#!/usr/bin/env python3
"""instr_parts.py: where a client's user-space instructions go, per command.

    instr_parts.py IMPL SHORT.callgrind LONG.callgrind OPS

Takes two callgrind profiles of the same bench_async run (one with OPS more
commands than the other, so that start-up and exit cancel out), sums each
function's own instructions (callgrind_annotate, exclusive costs) into
parts and prints "impl,part,instructions_per_op" lines, the last part
"total". arc's functions are split by what they do; a peer's are counted by
library (its own code, the allocator, the rest of libc, the loop).
"""
import re
import subprocess
import sys

# arc's functions, by the part of a command's life they serve. Names only:
# a release build has no file names, and inlined helpers count in the
# function they were inlined into.
ARC_PARTS = [
    ("encode", r"format|copy_short"),
    ("issue / classify / queue",
     r"^(issue|arc_command\w*|queue_encoded|classify|walk_command|refusal|"
     r"arc__queue_grow|arc__reconnect_refusal\w*|arc__blocking_wait|register_subs)$"),
    ("reader", r"reader|arena|step_|rd_"),
    ("dispatch", r"dispatch|take_one|queue_take|to_head|call_reply|pubsub_frame"),
    ("read and write (io.c and transport)",
     r"read_input|arc_handle_\w+|flush_output|parse_replies|plain_\w+|maybe_close|"
     r"sync_loop|arc__enter|arc__leave"),
]
ALLOC = r"^(malloc|calloc|realloc|free|cfree|_int_\w+|malloc_consolidate|unlink_chunk\S*|"\
        r"tcache\w*|__libc_\w+)$"

LINE = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S+?)(?:\s+\[(\S+)\])?\s*$")


def parts_of(impl, path):
    out = subprocess.run(["callgrind_annotate", "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    sums = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if m is None or "PROGRAM TOTALS" in line:
            continue
        n = int(m.group(1).replace(",", ""))
        where, fn = m.group(2).rsplit(":", 1) if ":" in m.group(2) else ("", m.group(2))
        obj = m.group(3) or ""
        if not obj:
            # A function inlined from a header is listed with its file only:
            # glibc's by their source paths, the rest are the library's own.
            if re.search(r"malloc|sysdeps|/string/|/stdlib/", where):
                obj = "libc.so"
            elif impl == "arc":
                obj = "libarc"
            else:
                obj = "libhiredis"
        if "libarc" in obj:
            part = next((p for p, rx in ARC_PARTS if re.search(rx, fn)), "other arc code")
        elif re.search(r"libhiredis|libvalkey", obj):
            part = "client library"
        elif "libc.so" in obj:
            part = "allocator" if re.match(ALLOC, fn) else "libc"
        elif re.search(r"libevent|libev\.|libuv|libglib", obj):
            part = "event loop"
        elif "bench_async" in obj:
            part = "bench program"
        else:
            part = "other (loader and start-up)"
        sums[part] = sums.get(part, 0) + n
    return sums


def main():
    impl, short, long_, ops = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    a, b = parts_of(impl, short), parts_of(impl, long_)
    total = 0.0
    for part in sorted(set(a) | set(b), key=lambda p: -(b.get(p, 0) - a.get(p, 0))):
        per = (b.get(part, 0) - a.get(part, 0)) / ops
        if abs(per) < 0.5:
            continue
        total += per
        print(f"{impl},{part},{per:.0f}")
    print(f"{impl},total,{total:.0f}")


if __name__ == "__main__":
    main()
