// SPDX-License-Identifier: MIT
// The progress bar's text.
#include "client/progress.h"

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

}  // namespace
}  // namespace ftx::client
