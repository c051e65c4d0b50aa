// SPDX-License-Identifier: MIT
// libFuzzer target: text-mode lines through parse_text_line, chat_line, text_list_line and
// printable, and as chat command arguments through split_shell_words and shell_word.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>

#include "proto/limits.h"
#include "proto/names.h"
#include "proto/text.h"
#include "util/shell_words.h"
#include "util/text.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "text_line_fuzz: %s\n", what);
  __builtin_trap();
}

// No C0 control, no DEL, and (the C1 rule of printable) no U+0080..U+009F: nothing a
// terminal would act on.
void check_terminal_safe(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<uint8_t>(ch);
    if (c < 0x20 || c == 0x7F) fail("control byte in terminal-safe text");
  }
  if (!ftx::proto::is_valid_utf8(s)) fail("terminal-safe text is not valid UTF-8");
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (static_cast<uint8_t>(s[i]) == 0xC2 && static_cast<uint8_t>(s[i + 1]) < 0xA0) {
      fail("C1 control in terminal-safe text");
    }
  }
}

void check_line(std::string_view line, int64_t ts_ms) {
  using namespace ftx::proto;
  const text::Command cmd = parse_text_line(line);
  std::string_view bare = line;
  if (!bare.empty() && bare.back() == '\r') bare.remove_suffix(1);

  if (const auto* sf = std::get_if<text::SendFile>(&cmd)) {
    // "SEND_FILE " + name + " " + digits, and the digits are the size (leading zeros
    // allowed: the protocol only asks for plain decimal digits).
    const std::string_view prefix = "SEND_FILE ";
    if (!bare.starts_with(prefix)) fail("SendFile from a line without SEND_FILE");
    if (sf->name.empty()) fail("SendFile with an empty name");
    const std::string head = std::string(prefix) + sf->name + " ";
    if (!bare.starts_with(head)) fail("SendFile name is not the line's text");
    std::string_view digits = bare.substr(head.size());
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
      fail("SendFile size text is not plain digits");
    }
    while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
    if (digits != std::to_string(sf->size)) fail("SendFile size does not round-trip");
  } else if (const auto* get = std::get_if<text::GetFile>(&cmd)) {
    if (get->name.empty()) fail("GetFile with an empty name");
    if (bare != "GET_FILE " + get->name) fail("GetFile is not the line's text");
  } else if (const auto* list = std::get_if<text::ListFiles>(&cmd)) {
    if (bare != "LIST_FILES" + (list->path.empty() ? std::string() : " " + list->path)) {
      if (bare != "LIST_FILES ") fail("ListFiles is not the line's text");
    }
  } else if (const auto* nick = std::get_if<text::Nick>(&cmd)) {
    if (nick->name.empty() || nick->name.size() > kMaxClientName) fail("Nick size");
    if (bare != "NICK " + nick->name) fail("Nick is not the line's text");
  } else if (const auto* chat = std::get_if<text::Chat>(&cmd)) {
    if (chat->text != bare) fail("Chat text is not the line");
  } else if (std::holds_alternative<text::Blank>(cmd)) {
    if (!bare.empty()) fail("Blank from a non-empty line");
  } else if (std::holds_alternative<text::Who>(cmd)) {
    if (bare != "WHO") fail("Who from another line");
  } else if (std::holds_alternative<text::Quit>(cmd)) {
    if (bare != "QUIT") fail("Quit from another line");
  } else if (const auto* bad = std::get_if<text::Invalid>(&cmd)) {
    if (bad->message.empty()) fail("Invalid without a message");
  }

  check_terminal_safe(ftx::printable(line));
  check_terminal_safe(chat_line(ts_ms, "", line));
  check_terminal_safe(chat_line(ts_ms, line.substr(0, kMaxClientName), line));
  std::string error_line = text_error_line(ErrorCode::BadRequest, line);
  if (error_line.empty() || error_line.back() != '\n') fail("ERROR line without its newline");
  error_line.pop_back();
  check_terminal_safe(error_line);
  if (ftx::has_control_chars(ftx::printable(line))) fail("has_control_chars on printable()");
  std::string list_line =
      text_list_line(ts_ms % 2 == 0, static_cast<uint64_t>(ts_ms), ts_ms, "xxh128:00", line);
  if (list_line.empty() || list_line.back() != '\n') fail("LIST line without its newline");
  list_line.pop_back();
  check_terminal_safe(list_line);
}

}  // namespace

// A chat command's arguments (/send, /get ...): split without a crash, and every word
// written back by shell_word reads back as itself.
void check_shell_words(std::string_view line) {
  const ftx::ShellWords split = ftx::split_shell_words(line);
  if (split.error) return;
  for (const std::string& word : split.words) {
    const ftx::ShellWords back = ftx::split_shell_words(ftx::shell_word(word));
    if (back.error || back.words.size() != 1 || back.words[0] != word) fail("shell_word does not read back");
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The first 8 bytes also pick the chat timestamp: any int64 must format safely.
  int64_t ts_ms = 0;
  if (size > 0) std::memcpy(&ts_ms, data, size < sizeof ts_ms ? size : sizeof ts_ms);
  while (true) {
    const size_t nl = input.find('\n');
    check_line(input.substr(0, nl), ts_ms);
    check_shell_words(input.substr(0, nl));
    if (nl == std::string_view::npos) break;
    input.remove_prefix(nl + 1);
  }
  return 0;
}
