// SPDX-License-Identifier: MIT
// Which file names a receiver accepts, and how a taken name is renamed. Pure logic.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/text.h"

namespace ftx::proto {

/// Why a name is refused, or nullopt when it is acceptable as a relative path under the
/// receiving directory: no empty, "." or ".." component, no leading '/', no backslash, no
/// control character, valid UTF-8, components up to 255 bytes, the path up to 4096 bytes,
/// and not inside the reserved ".ftx" directory.
std::optional<std::string> check_name(std::string_view name);

/// Names are checked with util's UTF-8 rule; reached from here as before.
using ftx::is_valid_utf8;

/// The '/'-separated components of a name that check_name accepted.
std::vector<std::string> split_path(std::string_view name);

/// Why a client or chat name is refused, or nullopt: 1 to 64 bytes of UTF-8, no control
/// characters, not only spaces.
std::optional<std::string> check_nick(std::string_view nick);

/// The n-th alternative for a taken file name: "a.txt" -> "a (1).txt", ".bashrc" ->
/// ".bashrc (1)", "archive.tar.gz" -> "archive (1).tar.gz".
std::string numbered_name(std::string_view base, int n);

/// The name a sender uses for a local path: its last component.
std::string base_name(std::string_view path);

}  // namespace ftx::proto
