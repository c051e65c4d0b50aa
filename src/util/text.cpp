// SPDX-License-Identifier: MIT
// Terminal-safe text.
#include "util/text.h"

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace ftx {

std::optional<char32_t> decode_utf8(std::string_view s, size_t& i) {
  if (i >= s.size()) return std::nullopt;
  const auto c = static_cast<uint8_t>(s[i]);
  if (c < 0x80) return static_cast<char32_t>(s[i++]);
  size_t len = 0;
  uint32_t cp = 0;
  uint32_t min = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (i + len > s.size()) return std::nullopt;
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<uint8_t>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (cc & 0x3F);
  }
  // Overlong forms would let "\xC0\xAF" smuggle a '/' past a byte-level check.
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  i += len;
  return static_cast<char32_t>(cp);
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // Plain ASCII, nearly all text, needs no decoding.
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    if (!decode_utf8(s, i)) return false;
  }
  return true;
}

namespace {

// U+200E/U+200F (LRM, RLM), U+202A..U+202E (embeddings, overrides), U+2066..U+2069
// (isolates): E2 80 8E/8F, E2 80 AA..AE, E2 81 A6..A9.
bool is_bidi_control(std::string_view ch) {
  if (ch.size() != 3 || static_cast<uint8_t>(ch[0]) != 0xE2) return false;
  const auto b1 = static_cast<uint8_t>(ch[1]);
  const auto b2 = static_cast<uint8_t>(ch[2]);
  if (b1 == 0x80) return b2 == 0x8E || b2 == 0x8F || (b2 >= 0xAA && b2 <= 0xAE);
  if (b1 == 0x81) return b2 >= 0xA6 && b2 <= 0xA9;
  return false;
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  append_printable(out, text);
  return out;
}

void append_printable(std::string& out, std::string_view text) {
  if (is_plain_ascii(text)) {
    out.append(text);
    return;
  }
  size_t i = 0;
  while (i < text.size()) {
    // The plain ASCII around an escape is copied a run at a time.
    size_t run = i;
    while (run < text.size() && static_cast<uint8_t>(text[run]) >= 0x20 &&
           static_cast<uint8_t>(text[run]) < 0x7F) {
      ++run;
    }
    if (run > i) {
      out.append(text.substr(i, run - i));
      i = run;
      continue;
    }
    const auto c = static_cast<uint8_t>(text[i]);
    if (c >= 0x80) {
      const size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
      // C1 controls (U+0080..U+009F) are encoded as C2 80..C2 9F; treat them like C0.
      const bool c1 =
          len == 2 && c == 0xC2 && i + 1 < text.size() && static_cast<uint8_t>(text[i + 1]) < 0xA0;
      if (len > 0 && !c1 && i + len <= text.size() && is_valid_utf8(text.substr(i, len))) {
        if (is_bidi_control(text.substr(i, len))) {
          // Reordering marks would let a name or message display as something else.
          for (size_t k = 0; k < len; ++k) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<uint8_t>(text[i + k]));
            out += buf;
          }
        } else {
          out.append(text.substr(i, len));
        }
        i += len;
        continue;
      }
    }
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
    ++i;
  }
}

void truncate_utf8(std::string& text, size_t max) {
  if (text.size() <= max) return;
  size_t cut = max;
  // Step back over continuation bytes (10xxxxxx) to the start of the character cut in two.
  while (cut > 0 && (static_cast<uint8_t>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
}

bool has_control_chars(std::string_view text) {
  for (char ch : text) {
    const auto c = static_cast<uint8_t>(ch);
    if (c < 0x20 || c == 0x7F) return true;
  }
  return false;
}

}  // namespace ftx
