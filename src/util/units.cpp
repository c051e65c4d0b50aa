// SPDX-License-Identifier: MIT
// Sizes and rates.
#include "util/units.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace ftx {

std::optional<uint64_t> parse_count(std::string_view text) {
  uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty() || text.front() == '+') {
    return std::nullopt;
  }
  return value;
}

std::optional<uint64_t> parse_size(std::string_view text) {
  uint64_t value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr == begin) return std::nullopt;
  std::string_view suffix(ptr, static_cast<size_t>(end - ptr));
  uint64_t mult = 1;
  if (!suffix.empty()) {
    switch (suffix.front()) {
      case 'k':
      case 'K':
        mult = 1ull << 10;
        break;
      case 'm':
      case 'M':
        mult = 1ull << 20;
        break;
      case 'g':
      case 'G':
        mult = 1ull << 30;
        break;
      case 't':
      case 'T':
        mult = 1ull << 40;
        break;
      case 'b':
      case 'B':
        mult = 1;
        break;
      default:
        return std::nullopt;
    }
    if (suffix.front() != 'b' && suffix.front() != 'B') suffix.remove_prefix(1);
    if (!(suffix.empty() || suffix == "B" || suffix == "b" || suffix == "iB")) return std::nullopt;
  }
  if (value > std::numeric_limits<uint64_t>::max() / mult) return std::nullopt;
  return value * mult;
}

std::string format_bytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024.0 && unit < 5) {
    v /= 1024.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  return buf;
}

double megabytes_per_second(uint64_t bytes, double seconds) {
  if (!(seconds > 0)) return 0;
  return static_cast<double>(bytes) / 1e6 / seconds;
}

double mbps_field(uint64_t bytes, uint64_t resumed_from, double seconds) {
  return std::round(megabytes_per_second(bytes - std::min(bytes, resumed_from), seconds) * 100.0) / 100.0;
}

std::string format_rate(uint64_t bytes, double seconds) {
  // The unit follows the rate, as curl's does: a small file's line said "0.0 MB/s".
  const double per_second = megabytes_per_second(bytes, seconds) * 1e6;
  char buf[32];
  if (per_second >= 999'950) {
    std::snprintf(buf, sizeof buf, "%.1f MB/s", per_second / 1e6);
  } else if (per_second >= 999.5) {
    std::snprintf(buf, sizeof buf, "%.1f kB/s", per_second / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f B/s", per_second);
  }
  return buf;
}

std::optional<uint64_t> parse_duration_seconds(std::string_view text) {
  uint64_t unit = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 's':
        unit = 1;
        text.remove_suffix(1);
        break;
      case 'm':
        unit = 60;
        text.remove_suffix(1);
        break;
      case 'h':
        unit = 3600;
        text.remove_suffix(1);
        break;
      case 'd':
        unit = 86400;
        text.remove_suffix(1);
        break;
      default:
        break;
    }
  }
  if (text.empty() || text.size() > 12) return std::nullopt;
  uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value * unit;
}

std::optional<std::chrono::seconds> parse_timeout(std::string_view text) {
  const auto secs = parse_duration_seconds(text);
  if (!secs || *secs < 1 || *secs > 86400) return std::nullopt;
  return std::chrono::seconds(*secs);
}

}  // namespace ftx
