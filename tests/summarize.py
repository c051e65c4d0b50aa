#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Adds up the GoogleTest cases of one or more `meson test` runs from their testlog.json files
# and prints one closing line, "gtest: N passed, N failed, N skipped". A test program that crashed or
# timed out before reporting its cases counts as one failure. Exits 1 when anything failed.
import json
import re
import sys

CASE = re.compile(r"^\[\s+(OK|FAILED|SKIPPED)\s+\] \S+ \(\d+ ms\)$", re.M)


def main(paths):
    passed = failed = skipped = 0
    for path in paths:
        passed, failed, skipped = add(path, passed, failed, skipped)
    print(f"gtest: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or passed == 0 else 0


def add(path, passed, failed, skipped):
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            test = json.loads(line)
            out = test.get("stdout") or test.get("stdo") or ""
            counts = {"OK": 0, "FAILED": 0, "SKIPPED": 0}
            for m in CASE.finditer(out):
                counts[m.group(1)] += 1
            passed += counts["OK"]
            skipped += counts["SKIPPED"]
            failed += counts["FAILED"]
            if test.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL") and counts["FAILED"] == 0:
                failed += 1
                print(f"summarize: {path}: {test.get('name')} ended {test.get('result')} "
                      "without reporting a failed case", file=sys.stderr)
    return passed, failed, skipped


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["build/meson-logs/testlog.json"]))
