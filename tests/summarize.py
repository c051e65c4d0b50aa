#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The closing account of a test run: every GoogleTest case of one or more `meson test` runs
# (their testlog.json files), each fuzz target and any other step, ending with one line that
# says what failed, or that nothing did. Exits 1 when anything failed.
#
#   summarize.py [--step NAME=ok|failed]... [--fuzz RESULTS.tsv] TESTLOG.json...
#
# A test program that crashed or timed out in the middle of a case counts that case as
# failed; one that failed without naming a failed case (a crash before its first case, a
# sanitizer report at exit) counts as one failure of its own. A test that is not a
# GoogleTest program counts as one case. A missing log counts as a failure: a stale or absent
# log must never read as a pass. Each skip is listed with the reason the test gave.
import argparse
import json
import os
import re
import sys

# gtest 1.12 ends every case with one of these; a failed parameterised case adds
# ", where GetParam() = ..." (or TypeParam) before the time.
END = re.compile(r"^\[\s+(OK|FAILED|SKIPPED)\s+\] ([^\s,]+)(?:, where .*)? \(\d+ ms\)$")
RUN = re.compile(r"^\[ RUN      \] (\S+)$")
SKIP_REASON = re.compile(r": Skipped$")
GTEST = re.compile(r"^\[==========\] |^\[ RUN      \] ", re.M)
PASSING = ("OK", "SKIP", "EXPECTEDFAIL")
SHOWN = 4  # failures named in the last line; every one is listed above it


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = []  # "where: what"
        self.skipped = []  # "where: what: why"
        self.problems = []  # steps that failed: "what"
        self.ran = []  # what the last line says was run


def case_results(out):
    """(name, OK|FAILED|SKIPPED|UNFINISHED, skip reason) for each case in gtest output."""
    results = []
    running = None
    lines_of_case = []
    for line in out.splitlines():
        m = RUN.match(line)
        if m:
            if running:
                results.append((running, "UNFINISHED", ""))
            running, lines_of_case = m.group(1), []
            continue
        m = END.match(line)
        if m and running == m.group(2):
            results.append((running, m.group(1), skip_reason(lines_of_case) if m.group(1) == "SKIPPED" else ""))
            running = None
            continue
        if running:
            lines_of_case.append(line)
    if running:
        results.append((running, "UNFINISHED", ""))
    return results


def skip_reason(lines):
    """The message after gtest's "FILE:LINE: Skipped" line, on one line."""
    for i, line in enumerate(lines):
        if SKIP_REASON.search(line):
            reason = " ".join(l.strip() for l in lines[i + 1:] if l.strip())
            return reason or "no reason given"
    return "no reason given"


def add_testlog(path, tally):
    where = os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(path))))
    if not os.path.exists(path):
        tally.problems.append(f"{where}: no test log ({path}): the build or `meson test` did not run")
        return
    tally.ran.append(where)
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            if line.strip():
                add_test(where, json.loads(line), tally)


def add_test(where, test, tally):
    name = test.get("name", "?").split(" / ")[-1]  # "ftx:unit+tsan / inbox" -> "inbox"
    result = test.get("result")
    out = test.get("stdout") or test.get("stdo") or ""
    label = f"{where}/{name}"
    if not GTEST.search(out):
        # Not a GoogleTest program (or one that died before its first line): one case.
        if result == "SKIP":
            tally.skipped.append(f"{label}: skipped by meson")
        elif result in PASSING:
            tally.passed += 1
        else:
            tally.failed.append(f"{label} ({result})")
        return
    failed_here = 0
    for case, status, reason in case_results(out):
        if status == "OK":
            tally.passed += 1
        elif status == "SKIPPED":
            tally.skipped.append(f"{label}: {case}: {reason}")
        elif status == "FAILED":
            tally.failed.append(f"{label}: {case}")
            failed_here += 1
        else:
            tally.failed.append(f"{label}: {case} (no result: the program {describe(test)} in it)")
            failed_here += 1
    if result not in PASSING and failed_here == 0:
        tally.failed.append(f"{label} ({describe(test)} though no case failed)")


def describe(test):
    result = test.get("result")
    code = test.get("returncode")
    if result == "TIMEOUT":
        return "timed out"
    if isinstance(code, int) and code < 0:
        return f"died of signal {-code}"
    return f"ended {result}, exit code {code}"


def add_fuzz(path, tally):
    """RESULTS.tsv from scripts/fuzz.sh: TARGET<TAB>ok|crash<TAB>EXECUTIONS per line."""
    if not os.path.exists(path):
        tally.problems.append(f"fuzz: no results ({path}): the fuzz build or run did not happen")
        return
    with open(path, encoding="utf-8") as results:
        for line in results:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 2:
                continue
            if fields[1] == "ok":
                tally.ran.append(f"fuzz {fields[0]}")
            else:
                tally.problems.append(f"fuzz {fields[0]}: {fields[1]}")


def main(argv):
    parser = argparse.ArgumentParser(description="Adds up a test run and ends with one line.")
    parser.add_argument("--step", action="append", default=[], metavar="NAME=ok|failed",
                        help="another step of the run and how it ended")
    parser.add_argument("--fuzz", metavar="RESULTS.tsv", help="scripts/fuzz.sh's results file")
    parser.add_argument("testlogs", nargs="*", metavar="TESTLOG.json")
    args = parser.parse_args(argv)
    testlogs = args.testlogs or ([] if args.step or args.fuzz else ["build/meson-logs/testlog.json"])

    tally = Tally()
    for path in testlogs:
        add_testlog(path, tally)
    if args.fuzz:
        add_fuzz(args.fuzz, tally)
    for step in args.step:
        name, _, status = step.partition("=")
        if status == "ok":
            tally.ran.append(name)
        else:
            tally.problems.append(f"{name}: {status or 'failed'}")

    if testlogs and tally.passed == 0 and not tally.failed and not tally.skipped:
        tally.problems.append("no test case ran")
    for line in tally.skipped:
        print(f"skipped {line}")
    for line in tally.failed:
        print(f"FAILED {line}")
    for line in tally.problems:
        print(f"FAILED {line}")
    print(last_line(tally))
    return 1 if tally.failed or tally.problems else 0


def last_line(t):
    counts = f"cases: {t.passed} passed, {len(t.failed)} failed, {len(t.skipped)} skipped"
    if not t.failed and not t.problems:
        skips = " (each skip listed above)" if t.skipped else ""
        return f"all passed: {counts}{skips}; ran: {', '.join(t.ran) or 'nothing'}"
    what = t.failed[:SHOWN] + t.problems
    more = len(t.failed) - SHOWN
    if more > 0:
        what.insert(SHOWN, f"{more} more failed case(s) listed above")
    return f"FAILED: {'; '.join(what)} | {counts}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
