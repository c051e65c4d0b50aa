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
  for (const std::string good : {"alice", "alice@laptop", "z\xc3\xa9", "bob-2", "text@[::1]:5000",
                                 "\xe6\x97\xa5\xe6\x9c\xac", "servers", "the_server"}) {
    EXPECT_FALSE(check_nick(good).has_value()) << good;
  }
  for (const std::string& bad : {std::string(""), std::string("   "), std::string("a\x1b"),
                                 std::string("\xff"), std::string(65, 'n')}) {
    EXPECT_TRUE(check_nick(bad).has_value()) << bad;
  }
}

// A name that would make a line read as someone else's, or display as another name.
TEST(Names, NicksThatCouldImpersonateAreRefused) {
  for (const std::string bad : {
           "bob> fake",  // <bob> fake> hi
           "<bob>",
           "a<b",
           "a>b",  //
           "bob fake",
           "bob\t",            // spaces, controls
           "bob\xc2\x85",      // C1 control (NEL)
           "bob\xc2\xa0",      // U+00A0 no-break space
           "bob\xe3\x80\x80",  // U+3000 ideographic space
           "bob\xe2\x80\xa8",  // U+2028 line separator
           "server",           // the operator
           "Server",
           "SERVER",
           "s\xd0\xb5rver",  // ... in disguise (Cyrillic e)
           "\xef\xbd\x93"
           "erver",                // fullwidth s
           "server\xe2\x80\x8b",   // U+200B zero width space
           "server\xe2\x81\xa0",   // U+2060 word joiner
           "server\xef\xbb\xbf",   // U+FEFF zero width no-break space
           "b\xc2\xadob",          // U+00AD soft hyphen
           "bob\xe2\x80\x8e",      // U+200E left-to-right mark
           "bob\xef\xb8\x8f",      // U+FE0F variation selector
           "bob\xe3\x85\xa4",      // U+3164 Hangul filler
           "bob\xe2\xa0\x80",      // U+2800 blank braille pattern
           "bob\xf3\xa0\x80\xa1",  // U+E0021 tag
       }) {
    EXPECT_TRUE(check_nick(bad).has_value()) << printable(bad);
  }
  EXPECT_NE(check_nick("server\xe2\x80\x8b")->find("U+200B"), std::string::npos);
}

TEST(Names, LookAlikesShareASkeleton) {
  EXPECT_EQ(nick_skeleton("Bob"), nick_skeleton("bob"));
  EXPECT_EQ(nick_skeleton("B0B"), nick_skeleton("bob"));
  EXPECT_EQ(nick_skeleton("b\xd0\xbe"
                          "b"),
            nick_skeleton("bob"));  // Cyrillic o
  EXPECT_EQ(nick_skeleton("ALICE"), nick_skeleton("alice"));
  EXPECT_EQ(nick_skeleton("a1ice"), nick_skeleton("alice"));
  EXPECT_NE(nick_skeleton("bob"), nick_skeleton("rob"));
  EXPECT_NE(nick_skeleton("z\xc3\xa9"), nick_skeleton("ze"));
}

TEST(Names, ChooseNick) {
  EXPECT_EQ(choose_nick("bob", {}).name, "bob");
  EXPECT_EQ(choose_nick("alice", {"bob"}).name, "alice");
  // A plain duplicate is numbered, past any name that looks like the number.
  EXPECT_EQ(choose_nick("bob", {"bob"}).name, "bob-2");
  EXPECT_EQ(choose_nick("bob", {"bob", "bob-2"}).name, "bob-3");
  EXPECT_EQ(choose_nick("bob", {"bob", "BOB-2"}).name, "bob-3");
  EXPECT_EQ(choose_nick("server", {"server"}).name, "server-2");
  // A disguised copy is refused, with who it looks like.
  for (const std::string& disguise : {std::string("Bob"), std::string("B0B"),
                                      std::string("b\xd0\xbe"
                                                  "b")}) {
    const NickChoice c = choose_nick(disguise, {"alice", "bob"});
    EXPECT_TRUE(c.name.empty()) << disguise;
    EXPECT_NE(c.refused.find("looks like bob"), std::string::npos) << c.refused;
  }
}

TEST(Names, Utf8) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc1\xbf"));
}

// The client trusts the server's names no more than the server trusts the client's.
TEST(Names, OfferedNamesMustBeTheOnesAskedFor) {
  EXPECT_FALSE(check_offered_name("a.txt", "a.txt", false));
  EXPECT_FALSE(check_offered_name("docs/a.txt", "docs/a.txt", false));
  EXPECT_FALSE(check_offered_name("docs/", "docs/x/y.txt", true));
  EXPECT_FALSE(check_offered_name("", "x.txt", true));
  EXPECT_TRUE(check_offered_name("a.txt", "b.txt", false));
  EXPECT_TRUE(check_offered_name("docs", "docs/x.txt", false));
  EXPECT_TRUE(check_offered_name("docs", "docsx/y", true));
  EXPECT_TRUE(check_offered_name("docs", "docs/../etc/passwd", true));
  EXPECT_TRUE(check_offered_name("a.txt", "/etc/passwd", true));
  EXPECT_TRUE(check_offered_name("a", "a/\x1b[2J", true));
  EXPECT_TRUE(check_offered_name("a.txt", ".bashrc", false));
  EXPECT_TRUE(check_offered_name("", ".ftx/x", true));
}

}  // namespace
}  // namespace ftx::proto
