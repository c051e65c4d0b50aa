#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# summarize.py on canned `meson test` logs: every kind of case counted, each skip with its
# reason, and a last line that names what failed.
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import summarize  # noqa: E402

# gtest 1.12 output as a test program prints it (abridged to what summarize.py reads).
GTEST_MIXED = """\
Running main() from ./googletest/src/gtest_main.cc
[==========] Running 6 tests from 3 test suites.
[ RUN      ] Binary.VersionAndHelp
[       OK ] Binary.VersionAndHelp (12 ms)
[ RUN      ] Binary.NoIpv6
../tests/integration/transfer_test.cpp:252: Skipped
no IPv6 loopback here: connect [::1]:1: Cannot assign requested address

[  SKIPPED ] Binary.NoIpv6 (0 ms)
[ RUN      ] At/KilledSender.ResendResumesFromTheKeptPartial/0
../tests/integration/resume_test.cpp:240: Failure
Expected equality of these values:
[  FAILED  ] At/KilledSender.ResendResumesFromTheKeptPartial/0, where GetParam() = 25 (8123 ms)
[ RUN      ] At/KilledSender.ResendResumesFromTheKeptPartial/1
[       OK ] At/KilledSender.ResendResumesFromTheKeptPartial/1 (7000 ms)
[ RUN      ] Names/BinaryName.Refused/3
[  FAILED  ] Names/BinaryName.Refused/3, where GetParam() = { "a (1 ms)", true } (1 ms)
[ RUN      ] Plain.Fails
[  FAILED  ] Plain.Fails (3 ms)
[==========] 6 tests from 3 test suites ran. (15000 ms total)
[  PASSED  ] 2 tests.
[  SKIPPED ] 1 test, listed below:
[  SKIPPED ] Binary.NoIpv6
[  FAILED  ] 3 tests, listed below:
[  FAILED  ] At/KilledSender.ResendResumesFromTheKeptPartial/0, where GetParam() = 25
[  FAILED  ] Names/BinaryName.Refused/3, where GetParam() = { "a (1 ms)", true }
[  FAILED  ] Plain.Fails
"""

# A program that died in its second case (a sanitizer abort, a crash, a timeout).
GTEST_CRASHED = """\
[==========] Running 3 tests from 1 test suite.
[ RUN      ] Chat.First
[       OK ] Chat.First (5 ms)
[ RUN      ] Chat.Second
==123==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010
"""

# Every case passed, then the program exited non-zero (LeakSanitizer at exit).
GTEST_LEAKED_AT_EXIT = """\
[==========] Running 1 test from 1 test suite.
[ RUN      ] Codec.RoundTrip
[       OK ] Codec.RoundTrip (1 ms)
[==========] 1 test from 1 test suite ran. (1 ms total)
[  PASSED  ] 1 test.
"""

GTEST_PASSING = """\
[==========] Running 2 tests from 1 test suite.
[ RUN      ] Units.Sizes
[       OK ] Units.Sizes (0 ms)
[ RUN      ] Units.Rates
[       OK ] Units.Rates (0 ms)
[==========] 2 tests from 1 test suite ran. (0 ms total)
[  PASSED  ] 2 tests.
"""


def entry(name, result, stdout, returncode=0):
    return {"name": name, "result": result, "returncode": returncode, "stdout": stdout}


class Summarize(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def write_testlog(self, build, *entries):
        logs = os.path.join(self.tmp.name, build, "meson-logs")
        os.makedirs(logs)
        path = os.path.join(logs, "testlog.json")
        with open(path, "w", encoding="utf-8") as f:
            for e in entries:
                f.write(json.dumps(e) + "\n")
        return path

    def run_summarize(self, *args):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = summarize.main(list(args))
        lines = out.getvalue().splitlines()
        return code, lines

    def test_every_case_is_counted_and_each_failure_named(self):
        log = self.write_testlog("build", entry("resume", "FAIL", GTEST_MIXED, 1))
        code, lines = self.run_summarize(log)
        self.assertEqual(code, 1)
        last = lines[-1]
        self.assertTrue(last.startswith("FAILED: "), last)
        self.assertIn("cases: 2 passed, 3 failed, 1 skipped", last)
        self.assertIn("build/resume: At/KilledSender.ResendResumesFromTheKeptPartial/0", last)
        self.assertIn("build/resume: Names/BinaryName.Refused/3", last)
        self.assertIn("build/resume: Plain.Fails", last)
        self.assertIn("FAILED build/resume: At/KilledSender.ResendResumesFromTheKeptPartial/0", lines)

    def test_each_skip_is_listed_with_its_reason(self):
        log = self.write_testlog("build", entry("resume", "FAIL", GTEST_MIXED, 1))
        _, lines = self.run_summarize(log)
        self.assertIn("skipped build/resume: Binary.NoIpv6: no IPv6 loopback here: "
                      "connect [::1]:1: Cannot assign requested address", lines)

    def test_a_case_without_an_end_is_a_failure(self):
        log = self.write_testlog("build-asan", entry("chat", "FAIL", GTEST_CRASHED, -6))
        code, lines = self.run_summarize(log)
        self.assertEqual(code, 1)
        self.assertIn("cases: 1 passed, 1 failed, 0 skipped", lines[-1])
        self.assertIn("build-asan/chat: Chat.Second (no result: the program died of signal 6 in it)", lines[-1])

    def test_a_program_failing_after_its_cases_passed_is_a_failure(self):
        log = self.write_testlog("build-asan", entry("codec", "FAIL", GTEST_LEAKED_AT_EXIT, 23))
        code, lines = self.run_summarize(log)
        self.assertEqual(code, 1)
        self.assertIn("cases: 1 passed, 1 failed", lines[-1])
        self.assertIn("build-asan/codec (ended FAIL, exit code 23 though no case failed)", lines[-1])

    def test_a_timeout_before_any_output_is_a_failure(self):
        log = self.write_testlog("build-tsan", entry("tree", "TIMEOUT", "", -15))
        code, lines = self.run_summarize(log)
        self.assertEqual(code, 1)
        self.assertIn("build-tsan/tree (TIMEOUT)", lines[-1])

    def test_a_missing_log_is_a_failure(self):
        code, lines = self.run_summarize(os.path.join(self.tmp.name, "build-tsan", "meson-logs", "testlog.json"))
        self.assertEqual(code, 1)
        self.assertIn("build-tsan: no test log", lines[-1])

    def test_other_steps_and_fuzz_targets_reach_the_last_line(self):
        log = self.write_testlog("build", entry("units", "OK", GTEST_PASSING), entry("summarize", "OK", "ok\n"))
        fuzz = os.path.join(self.tmp.name, "fuzz-results.tsv")
        with open(fuzz, "w", encoding="utf-8") as f:
            f.write("frame_decoder_fuzz\tok\t1000\ntext_line_fuzz\tcrash\t20\n")
        code, lines = self.run_summarize("--fuzz", fuzz, "--step", "bench smoke=failed", log)
        self.assertEqual(code, 1)
        self.assertIn("cases: 3 passed, 0 failed, 0 skipped", lines[-1])
        self.assertIn("fuzz text_line_fuzz: crash", lines[-1])
        self.assertIn("bench smoke: failed", lines[-1])

        code, lines = self.run_summarize("--fuzz", os.path.join(self.tmp.name, "none.tsv"), log)
        self.assertEqual(code, 1)
        self.assertIn("fuzz: no results", lines[-1])

    def test_all_passed_says_what_ran(self):
        log = self.write_testlog("build", entry("units", "OK", GTEST_PASSING))
        fuzz = os.path.join(self.tmp.name, "fuzz-results.tsv")
        with open(fuzz, "w", encoding="utf-8") as f:
            f.write("frame_decoder_fuzz\tok\t1000\n")
        code, lines = self.run_summarize("--fuzz", fuzz, "--step", "bench smoke=ok", log)
        self.assertEqual(code, 0)
        self.assertEqual(lines[-1], "all passed: cases: 2 passed, 0 failed, 0 skipped; "
                                    "ran: build, fuzz frame_decoder_fuzz, bench smoke")

    def test_nothing_run_is_not_a_pass(self):
        log = self.write_testlog("build")
        code, _ = self.run_summarize(log)
        self.assertEqual(code, 1)


if __name__ == "__main__":
    unittest.main()
