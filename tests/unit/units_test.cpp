// SPDX-License-Identifier: MIT
// Sizes and rates.
#include "util/units.h"

#include <gtest/gtest.h>

#include <limits>

#include "util/clock.h"

namespace ftx {
namespace {

TEST(Units, ParseSize) {
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("1048576"), 1048576u);
  EXPECT_EQ(parse_size("512K"), 512u * 1024);
  EXPECT_EQ(parse_size("10M"), 10u << 20);
  EXPECT_EQ(parse_size("10MiB"), 10u << 20);
  EXPECT_EQ(parse_size("2g"), 2ull << 30);
  EXPECT_EQ(parse_size("1T"), 1ull << 40);
  EXPECT_EQ(parse_size("100B"), 100u);
  for (const char* bad :
       {"", "M", "-1", "+1", " 1", "1 M", "1X", "1MM", "18446744073709551616", "17179869184G"}) {
    EXPECT_FALSE(parse_size(bad).has_value()) << bad;
  }
}

TEST(Units, ParseCountTakesDigitsOnly) {
  EXPECT_EQ(parse_count("64"), 64u);
  EXPECT_EQ(parse_count("0"), 0u);
  EXPECT_EQ(parse_count("2K"), std::nullopt);  // a count is not a size
  EXPECT_EQ(parse_count("3B"), std::nullopt);
  EXPECT_EQ(parse_count(""), std::nullopt);
  EXPECT_EQ(parse_count("-1"), std::nullopt);
  EXPECT_EQ(parse_count("+1"), std::nullopt);
  EXPECT_EQ(parse_count(" 1"), std::nullopt);
  EXPECT_EQ(parse_count("99999999999999999999"), std::nullopt);
}

TEST(Units, ParseDuration) {
  EXPECT_EQ(parse_duration_seconds("90"), 90u);
  EXPECT_EQ(parse_duration_seconds("90s"), 90u);
  EXPECT_EQ(parse_duration_seconds("30m"), 1800u);
  EXPECT_EQ(parse_duration_seconds("24h"), 86400u);
  EXPECT_EQ(parse_duration_seconds("7d"), 604800u);
  for (const char* bad : {"", "s", "-1", "1.5h", "10K", "1h30m", " 5", "1234567890123"}) {
    EXPECT_FALSE(parse_duration_seconds(bad)) << bad;
  }
}

TEST(Units, ParseTimeoutIsASecondToADay) {
  EXPECT_EQ(parse_timeout("1"), std::chrono::seconds(1));
  EXPECT_EQ(parse_timeout("10m"), std::chrono::seconds(600));
  EXPECT_EQ(parse_timeout("86400"), std::chrono::seconds(86400));
  EXPECT_EQ(parse_timeout("24h"), std::chrono::seconds(86400));
  for (const char* bad : {"0", "0s", "86401", "2d", "2K", "abc"}) EXPECT_FALSE(parse_timeout(bad)) << bad;
}

TEST(Units, FormatBytes) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(100ull << 20), "100.0 MiB");
}

TEST(Units, Rate) {
  EXPECT_DOUBLE_EQ(megabytes_per_second(2'000'000, 2.0), 1.0);
  EXPECT_EQ(format_rate(123'400'000, 1.0), "123.4 MB/s");
  EXPECT_EQ(megabytes_per_second(2'200'000, 0.0), 0.0);  // no time measured: no rate, not the byte count
  EXPECT_EQ(format_rate(2'200'000, 0.0), "0 B/s");
  EXPECT_EQ(format_rate(21, 0.002), "10.5 kB/s");  // a small file: not "0.0 MB/s"
  EXPECT_EQ(format_rate(999'949, 1.0), "999.9 kB/s");
  EXPECT_EQ(format_rate(999'950, 1.0), "1.0 MB/s");  // never "1000.0 kB/s"
  EXPECT_EQ(format_rate(999, 1.0), "999 B/s");
  EXPECT_EQ(format_rate(1'000, 1.0), "1.0 kB/s");
  EXPECT_DOUBLE_EQ(mbps_field(3'000'000, 1'000'000, 2.0), 1.0);  // what crossed the wire this time
  EXPECT_DOUBLE_EQ(mbps_field(1'234'567, 0, 1.0), 1.23);
  EXPECT_EQ(mbps_field(2'200'000, 0, 0.0), 0.0);
  EXPECT_EQ(mbps_field(5, 9, 1.0), 0.0);  // a resumed prefix larger than the file is not negative
}

TEST(Clock, Rfc3339WithMilliseconds) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764241099123));
  EXPECT_EQ(rfc3339_utc(t), "2025-11-27T10:58:19.123Z");
  EXPECT_EQ(unix_ms(t), 1764241099123);
}

}  // namespace
TEST(Clock, TimespecsAndNanosecondsRoundTripAndExtremesClamp) {
  EXPECT_EQ(ns_from_timespec(timespec{1, 5}), 1000000005);
  EXPECT_EQ(ns_from_timespec(timespec_from_ns(-1)), -1);  // before 1970 too
  const timespec before = timespec_from_ns(-1);
  EXPECT_EQ(before.tv_sec, -1);
  EXPECT_EQ(before.tv_nsec, 999999999);
  // A file dated far outside 1678..2262 (tar and touch can make one): clamped, no overflow.
  EXPECT_EQ(ns_from_timespec(timespec{std::numeric_limits<time_t>::max(), 0}),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ns_from_timespec(timespec{std::numeric_limits<time_t>::min(), 0}),
            std::numeric_limits<int64_t>::min());
}

}  // namespace ftx
