// SPDX-License-Identifier: MIT
// Name rules: which names a receiver accepts, and the renaming of taken names.
#include "proto/names.h"

#include <gtest/gtest.h>

namespace ftx::proto {
namespace {

TEST(Names, Accepted) {
  for (const std::string& name : std::vector<std::string>{
           "a.txt", "report.pdf", "dir/sub/file", "-leading-dash", "with space.txt", ".hidden", "..dots",
           "a..b", "caf\xc3\xa9.txt", "\xe6\x97\xa5\xe6\x9c\xac.txt", "emoji \xf0\x9f\x98\x80",
           std::string(255, 'x'), "ftx/.ftx"}) {
    EXPECT_FALSE(check_name(name).has_value()) << name << ": " << check_name(name).value_or("");
  }
}

TEST(Names, Refused) {
  const std::vector<std::string> refused = {
      "",
      "/abs/x",
      "../x",
      "a/../../x",
      "./x",
      "a//b",
      "..",
      ".",
      "dir/",
      "..\\x",
      "a\\b",
      std::string("nul\0inside", 10),
      "new\nline",
      "carriage\rreturn",
      "esc\x1b[31mred",
      "del\x7f",
      "tab\there",
      "bad\xff",
      "\xc0\xaf",          // overlong '/'
      "\xc0\xae\xc0\xae",  // overlong ".."
      "\xe0\x80\xae",      // overlong '.' in three bytes
      "\xed\xa0\x80",      // surrogate
      "\xf4\x90\x80\x80",  // past U+10FFFF
      "trunc\xe2\x82",
      std::string(256, 'x'),
      std::string(4097, 'a'),
      ".ftx/partial/p-1",
      ".ftx",
  };
  for (const auto& name : refused) {
    EXPECT_TRUE(check_name(name).has_value()) << "accepted: " << name;
  }
}

TEST(Names, PathOf4096BytesIsTheLimit) {
  std::string path;
  while (path.size() + 200 < 4096) path += std::string(199, 'a') + "/";
  path += std::string(4096 - path.size(), 'b');
  ASSERT_EQ(path.size(), 4096u);
  EXPECT_FALSE(check_name(path).has_value());
  EXPECT_TRUE(check_name(path + "c").has_value());
}

TEST(Names, SplitPath) {
  EXPECT_EQ(split_path("a"), std::vector<std::string>{"a"});
  EXPECT_EQ(split_path("a/b/c"), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Names, NumberedName) {
  EXPECT_EQ(numbered_name("a.txt", 1), "a (1).txt");
  EXPECT_EQ(numbered_name("a", 2), "a (2)");
  EXPECT_EQ(numbered_name(".bashrc", 1), ".bashrc (1)");
  EXPECT_EQ(numbered_name("archive.tar.gz", 3), "archive (3).tar.gz");
}

TEST(Names, BaseName) {
  EXPECT_EQ(base_name("/tmp/x/file.bin"), "file.bin");
  EXPECT_EQ(base_name("file.bin"), "file.bin");
  EXPECT_EQ(base_name("dir/"), "dir");
}

TEST(Names, Nicks) {
  EXPECT_FALSE(check_nick("alice").has_value());
  EXPECT_FALSE(check_nick("alice@laptop").has_value());
  EXPECT_FALSE(check_nick("z\xc3\xa9").has_value());
  for (const std::string& bad : {std::string(""), std::string("   "), std::string("a\x1b"),
                                 std::string("\xff"), std::string(65, 'n')}) {
    EXPECT_TRUE(check_nick(bad).has_value()) << bad;
  }
}

TEST(Names, Utf8) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc1\xbf"));
}

}  // namespace
}  // namespace ftx::proto
