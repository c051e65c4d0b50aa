// SPDX-License-Identifier: MIT
// The ftx binary as a user runs it: help, version, typos, exit codes, and a real
// serve/send pair whose log digests match xxh128sum and sha256sum.
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "digests.h"
#include "process.h"
#include "temp_dir.h"
#include "test_env.h"

namespace ftx {
namespace {

using testing::Process;
using testing::TempDir;

class Binary : public ::testing::Test {
 protected:
  // Runs ftx with args to completion.
  int run(std::vector<std::string> args, std::string* out = nullptr, std::string* err = nullptr) {
    args.insert(args.begin(), testing::ftx_binary());
    Process p(args, tmp_.path(), "run" + std::to_string(++runs_));
    const auto code = p.wait();
    if (out) *out = p.out();
    if (err) *err = p.err();
    EXPECT_TRUE(code.has_value()) << "timed out";
    return code.value_or(-1);
  }

  // Starts `ftx serve` on an ephemeral port; returns its port.
  uint16_t start_server(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        testing::ftx_binary(),    "serve", "--host", "127.0.0.1", "--port", "0", "--dir",
        (tmp_ / "inbox").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<Process>(args, tmp_.path(), "server");
    const auto port = server_->wait_for_err(R"(on 127\.0\.0\.1:(\d+))");
    EXPECT_TRUE(port.has_value()) << server_->err();
    return port ? static_cast<uint16_t>(std::stoi(*port)) : 0;
  }

  std::vector<nlohmann::json> file_events() {
    std::vector<nlohmann::json> out;
    std::ifstream in(tmp_ / "inbox" / ".ftx" / "transfers.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line);
      if (j["event"] == "file") out.push_back(j);
    }
    return out;
  }

  TempDir tmp_;
  std::unique_ptr<Process> server_;
  int runs_ = 0;
};

TEST_F(Binary, VersionAndHelp) {
  std::string out;
  EXPECT_EQ(run({"--version"}, &out), 0);
  EXPECT_EQ(out.rfind("ftx ", 0), 0u);
  EXPECT_EQ(run({"--help"}, &out), 0);
  EXPECT_NE(out.find("serve"), std::string::npos);
  EXPECT_NE(out.find("send"), std::string::npos);
  EXPECT_NE(out.find("chat"), std::string::npos);
  EXPECT_EQ(run({"chat", "--help"}, &out), 0);
  for (const char* flag : {"--name", "--quiet", "--no-echo", "/send", "/who", "/quit"}) {
    EXPECT_NE(out.find(flag), std::string::npos) << flag;
  }
  EXPECT_EQ(run({"serve", "--help"}, &out), 0);
  for (const char* flag : {"--host", "--port", "--dir", "--log", "--max-clients", "--max-size", "--overwrite",
                           "--idle-timeout", "--hash", "--log-chat", "--quiet"}) {
    EXPECT_NE(out.find(flag), std::string::npos) << flag;
  }
  EXPECT_EQ(run({"send", "--help"}, &out), 0);
  for (const char* flag : {"--as", "--json", "--no-progress", "--name", "--timeout"}) {
    EXPECT_NE(out.find(flag), std::string::npos) << flag;
  }
}

TEST_F(Binary, UsageErrorsExitTwo) {
  std::string err;
  EXPECT_EQ(run({"sned"}, nullptr, &err), 2);
  EXPECT_NE(err.find("did you mean 'send'"), std::string::npos) << err;
  EXPECT_EQ(run({}, nullptr, &err), 2);
  EXPECT_EQ(run({"send", "localhost"}, nullptr, &err), 2);
  EXPECT_EQ(run({"send", "localhost", "file"}, nullptr, &err), 2);
  EXPECT_NE(err.find(":PORT"), std::string::npos) << err;
  EXPECT_EQ(run({"serve", "--hash", "md5"}, nullptr, &err), 2);
  EXPECT_EQ(run({"serve", "--overwrite", "skip"}, nullptr, &err), 2);
  EXPECT_EQ(run({"serve", "--max-size", "lots"}, nullptr, &err), 2);
  EXPECT_EQ(run({"serve", "--bogus"}, nullptr, &err), 2);
}

TEST_F(Binary, SendToNothingExitsThree) {
  std::string err;
  testing::write_file(tmp_ / "f", "x");
  // Port 1 on loopback: nothing listens there on a test machine.
  EXPECT_EQ(run({"send", "127.0.0.1:1", (tmp_ / "f").string()}, nullptr, &err), 3);
  EXPECT_NE(err.find("connect 127.0.0.1:1"), std::string::npos) << err;
}

TEST_F(Binary, ServeSendAndStop) {
  const uint16_t port = start_server();
  ASSERT_NE(port, 0);
  const std::string target = "127.0.0.1:" + std::to_string(port);
  testing::write_file(tmp_ / "a.bin", testing::random_bytes(3'000'000, 1));
  testing::write_file(tmp_ / "b.txt", "hello\n");
  std::string out;
  EXPECT_EQ(run({"send", target, (tmp_ / "a.bin").string(), (tmp_ / "b.txt").string()}, &out), 0);
  EXPECT_NE(out.find("saved"), std::string::npos) << out;
  EXPECT_EQ(testing::read_file(tmp_ / "inbox" / "a.bin"), testing::read_file(tmp_ / "a.bin"));
  const auto events = file_events();
  ASSERT_EQ(events.size(), 2u);
  for (const auto& e : events) {
    EXPECT_EQ(e["digest"],
              testing::independent_digest(tmp_ / "inbox" / e["path"].get<std::string>(), "xxh128"));
  }

  // A missing local file: exit 4, the other file still saved.
  EXPECT_EQ(run({"send", target, (tmp_ / "nope").string(), (tmp_ / "b.txt").string()}), 4);
  EXPECT_TRUE(std::filesystem::exists(tmp_ / "inbox" / "b (1).txt"));

  // --json: one object per file on stdout.
  EXPECT_EQ(run({"send", target, "--json", (tmp_ / "b.txt").string(), "--as", "j.txt"}, &out), 0);
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["saved_as"], "j.txt");
  EXPECT_EQ(j["digest"], testing::independent_digest(tmp_ / "b.txt", "xxh128"));

  server_->signal(SIGTERM);
  EXPECT_EQ(server_->wait(testing::scaled(std::chrono::seconds(15))), 0);
  EXPECT_NE(server_->err().find("stopped"), std::string::npos);
}

TEST_F(Binary, Sha256DigestsMatchSha256sum) {
  const uint16_t port = start_server({"--hash", "sha256"});
  ASSERT_NE(port, 0);
  testing::write_file(tmp_ / "s.bin", testing::random_bytes(1'234'567, 2));
  std::string out;
  EXPECT_EQ(run({"send", "127.0.0.1:" + std::to_string(port), (tmp_ / "s.bin").string()}, &out), 0);
  EXPECT_NE(out.find("sha256:"), std::string::npos);
  const auto events = file_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["digest"], testing::independent_digest(tmp_ / "inbox" / "s.bin", "sha256"));
}

TEST_F(Binary, RefusedFileExitsOne) {
  const uint16_t port = start_server({"--max-size", "1K"});
  ASSERT_NE(port, 0);
  testing::write_file(tmp_ / "big", std::string(2048, 'x'));
  std::string err;
  EXPECT_EQ(run({"send", "127.0.0.1:" + std::to_string(port), (tmp_ / "big").string()}, nullptr, &err), 1);
  EXPECT_NE(err.find("too_large"), std::string::npos) << err;
}

TEST_F(Binary, PortInUseExitsThree) {
  const uint16_t port = start_server();
  ASSERT_NE(port, 0);
  std::string err;
  EXPECT_EQ(run({"serve", "--host", "127.0.0.1", "--port", std::to_string(port), "--dir",
                 (tmp_ / "other").string()},
                nullptr, &err),
            3);
  EXPECT_NE(err.find("in use"), std::string::npos) << err;
}

TEST_F(Binary, LogToStdout) {
  server_ = std::make_unique<Process>(
      std::vector<std::string>{testing::ftx_binary(), "serve", "--host", "127.0.0.1", "--port", "0", "--dir",
                               (tmp_ / "inbox").string(), "--log", "-"},
      tmp_.path(), "server");
  const auto port = server_->wait_for_err(R"(on 127\.0\.0\.1:(\d+))");
  ASSERT_TRUE(port.has_value());
  testing::write_file(tmp_ / "f", "x");
  EXPECT_EQ(run({"send", "127.0.0.1:" + *port, (tmp_ / "f").string()}), 0);
  server_->signal(SIGINT);
  EXPECT_EQ(server_->wait(testing::scaled(std::chrono::seconds(15))), 0);
  EXPECT_NE(server_->out().find("\"event\":\"file\""), std::string::npos) << server_->out();
}

}  // namespace
}  // namespace ftx
