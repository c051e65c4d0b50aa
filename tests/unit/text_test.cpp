// SPDX-License-Identifier: MIT
// Terminal-safe text.
#include "util/text.h"

#include <gtest/gtest.h>

namespace ftx {
namespace {

TEST(Printable, KeepsPlainTextAndUtf8) {
  EXPECT_EQ(printable("hello world"), "hello world");
  std::string out = "x:";
  append_printable(out,
                   "a\x1b"
                   "b");
  EXPECT_EQ(out,
            "x:a\\x1b"
            "b");
  EXPECT_EQ(printable("caf\xc3\xa9 \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xf0\x9f\x98\x80");
}

// The word-at-a-time check against the plain definition: every byte value, at every place
// of strings up to 20 bytes (shorter than a word, whole words, and a tail that overlaps).
TEST(Printable, PlainAsciiIsExactlyTheBytesFrom0x20To0x7E) {
  for (size_t len = 1; len <= 20; ++len) {
    for (size_t at = 0; at < len; ++at) {
      for (int b = 0; b < 256; ++b) {
        std::string text(len, 'a');
        text[at] = static_cast<char>(b);
        ASSERT_EQ(is_plain_ascii(text), b >= 0x20 && b <= 0x7E)
            << "byte " << b << " at " << at << " of " << len;
      }
    }
  }
  EXPECT_TRUE(is_plain_ascii(""));
  EXPECT_TRUE(is_plain_ascii(" ~ ~ ~ ~ ~ ~ ~ ~ ~"));
}

TEST(Printable, EscapesControlsAndBadBytes) {
  EXPECT_EQ(printable("\x1b[2J"), "\\x1b[2J");
  EXPECT_EQ(printable("a\rb\bc\n"), "a\\x0db\\x08c\\x0a");
  EXPECT_EQ(printable("\x7f"), "\\x7f");
  EXPECT_EQ(printable(" ~"), " ~");  // the ends of printable ASCII
  EXPECT_EQ(printable("\x1f"), "\\x1f");
  EXPECT_EQ(printable("twelve bytes\x80"), "twelve bytes\\x80");  // past what a word-wide check sees
  EXPECT_EQ(printable("\xff"), "\\xff");
  EXPECT_EQ(printable("\xc2\x9b"), "\\xc2\\x9b");  // C1 CSI
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");  // overlong
  EXPECT_EQ(printable("a\xe2\x80\xae"
                      "b"),
            "a\\xe2\\x80\\xae"
            "b");                                           // RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(printable("\xe2\x81\xa6"), "\\xe2\\x81\\xa6");  // LEFT-TO-RIGHT ISOLATE
  EXPECT_EQ(printable("\xe2\x80\x94"), "\xe2\x80\x94");     // an em dash stays
}

TEST(DecodeUtf8, OneCharacterAtATime) {
  const std::string text = "a\xc3\xa9\xe2\x80\x8b\xf0\x9f\x98\x80";
  size_t i = 0;
  EXPECT_EQ(decode_utf8(text, i), U'a');
  EXPECT_EQ(decode_utf8(text, i), U'\u00e9');
  EXPECT_EQ(decode_utf8(text, i), U'\u200b');
  EXPECT_EQ(decode_utf8(text, i), U'\U0001f600');
  EXPECT_EQ(i, text.size());
  EXPECT_FALSE(decode_utf8(text, i).has_value());
  for (const std::string bad : {"\x80", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x80", "\xf4\x90\x80\x80"}) {
    size_t at = 0;
    EXPECT_FALSE(decode_utf8(bad, at).has_value()) << printable(bad);
    EXPECT_EQ(at, 0u);
  }
}

TEST(TruncateUtf8, NeverSplitsACharacter) {
  std::string s = "ab\xe2\x82\xac";  // "ab€"
  truncate_utf8(s, 4);
  EXPECT_EQ(s, "ab");
  s = "ab\xe2\x82\xac";
  truncate_utf8(s, 5);
  EXPECT_EQ(s, "ab\xe2\x82\xac");
  s = "abc";
  truncate_utf8(s, 2);
  EXPECT_EQ(s, "ab");
}

}  // namespace
}  // namespace ftx
