// SPDX-License-Identifier: MIT
// File name rules for the receiver.
#include "proto/names.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "proto/limits.h"
#include "util/text.h"

namespace ftx::proto {

std::optional<std::string> check_name(std::string_view name) {
  if (name.empty()) return "empty name";
  if (name.size() > kMaxPathBytes) return "name longer than 4096 bytes";
  if (name.front() == '/') return "absolute path";
  if (has_control_chars(name)) return "control character in name";
  if (name.find('\\') != std::string_view::npos) return "backslash in name";
  if (!is_valid_utf8(name)) return "name is not valid UTF-8";
  size_t start = 0;
  bool first = true;
  while (true) {
    const size_t slash = name.find('/', start);
    const std::string_view part =
        name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty()) return "empty path component";
    if (part == "." || part == "..") return "'.' or '..' in path";
    if (part.size() > kMaxComponentBytes) return "path component longer than 255 bytes";
    if (first && part == ".ftx") return "'.ftx' is reserved for the server";
    first = false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return std::nullopt;
}

std::optional<std::string> check_client_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxClientName) return "a name has 1 to 64 bytes";
  if (!is_valid_utf8(name)) return "a name must be valid UTF-8";
  if (has_control_chars(name)) return "a name cannot contain control characters";
  if (name.find_first_not_of(' ') == std::string_view::npos) return "a name cannot be only spaces";
  return std::nullopt;
}

namespace {

bool within(char32_t c, char32_t low, char32_t high) { return c >= low && c <= high; }

// Unicode Zs, Zl and Zp.
bool is_space(char32_t c) {
  return c == 0x20 || c == 0xA0 || c == 0x1680 || within(c, 0x2000, 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

// What displays as nothing: Unicode Cf (Unicode 15), the other default-ignorable code
// points (combining grapheme joiner, fillers, variation selectors) and the blank braille
// pattern.
bool is_invisible(char32_t c) {
  return c == 0xAD || within(c, 0x600, 0x605) || c == 0x61C || c == 0x6DD || c == 0x70F ||
         within(c, 0x890, 0x891) || c == 0x8E2 || c == 0x180E || within(c, 0x200B, 0x200F) ||
         within(c, 0x202A, 0x202E) || within(c, 0x2060, 0x206F) || c == 0xFEFF || within(c, 0xFFF9, 0xFFFB) ||
         c == 0x110BD || c == 0x110CD || within(c, 0x13430, 0x1343F) || within(c, 0x1BCA0, 0x1BCA3) ||
         within(c, 0x1D173, 0x1D17A) || within(c, 0xE0000, 0xE0FFF) || c == 0x34F ||
         within(c, 0x115F, 0x1160) || within(c, 0x17B4, 0x17B5) || within(c, 0x180B, 0x180F) || c == 0x2800 ||
         c == 0x3164 || within(c, 0xFE00, 0xFE0F) || c == 0xFFA0;
}

// Letters that look like a Latin one, and digits that look like letters.
char32_t look_alike(char32_t c) {
  struct Pair {
    char32_t from;
    char to;
  };
  static constexpr Pair kTable[] = {
      // Cyrillic
      {0x0405, 's'},
      {0x0406, 'l'},
      {0x0408, 'j'},
      {0x0410, 'a'},
      {0x0412, 'b'},
      {0x0415, 'e'},
      {0x041A, 'k'},
      {0x041C, 'm'},
      {0x041D, 'h'},
      {0x041E, 'o'},
      {0x0420, 'p'},
      {0x0421, 'c'},
      {0x0422, 't'},
      {0x0423, 'y'},
      {0x0425, 'x'},
      {0x0430, 'a'},
      {0x0435, 'e'},
      {0x043E, 'o'},
      {0x0440, 'p'},
      {0x0441, 'c'},
      {0x0443, 'y'},
      {0x0445, 'x'},
      {0x0455, 's'},
      {0x0456, 'l'},
      {0x0458, 'j'},
      {0x04AE, 'y'},
      {0x04BB, 'h'},
      {0x04CF, 'l'},
      {0x0501, 'd'},
      {0x051A, 'q'},
      {0x051B, 'q'},
      {0x051C, 'w'},
      {0x051D, 'w'},
      // Greek
      {0x0391, 'a'},
      {0x0392, 'b'},
      {0x0395, 'e'},
      {0x0396, 'z'},
      {0x0397, 'h'},
      {0x0399, 'l'},
      {0x039A, 'k'},
      {0x039C, 'm'},
      {0x039D, 'n'},
      {0x039F, 'o'},
      {0x03A1, 'p'},
      {0x03A4, 't'},
      {0x03A5, 'y'},
      {0x03A7, 'x'},
      {0x03B1, 'a'},
      {0x03B9, 'l'},
      {0x03BA, 'k'},
      {0x03BD, 'v'},
      {0x03BF, 'o'},
      {0x03C1, 'p'},
      {0x03C5, 'u'},
      {0x03C7, 'x'},
      // Latin dotless i
      {0x0131, 'l'},
  };
  if (within(c, 0xFF01, 0xFF5E)) c -= 0xFEE0;  // fullwidth forms of ASCII
  if (within(c, 'A', 'Z')) c += 'a' - 'A';
  if (c == 'i' || c == '1' || c == '|') return 'l';  // I, i, l, 1 and | side by side
  if (c == '0') return 'o';
  for (const Pair& p : kTable) {
    if (p.from == c) return static_cast<char32_t>(p.to);
  }
  return c;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::string code_point_name(char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return buf;
}

}  // namespace

std::optional<std::string> check_nick(std::string_view nick) {
  if (auto why = check_client_name(nick)) return why;
  for (size_t i = 0; i < nick.size();) {
    const auto c = decode_utf8(nick, i);
    if (!c) return "a name must be valid UTF-8";
    if (*c == '<' || *c == '>')
      return "a name cannot contain '<' or '>' (it would make a line read as another's)";
    if (*c < 0x20 || *c == 0x7F || within(*c, 0x80, 0x9F)) return "a name cannot contain control characters";
    if (is_space(*c)) return "a name cannot contain spaces (" + code_point_name(*c) + ")";
    if (is_invisible(*c)) return "a name cannot contain invisible characters (" + code_point_name(*c) + ")";
  }
  if (nick_skeleton(nick) == nick_skeleton("server"))
    return "'server' is the operator's name; choose another";
  return std::nullopt;
}

std::string nick_skeleton(std::string_view nick) {
  std::string out;
  out.reserve(nick.size());
  for (size_t i = 0; i < nick.size();) {
    const auto c = decode_utf8(nick, i);
    if (!c) {
      out += nick[i++];  // not UTF-8: compared byte for byte
      continue;
    }
    append_utf8(out, look_alike(*c));
  }
  return out;
}

NickChoice choose_nick(const std::string& wanted, const std::vector<std::string>& present) {
  const std::string look = nick_skeleton(wanted);
  std::vector<std::string> looks;
  bool duplicate = false;
  for (const std::string& name : present) {
    looks.push_back(nick_skeleton(name));
    if (name == wanted) {
      duplicate = true;
    } else if (looks.back() == look) {
      return {"", "the name " + wanted + " looks like " + name + ", who is here; choose another"};
    }
  }
  if (!duplicate) return {wanted, ""};
  for (int i = 2;; ++i) {
    std::string base = wanted;
    // Built in two steps: g++ 12 -O3 warns (-Wrestrict, falsely) on "-" + std::to_string(i).
    std::string suffix = "-";
    suffix += std::to_string(i);
    truncate_utf8(base, kMaxClientName - suffix.size());
    std::string candidate = base + suffix;
    if (std::find(looks.begin(), looks.end(), nick_skeleton(candidate)) == looks.end())
      return {candidate, ""};
  }
}

std::vector<std::string> split_path(std::string_view name) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= name.size()) {
    const size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) {
      parts.emplace_back(name.substr(start));
      break;
    }
    parts.emplace_back(name.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

std::optional<std::string> check_offered_name(std::string_view asked, std::string_view offered,
                                              bool directory_ok) {
  if (auto why = check_name(offered)) return "the server sent a name that breaks the rules (" + *why + ")";
  while (!asked.empty() && asked.back() == '/') asked.remove_suffix(1);
  if (offered == asked) return std::nullopt;
  if (directory_ok && (asked.empty() || (offered.size() > asked.size() + 1 && offered.starts_with(asked) &&
                                         offered[asked.size()] == '/'))) {
    return std::nullopt;
  }
  return "the server sent a name that was not asked for";
}

std::string numbered_name(std::string_view base, int n) {
  const std::string suffix = " (" + std::to_string(n) + ")";
  // The extension starts at the first dot that is not the name's first character.
  const size_t dot = base.size() > 1 ? base.find('.', 1) : std::string_view::npos;
  if (dot == std::string_view::npos) return std::string(base) + suffix;
  return std::string(base.substr(0, dot)) + suffix + std::string(base.substr(dot));
}

std::string base_name(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return std::string(path);
  return std::string(path.substr(slash + 1));
}

}  // namespace ftx::proto
