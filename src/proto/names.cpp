// SPDX-License-Identifier: MIT
// File name rules for the receiver.
#include "proto/names.h"

#include <cstdint>

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

std::optional<std::string> check_nick(std::string_view nick) {
  if (nick.empty() || nick.size() > kMaxClientName) return "a name has 1 to 64 bytes";
  if (!is_valid_utf8(nick)) return "a name must be valid UTF-8";
  if (has_control_chars(nick)) return "a name cannot contain control characters";
  if (nick.find_first_not_of(' ') == std::string_view::npos) return "a name cannot be only spaces";
  return std::nullopt;
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
