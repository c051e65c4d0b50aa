// SPDX-License-Identifier: MIT
// Which file names a receiver accepts, which chat names cannot pass for another, and how a
// taken name is renamed. Pure logic.
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

/// Why a client name (HELLO of a sender, which only the log shows) is refused, or nullopt:
/// 1 to 64 bytes of UTF-8, no control characters, not only spaces.
std::optional<std::string> check_client_name(std::string_view name);

/// Why a chat name is refused, or nullopt: a client name that cannot make a line of chat
/// read as someone else's: no '<' or '>', no space of any kind (Unicode Zs, line and
/// paragraph separators), no control character (C0, DEL, C1), no invisible or format
/// character (Unicode Cf such as U+200B, U+2060, U+FEFF and bidirectional marks, variation
/// selectors, fillers that display as nothing), and not "server", the operator's voice, in
/// any disguise (nick_skeleton).
std::optional<std::string> check_nick(std::string_view nick);

/// What a nick looks like to a reader, so look-alikes compare equal: ASCII case folded,
/// fullwidth forms as ASCII, Cyrillic and Greek letters that look Latin as those letters,
/// '0' as 'o', '1' and 'I' as 'l'. "Bob", "B0B" and "bоb" (Cyrillic o) all read "bob".
std::string nick_skeleton(std::string_view nick);

/// The name a chat member asking for `wanted` (which passed check_nick) gets in a room
/// where `present` are taken: wanted itself when nobody there looks like it; for a plain
/// duplicate (someone has exactly that name) the first of wanted-2, wanted-3... that looks
/// like nobody. A name that passes for a member's without being it is refused.
struct NickChoice {
  std::string name;     ///< the name given; empty when refused
  std::string refused;  ///< why not, for the client's ERROR
};
NickChoice choose_nick(const std::string& wanted, const std::vector<std::string>& present);

/// Why a client refuses a name the server offers for what it asked (`asked`, as the client
/// sent it, a trailing '/' ignored), or nullopt: the offered name must pass check_name and be
/// the asked name itself or, when directory_ok, lie under it. A server that sends anything
/// else (another file, '..', an absolute path, a control character) is not trusted with the
/// client's disk (scp's CVE-2019-6111).
std::optional<std::string> check_offered_name(std::string_view asked, std::string_view offered,
                                              bool directory_ok);

/// The n-th alternative for a taken file name: "a.txt" -> "a (1).txt", ".bashrc" ->
/// ".bashrc (1)", "archive.tar.gz" -> "archive (1).tar.gz".
std::string numbered_name(std::string_view base, int n);

/// The name a sender uses for a local path: its last component.
std::string base_name(std::string_view path);

}  // namespace ftx::proto
