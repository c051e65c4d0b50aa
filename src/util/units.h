// SPDX-License-Identifier: MIT
// Sizes and rates as people write and read them. Pure logic.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ftx {

/// A timeout option: 1 second to a day, "90", "90s", "10m", "1h" or "1d".
std::optional<std::chrono::seconds> parse_timeout(std::string_view text);
/// What parse_timeout takes, for error messages.
inline constexpr std::string_view kTimeoutRange = "1 to 86400 seconds (or 30s, 10m, 1h)";

/// A count ("64"): plain decimal digits, no sign, no suffix (sizes take parse_size).
std::optional<uint64_t> parse_count(std::string_view text);

/// "1048576", "512K", "10M", "2G", "1T" (binary multiples, optional trailing "B" or "iB").
std::optional<uint64_t> parse_size(std::string_view text);

/// "90" or "90s", "30m", "24h", "7d": a duration in whole seconds.
std::optional<uint64_t> parse_duration_seconds(std::string_view text);

/// "0 B", "1023 B", "1.5 KiB", "100.0 MiB".
std::string format_bytes(uint64_t bytes);

/// Megabytes (10^6) per second: what the log's mbps field and the console show. 0 when no
/// time was measured (a file refused before any byte moved has no rate).
double megabytes_per_second(uint64_t bytes, double seconds);

/// The `mbps` field of the transfer log and of `ftx send --json`: megabytes per second of
/// what crossed the wire this time (bytes less a resumed prefix), to two decimals.
double mbps_field(uint64_t bytes, uint64_t resumed_from, double seconds);

/// "123.4 MB/s", "10.5 kB/s" or "999 B/s": decimal units, as the transfer log's mbps.
std::string format_rate(uint64_t bytes, double seconds);

}  // namespace ftx
