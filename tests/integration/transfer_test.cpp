// SPDX-License-Identifier: MIT
// Uploads through the real client and server objects on 127.0.0.1: exact copies, logged
// digests equal to independent ones, for both digest algorithms.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "client/sender.h"
#include "digest/digest.h"
#include "digests.h"
#include "net/unique_fd.h"
#include "process.h"
#include "pty_process.h"
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

// Does something to the file being sent once its first bytes have gone.
struct WhileSending : client::SendObserver {
  std::function<void()> act;
  bool done = false;
  void file_progress(uint64_t) override {
    if (!done) act();
    done = true;
  }
};

// A file written to while it is sent is reported, never passed off as the file: it is saved
// as it was read and marked changed when it grew (its first bytes: a consistent copy) or
// was written ahead of the reading (the edit is in the copy, which is the file as it now is).
TEST_F(Policies, AFileThatChangesWhileItIsSentIsReported) {
  TestServer server(config(server::OverwritePolicy::Rename));
  const std::string original = testing::random_bytes(16u << 20, 5);
  testing::write_file(tmp_ / "grows.log", original);
  WhileSending grow;
  grow.act = [&] {
    std::ofstream out(tmp_ / "grows.log", std::ios::binary | std::ios::app);
    out << std::string(1 << 20, 'g');
  };
  client::SendOptions options;
  options.server = {"127.0.0.1", server.port()};
  options.paths = {(tmp_ / "grows.log").string()};
  options.client_name = "tester";
  auto report = client::send_files(options, grow);
  ASSERT_TRUE(grow.done);
  ASSERT_EQ(report.files.size(), 1u);
  EXPECT_EQ(report.files[0].status, FileStatus::Saved) << report.files[0].error;
  EXPECT_TRUE(report.files[0].changed);
  EXPECT_EQ(testing::read_file(inbox() / "grows.log"), original);

  const std::string before_edit = testing::random_bytes(16u << 20, 6);
  testing::write_file(tmp_ / "edited.bin", before_edit);
  WhileSending edit;
  edit.act = [&] {
    std::fstream out(tmp_ / "edited.bin", std::ios::binary | std::ios::in | std::ios::out);
    out.seekp(15 << 20);
    out << "an edit near the end";
  };
  options.paths = {(tmp_ / "edited.bin").string()};
  report = client::send_files(options, edit);
  ASSERT_TRUE(edit.done);
  ASSERT_EQ(report.files.size(), 1u);
  EXPECT_TRUE(report.files[0].changed);
  EXPECT_EQ(report.files[0].status, FileStatus::Saved) << report.files[0].error;
  const std::string edited = testing::read_file(tmp_ / "edited.bin");
  EXPECT_NE(edited, before_edit);
  EXPECT_EQ(testing::read_file(inbox() / "edited.bin"), edited);
}

// Was a bug, fixed with this test: a part already sent, rewritten while the rest was sent,
// made the server save a mix of the two versions, over the good copy it had under
// --overwrite replace (the digest was of the bytes sent). Now the file is hashed again as it
// is: the server refuses the mix (integrity) and keeps what it had.
TEST_F(Policies, APartAlreadySentRewrittenIsRefusedAndTheOldCopyKept) {
  TestServer server(config(server::OverwritePolicy::Replace));
  const std::string good = testing::random_bytes(8u << 20, 8);
  testing::write_file(inbox() / "doc.bin", good);
  testing::write_file(tmp_ / "doc.bin", testing::random_bytes(8u << 20, 9));
  // An hour old: the rewrite below moves the mtime however soon it comes.
  std::filesystem::last_write_time(tmp_ / "doc.bin",
                                   std::filesystem::file_time_type::clock::now() - std::chrono::hours(1));
  WhileSending rewrite;
  rewrite.act = [&] {
    std::fstream out(tmp_ / "doc.bin", std::ios::binary | std::ios::in | std::ios::out);
    out << "rewritten at the start, after it was sent";
  };
  client::SendOptions options;
  options.server = {"127.0.0.1", server.port()};
  options.paths = {(tmp_ / "doc.bin").string()};
  options.client_name = "tester";
  const auto report = client::send_files(options, rewrite);
  ASSERT_TRUE(rewrite.done);
  ASSERT_EQ(report.files.size(), 1u);
  EXPECT_TRUE(report.files[0].changed);
  EXPECT_EQ(report.files[0].status, FileStatus::Refused) << report.files[0].error;
  EXPECT_EQ(report.files[0].code, proto::ErrorCode::Integrity);
  EXPECT_NE(report.files[0].error.find("changed while it was sent"), std::string::npos)
      << report.files[0].error;
  EXPECT_EQ(testing::read_file(inbox() / "doc.bin"), good);
}

// A file that cannot be read in the middle of its transfer is reported unreadable, and the
// files after it still go, over a new connection that is not counted as a retry.
TEST_F(Policies, AFileThatFailsToReadMidTransferIsUnreadableAndTheRestGoes) {
  TestServer server(config(server::OverwritePolicy::Rename));
  testing::write_file(tmp_ / "bad.bin", testing::random_bytes(8u << 20, 10));
  const std::string after = testing::random_bytes(1u << 20, 11);
  testing::write_file(tmp_ / "after.bin", after);
  WhileSending fail_reads;
  fail_reads.act = [&] {
    // The sender's descriptor of bad.bin now reads a directory: EISDIR, a real read error.
    const net::UniqueFd dir(::open(tmp_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      if (std::filesystem::read_symlink(entry.path(), ec) == tmp_ / "bad.bin") {
        ASSERT_GE(::dup2(dir.get(), std::stoi(entry.path().filename().string())), 0);
      }
    }
  };
  client::SendOptions options;
  options.server = {"127.0.0.1", server.port()};
  options.paths = {(tmp_ / "bad.bin").string(), (tmp_ / "after.bin").string()};
  options.client_name = "tester";
  options.retries = 0;
  const auto report = client::send_files(options, fail_reads);
  ASSERT_TRUE(fail_reads.done);
  EXPECT_FALSE(report.connection_failed) << report.connection_error;
  ASSERT_EQ(report.files.size(), 2u);
  EXPECT_EQ(report.files[0].status, FileStatus::Unreadable);
  EXPECT_EQ(report.files[0].error, "cannot read " + (tmp_ / "bad.bin").string() + ": Is a directory");
  EXPECT_EQ(report.files[1].status, FileStatus::Saved) << report.files[1].error;
  EXPECT_EQ(testing::read_file(inbox() / "after.bin"), after);
  EXPECT_FALSE(std::filesystem::exists(inbox() / "bad.bin"));
}

// A file cut short while it is sent cannot give the bytes announced: the error names the
// file and what happened to it, not the connection, and nothing is saved under its name.
TEST_F(Policies, AFileCutShortWhileItIsSentIsNamedAsTheCause) {
  TestServer server(config(server::OverwritePolicy::Rename));
  testing::write_file(tmp_ / "cut.bin", testing::random_bytes(16u << 20, 7));
  WhileSending cut;
  cut.act = [&] { std::filesystem::resize_file(tmp_ / "cut.bin", 1u << 20); };
  client::SendOptions options;
  options.server = {"127.0.0.1", server.port()};
  options.paths = {(tmp_ / "cut.bin").string()};
  options.client_name = "tester";
  options.retries = 0;
  const auto report = client::send_files(options, cut);
  ASSERT_TRUE(cut.done);
  EXPECT_TRUE(report.connection_failed);
  EXPECT_EQ(report.connection_error, "reading " + (tmp_ / "cut.bin").string() +
                                         " failed: file ended early: it shrank while being sent");
  EXPECT_FALSE(std::filesystem::exists(inbox() / "cut.bin"));
}

// `ftx send` of two files at a terminal: the bar is drawn with "\r", every result line
// starts on a clean line (the bar erased before it, never left in front of it), each names
// its own file, in order, and the bar names each file with its turn.
class SendAtATerminal : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::filesystem::path inbox() const { return tmp_ / "inbox"; }
  server::ServerConfig config() {
    server::ServerConfig c;
    c.dir = inbox();
    return c;
  }
  std::vector<std::string> args(uint16_t port) {
    // A large file that goes with READY and progress callbacks, then a small pipelined one.
    testing::write_file(tmp_ / "first.bin", testing::random_bytes(8u << 20, 1));
    testing::write_file(tmp_ / "second.bin", testing::random_bytes(100u << 10, 2));
    return {testing::ftx_binary(),
            "send",
            "127.0.0.1:" + std::to_string(port),
            (tmp_ / "first.bin").string(),
            (tmp_ / "second.bin").string(),
            "--retries",
            "0"};
  }
};

TEST_F(SendAtATerminal, TheBarIsErasedBeforeEachResultLineThatNamesItsFile) {
  if (auto why = testing::PtyProcess::unavailable()) GTEST_SKIP() << *why;
  TestServer server(config());
  testing::PtyProcess tty(args(server.port()), tmp_.path(), "tty");
  const std::string last = "saved " + (tmp_ / "second.bin").string() + " as second.bin (";
  ASSERT_TRUE(tty.wait_for(last, 0, testing::scaled(std::chrono::seconds(60)))) << tty.screen();
  ASSERT_TRUE(tty.wait_for(")\r\n", tty.screen().find(last))) << tty.screen();
  EXPECT_EQ(tty.wait(testing::scaled(std::chrono::seconds(30))), 0) << tty.screen();
  const std::string screen = tty.screen();
  EXPECT_NE(screen.find("\r\x1b[K[1/2] first.bin"), std::string::npos) << screen;
  const std::string names[] = {"first.bin", "second.bin"};
  size_t at = 0;
  for (size_t i = 0; i < 2; ++i) {
    const size_t saved = screen.find("saved " + (tmp_ / names[i]).string() + " as " + names[i] + " (", at);
    ASSERT_NE(saved, std::string::npos) << names[i] << " in\n" << screen;
    // What the terminal line holds before "saved": nothing, or a bar erased last.
    const size_t line_start =
        screen.rfind('\n', saved) == std::string::npos ? 0 : screen.rfind('\n', saved) + 1;
    const std::string before = screen.substr(line_start, saved - line_start);
    EXPECT_TRUE(before.empty() || before.ends_with("\r\x1b[K")) << names[i] << ": [" << before << "]";
    // The bar drawn on that line named this file (a pipelined next file's turn is its own).
    if (before.find("] ") != std::string::npos && i == 0) {
      EXPECT_EQ(before.find("second.bin"), std::string::npos) << before;
    }
    at = saved + 1;
  }
  EXPECT_EQ(screen.find("[1/2] second.bin"), std::string::npos) << screen;
  EXPECT_EQ(screen.find("[2/2] first.bin"), std::string::npos) << screen;
  EXPECT_EQ(testing::read_file(inbox() / "first.bin"), testing::read_file(tmp_ / "first.bin"));
  EXPECT_EQ(testing::read_file(inbox() / "second.bin"), testing::read_file(tmp_ / "second.bin"));
}

TEST_F(SendAtATerminal, NoBarWhenStderrIsNotATerminal) {
  TestServer server(config());
  testing::Process send(args(server.port()), tmp_.path(), "send");
  ASSERT_EQ(send.wait(testing::scaled(std::chrono::seconds(60))), 0) << send.err();
  EXPECT_EQ(send.err().find('\r'), std::string::npos) << send.err();
  EXPECT_EQ(send.err().find('\x1b'), std::string::npos) << send.err();
  EXPECT_EQ(send.out().find('\r'), std::string::npos) << send.out();
  const size_t first = send.out().find("saved " + (tmp_ / "first.bin").string() + " as first.bin (");
  const size_t second = send.out().find("saved " + (tmp_ / "second.bin").string() + " as second.bin (");
  EXPECT_NE(first, std::string::npos) << send.out();
  EXPECT_NE(second, std::string::npos) << send.out();
  EXPECT_LT(first, second) << send.out();
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

// At the command line the failure is said once, then each file it left unsent (it was said
// again for each file, after them).
TEST(Connection, NothingListeningIsSaidOnceBeforeTheFilesLeftUnsent) {
  uint16_t port = 0;
  {
    net::Listener l = net::listen_tcp(std::string("127.0.0.1"), 0);
    port = l.port;
  }
  TempDir tmp;
  testing::write_file(tmp / "a.txt", "a");
  testing::write_file(tmp / "b.txt", "b");
  testing::Process send({testing::ftx_binary(), "send", "127.0.0.1:" + std::to_string(port),
                         (tmp / "a.txt").string(), (tmp / "b.txt").string(), "--plain", "--retries", "0"},
                        tmp.path(), "send");
  EXPECT_EQ(send.wait(testing::scaled(std::chrono::seconds(30))), 3);
  const std::string err = send.err();
  const std::string refused = "connect 127.0.0.1:" + std::to_string(port);
  const size_t first = err.find(refused);
  ASSERT_NE(first, std::string::npos) << err;
  EXPECT_EQ(err.find(refused, first + 1), std::string::npos) << err;
  const size_t a = err.find((tmp / "a.txt").string() + ": not sent\n");
  const size_t b = err.find((tmp / "b.txt").string() + ": not sent\n");
  EXPECT_TRUE(first < a && a < b && b != std::string::npos) << err;
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
