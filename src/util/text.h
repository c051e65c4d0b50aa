// SPDX-License-Identifier: MIT
// Making peer-supplied text safe to show on a terminal. Pure logic.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace ftx {

/// Control characters (C0, C1, DEL), bidirectional reordering marks and bytes that are not
/// valid UTF-8 become visible escapes ("\x1b"), so no peer can move the cursor, rewrite a
/// user's screen or make text display as something it is not.
std::string printable(std::string_view text);
/// printable(text) appended to out.
void append_printable(std::string& out, std::string_view text);

/// True when every byte is printable ASCII (0x20..0x7E): text that printable() leaves as it
/// is. Nearly every chat line; checked without a branch per byte, and inline: a receiver
/// checks every line it shows, and the call cost as much as the check.
///
/// Eight bytes at a time. Byte b is printable ASCII when its high bit is clear, b + 0x60
/// reaches 0x80 (b >= 0x20) and b + 0x01 does not (b <= 0x7E); with the high bits cleared
/// first, neither sum carries into the next byte.
inline bool is_plain_ascii(std::string_view text) {
  constexpr uint64_t kHigh = 0x8080808080808080;
  constexpr uint64_t kLow7 = 0x7F7F7F7F7F7F7F7F;
  constexpr uint64_t kOnes = 0x0101010101010101;
  auto outside = [&](uint64_t w) {
    const uint64_t low = w & kLow7;
    return (~(low + 0x60 * kOnes) | (low + kOnes) | w) & kHigh;
  };
  const char* p = text.data();
  const size_t n = text.size();
  if (n < 8) {
    uint8_t bad = 0;
    for (size_t i = 0; i < n; ++i) bad |= static_cast<uint8_t>(static_cast<uint8_t>(p[i]) - 0x20) >= 0x5F;
    return bad == 0;
  }
  uint64_t bad = 0;
  uint64_t w = 0;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    std::memcpy(&w, p + i, 8);
    bad |= outside(w);
  }
  std::memcpy(&w, p + n - 8, 8);  // the last 8, overlapping what the loop saw
  return (bad | outside(w)) == 0;
}

/// Cuts text to at most max bytes without splitting a UTF-8 character.
void truncate_utf8(std::string& text, size_t max);

/// True when bytes are well-formed UTF-8 (no overlong forms, surrogates or values past
/// U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

/// The character whose UTF-8 starts at text[i], moving i past it; nullopt (i unchanged)
/// when the bytes there are not one well-formed character.
std::optional<char32_t> decode_utf8(std::string_view text, size_t& i);

/// True when text holds a C0 control character or DEL.
bool has_control_chars(std::string_view text);

}  // namespace ftx
