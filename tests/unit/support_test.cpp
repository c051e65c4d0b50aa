// SPDX-License-Identifier: MIT
// The test support code itself: a child's sanitizer report fails the test that started it,
// a child still running is stopped with SIGTERM, and the pty driver types and reads.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "process.h"
#include "pty_process.h"
#include "temp_dir.h"
#include "test_env.h"

namespace ftx {
namespace {

using namespace std::chrono_literals;
using testing::Process;
using testing::PtyProcess;
using testing::TempDir;

// A stand-in for a sanitized program that finds a bug: it writes a report where the
// sanitizer named in `variable` was told to (log_path in that variable), as the real
// runtime does, with its PID appended.
std::vector<std::string> fake_sanitized_program(const std::string& variable, const std::string& report) {
  return {"/bin/sh", "-c",
          "p=${" + variable + "##*log_path=}; p=${p%%:*}; printf '%s\\n' \"$1\" > \"$p.$$\"; exit 1", "sh",
          report};
}

TEST(ChildProcess, ASanitizerReportFailsTheTest) {
  TempDir tmp;
  for (const std::string variable : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"}) {
    const std::string report = "==42==ERROR: reported through " + variable;
    EXPECT_NONFATAL_FAILURE(
        {
          Process p(fake_sanitized_program(variable, report), tmp.path(), "child-" + variable);
          EXPECT_EQ(p.wait(), 1);
        },
        report);
  }
}

TEST(ChildProcess, TheCallersSanitizerOptionsStayInForce) {
  TempDir tmp;
  const char* was = std::getenv("ASAN_OPTIONS");
  const std::optional<std::string> saved = was ? std::optional<std::string>(was) : std::nullopt;
  ::setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1", 1);
  Process p({"/bin/sh", "-c", "printf '%s' \"$ASAN_OPTIONS\""}, tmp.path(), "env");
  if (saved) {
    ::setenv("ASAN_OPTIONS", saved->c_str(), 1);
  } else {
    ::unsetenv("ASAN_OPTIONS");
  }
  ASSERT_EQ(p.wait(), 0);
  EXPECT_EQ(p.out(), "detect_leaks=1:abort_on_error=1:log_path=" + (tmp / "env.sanitizer").string());
}

TEST(ChildProcess, AChildKeepsItsConfigurationInTheTestsDirectory) {
  TempDir tmp;
  Process p({"/bin/sh", "-c", "printf '%s' \"$XDG_CONFIG_HOME\""}, tmp.path(), "xdg");
  ASSERT_EQ(p.wait(), 0);
  EXPECT_EQ(p.out(), (tmp / "config").string());
}

// The check itself, on a planted log file: what a sanitizer leaves after a child it ran in
// was killed, or after the child exited normally with a leak report.
TEST(ChildProcess, APlantedLogFileFailsTheTest) {
  TempDir tmp;
  EXPECT_NONFATAL_FAILURE(
      {
        Process p({"/bin/true"}, tmp.path(), "server");
        EXPECT_EQ(p.wait(), 0);
        testing::write_file(tmp / "server.sanitizer.12345",
                            "==12345==ERROR: LeakSanitizer: detected memory leaks\n");
      },
      "LeakSanitizer: detected memory leaks");
  // Another child's log is not this one's.
  Process other({"/bin/true"}, tmp.path(), "server2");
  EXPECT_EQ(other.wait(), 0);
  EXPECT_TRUE(other.sanitizer_reports().empty());
}

// Waits (bounded) until a child's script reached the point where it creates `marker`.
bool reached(const std::filesystem::path& marker) {
  for (int i = 0; i < 1000 && !std::filesystem::exists(marker); ++i) std::this_thread::sleep_for(10ms);
  return std::filesystem::exists(marker);
}

TEST(ChildProcess, AChildStillRunningIsStoppedWithSigterm) {
  TempDir tmp;
  {
    Process p(
        {"/bin/sh", "-c", "trap 'touch \"$0.term\"; exit 0' TERM; touch \"$0\"; while :; do sleep 0.05; done",
         (tmp / "ready").string()},
        tmp.path(), "loop");
    ASSERT_TRUE(reached(tmp / "ready"));
  }
  EXPECT_TRUE(std::filesystem::exists(tmp / "ready.term"));
}

TEST(ChildProcess, AStoppedChildIsContinuedToSeeTheSigterm) {
  TempDir tmp;
  {
    Process p(
        {"/bin/sh", "-c", "trap 'touch \"$0.term\"; exit 0' TERM; touch \"$0\"; while :; do sleep 0.05; done",
         (tmp / "ready").string()},
        tmp.path(), "stopped");
    ASSERT_TRUE(reached(tmp / "ready"));
    p.signal(SIGSTOP);
    const std::string stat = "/proc/" + std::to_string(p.pid()) + "/stat";
    for (int i = 0; i < 1000 && testing::read_file(stat).find(") T ") == std::string::npos; ++i) {
      std::this_thread::sleep_for(1ms);
    }
  }
  EXPECT_TRUE(std::filesystem::exists(tmp / "ready.term"));
}

TEST(ChildProcess, AChildThatIgnoresSigtermIsKilledAndFailsTheTest) {
  TempDir tmp;
  pid_t pid = -1;
  EXPECT_NONFATAL_FAILURE(
      {
        Process p({"/bin/sh", "-c", "trap '' TERM; touch \"$0\"; exec sleep 60", (tmp / "ready").string()},
                  tmp.path(), "stubborn");
        pid = p.pid();
        p.set_stop_limit(300ms);
        ASSERT_TRUE(reached(tmp / "ready"));
      },
      "did not end within 300 ms of SIGTERM");
  EXPECT_NE(::kill(pid, 0), 0) << "still running";
}

TEST(ChildProcess, ACrashWhenStoppedFailsTheTest) {
  TempDir tmp;
  EXPECT_NONFATAL_FAILURE(
      {
        Process p({"/bin/sh", "-c", "trap 'kill -SEGV $$' TERM; touch \"$0\"; while :; do sleep 0.05; done",
                   (tmp / "ready").string()},
                  tmp.path(), "crash");
        ASSERT_TRUE(reached(tmp / "ready"));
      },
      "signal 11");
}

TEST(PtyProcess, TypesLinesAndReadsTheScreen) {
  if (auto why = PtyProcess::unavailable()) GTEST_SKIP() << *why;
  TempDir tmp;
  PtyProcess p({"/bin/sh", "-c", "[ -t 0 ] && [ -t 1 ] && echo tty; read line; echo \"got <$line>\"; exit 3"},
               tmp.path(), "sh");
  ASSERT_TRUE(p.wait_for("tty\r\n")) << p.screen();
  const size_t mark = p.screen().size();
  p.type("hello\n");
  EXPECT_TRUE(p.wait_for("got <hello>", mark)) << p.screen();
  EXPECT_EQ(p.wait(), 3);
  EXPECT_FALSE(p.wait_for("never printed", 0, 100ms));
}

TEST(TestEnv, TimeBoundsScaleWithTheFactor) {
  EXPECT_GE(testing::time_factor(), 1.0);
  EXPECT_EQ(testing::scaled(2s).count(), static_cast<long>(2000 * testing::time_factor()));
}

}  // namespace
}  // namespace ftx
