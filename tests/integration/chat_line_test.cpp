// SPDX-License-Identifier: MIT
// The real `ftx chat` at a terminal drawn by tmux, as a person sees it: a message that
// arrives while a line is half typed prints above it and leaves the typed text on the
// input line; a pasted line longer than a terminal's canonical limit arrives whole, one
// over the protocol's limit is refused at the terminal; an earlier line comes back with the
// up arrow; keys that empty the line only edit it; Ctrl-C leaves and puts the terminal back.
#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "chat_clients.h"
#include "proto/limits.h"
#include "temp_dir.h"
#include "test_env.h"
#include "test_server.h"
#include "tmux_session.h"

namespace ftx {
namespace {

using testing::ChatClient;
using testing::TempDir;
using testing::TestServer;
using testing::TmuxSession;

class ChatLine : public ::testing::Test {
 protected:
  server::ServerConfig config() {
    server::ServerConfig c;
    c.dir = tmp_ / "inbox";
    return c;
  }
  // `ftx chat` as `name` in a fresh terminal, joined (the peer saw it come in).
  std::unique_ptr<TmuxSession> start_chat(uint16_t port, const std::string& name, ChatClient& peer,
                                          std::vector<std::string> env = {}) {
    env.push_back("XDG_CONFIG_HOME=" + (tmp_ / "config").string());
    auto tty = std::make_unique<TmuxSession>(
        std::vector<std::string>{testing::ftx_binary(), "chat", "127.0.0.1:" + std::to_string(port), "--name",
                                 name},
        env, tmp_.path());
    EXPECT_TRUE(tty->wait_for("as " + name + "; /help for commands")) << tty->screen();
    EXPECT_TRUE(peer.await_notice(name + " joined"));
    return tty;
  }
  TempDir tmp_;
};

TEST_F(ChatLine, AMessageArrivingMidTypingLeavesTheTypedTextOnTheInputLine) {
  if (auto why = TmuxSession::unavailable()) GTEST_SKIP() << *why;
  TestServer server(config());
  ChatClient peer(server.port(), "peer");
  auto tty = start_chat(server.port(), "typist", peer);

  tty->type("partial typing here");
  ASSERT_TRUE(tty->wait_for("partial typing here")) << tty->screen();
  peer.say("interrupting");
  ASSERT_TRUE(tty->wait_for("<peer> interrupting")) << tty->screen();

  // The message has a row of its own, and the cursor's row holds the typed text alone.
  const std::regex message_row(R"(^\d\d:\d\d:\d\d <peer> interrupting$)");
  auto message_alone = [&] {
    for (const auto& row : tty->rows()) {
      if (std::regex_match(row, message_row)) return true;
    }
    return false;
  };
  EXPECT_TRUE(tty->wait_until(message_alone)) << tty->screen();
  EXPECT_TRUE(tty->wait_until([&] { return tty->cursor_line() == "partial typing here"; }))
      << "cursor on: " << tty->cursor_line() << "\n"
      << tty->screen();

  tty->press("Enter");
  const auto got = peer.collect(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].sender, "typist");
  EXPECT_EQ(got[0].text, "partial typing here");
}

TEST_F(ChatLine, APastedLineOfFiveThousandCharactersArrivesWhole) {
  if (auto why = TmuxSession::unavailable()) GTEST_SKIP() << *why;
  TestServer server(config());
  ChatClient peer(server.port(), "peer");
  auto tty = start_chat(server.port(), "paster", peer);

  std::string line;
  for (int i = 0; line.size() < 5000; ++i) line += std::to_string(i) + ",";
  line.resize(5000);
  tty->paste(line);
  tty->press("Enter");
  const auto got = peer.collect(1);
  ASSERT_EQ(got.size(), 1u) << tty->screen();
  EXPECT_EQ(got[0].text.size(), line.size());
  EXPECT_EQ(got[0].text, line);
}

// One byte over the protocol's limit: said so at the terminal, nothing sent; the next line
// goes as usual.
TEST_F(ChatLine, ALineOverTheLimitIsRefusedWithAWordAndNotSent) {
  if (auto why = TmuxSession::unavailable()) GTEST_SKIP() << *why;
  TestServer server(config());
  ChatClient peer(server.port(), "peer");
  auto tty = start_chat(server.port(), "verbose", peer);

  tty->paste(std::string(proto::kMaxMessage + 1, 'x'));
  tty->press("Enter");
  EXPECT_TRUE(tty->wait_for("line of " + std::to_string(proto::kMaxMessage + 1) +
                            " bytes not sent: the limit is " + std::to_string(proto::kMaxMessage)))
      << tty->screen();
  tty->type("short");
  tty->press("Enter");
  const auto got = peer.collect(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].text, "short");
}

// Chat text is UTF-8 even where the environment's locale is C (LANG unset, as in many
// containers): the keys of é and 日本 reach the room.
TEST_F(ChatLine, TypedUtf8ArrivesWholeUnderTheCLocale) {
  if (auto why = TmuxSession::unavailable()) GTEST_SKIP() << *why;
  TestServer server(config());
  ChatClient peer(server.port(), "peer");
  auto tty = start_chat(server.port(), "writer", peer, {"LC_ALL=C", "LANG=C"});

  tty->type("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac");
  tty->press("Enter");
  const auto got = peer.collect(1);
  ASSERT_EQ(got.size(), 1u) << tty->screen();
  EXPECT_EQ(got[0].text, "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac");
}

// Keys that leave the line empty (a backspace over the only character, ^U, ^B on an empty
// line) edit it; they used to end the chat, as if the terminal had gone away.
TEST_F(ChatLine, KeysThatLeaveTheLineEmptyKeepTheChatOpen) {
  if (auto why = TmuxSession::unavailable()) GTEST_SKIP() << *why;
  TestServer server(config());
  ChatClient peer(server.port(), "peer");
  auto tty = start_chat(server.port(), "editor", peer);

  tty->type("a");
  tty->press("BSpace");
  tty->press("C-u");
  tty->press("C-b");
  tty->type("a typo");
  ASSERT_TRUE(tty->wait_for("a typo")) << tty->screen();
  tty->press("C-u");
  tty->type("what I meant");
  tty->press("Enter");
  // Had any of those keys ended the chat, the rest would have gone to the shell.
  const auto got = peer.collect(1, std::chrono::seconds(10));
  ASSERT_EQ(got.size(), 1u) << tty->screen();
  EXPECT_EQ(got[0].text, "what I meant");
}

TEST_F(ChatLine, UpArrowRecallsAnEarlierLine) {
  if (auto why = TmuxSession::unavailable()) GTEST_SKIP() << *why;
  TestServer server(config());
  ChatClient peer(server.port(), "peer");
  auto tty = start_chat(server.port(), "recaller", peer);

  tty->type("the first line");
  tty->press("Enter");
  tty->type("the second line");
  tty->press("Enter");
  tty->press("Up");
  tty->press("Up");
  tty->press("Enter");
  const auto got = peer.collect(3);
  ASSERT_EQ(got.size(), 3u) << tty->screen();
  EXPECT_EQ(got[0].text, "the first line");
  EXPECT_EQ(got[1].text, "the second line");
  EXPECT_EQ(got[2].text, "the first line");
}

// Ctrl-C leaves as /quit does (exit 0, the half-typed line not sent) and the terminal is
// back in the modes it had before, as the shell that started the client sees them.
TEST_F(ChatLine, CtrlCLeavesAndPutsTheTerminalBack) {
  if (auto why = TmuxSession::unavailable()) GTEST_SKIP() << *why;
  TestServer server(config());
  ChatClient peer(server.port(), "peer");
  const auto dir = tmp_.path().string();
  // The shell outlives the Ctrl-C (its process group gets it too) to say what it sees after.
  const std::string script =
      "trap : INT; stty -g > " + dir + "/before; \"$0\" chat 127.0.0.1:" + std::to_string(server.port()) +
      " --name quitter; echo $? > " + dir + "/code; stty -g > " + dir + "/after; sleep 60";
  TmuxSession tty({"/bin/sh", "-c", script, testing::ftx_binary()}, {"XDG_CONFIG_HOME=" + dir + "/config"},
                  tmp_.path());
  ASSERT_TRUE(tty.wait_for("as quitter; /help for commands")) << tty.screen();
  ASSERT_TRUE(peer.await_notice("quitter joined"));
  tty.type("never sent");
  ASSERT_TRUE(tty.wait_for("never sent")) << tty.screen();
  tty.press("C-c");
  EXPECT_TRUE(peer.await_notice("quitter left"));
  auto text = [&](const char* name) {
    std::error_code ec;
    return std::filesystem::exists(tmp_ / name, ec) ? testing::read_file(tmp_ / name) : std::string();
  };
  const auto deadline = std::chrono::steady_clock::now() + testing::scaled(std::chrono::seconds(10));
  while (text("after").empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(text("code"), "0\n") << tty.screen();
  EXPECT_FALSE(text("before").empty());
  EXPECT_EQ(text("after"), text("before"));
}

}  // namespace
}  // namespace ftx
