// SPDX-License-Identifier: MIT
// Wall-clock timestamps for logs and chat.
#pragma once

#include <ctime>

#include <chrono>
#include <cstdint>
#include <string>

namespace ftx {

/// RFC 3339 UTC with milliseconds: "2026-11-27T10:58:19.123Z".
std::string rfc3339_utc(std::chrono::system_clock::time_point when);

/// ISO 8601 UTC to the second, for file times: "2026-11-27T10:58:19Z" (nanoseconds since the
/// Unix epoch in; the fraction is dropped, rounding down).
std::string iso8601_utc_seconds(int64_t unix_ns);

/// Nanoseconds since the Unix epoch as a timespec (for futimens), also before 1970.
timespec timespec_from_ns(int64_t unix_ns);

/// A timespec (a file's mtime, say) as nanoseconds since the Unix epoch; times beyond what
/// 64 bits of nanoseconds hold (about the years 1678 to 2262) are clamped, not overflowed.
int64_t ns_from_timespec(const timespec& t);

/// Milliseconds since the Unix epoch.
int64_t unix_ms(std::chrono::system_clock::time_point when);

}  // namespace ftx
