// SPDX-License-Identifier: MIT
// Wall-clock timestamps.
#include "util/clock.h"

#include <cstdio>
#include <ctime>
#include <limits>

namespace ftx {

timespec timespec_from_ns(int64_t unix_ns) {
  timespec t{static_cast<time_t>(unix_ns / 1000000000), static_cast<long>(unix_ns % 1000000000)};
  if (t.tv_nsec < 0) {
    t.tv_nsec += 1000000000;
    t.tv_sec -= 1;
  }
  return t;
}

int64_t ns_from_timespec(const timespec& t) {
  constexpr int64_t kLimit = std::numeric_limits<int64_t>::max() / 1000000000 - 1;
  if (t.tv_sec > kLimit) return std::numeric_limits<int64_t>::max();
  if (t.tv_sec < -kLimit) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

int64_t unix_ms(std::chrono::system_clock::time_point when) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
}

std::string rfc3339_utc(std::chrono::system_clock::time_point when) {
  const int64_t ms = unix_ms(when);
  int64_t secs = ms / 1000;
  int64_t frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    secs -= 1;
  }
  const time_t t = static_cast<time_t>(secs);
  tm utc{};
  gmtime_r(&t, &utc);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(frac));
  return buf;
}

std::string iso8601_utc_seconds(int64_t unix_ns) {
  int64_t secs = unix_ns / 1000000000;
  if (unix_ns % 1000000000 < 0) secs -= 1;
  const time_t t = static_cast<time_t>(secs);
  tm utc{};
  gmtime_r(&t, &utc);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
  return buf;
}

}  // namespace ftx
