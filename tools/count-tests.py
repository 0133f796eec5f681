#!/usr/bin/env python3
"""Counts test cases in meson's testlog JSON: every TAP 'ok' / 'not ok' line
is a case; a test that printed no TAP line counts as one case by its result;
a test that failed (crash, timeout, non-zero exit) without a 'not ok' line
adds one failed case, so a crash after some passing cases still counts.

A TAP line with "# SKIP", and a test meson marks SKIP, count as skipped.

usage: count-tests.py TESTLOG.json  ->  prints 'P F S' (passed, failed, skipped)"""
import json
import re
import sys

OK = re.compile(r"^ok\b")
NOT_OK = re.compile(r"^not ok\b")
SKIPPED = re.compile(r"^ok\b.*#\s*skip", re.IGNORECASE)
GOOD = {"OK", "EXPECTEDFAIL"}

passed = failed = skipped = 0
with open(sys.argv[1]) as log:
    for line in log:
        test = json.loads(line)
        out = test.get("stdout") or ""
        skips = sum(1 for l in out.splitlines() if SKIPPED.match(l))
        oks = sum(1 for l in out.splitlines() if OK.match(l)) - skips
        skipped += skips
        bads = sum(1 for l in out.splitlines() if NOT_OK.match(l))
        good = test.get("result") in GOOD
        if oks == 0 and bads == 0:
            if test.get("result") == "SKIP":
                skipped += 1
            elif good:
                passed += 1
            else:
                failed += 1
            continue
        passed += oks
        failed += bads
        if not good and bads == 0:
            failed += 1
print(passed, failed, skipped)
