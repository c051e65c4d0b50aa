// SPDX-License-Identifier: MIT
// The progress bar's text.
#include "client/progress.h"
#include "net/chunk_pacer.h"

#include <gtest/gtest.h>

namespace ftx::client {
namespace {

TEST(Progress, ShowsNamePercentBytesRateAndEta) {
  const std::string line = render_progress("big.iso", 50ull << 20, 100ull << 20, 1.0, 120);
  EXPECT_NE(line.find("big.iso"), std::string::npos);
  EXPECT_NE(line.find(" 50%"), std::string::npos);
  EXPECT_NE(line.find("50.0 MiB / 100.0 MiB"), std::string::npos);
  EXPECT_NE(line.find("52.4 MB/s"), std::string::npos);
  EXPECT_NE(line.find("ETA 0:01"), std::string::npos);
  EXPECT_NE(line.find("[=========="), std::string::npos);
}

TEST(Progress, FitsTheWidth) {
  const std::string name(300, 'n');
  for (int width : {40, 60, 80, 200}) {
    EXPECT_LE(render_progress(name, 1, 2, 1.0, width).size(), static_cast<size_t>(width)) << width;
  }
}

TEST(Progress, EmptyFileIsComplete) {
  EXPECT_NE(render_progress("e", 0, 0, 0.0, 100).find("100%"), std::string::npos);
}

TEST(Progress, ControlCharactersInNamesAreEscaped) {
  EXPECT_EQ(render_progress("\x1b[2J", 0, 1, 0.0, 120).find('\x1b'), std::string::npos);
}

using namespace std::chrono_literals;
using Time = SendProgress::Time;

// A clock the test moves by hand.
const Time t0 = Time() + 1000s;

TEST(SendProgressThrottle, RedrawsAtMostTenTimesASecond) {
  SendProgress p;
  p.job_started(1, 100ull << 20);
  p.file_started("big.iso", 100ull << 20, t0);
  ASSERT_TRUE(p.due(t0));  // the first drawing at once
  p.draw(100, t0);
  int draws = 0;
  // A callback every millisecond for a second, each with many bytes.
  for (int ms = 1; ms <= 1000; ++ms) {
    p.file_progress(static_cast<uint64_t>(ms) << 16);
    const Time now = t0 + std::chrono::milliseconds(ms);
    if (p.due(now)) {
      p.draw(100, now);
      ++draws;
    }
  }
  EXPECT_GE(draws, 9);
  EXPECT_LE(draws, 10);
}

TEST(SendProgressThrottle, RedrawsAfterAHundredMillisecondsWhenAnyByteMoved) {
  SendProgress p;
  p.job_started(1, 100ull << 20);
  p.file_started("big.iso", 100ull << 20, t0);
  p.draw(100, t0);
  p.file_progress(1);  // one byte, far below any chunk size
  EXPECT_FALSE(p.due(t0 + 99ms));
  EXPECT_TRUE(p.due(t0 + 100ms));
  p.draw(100, t0 + 100ms);
  EXPECT_FALSE(p.due(t0 + 250ms)) << "nothing moved since the last drawing";
  p.file_progress(2);
  EXPECT_TRUE(p.due(t0 + 250ms));
}

TEST(SendProgressThrottle, AnErasedBarComesBackOnSchedule) {
  SendProgress p;
  p.job_started(2, 2000);
  p.file_started("a", 1000, t0);
  p.draw(100, t0);
  p.erased();
  EXPECT_FALSE(p.shown());
  EXPECT_FALSE(p.due(t0 + 50ms));
  EXPECT_TRUE(p.due(t0 + 100ms));
}

TEST(SendProgressRate, AResumeCountsOnlyTheBytesSentInThisAttempt) {
  SendProgress p;
  p.job_started(1, 100ull << 20);
  p.file_started("big.iso", 100ull << 20, t0);
  p.file_resumed(90ull << 20);  // the server had 90 MiB
  p.file_progress(95ull << 20);
  EXPECT_EQ(p.done(), 95ull << 20);
  EXPECT_EQ(p.moved(), 5ull << 20);
  const std::string line = p.draw(120, t0 + 1s);
  EXPECT_NE(line.find(" 95%"), std::string::npos) << line;
  EXPECT_NE(line.find("95.0 MiB / 100.0 MiB"), std::string::npos) << line;
  EXPECT_NE(line.find("5.2 MB/s"), std::string::npos) << line;  // 5 MiB in 1 s, not 95
  EXPECT_NE(line.find("ETA 0:01"), std::string::npos) << line;  // 5 MiB left at 5 MiB/s
}

TEST(SendProgressRate, ANewAttemptStartsItsClockAndCountAfresh) {
  SendProgress p;
  p.job_started(1, 100ull << 20);
  p.file_started("big.iso", 100ull << 20, t0);
  p.file_progress(40ull << 20);
  p.connection_lost();
  // Reconnected 10 s later; the server kept 40 MiB.
  p.file_started("big.iso", 100ull << 20, t0 + 10s);
  p.file_resumed(40ull << 20);
  p.file_progress(50ull << 20);
  EXPECT_EQ(p.moved(), 10ull << 20);
  const std::string line = p.draw(120, t0 + 12s);
  EXPECT_NE(line.find("5.2 MB/s"), std::string::npos) << line;  // 10 MiB in 2 s
  EXPECT_NE(line.find("ETA 0:10"), std::string::npos) << line;
}

TEST(SendProgressRate, RenderUsesTheMovedBytes) {
  const std::string line = render_progress("f", 90ull << 20, 100ull << 20, 10ull << 20, 1.0, 120);
  EXPECT_NE(line.find("10.5 MB/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 0:01"), std::string::npos) << line;
}

TEST(SendProgressName, OneFileIsNamedAlone) {
  SendProgress p;
  p.job_started(1, 10);
  p.file_started("only.txt", 10, t0);
  EXPECT_EQ(p.label(), "only.txt");
}

TEST(SendProgressName, SeveralFilesNameTheOneBeingSent) {
  SendProgress p;
  p.job_started(3, 3000);
  p.file_started("a.bin", 1000, t0);
  EXPECT_EQ(p.label(), "[1/3] a.bin");
  // Small files leave before the first answer arrives (pipelined).
  p.file_started("b.bin", 1000, t0);
  EXPECT_EQ(p.label(), "[2/3] b.bin");
  EXPECT_EQ(p.done(), 1000u);  // a.bin has left
  p.file_done("a.bin", 1000, false);
  EXPECT_EQ(p.label(), "[2/3] b.bin");
  p.file_started("c.bin", 1000, t0);
  p.file_done("b.bin", 1000, false);
  EXPECT_EQ(p.label(), "[3/3] c.bin");
  p.file_done("c.bin", 1000, false);
  EXPECT_EQ(p.done(), 3000u);
  EXPECT_TRUE(p.finished());
  EXPECT_NE(p.draw(120, t0 + 1s).find("[3/3] c.bin"), std::string::npos);
}

TEST(SendProgressName, AFileThatNeverLeftTakesItsTurn) {
  SendProgress p;
  p.job_started(3, 3000);
  p.file_done("refused.bin", 1000, false);  // refused before it could leave
  EXPECT_FALSE(p.due(t0)) << "no bar without a file to name";
  p.file_started("b.bin", 1000, t0);
  EXPECT_EQ(p.label(), "[2/3] b.bin");
  p.file_done("b.bin", 1000, false);
  p.file_done("gone.bin", 1000, false);  // unreadable: answered without being sent
  EXPECT_TRUE(p.finished());
}

TEST(SendProgressName, AfterAReconnectTheResentFilesCountFromTheLastAnswer) {
  SendProgress p;
  p.job_started(3, 3000);
  p.file_started("a.bin", 1000, t0);
  p.file_started("b.bin", 1000, t0);
  p.file_done("a.bin", 1000, false);
  p.connection_lost();  // b.bin never answered: sent again
  EXPECT_EQ(p.done(), 1000u);
  p.file_started("b.bin", 1000, t0 + 1s);
  EXPECT_EQ(p.label(), "[2/3] b.bin");
  p.file_started("c.bin", 1000, t0 + 1s);
  EXPECT_EQ(p.label(), "[3/3] c.bin");
}

// The file sender's chunk: halves while writes are slow (so callbacks keep coming on a slow
// link), doubles back while they are quick, within its bounds.
TEST(ChunkPacer, ShrinksOnASlowLinkAndGrowsOnAFastOne) {
  net::ChunkPacer pacer(256 * 1024, 8u << 20);
  for (int i = 0; i < 10; ++i) pacer.took(pacer.next(), std::chrono::seconds(1));
  EXPECT_EQ(pacer.next(), net::ChunkPacer::kMin);
  for (int i = 0; i < 20; ++i) pacer.took(pacer.next(), std::chrono::milliseconds(1));
  EXPECT_EQ(pacer.next(), 8u << 20);
  pacer.took(1000, std::chrono::milliseconds(1));  // a short write says nothing of the link
  EXPECT_EQ(pacer.next(), 8u << 20);
}

}  // namespace
}  // namespace ftx::client
