// SPDX-License-Identifier: MIT
// The line editor's arithmetic, without a terminal: how wide typed text is on the screen,
// and what takes the cursor back to the start of a wrapped input line.
#include "client/line_editor.h"

#include <clocale>

#include <gtest/gtest.h>

namespace ftx::client {
namespace {

class Utf8Locale : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::setlocale(LC_CTYPE, "C.UTF-8")) GTEST_SKIP() << "no C.UTF-8 locale";
  }
  void TearDown() override { std::setlocale(LC_CTYPE, "C"); }
};

TEST_F(Utf8Locale, ColumnsCountCharactersNotBytes) {
  EXPECT_EQ(display_columns(""), 0u);
  EXPECT_EQ(display_columns("hello"), 5u);
  EXPECT_EQ(display_columns("caf\xc3\xa9"), 4u);               // é: two bytes, one column
  EXPECT_EQ(display_columns("\xe6\x97\xa5\xe6\x9c\xac"), 4u);  // 日本: two wide characters
  EXPECT_EQ(display_columns("e\xcc\x81"), 1u);                 // e + combining acute
  EXPECT_EQ(display_columns("a\x01"), 3u);                     // a control shows as ^A
}

TEST_F(Utf8Locale, ABrokenSequenceShowsAsAnOctalEscape) {
  EXPECT_EQ(display_columns("\xff"), 4u);
  EXPECT_EQ(display_columns("a\xc3"), 5u);  // cut in the middle of a character
}

TEST_F(Utf8Locale, APlainRunStopsAtAControlOrAnUnfinishedCharacter) {
  EXPECT_EQ(plain_run("hello world", 0), 11u);
  EXPECT_EQ(plain_run("hello world", 6), 5u);
  EXPECT_EQ(plain_run("abc\rdef", 0), 3u);      // Enter is a key for the editor
  EXPECT_EQ(plain_run("ab\x1b[A", 0), 2u);      // so is an arrow's sequence
  EXPECT_EQ(plain_run("ab\x7f", 0), 2u);        // and DEL
  EXPECT_EQ(plain_run("caf\xc3\xa9!", 0), 6u);  // é is plain text
  EXPECT_EQ(plain_run("caf\xc3", 0), 3u);       // half of it waits for the rest
  EXPECT_EQ(plain_run("a\xff"
                      "b",
                      0),
            1u);  // a byte of no character: the editor's
  EXPECT_EQ(plain_run("x", 1), 0u);
}

TEST(EraseInput, OnTheFirstRowOnlyReturnsAndClears) {
  EXPECT_EQ(erase_input(0, 80), "\r\x1b[J");
  EXPECT_EQ(erase_input(79, 80), "\r\x1b[J");
}

TEST(EraseInput, GoesUpOneRowPerWrap) {
  EXPECT_EQ(erase_input(80, 80), "\x1b[1A\r\x1b[J");  // a full row: the cursor is on the next
  EXPECT_EQ(erase_input(250, 100), "\x1b[2A\r\x1b[J");
}

TEST(EraseInput, AnUnknownWidthStaysOnTheRow) { EXPECT_EQ(erase_input(500, 0), "\r\x1b[J"); }

}  // namespace
}  // namespace ftx::client
