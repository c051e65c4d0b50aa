// SPDX-License-Identifier: MIT
// Shell words: split and quote.
#include "util/shell_words.h"

namespace ftx {

ShellWords split_shell_words(std::string_view line) {
  ShellWords out;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == ' ' || c == '\t') {
      if (in_word) out.words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\') {
      if (i + 1 == line.size()) {
        out.error = "a \\ ends the line";
        return out;
      }
      word += line[++i];
      continue;
    }
    if (c == '\'') {
      const size_t end = line.find('\'', i + 1);
      if (end == std::string_view::npos) {
        out.error = "a ' is not closed";
        return out;
      }
      word.append(line.substr(i + 1, end - i - 1));
      i = end;
      continue;
    }
    if (c == '"') {
      for (++i; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\')) ++i;
        word += line[i];
      }
      if (i == line.size()) {
        out.error = "a \" is not closed";
        return out;
      }
      continue;
    }
    word += c;
  }
  if (in_word) out.words.push_back(std::move(word));
  return out;
}

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";  // close the quote, an escaped quote, reopen
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string shell_word(std::string_view text) {
  const bool plain = !text.empty() && text.find_first_of(" \t'\"\\") == std::string_view::npos;
  return plain ? std::string(text) : shell_quote(text);
}

}  // namespace ftx
