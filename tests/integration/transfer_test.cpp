// SPDX-License-Identifier: MIT
// Uploads through the real client and server objects on 127.0.0.1: exact copies, logged
// digests equal to independent ones, for both digest algorithms.
#include <sys/stat.h>

#include <thread>

#include <gtest/gtest.h>

#include "client/sender.h"
#include "digest/digest.h"
#include "digests.h"
#include "temp_dir.h"
#include "test_server.h"

namespace ftx {
namespace {

using client::FileStatus;
using testing::TempDir;
using testing::TestServer;

client::SendReport send(uint16_t port, std::vector<std::string> paths,
                        std::optional<std::string> as = std::nullopt, std::string name = "tester") {
  client::SendOptions options;
  options.server = {"127.0.0.1", port};
  options.paths = std::move(paths);
  options.as_name = std::move(as);
  options.client_name = std::move(name);
  client::SendObserver quiet;
  return client::send_files(options, quiet);
}

class Transfer : public ::testing::TestWithParam<proto::DigestAlgo> {
 protected:
  server::ServerConfig config() {
    server::ServerConfig c;
    c.dir = inbox_dir();
    c.hash = GetParam();
    return c;
  }
  std::filesystem::path inbox_dir() const { return tmp_ / "inbox"; }
  std::string algo() const { return std::string(digest::algo_name(GetParam())); }
  std::filesystem::path src(const std::string& name) const { return tmp_ / "src" / name; }

  // Every logged file event matches the saved file and an independent digest of it.
  void expect_log_matches(const TestServer& server, size_t expected_files) {
    const auto events = server.file_events();
    ASSERT_EQ(events.size(), expected_files);
    for (const auto& e : events) {
      ASSERT_EQ(e["status"], "ok") << e.dump();
      const auto saved = inbox_dir() / e["path"].get<std::string>();
      EXPECT_EQ(e["digest"], testing::independent_digest(saved, algo())) << e.dump();
      EXPECT_EQ(e["bytes"].get<uint64_t>(), std::filesystem::file_size(saved));
      EXPECT_EQ(e["client"], "tester");
      EXPECT_TRUE(e.contains("ts") && e.contains("peer") && e.contains("duration_ms") && e.contains("mbps"));
    }
  }

  TempDir tmp_;
};

TEST_P(Transfer, EmptyFile) {
  TestServer server(config());
  testing::write_file(src("empty"), "");
  const auto report = send(server.port(), {src("empty")});
  ASSERT_FALSE(report.connection_failed) << report.connection_error;
  ASSERT_EQ(report.files.size(), 1u);
  EXPECT_EQ(report.files[0].status, FileStatus::Saved) << report.files[0].error;
  EXPECT_EQ(testing::read_file(inbox_dir() / "empty"), "");
  expect_log_matches(server, 1);
}

TEST_P(Transfer, OneByteFile) {
  TestServer server(config());
  testing::write_file(src("one"), "x");
  const auto report = send(server.port(), {src("one")});
  ASSERT_EQ(report.files.at(0).status, FileStatus::Saved) << report.files[0].error;
  EXPECT_EQ(testing::read_file(inbox_dir() / "one"), "x");
  EXPECT_EQ(report.files[0].digest, testing::independent_digest(src("one"), algo()));
  expect_log_matches(server, 1);
}

TEST_P(Transfer, HundredMebibyteRandomFile) {
  TestServer server(config());
  const std::string data = testing::random_bytes(100u << 20, 42);
  testing::write_file(src("big.bin"), data);
  ::chmod(src("big.bin").c_str(), 0640);
  const auto report = send(server.port(), {src("big.bin")});
  ASSERT_EQ(report.files.at(0).status, FileStatus::Saved) << report.files[0].error;
  EXPECT_TRUE(testing::read_file(inbox_dir() / "big.bin") == data);
  struct stat st {};
  ASSERT_EQ(::stat((inbox_dir() / "big.bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  struct stat orig {};
  ::stat(src("big.bin").c_str(), &orig);
  EXPECT_EQ(st.st_mtim.tv_sec, orig.st_mtim.tv_sec);
  EXPECT_EQ(st.st_mtim.tv_nsec, orig.st_mtim.tv_nsec);
  expect_log_matches(server, 1);
  EXPECT_EQ(testing::partial_count(inbox_dir()), 0u);
}

TEST_P(Transfer, HundredSmallFilesInOneRun) {
  TestServer server(config());
  std::vector<std::string> paths;
  for (int i = 0; i < 100; ++i) {
    const std::string name = "small-" + std::to_string(i) + ".dat";
    testing::write_file(src(name), testing::random_bytes(static_cast<size_t>(i) * 97 + 1, i));
    paths.push_back(src(name));
  }
  const auto report = send(server.port(), paths);
  ASSERT_EQ(report.files.size(), 100u);
  for (size_t i = 0; i < paths.size(); ++i) {
    EXPECT_EQ(report.files[i].status, FileStatus::Saved) << report.files[i].error;
    EXPECT_EQ(testing::read_file(inbox_dir() / ("small-" + std::to_string(i) + ".dat")),
              testing::read_file(paths[i]));
  }
  expect_log_matches(server, 100);
  ASSERT_TRUE(server.wait_disconnects(1));
  EXPECT_EQ(server.log_events().back()["files"], 100);  // all over one connection
}

TEST_P(Transfer, SixteenConcurrentSenders) {
  TestServer server(config());
  std::vector<std::jthread> senders;
  std::vector<client::SendReport> reports(16);
  for (int s = 0; s < 16; ++s) {
    const std::string a = "s" + std::to_string(s) + "-a.bin";
    const std::string b = "s" + std::to_string(s) + "-b.bin";
    testing::write_file(src(a), testing::random_bytes((1u << 20) + static_cast<size_t>(s), 100 + s));
    testing::write_file(src(b), testing::random_bytes(4096 + static_cast<size_t>(s), 200 + s));
    senders.emplace_back([&, s, a, b] { reports[s] = send(server.port(), {src(a), src(b)}); });
  }
  senders.clear();  // joins
  for (int s = 0; s < 16; ++s) {
    ASSERT_EQ(reports[s].files.size(), 2u) << reports[s].connection_error;
    for (const auto& f : reports[s].files) {
      EXPECT_EQ(f.status, FileStatus::Saved) << f.error;
      EXPECT_EQ(testing::read_file(inbox_dir() / f.saved_as), testing::read_file(f.path));
    }
  }
  expect_log_matches(server, 32);
}

TEST_P(Transfer, SameNameTwiceIsRenamedByDefault) {
  TestServer server(config());
  testing::write_file(src("a.txt"), "first");
  testing::write_file(tmp_ / "other" / "a.txt", "second");
  const auto report = send(server.port(), {src("a.txt"), (tmp_ / "other" / "a.txt").string()});
  ASSERT_EQ(report.files.size(), 2u);
  EXPECT_EQ(report.files[0].saved_as, "a.txt");
  EXPECT_EQ(report.files[1].saved_as, "a (1).txt");
  EXPECT_EQ(testing::read_file(inbox_dir() / "a (1).txt"), "second");
}

INSTANTIATE_TEST_SUITE_P(BothDigests, Transfer,
                         ::testing::Values(proto::DigestAlgo::Xxh128, proto::DigestAlgo::Sha256),
                         [](const auto& param_info) {
                           return std::string(digest::algo_name(param_info.param));
                         });

class Policies : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::filesystem::path inbox() const { return tmp_ / "inbox"; }
  server::ServerConfig config(server::OverwritePolicy policy) {
    server::ServerConfig c;
    c.dir = inbox();
    c.overwrite = policy;
    return c;
  }
};

TEST_F(Policies, Replace) {
  TestServer server(config(server::OverwritePolicy::Replace));
  testing::write_file(inbox() / "a.txt", "old");
  testing::write_file(tmp_ / "a.txt", "new");
  const auto report = send(server.port(), {(tmp_ / "a.txt").string()});
  EXPECT_EQ(report.files.at(0).status, FileStatus::Saved);
  EXPECT_EQ(report.files[0].saved_as, "a.txt");
  EXPECT_EQ(testing::read_file(inbox() / "a.txt"), "new");
}

TEST_F(Policies, RefuseKeepsTheOldFileAndGoesOn) {
  TestServer server(config(server::OverwritePolicy::Refuse));
  testing::write_file(inbox() / "a.txt", "old");
  testing::write_file(tmp_ / "a.txt", "new");
  testing::write_file(tmp_ / "b.txt", "b");
  const auto report = send(server.port(), {(tmp_ / "a.txt").string(), (tmp_ / "b.txt").string()});
  ASSERT_EQ(report.files.size(), 2u);
  EXPECT_EQ(report.files[0].status, FileStatus::Refused);
  EXPECT_EQ(report.files[0].code, proto::ErrorCode::Exists);
  EXPECT_EQ(report.files[1].status, FileStatus::Saved);
  EXPECT_EQ(testing::read_file(inbox() / "a.txt"), "old");
  EXPECT_EQ(testing::partial_count(inbox()), 0u);
}

TEST_F(Policies, MaxSizeRefusesOnlyTheLargeFile) {
  server::ServerConfig c = config(server::OverwritePolicy::Rename);
  c.max_size = 1000;
  TestServer server(c);
  testing::write_file(tmp_ / "big", std::string(1001, 'b'));
  testing::write_file(tmp_ / "ok", std::string(1000, 'o'));
  const auto report = send(server.port(), {(tmp_ / "big").string(), (tmp_ / "ok").string()});
  ASSERT_EQ(report.files.size(), 2u);
  EXPECT_EQ(report.files[0].code, proto::ErrorCode::TooLarge);
  EXPECT_EQ(report.files[1].status, FileStatus::Saved);
  EXPECT_EQ(testing::visible_files(inbox()), std::vector<std::string>{"ok"});
}

TEST_F(Policies, AsNameAndUnreadableFiles) {
  TestServer server(config(server::OverwritePolicy::Rename));
  testing::write_file(tmp_ / "x", "data");
  auto report = send(server.port(), {(tmp_ / "x").string()}, "renamed.txt");
  EXPECT_EQ(report.files.at(0).saved_as, "renamed.txt");
  ASSERT_EQ(::mkfifo((tmp_ / "fifo").c_str(), 0600), 0);
  report =
      send(server.port(), {(tmp_ / "missing").string(), (tmp_ / "fifo").string(), (tmp_ / "x").string()});
  ASSERT_EQ(report.files.size(), 3u);
  EXPECT_EQ(report.files[0].status, FileStatus::Unreadable);
  EXPECT_EQ(report.files[1].status, FileStatus::Unreadable);
  EXPECT_EQ(report.files[2].status, FileStatus::Saved);
}

TEST(Connection, NothingListeningIsAConnectionFailure) {
  uint16_t port = 0;
  {
    // Bind and release a port so nothing listens on it.
    net::Listener l = net::listen_tcp(std::string("127.0.0.1"), 0);
    port = l.port;
  }
  TempDir tmp;
  testing::write_file(tmp / "f", "x");
  const auto report = send(port, {(tmp / "f").string()});
  EXPECT_TRUE(report.connection_failed);
  EXPECT_NE(report.connection_error.find("connect 127.0.0.1:"), std::string::npos) << report.connection_error;
  ASSERT_EQ(report.files.size(), 1u);
  EXPECT_EQ(report.files[0].status, FileStatus::NotSent);
}

TEST(Connection, Ipv6Loopback) {
  TempDir tmp;
  server::ServerConfig c;
  c.dir = tmp / "in";
  c.host = "::1";
  c.port = 0;
  c.quiet = true;
  std::unique_ptr<server::Server> srv;
  try {
    srv = std::make_unique<server::Server>(c);
  } catch (const std::exception& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  std::jthread runner([&] { srv->run(); });
  testing::write_file(tmp / "f6", "over ipv6");
  client::SendOptions options;
  options.server = {"::1", srv->port()};
  options.paths = {(tmp / "f6").string()};
  client::SendObserver quiet;
  const auto report = client::send_files(options, quiet);
  srv->request_stop();
  runner.join();
  ASSERT_EQ(report.files.at(0).status, FileStatus::Saved) << report.connection_error;
  EXPECT_EQ(testing::read_file(tmp / "in" / "f6"), "over ipv6");
}

}  // namespace
}  // namespace ftx
