// SPDX-License-Identifier: MIT
// Text-mode lines.
#include "proto/text.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <ctime>
#include <optional>

#include "proto/limits.h"
#include "util/clock.h"
#include "util/text.h"

namespace ftx::proto {
namespace {

// What string_view's == would say, without a call to memcmp: that call costs more than the
// compare itself for the few bytes of a nick, once per line a receiver shows.
bool same_nick(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

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

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

text::Invalid bad_upload(std::string message) {
  return text::Invalid{ErrorCode::BadRequest, std::move(message), true};
}

// SEND_FILE, or a line that was meant to be one: whatever follows it may be file data, so a
// near miss must be refused precisely and never taken for chat. nullopt: not an upload.
std::optional<text::Command> parse_send_file(std::string_view line) {
  constexpr std::string_view kCommand = "SEND_FILE";
  const size_t word_end = std::min(line.find_first_of(" \t"), line.size());
  const std::string_view word = line.substr(0, word_end);
  const bool exact = word == kCommand;
  if (!exact && !equals_ignoring_case(word, kCommand)) {
    // Glued to its name ("SEND_FILEa.txt 12"): meant as an upload all the same, when the
    // line ends in a size as an upload's does.
    const size_t last_space = line.rfind(' ');
    const bool ends_in_size = last_space != std::string_view::npos && last_space + 1 < line.size() &&
                              parse_decimal(line.substr(last_space + 1)).has_value();
    if (ends_in_size && line.size() > kCommand.size() &&
        equals_ignoring_case(line.substr(0, kCommand.size()), kCommand)) {
      return bad_upload("a space must follow SEND_FILE: SEND_FILE <name> <size>, then exactly <size> bytes");
    }
    return std::nullopt;
  }
  if (!exact) return bad_upload("commands are upper case: SEND_FILE <name> <size>");
  if (line.find('\t') != std::string_view::npos) {
    return bad_upload("separate SEND_FILE, the name and the size with single spaces, not tabs");
  }
  std::string_view rest = line.substr(std::min<size_t>(line.size(), kCommand.size() + 1));
  // The size is the last word, so names may contain spaces.
  const size_t space = rest.rfind(' ');
  if (space == std::string_view::npos || space == 0) {
    return bad_upload("usage: SEND_FILE <name> <size>, then exactly <size> bytes");
  }
  const std::string_view name = rest.substr(0, space);
  const std::string_view size_text = rest.substr(space + 1);
  if (name.back() == ' ') return bad_upload("one space between the name and the size, no more");
  const auto size = parse_decimal(size_text);
  if (!size) {
    // "SEND_FILE a.txt 12hello...": the data started on the command's line.
    for (size_t at = rest.find(' '); at != std::string_view::npos; at = rest.find(' ', at + 1)) {
      const std::string_view token = rest.substr(at + 1, rest.find(' ', at + 1) - (at + 1));
      const size_t digits = std::min(token.find_first_not_of("0123456789"), token.size());
      if (digits > 0 && digits < token.size()) {
        return bad_upload(
            "the line must end after the size: SEND_FILE <name> <size>, a newline, then the bytes");
      }
    }
    return bad_upload("size must be a decimal number of bytes below 2^64, without sign or spaces");
  }
  return text::SendFile{std::string(name), *size};
}

// GET_FILE and LIST_FILES. nullopt: neither (nor a near miss in lower case).
std::optional<text::Command> parse_shelf_command(std::string_view line) {
  constexpr std::string_view kGet = "GET_FILE";
  constexpr std::string_view kList = "LIST_FILES";
  const size_t word_end = std::min(line.find(' '), line.size());
  const std::string_view word = line.substr(0, word_end);
  const std::string_view rest = line.substr(std::min(line.size(), word_end + 1));
  if (word == kGet) {
    if (rest.empty()) return text::Invalid{ErrorCode::BadRequest, "usage: GET_FILE <name>"};
    return text::GetFile{std::string(rest)};
  }
  if (word == kList) return text::ListFiles{std::string(rest)};
  if (equals_ignoring_case(word, kGet) || equals_ignoring_case(word, kList)) {
    return text::Invalid{ErrorCode::BadRequest,
                         "commands are upper case: GET_FILE <name>, LIST_FILES [path]"};
  }
  return std::nullopt;
}

}  // namespace

text::Command parse_text_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return text::Blank{};
  if (auto upload = parse_send_file(line)) return *upload;
  if (line.starts_with("NICK ")) {
    std::string_view name = line.substr(5);
    if (name.empty() || name.size() > kMaxClientName) {
      return text::Invalid{ErrorCode::BadRequest, "usage: NICK <name>, 1 to 64 bytes"};
    }
    return text::Nick{std::string(name)};
  }
  if (auto shelf = parse_shelf_command(line)) return *shelf;
  if (line == "WHO") return text::Who{};
  if (line == "QUIT") return text::Quit{};
  return text::Chat{std::string(line)};
}

std::string text_ok_line(std::string_view saved, uint64_t bytes, std::string_view digest) {
  return "OK " + printable(saved) + " " + std::to_string(bytes) + " " + std::string(digest) + "\n";
}

std::string text_list_line(bool directory, uint64_t size, int64_t mtime_ns, std::string_view digest,
                           std::string_view name) {
  std::string out = directory ? "DIR 0 " : "FILE " + std::to_string(size) + " ";
  out += iso8601_utc_seconds(mtime_ns);
  out += ' ';
  out += directory ? std::string_view("-") : digest;
  out += ' ';
  append_printable(out, name);
  if (directory) out += '/';
  out += '\n';
  return out;
}

std::string text_list_end(uint64_t count) { return "END " + std::to_string(count) + "\n"; }

std::string text_error_line(ErrorCode code, std::string_view message) {
  return "ERROR " + std::string(error_code_name(code)) + " " + printable(message) + "\n";
}

std::string chat_line(int64_t ts_ms, std::string_view nick, std::string_view body) {
  std::string out;
  ChatLines().append(out, ts_ms, nick, body);
  out.pop_back();  // the newline
  return out;
}

void ChatLines::append(std::string& out, int64_t ts_ms, std::string_view nick, std::string_view body) {
  const MsgView one{nick, ts_ms, body};
  append(out, std::span(&one, 1));
}

void ChatLines::append(std::string& out, std::span<const MsgView> burst) {
  size_t i = 0;
  while (i < burst.size()) {
    const MsgView& first = burst[i];
    // Compared, not divided: a room delivers millions of lines a second, mostly in one second.
    if (first.ts_ms < first_ms_ || first.ts_ms > last_ms_) restamp(first.ts_ms);
    if (prefix_.empty() || !same_nick(first.sender, prefix_nick_)) make_prefix(first.sender);
    // The run under this prefix: the views of one MSG_BATCH point at the same sender bytes,
    // which stay put for the call, so no name is compared again.
    size_t end = i + 1;
    size_t bytes = prefix_.size() + first.text.size() + 1;
    while (end < burst.size() && burst[end].sender.data() == first.sender.data() &&
           burst[end].sender.size() == first.sender.size() && burst[end].ts_ms >= first_ms_ &&
           burst[end].ts_ms <= last_ms_) {
      bytes += prefix_.size() + burst[end].text.size() + 1;
      ++end;
    }
    // Sized for plain ASCII, which nearly every line is; from the first line that is not,
    // the rest are escaped one at a time.
    const size_t at = out.size();
    out.resize(at + bytes);
    char* p = out.data() + at;
    size_t k = i;
    for (; k < end && is_plain_ascii(burst[k].text); ++k) {
      std::memcpy(p, prefix_.data(), prefix_.size());
      p += prefix_.size();
      std::memcpy(p, burst[k].text.data(), burst[k].text.size());
      p += burst[k].text.size();
      *p++ = '\n';
    }
    if (k < end) {
      out.resize(static_cast<size_t>(p - out.data()));
      for (; k < end; ++k) {
        out += prefix_;
        append_printable(out, burst[k].text);
        out += '\n';
      }
    }
    i = end;
  }
}

void ChatLines::restamp(int64_t ts_ms) {
  // Floor division: a time before 1970 still belongs to the second it is in.
  const int64_t second = ts_ms / 1000 - (ts_ms % 1000 < 0 ? 1 : 0);
  const time_t secs = static_cast<time_t>(second);
  tm local{};
  localtime_r(&secs, &local);
  char stamp[16];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", &local);
  std::memcpy(stamp_, stamp, sizeof stamp_);
  // The whole second, but for a peer's time at the ends of the range: then this ms alone.
  if (__builtin_mul_overflow(second, 1000, &first_ms_) || __builtin_add_overflow(first_ms_, 999, &last_ms_))
    first_ms_ = last_ms_ = ts_ms;
  prefix_.clear();
}

void ChatLines::make_prefix(std::string_view nick) {
  prefix_.assign(stamp_, sizeof stamp_);
  if (nick.empty()) {
    prefix_ += " * ";
  } else {
    prefix_ += " <";
    append_printable(prefix_, nick);
    prefix_ += "> ";
  }
  prefix_nick_.assign(nick);
}

std::string text_greeting(std::string_view version, std::string_view name) {
  return "ftx " + std::string(version) + " text mode; you are " + printable(name) +
         ". Type to chat. Commands: NICK <name>, WHO, QUIT, SEND_FILE <name> <size> then the bytes, "
         "GET_FILE <name>, LIST_FILES [path].\n";
}

}  // namespace ftx::proto
