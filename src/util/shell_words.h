// SPDX-License-Identifier: MIT
// Words of a command line as a shell splits them, and a word written so it reads back. Pure
// logic.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ftx {

/// A command line's words as a POSIX shell splits them, for the chat's /send, /share and
/// /get: blanks (space, tab) separate words; inside '...' every byte is literal; inside
/// "..." a backslash escapes only " and \\; elsewhere a backslash keeps the next byte.
/// A quote left open, or a backslash that ends the line, is an error (why, in `error`),
/// never a guess.
struct ShellWords {
  std::vector<std::string> words;
  std::optional<std::string> error;
};
ShellWords split_shell_words(std::string_view line);

/// text in single quotes, as sh reads it back as one word ('it'\\''s').
std::string shell_quote(std::string_view text);

/// text as it is when split_shell_words reads it back as that one word, else shell_quote(text).
std::string shell_word(std::string_view text);

}  // namespace ftx
