// SPDX-License-Identifier: MIT
// Text-mode lines.
#include "proto/text.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>
#include <optional>

#include "proto/limits.h"
#include "util/text.h"

namespace ftx::proto {
namespace {

std::optional<uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

text::Command parse_text_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return text::Blank{};
  if (line.starts_with("SEND_FILE ") || line == "SEND_FILE") {
    std::string_view rest = line.substr(std::min<size_t>(line.size(), 10));
    // The size is the last word, so names may contain spaces.
    const size_t space = rest.rfind(' ');
    if (space == std::string_view::npos || space == 0) {
      return text::Invalid{ErrorCode::BadRequest,
                           "usage: SEND_FILE <name> <size>, then exactly <size> bytes"};
    }
    const std::string_view name = rest.substr(0, space);
    const std::string_view size_text = rest.substr(space + 1);
    if (name.back() == ' ') {
      return text::Invalid{ErrorCode::BadRequest, "one space between the name and the size, no more"};
    }
    const auto size = parse_decimal(size_text);
    if (!size) {
      return text::Invalid{ErrorCode::BadRequest,
                           "size must be a decimal number of bytes below 2^64, without sign or spaces"};
    }
    return text::SendFile{std::string(name), *size};
  }
  if (line.starts_with("NICK ")) {
    std::string_view name = line.substr(5);
    if (name.empty() || name.size() > kMaxClientName) {
      return text::Invalid{ErrorCode::BadRequest, "usage: NICK <name>, 1 to 64 bytes"};
    }
    return text::Nick{std::string(name)};
  }
  if (line == "WHO") return text::Who{};
  if (line == "QUIT") return text::Quit{};
  return text::Chat{std::string(line)};
}

std::string text_ok_line(std::string_view saved, uint64_t bytes, std::string_view digest) {
  return "OK " + printable(saved) + " " + std::to_string(bytes) + " " + std::string(digest) + "\n";
}

std::string text_error_line(ErrorCode code, std::string_view message) {
  return "ERROR " + std::string(error_code_name(code)) + " " + printable(message) + "\n";
}

std::string chat_line(int64_t ts_ms, std::string_view nick, std::string_view body) {
  std::string out;
  ChatLines().append(out, ts_ms, nick, body);
  return out;
}

void ChatLines::append(std::string& out, int64_t ts_ms, std::string_view nick, std::string_view body) {
  // Floor division: a time before 1970 still belongs to the second it is in.
  const int64_t second = ts_ms / 1000 - (ts_ms % 1000 < 0 ? 1 : 0);
  if (second != stamp_second_) {
    const time_t secs = static_cast<time_t>(second);
    tm local{};
    localtime_r(&secs, &local);
    char stamp[16];
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", &local);
    std::memcpy(stamp_, stamp, sizeof stamp_);
    stamp_second_ = second;
  }
  out.append(stamp_, sizeof stamp_);
  if (nick.empty()) {
    out += " * ";
  } else {
    out += " <";
    append_printable(out, nick);
    out += "> ";
  }
  append_printable(out, body);
}

std::string text_greeting(std::string_view version, std::string_view name) {
  return "ftx " + std::string(version) + " text mode; you are " + printable(name) +
         ". Type to chat. Commands: NICK <name>, WHO, QUIT, SEND_FILE <name> <size> then the bytes.\n";
}

}  // namespace ftx::proto
