// SPDX-License-Identifier: MIT
// Making peer-supplied text safe to show on a terminal. Pure logic.
#pragma once

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
/// is. Nearly every chat line; checked without a branch per byte.
bool is_plain_ascii(std::string_view text);

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
