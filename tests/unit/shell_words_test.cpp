// SPDX-License-Identifier: MIT
// Shell words: split as sh does, and written so they read back.
#include "util/shell_words.h"

#include <gtest/gtest.h>

namespace ftx {
namespace {

TEST(ShellWords, SplitsAsAShellDoes) {
  using Words = std::vector<std::string>;
  EXPECT_EQ(split_shell_words("a.txt  b.txt\tc").words, (Words{"a.txt", "b.txt", "c"}));
  EXPECT_EQ(split_shell_words("   ").words, Words{});
  EXPECT_EQ(split_shell_words("'my file.txt'").words, Words{"my file.txt"});
  EXPECT_EQ(split_shell_words("my\\ file.txt other").words, (Words{"my file.txt", "other"}));
  EXPECT_EQ(split_shell_words("\"my \\\"best\\\" file\"").words, Words{"my \"best\" file"});
  // Inside "..." a backslash escapes only " and itself; inside '...' nothing.
  EXPECT_EQ(split_shell_words("\"a\\b\" 'c\\d'").words, (Words{"a\\b", "c\\d"}));
  EXPECT_EQ(split_shell_words("pre'quoted part'post").words, Words{"prequoted partpost"});
  EXPECT_EQ(split_shell_words("'' x").words, (Words{"", "x"}));
  EXPECT_EQ(split_shell_words("caf\xc3\xa9 \xe6\x97\xa5\\ \xe6\x9c\xac").words,
            (Words{"caf\xc3\xa9", "\xe6\x97\xa5 \xe6\x9c\xac"}));
}

TEST(ShellWords, AnOpenQuoteIsAnErrorNotAGuess) {
  const ShellWords single = split_shell_words("'my file.txt");
  ASSERT_TRUE(single.error.has_value());
  EXPECT_NE(single.error->find('\''), std::string::npos);
  const ShellWords dbl = split_shell_words("ok \"my file.txt");
  ASSERT_TRUE(dbl.error.has_value());
  EXPECT_NE(dbl.error->find('"'), std::string::npos);
  EXPECT_FALSE(split_shell_words("it\\'s").error.has_value());
  EXPECT_EQ(split_shell_words("it\\'s").words, std::vector<std::string>{"it's"});
  // A backslash with nothing after it escapes nothing: an error too, not a dropped byte.
  const ShellWords dangling = split_shell_words("foo\\");
  ASSERT_TRUE(dangling.error.has_value());
  EXPECT_NE(dangling.error->find('\\'), std::string::npos);
}

// What shell_word writes, split_shell_words reads back as the one word it was.
TEST(ShellWords, AQuotedWordReadsBackAsItself) {
  for (const std::string word : {"plain.txt", "my file (1).txt", "it's", "a\"b", "back\\slash", "tab\there",
                                 "", "'", "caf\xc3\xa9 \xe6\x97\xa5"}) {
    const ShellWords back = split_shell_words(shell_word(word));
    ASSERT_FALSE(back.error.has_value()) << word;
    EXPECT_EQ(back.words, std::vector<std::string>{word}) << shell_word(word);
  }
  EXPECT_EQ(shell_word("plain.txt"), "plain.txt");
  EXPECT_EQ(shell_word("my file.txt"), "'my file.txt'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
}

}  // namespace
}  // namespace ftx
