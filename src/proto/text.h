// SPDX-License-Identifier: MIT
// Text mode, for clients like nc: line commands in, lines out. Pure logic.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "proto/errors.h"
#include "proto/msg_view.h"

namespace ftx::proto {

/// Longest text-mode line, newline excluded (a chat message plus room for a command word).
inline constexpr size_t kMaxTextLine = 64 * 1024 + 64;

namespace text {

struct Chat {
  std::string text;
  bool operator==(const Chat&) const = default;
};
struct Nick {
  std::string name;
  bool operator==(const Nick&) const = default;
};
struct SendFile {
  std::string name;
  uint64_t size = 0;
  bool operator==(const SendFile&) const = default;
};
/// GET_FILE <name>: the shelf sends the file (the name is the rest of the line).
struct GetFile {
  std::string name;
  bool operator==(const GetFile&) const = default;
};
/// LIST_FILES [path]: the shelf lists a directory (empty: its root) or one file.
struct ListFiles {
  std::string path;
  bool operator==(const ListFiles&) const = default;
};
struct Who {
  bool operator==(const Who&) const = default;
};
struct Quit {
  bool operator==(const Quit&) const = default;
};
/// A line that looks like a command but is malformed; the stream may be out of step.
struct Invalid {
  ErrorCode code = ErrorCode::BadRequest;
  std::string message;
  /// A malformed or near-miss SEND_FILE (wrong case, tabs, no newline before the data):
  /// bytes of unknown length may follow, so nothing after it can be trusted.
  bool upload = false;
  bool operator==(const Invalid&) const = default;
};
/// A blank line: nothing to do.
struct Blank {
  bool operator==(const Blank&) const = default;
};

using Command = std::variant<Chat, Nick, SendFile, GetFile, ListFiles, Who, Quit, Invalid, Blank>;

}  // namespace text

/// Parses one line (without its '\n'; a trailing '\r' is dropped). "SEND_FILE <name> <size>",
/// "GET_FILE <name>", "LIST_FILES [path]", "NICK <name>", "WHO", "QUIT"; anything else is a
/// chat message (but a lower-case get_file or list_files is refused, not posted). The size must be plain
/// decimal digits that fit in 64 bits: no sign, no spaces, no suffix.
text::Command parse_text_line(std::string_view line);

/// "OK <saved-name> <bytes> <digest>"
std::string text_ok_line(std::string_view saved, uint64_t bytes, std::string_view digest);

/// One entry of a LIST_FILES answer: "FILE <size> <mtime> <ALGO:HEX> <name>" for a file,
/// "DIR 0 <mtime> - <name>/" for a directory; mtime is ISO 8601 UTC to the second.
std::string text_list_line(bool directory, uint64_t size, int64_t mtime_ns, std::string_view digest,
                           std::string_view name);

/// "END <count>": the end of a LIST_FILES answer.
std::string text_list_end(uint64_t count);

/// "ERROR <code> <message>"
std::string text_error_line(ErrorCode code, std::string_view message);

/// "HH:MM:SS <nick> text" in local time; peer text made terminal-safe. An empty nick is a
/// server notice: "HH:MM:SS * text".
std::string chat_line(int64_t ts_ms, std::string_view nick, std::string_view text);

/// chat_line() for many lines, each appended with its newline. Keeps the last line's
/// "HH:MM:SS <nick> ", so a busy room costs one local-time conversion per second and one
/// escape of a nick per change of speaker instead of one of each per line.
class ChatLines {
 public:
  void append(std::string& out, int64_t ts_ms, std::string_view nick, std::string_view text);
  /// The same for each message of a burst, in order. The messages of one MSG_BATCH in the
  /// same second share a prefix and, when plain ASCII, are copied out with one resize.
  void append(std::string& out, std::span<const MsgView> burst);

 private:
  void restamp(int64_t ts_ms);
  void make_prefix(std::string_view nick);

  // The times stamp_ shows ("HH:MM:SS", without a terminator): first_ms_..last_ms_, none
  // before the first line.
  int64_t first_ms_ = 0;
  int64_t last_ms_ = -1;
  char stamp_[8] = {};
  std::string prefix_nick_;
  std::string prefix_;  // stamp_ and prefix_nick_ as a line starts; empty: to be made
};

/// The greeting a silent text client gets.
std::string text_greeting(std::string_view version, std::string_view name);

}  // namespace ftx::proto
