// SPDX-License-Identifier: MIT
// Who may connect: --token for binary and text clients, --allow and --deny, and the
// slowdown of repeated wrong tokens.
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "client/chat.h"
#include "client/sender.h"
#include "raw_client.h"
#include "temp_dir.h"
#include "test_env.h"
#include "test_server.h"
#include "wire/channel.h"

namespace ftx {
namespace {

using testing::TempDir;
using testing::TestServer;

class Access : public ::testing::Test {
 protected:
  server::ServerConfig config() {
    server::ServerConfig c;
    c.dir = tmp_ / "inbox";
    return c;
  }
  client::SendReport send(uint16_t port, const std::string& token) {
    testing::write_file(tmp_ / "f.txt", "data");
    client::SendOptions o;
    o.server = {"127.0.0.1", port};
    o.paths = {(tmp_ / "f.txt").string()};
    o.token = token;
    client::SendObserver quiet;
    return client::send_files(o, quiet);
  }
  TempDir tmp_;
};

TEST_F(Access, TokenForBinaryClients) {
  server::ServerConfig c = config();
  c.token = "correct horse";
  TestServer server(c);
  auto report = send(server.port(), "");
  EXPECT_EQ(report.connection_code, proto::ErrorCode::Unauthorized) << report.connection_error;
  report = send(server.port(), "guess-xyz");
  EXPECT_EQ(report.connection_code, proto::ErrorCode::Unauthorized);
  EXPECT_TRUE(testing::visible_files(tmp_ / "inbox").empty());
  report = send(server.port(), "correct horse");
  ASSERT_EQ(report.files.at(0).status, client::FileStatus::Saved) << report.connection_error;
  ASSERT_TRUE(server.wait_disconnects(3));
  int unauthorized = 0;
  for (const auto& e : server.log_events()) {
    EXPECT_EQ(e.dump().find("correct horse"), std::string::npos) << "the token was logged";
    EXPECT_EQ(e.dump().find("guess-xyz"), std::string::npos) << "a presented token was logged";
    if (e["event"] == "disconnect" && e.contains("error"))
      unauthorized += e["error"]["code"] == "unauthorized";
  }
  EXPECT_EQ(unauthorized, 2);
}

TEST_F(Access, TokenForTextClients) {
  server::ServerConfig c = config();
  c.token = "t0k";
  TestServer server(c);
  {
    testing::RawClient t(server.port());
    t.send_raw("hello without auth\n");
    wire::Channel ch(t.fd(), "server");
    std::string line;
    ASSERT_EQ(ch.read_line(line, 4096), wire::Channel::LineStatus::Line);
    EXPECT_EQ(line.rfind("ERROR unauthorized", 0), 0u) << line;
    EXPECT_TRUE(t.closed_by_server());
  }
  testing::RawClient t(server.port());
  t.send_raw("AUTH t0k\nSEND_FILE ok.txt 2\nok");
  wire::Channel ch(t.fd(), "server");
  std::string line;
  ASSERT_EQ(ch.read_line(line, 4096), wire::Channel::LineStatus::Line);
  EXPECT_EQ(line, "OK signed in");
  ASSERT_EQ(ch.read_line(line, 4096), wire::Channel::LineStatus::Line);
  EXPECT_EQ(line.rfind("OK ok.txt 2 ", 0), 0u) << line;
}

TEST_F(Access, TokenForChatClients) {
  server::ServerConfig c = config();
  c.token = "t";
  TestServer server(c);
  std::istringstream lines("hi\n");
  client::StreamLines first(lines);
  struct Quiet : client::ChatDisplay {
    void messages(std::span<const proto::MsgView>) override {}
    void status(const std::string&) override {}
  } display;
  client::ChatOptions o;
  o.server = {"127.0.0.1", server.port()};
  o.name = "c";
  auto result = client::run_chat(o, first, display);
  EXPECT_EQ(result.refused, proto::ErrorCode::Unauthorized);
  o.token = "t";
  std::istringstream again("hi\n");
  client::StreamLines second(again);
  result = client::run_chat(o, second, display);
  EXPECT_TRUE(result.confirmed) << result.error;
}

TEST_F(Access, RepeatedWrongTokensAreSlowedDown) {
  server::ServerConfig c = config();
  c.token = "right";
  TestServer server(c);
  std::vector<double> seconds;
  for (int i = 0; i < server::AuthThrottle::kFreeFailures + 2; ++i) {
    const auto start = std::chrono::steady_clock::now();
    send(server.port(), "guess" + std::to_string(i));
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  // The answers after the free attempts wait at least the throttle's delays.
  EXPECT_GE(seconds[server::AuthThrottle::kFreeFailures], 0.25);
  EXPECT_GE(seconds[server::AuthThrottle::kFreeFailures + 1], 0.5);
  // The right token still works at once.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(send(server.port(), "right").files.at(0).status, client::FileStatus::Saved);
  EXPECT_LT(std::chrono::steady_clock::now() - start, testing::scaled(std::chrono::seconds(5)));
}

TEST_F(Access, DenyAndAllow) {
  {
    server::ServerConfig c = config();
    c.access.deny.push_back(*net::Cidr::parse("127.0.0.0/8"));
    TestServer server(c);
    const auto report = send(server.port(), "");
    EXPECT_TRUE(report.connection_failed);
    EXPECT_TRUE(testing::visible_files(tmp_ / "inbox").empty());
    bool logged = false;
    for (const auto& e : server.log_events())
      logged = logged || (e["event"] == "refused" && e.contains("reason"));
    EXPECT_TRUE(logged);
  }
  {
    server::ServerConfig c = config();
    c.access.allow.push_back(*net::Cidr::parse("10.0.0.0/8"));
    TestServer server(c);
    EXPECT_TRUE(send(server.port(), "").connection_failed);
  }
  server::ServerConfig c = config();
  c.access.allow.push_back(*net::Cidr::parse("10.0.0.0/8"));
  c.access.allow.push_back(*net::Cidr::parse("127.0.0.1/32"));
  TestServer server(c);
  EXPECT_EQ(send(server.port(), "").files.at(0).status, client::FileStatus::Saved);
}

}  // namespace
}  // namespace ftx
