// SPDX-License-Identifier: MIT
// Text-mode line parsing and formatting.
#include "proto/text.h"

#include <cstdint>
#include <cstdlib>
#include <ctime>

#include <gtest/gtest.h>

namespace ftx::proto {
namespace {

using namespace text;

TEST(TextProtocol, SendFile) {
  EXPECT_EQ(parse_text_line("SEND_FILE a.txt 12"), Command(SendFile{"a.txt", 12}));
  EXPECT_EQ(parse_text_line("SEND_FILE a.txt 12\r"), Command(SendFile{"a.txt", 12}));
  EXPECT_EQ(parse_text_line("SEND_FILE my file.txt 0"), Command(SendFile{"my file.txt", 0}));
  EXPECT_EQ(parse_text_line("SEND_FILE a 18446744073709551615"),
            Command(SendFile{"a", 18446744073709551615ull}));
}

TEST(TextProtocol, BadSizesAreInvalid) {
  for (const char* line : {"SEND_FILE a.txt -1", "SEND_FILE a.txt abc", "SEND_FILE a.txt +5",
                           "SEND_FILE a.txt  5", "SEND_FILE a.txt 5 ", "SEND_FILE a.txt 0x10",
                           "SEND_FILE a.txt 18446744073709551616", "SEND_FILE a.txt 1e3", "SEND_FILE a.txt",
                           "SEND_FILE", "SEND_FILE  5", "SEND_FILE a.txt 99999999999999999999"}) {
    EXPECT_TRUE(std::holds_alternative<Invalid>(parse_text_line(line))) << line;
  }
}

TEST(TextProtocol, GetFileAndListFiles) {
  EXPECT_EQ(parse_text_line("GET_FILE a.txt"), Command(GetFile{"a.txt"}));
  EXPECT_EQ(parse_text_line("GET_FILE my file.txt\r"), Command(GetFile{"my file.txt"}));
  EXPECT_EQ(parse_text_line("LIST_FILES"), Command(ListFiles{""}));
  EXPECT_EQ(parse_text_line("LIST_FILES docs/"), Command(ListFiles{"docs/"}));
  for (const char* line : {"GET_FILE", "GET_FILE ", "get_file a", "list_files", "Get_File a"}) {
    EXPECT_TRUE(std::holds_alternative<Invalid>(parse_text_line(line))) << line;
  }
  // Not a command: chat.
  EXPECT_EQ(parse_text_line("GET_FILES a"), Command(Chat{"GET_FILES a"}));
}

TEST(TextProtocol, ListLines) {
  EXPECT_EQ(text_list_line(false, 12, 1'700'000'000'500'000'000, "xxh128:ab", "a b.txt"),
            "FILE 12 2023-11-14T22:13:20Z xxh128:ab a b.txt\n");
  EXPECT_EQ(text_list_line(true, 0, 0, "", "docs"), "DIR 0 1970-01-01T00:00:00Z - docs/\n");
  EXPECT_EQ(text_list_end(3), "END 3\n");
}

TEST(TextProtocol, OtherCommandsAndChat) {
  EXPECT_EQ(parse_text_line("NICK alice"), Command(Nick{"alice"}));
  EXPECT_TRUE(std::holds_alternative<Invalid>(parse_text_line("NICK ")));
  EXPECT_TRUE(std::holds_alternative<Invalid>(parse_text_line("NICK " + std::string(65, 'n'))));
  EXPECT_EQ(parse_text_line("WHO"), Command(Who{}));
  EXPECT_EQ(parse_text_line("QUIT\r"), Command(Quit{}));
  EXPECT_EQ(parse_text_line(""), Command(Blank{}));
  EXPECT_EQ(parse_text_line("\r"), Command(Blank{}));
  EXPECT_EQ(parse_text_line("hello there"), Command(Chat{"hello there"}));
  EXPECT_EQ(parse_text_line("who"), Command(Chat{"who"}));
  EXPECT_EQ(parse_text_line("SEND_FILES x"), Command(Chat{"SEND_FILES x"}));
}

TEST(TextProtocol, Lines) {
  EXPECT_EQ(text_ok_line("a (1).txt", 5, "xxh128:00"), "OK a (1).txt 5 xxh128:00\n");
  EXPECT_EQ(text_error_line(ErrorCode::TooLarge, "big\x1b"), "ERROR too_large big\\x1b\n");
  const std::string line = chat_line(0, "bob", "hi\r");
  EXPECT_NE(line.find(" <bob> hi\\x0d"), std::string::npos) << line;
  EXPECT_NE(chat_line(0, "", "alice joined").find(" * alice joined"), std::string::npos);
  EXPECT_NE(text_greeting("1.0", "text@x").find("SEND_FILE <name> <size>"), std::string::npos);
}

// The whole line, byte for byte, in a fixed zone: the stamp, the nick, the text.
TEST(TextProtocol, ChatLinesMatchChatLineAndReuseTheStamp) {
  const char* old_tz = std::getenv("TZ");
  const std::string saved = old_tz ? old_tz : "";
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  EXPECT_EQ(chat_line(3'723'456, "bob", "hi\r"), "01:02:03 <bob> hi\\x0d");
  EXPECT_EQ(chat_line(3'723'456, "", "alice joined"), "01:02:03 * alice joined");
  EXPECT_EQ(chat_line(-1, "a", "b"), "23:59:59 <a> b");  // the second before 1970 began
  ChatLines lines;
  std::string out;
  lines.append(out, 3'723'001, "bob", "one");
  lines.append(out, 3'723'999, "ann\x1b", "two");   // same second: the stamp is reused
  lines.append(out, 3'724'000, "", "three");        // the next second: a new stamp
  lines.append(out, 3'724'500, "bob", "four");      // a speaker again after a notice
  lines.append(out, 3'724'600, "bob", "five\x1b");  // the same speaker: the same prefix
  lines.append(out, 3'724'700, "bobby", "six");     // a nick that starts like the last one
  lines.append(out, 3'725'000, "bobby", "seven");   // the same speaker in the next second
  EXPECT_EQ(out,
            "01:02:03 <bob> one\n"
            "01:02:03 <ann\\x1b> two\n"
            "01:02:04 * three\n"
            "01:02:04 <bob> four\n"
            "01:02:04 <bob> five\\x1b\n"
            "01:02:04 <bobby> six\n"
            "01:02:05 <bobby> seven\n");
  EXPECT_EQ(out.find('\0'), std::string::npos);
  // A peer's times at the ends of the range still get a stamp of their own, and the next
  // ordinary time its own again.
  ChatLines ends;
  std::string odd;
  ends.append(odd, INT64_MAX, "a", "b");
  ends.append(odd, INT64_MIN, "a", "c");
  ends.append(odd, 999, "a", "d");
  ends.append(odd, 1000, "a", "e");
  EXPECT_EQ(odd.find('\0'), std::string::npos);
  EXPECT_TRUE(odd.ends_with("\n00:00:00 <a> d\n00:00:01 <a> e\n")) << odd;
  // A burst (the messages of MSG_BATCH frames share their sender's bytes) comes out as the
  // same lines one at a time would: a line to escape in the middle of a run, a run that
  // crosses a second, a notice and another batch's sender between runs.
  const std::string batch_a = "carol";
  const std::string batch_b = "carol";  // equal bytes elsewhere: another batch
  const std::vector<MsgView> burst = {
      {batch_a, 3'723'100, "one"},
      {batch_a, 3'723'200, "two\x07"},
      {batch_a, 3'723'300, ""},
      {batch_a, 3'724'000, "next second"},
      {"", 3'724'001, "dave joined"},
      {batch_b, 3'724'002, "again"},
      {batch_b, 3'724'003, "\xe2\x80\xae"},
      {"dave", 3'724'004, std::string_view("nul\0", 4)},
  };
  ChatLines one_by_one;
  std::string expected;
  for (const MsgView& m : burst) one_by_one.append(expected, m.ts_ms, m.sender, m.text);
  for (size_t split = 0; split <= burst.size(); ++split) {
    ChatLines together;
    std::string got = "kept ";
    together.append(got, std::span(burst).first(split));
    together.append(got, std::span(burst).subspan(split));
    EXPECT_EQ(got, "kept " + expected) << "split at " << split;
  }
  EXPECT_NE(expected.find("01:02:03 <carol> two\\x07\n01:02:03 <carol> \n01:02:04 <carol> next second\n"),
            std::string::npos)
      << expected;
  if (old_tz) {
    ::setenv("TZ", saved.c_str(), 1);
  } else {
    ::unsetenv("TZ");
  }
  ::tzset();
}

}  // namespace
}  // namespace ftx::proto
