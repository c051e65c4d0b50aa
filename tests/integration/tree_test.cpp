// SPDX-License-Identifier: MIT
// Whole directories, many small files over one connection, and standard input: what
// arrives is what was sent, with modes and mtimes, and a refusal fails its file only.
#include <sys/stat.h>
#include <sys/time.h>

#include <filesystem>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "client/plan.h"
#include "client/sender.h"
#include "digest/digest.h"
#include "digests.h"
#include "process.h"
#include "proto/codec.h"
#include "proto/limits.h"
#include "raw_client.h"
#include "temp_dir.h"
#include "test_env.h"
#include "test_server.h"

namespace ftx {
namespace {

namespace fs = std::filesystem;
using client::FileStatus;
using testing::TempDir;
using testing::TestServer;

struct Collected : client::SendObserver {
  std::vector<std::string> warnings;
  void warning(const std::string& text) override { warnings.push_back(text); }
};

// What a tree holds, as comparable text: every entry's relative path, type, permission
// bits, mtime and (for files) content.
std::map<std::string, std::string> describe_tree(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    struct stat st {};
    EXPECT_EQ(::lstat(entry.path().c_str(), &st), 0);
    std::string what = S_ISDIR(st.st_mode) ? "dir" : "file";
    what += " mode=" + std::to_string(st.st_mode & 07777);
    what += " mtime=" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    if (S_ISREG(st.st_mode)) what += " content=" + testing::read_file(entry.path());
    out[fs::relative(entry.path(), root).string()] = what;
  }
  return out;
}

void set_mtime(const fs::path& path, time_t seconds, long nanos) {
  const timespec times[2] = {{seconds, nanos}, {seconds, nanos}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
}

class Tree : public ::testing::Test {
 protected:
  server::ServerConfig config() {
    server::ServerConfig c;
    c.dir = tmp_ / "inbox";
    return c;
  }

  client::SendReport send(uint16_t port, std::vector<std::string> paths, bool follow = false,
                          Collected* observer = nullptr) {
    client::SendOptions options;
    options.server = {"127.0.0.1", port};
    options.paths = std::move(paths);
    options.client_name = "tester";
    options.follow_symlinks = follow;
    Collected quiet;
    return client::send_files(options, observer ? *observer : quiet);
  }

  // A tree with nested and empty directories, small files, a large one and odd but legal
  // names; mtimes set to distinct past values so a copy cannot match by accident.
  fs::path make_tree(size_t small_files) {
    const fs::path root = tmp_ / "src" / "project";
    fs::create_directories(root / "a" / "b" / "c");
    fs::create_directories(root / "empty" / "nested empty");
    fs::create_directories(root / "docs with spaces");
    for (size_t i = 0; i < small_files; ++i) {
      testing::write_file(root / "a" / ("small-" + std::to_string(i)),
                          testing::random_bytes(1 + i % 5000, i));
    }
    testing::write_file(root / "a" / "b" / "c" / "large.bin", testing::random_bytes(3 << 20, 7));
    testing::write_file(root / "docs with spaces" / "résumé ü 日本.txt", "unicode\n");
    testing::write_file(root / "-leading-dash", "dash\n");
    testing::write_file(root / "empty-file", "");
    ::chmod((root / "-leading-dash").c_str(), 0600);
    ::chmod((root / "docs with spaces").c_str(), 0750);
    time_t t = 1600000000;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      if (!entry.is_directory()) set_mtime(entry.path(), t++, 123456789);
    }
    // Directories last: setting a file's times does not touch its directory's mtime.
    std::vector<fs::path> dirs;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      if (entry.is_directory()) dirs.push_back(entry.path());
    }
    dirs.push_back(root);
    for (const auto& d : dirs) set_mtime(d, t++, 5);
    return root;
  }

  TempDir tmp_;
};

TEST_F(Tree, ArrivesIdenticalWithModesAndMtimes) {
  TestServer server(config());
  const fs::path root = make_tree(1000);
  const auto report = send(server.port(), {root.string()});
  EXPECT_FALSE(report.connection_failed) << report.connection_error;
  size_t files = 0;
  size_t dirs = 0;
  for (const auto& f : report.files) {
    EXPECT_EQ(f.status, FileStatus::Saved) << f.path << ": " << f.error;
    (f.directory ? dirs : files)++;
  }
  EXPECT_EQ(files, 1000u + 4u);
  EXPECT_EQ(dirs, 7u);  // project, a, a/b, a/b/c, empty, empty/nested empty, docs with spaces
  EXPECT_EQ(describe_tree(root), describe_tree(tmp_ / "inbox" / "project"));
  // Every file is logged once, verified.
  size_t ok = 0;
  for (const auto& e : server.file_events()) ok += e["status"] == "ok" ? 1 : 0;
  EXPECT_EQ(ok, 1004u);
}

TEST_F(Tree, SpecialBitsAreNeverApplied) {
  TestServer server(config());
  const fs::path dir = tmp_ / "src" / "bits";
  fs::create_directories(dir / "sticky");
  testing::write_file(dir / "tool", "#!/bin/sh\n");
  ASSERT_EQ(::chmod((dir / "tool").c_str(), 04755), 0);
  ASSERT_EQ(::chmod((dir / "sticky").c_str(), 01777), 0);
  const auto report = send(server.port(), {dir.string(), (dir / "tool").string()});
  for (const auto& f : report.files) EXPECT_EQ(f.status, FileStatus::Saved) << f.path << ": " << f.error;
  struct stat st {};
  ASSERT_EQ(::stat((tmp_ / "inbox" / "bits" / "tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((tmp_ / "inbox" / "tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((tmp_ / "inbox" / "bits" / "sticky").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07000, 0u);
}

TEST_F(Tree, SymlinksAreSkippedWithAWarningOrFollowed) {
  TestServer server(config());
  const fs::path dir = tmp_ / "src" / "links";
  fs::create_directories(dir / "sub");
  testing::write_file(tmp_ / "outside.txt", "outside\n");
  testing::write_file(dir / "sub" / "inside.txt", "inside\n");
  fs::create_symlink(tmp_ / "outside.txt", dir / "to-file");
  fs::create_symlink(dir / "sub", dir / "to-dir");
  fs::create_symlink(dir, dir / "sub" / "loop");
  fs::create_symlink(tmp_ / "nowhere", dir / "broken");

  Collected seen;
  auto report = send(server.port(), {dir.string()}, false, &seen);
  for (const auto& f : report.files) EXPECT_EQ(f.status, FileStatus::Saved) << f.path << ": " << f.error;
  EXPECT_EQ(seen.warnings.size(), 4u);
  EXPECT_FALSE(fs::exists(tmp_ / "inbox" / "links" / "to-file"));
  EXPECT_FALSE(fs::exists(tmp_ / "inbox" / "links" / "to-dir"));
  EXPECT_EQ(testing::read_file(tmp_ / "inbox" / "links" / "sub" / "inside.txt"), "inside\n");

  fs::remove_all(tmp_ / "inbox" / "links");
  Collected followed;
  report = send(server.port(), {dir.string()}, true, &followed);
  for (const auto& f : report.files) EXPECT_EQ(f.status, FileStatus::Saved) << f.path << ": " << f.error;
  EXPECT_EQ(testing::read_file(tmp_ / "inbox" / "links" / "to-file"), "outside\n");
  EXPECT_EQ(testing::read_file(tmp_ / "inbox" / "links" / "to-dir" / "inside.txt"), "inside\n");
  // The loop back to the top (met through sub and through to-dir) and the broken link are
  // still skipped, with a warning each.
  EXPECT_EQ(followed.warnings.size(), 3u);
  EXPECT_FALSE(fs::exists(tmp_ / "inbox" / "links" / "sub" / "loop"));
}

TEST_F(Tree, ARefusedNameFailsThatFileOnly) {
  server::ServerConfig c = config();
  c.max_size = 1000;
  TestServer server(c);
  const fs::path dir = tmp_ / "src" / "mixed";
  fs::create_directories(dir);
  for (int i = 0; i < 50; ++i) testing::write_file(dir / ("f" + std::to_string(i)), std::string(10, 'x'));
  testing::write_file(dir / "back\\slash", "refused: a backslash\n");
  testing::write_file(dir / "too-big", std::string(5000, 'y'));
  testing::write_file(dir / "zz-last", "still sent\n");
  const auto report = send(server.port(), {dir.string()});
  EXPECT_FALSE(report.connection_failed) << report.connection_error;
  std::map<std::string, client::FileOutcome> by_name;
  for (const auto& f : report.files) by_name[f.name] = f;
  EXPECT_EQ(by_name.at("mixed/back\\slash").code, proto::ErrorCode::NameRefused);
  EXPECT_EQ(by_name.at("mixed/too-big").code, proto::ErrorCode::TooLarge);
  EXPECT_EQ(by_name.at("mixed/zz-last").status, FileStatus::Saved);
  size_t saved = 0;
  for (const auto& f : report.files) saved += f.status == FileStatus::Saved ? 1 : 0;
  EXPECT_EQ(saved, 52u);  // 50 + zz-last + the directory
  EXPECT_EQ(testing::read_file(tmp_ / "inbox" / "mixed" / "zz-last"), "still sent\n");
  EXPECT_EQ(testing::partial_count(tmp_ / "inbox"), 0u);
}

TEST_F(Tree, AFileWhereTheTreeNeedsADirectoryFailsThatSubtreeOnly) {
  TestServer server(config());
  testing::write_file(tmp_ / "inbox" / "t" / "sub", "a file in the way\n");
  const fs::path dir = tmp_ / "src" / "t";
  fs::create_directories(dir / "sub");
  testing::write_file(dir / "sub" / "x", "x\n");
  testing::write_file(dir / "y", "y\n");
  const auto report = send(server.port(), {dir.string()});
  std::map<std::string, client::FileOutcome> by_name;
  for (const auto& f : report.files) by_name[f.name] = f;
  EXPECT_EQ(by_name.at("t/sub/x").code, proto::ErrorCode::NameRefused);
  EXPECT_EQ(by_name.at("t/sub").code, proto::ErrorCode::NameRefused);
  EXPECT_EQ(by_name.at("t/y").status, FileStatus::Saved);
  EXPECT_EQ(testing::read_file(tmp_ / "inbox" / "t" / "sub"), "a file in the way\n");
}

// An ERROR quoting a path longer than a reader takes for a message ("'<path>' already
// exists on the server") is sent cut, not as a frame the sender must drop the connection
// over: the file fails, the rest of the tree still arrives.
TEST_F(Tree, AnErrorQuotingALongPathFailsThatFileOnly) {
  server::ServerConfig c = config();
  c.overwrite = server::OverwritePolicy::Refuse;
  TestServer server(c);
  fs::path deep = "long";
  for (char letter : std::string("abcde")) deep /= std::string(240, letter);  // > 1 KiB
  const fs::path src = tmp_ / "src";
  fs::create_directories(src / deep);
  // Large enough to wait for READY: its refusal is an ERROR of its own, not an eager answer.
  testing::write_file(src / deep / "big.bin", testing::random_bytes(1 << 20, 3));
  testing::write_file(src / deep / "small.txt", "small\n");
  testing::write_file(src / "long" / "zz-last", "still sent\n");
  fs::create_directories(tmp_ / "inbox" / deep);
  testing::write_file(tmp_ / "inbox" / deep / "big.bin", "already here\n");
  testing::write_file(tmp_ / "inbox" / deep / "small.txt", "already here too\n");

  const auto report = send(server.port(), {(src / "long").string()});
  EXPECT_FALSE(report.connection_failed) << report.connection_error;
  std::map<std::string, client::FileOutcome> by_name;
  for (const auto& f : report.files) by_name[f.name] = f;
  for (const char* leaf : {"big.bin", "small.txt"}) {
    const auto& refused = by_name.at((deep / leaf).string());
    EXPECT_EQ(refused.code, proto::ErrorCode::Exists) << leaf << ": " << refused.error;
    EXPECT_TRUE(refused.error.ends_with("...")) << refused.error;
  }
  EXPECT_EQ(by_name.at("long/zz-last").status, FileStatus::Saved);
  EXPECT_EQ(testing::read_file(tmp_ / "inbox" / deep / "big.bin"), "already here\n");
  EXPECT_EQ(testing::read_file(tmp_ / "inbox" / "long" / "zz-last"), "still sent\n");
  // The log keeps the whole message.
  size_t logged_whole = 0;
  for (const auto& e : server.file_events()) {
    if (e["status"] != "error") continue;
    const auto message = e["error"]["message"].get<std::string>();
    logged_whole +=
        message.ends_with("already exists on the server") && message.size() > proto::kMaxErrorMessage;
  }
  EXPECT_EQ(logged_whole, 2u);
  EXPECT_EQ(testing::partial_count(tmp_ / "inbox"), 0u);
}

TEST_F(Tree, ThousandsOfSmallFilesOverOneConnection) {
  TestServer server(config());
  const fs::path dir = tmp_ / "src" / "many";
  fs::create_directories(dir);
  for (int i = 0; i < 3000; ++i)
    testing::write_file(dir / ("f" + std::to_string(i)), testing::random_bytes(4096, i));
  const auto report = send(server.port(), {dir.string()});
  size_t saved = 0;
  for (const auto& f : report.files) saved += f.status == FileStatus::Saved ? 1 : 0;
  EXPECT_EQ(saved, 3001u);
  EXPECT_EQ(describe_tree(dir), describe_tree(tmp_ / "inbox" / "many"));
  size_t connects = 0;
  for (const auto& e : server.log_events()) connects += e["event"] == "connect" ? 1 : 0;
  EXPECT_EQ(connects, 1u);
}

// A sender that writes many eager files and leaves without reading an answer: a batch may
// be committed while the next one arrives, so some files may be saved, but each one is
// saved whole or not at all, logged as such, no partial stays in either directory, and
// the server goes on serving.
TEST_F(Tree, EagerFilesOfASenderThatLeavesAreEachSavedWholeOrNotAtAll) {
  TestServer server(config());
  constexpr int kFiles = 600;
  std::map<std::string, std::string> sent;
  {
    testing::RawClient leaver(server.port());
    leaver.handshake("leaver");
    std::vector<uint8_t> wire;
    for (int i = 0; i < kFiles; ++i) {
      const std::string name = "e" + std::to_string(i);
      const std::string data = testing::random_bytes(100 + i, i);
      sent[name] = data;
      const std::span bytes(reinterpret_cast<const uint8_t*>(data.data()), data.size());
      proto::encode_frame(proto::FileBegin{name, data.size(), 0644, 0, proto::kFlagEager, ""}, wire);
      wire.insert(wire.end(), bytes.begin(), bytes.end());
      digest::Hasher hasher(DigestAlgo::Xxh128);
      hasher.update(bytes);
      proto::encode_frame(proto::FileEnd{DigestAlgo::Xxh128, hasher.finish()}, wire);
    }
    leaver.send_raw(std::string(wire.begin(), wire.end()));
  }  // closed, every answer unread
  ASSERT_TRUE(server.wait_disconnects(1));
  std::map<std::string, std::string> logged;
  for (const auto& e : server.file_events())
    logged[e["name"].get<std::string>()] = e["status"].get<std::string>();
  size_t saved = 0;
  for (const auto& name : testing::visible_files(tmp_ / "inbox")) {
    ASSERT_TRUE(sent.contains(name)) << name;
    EXPECT_EQ(testing::read_file(tmp_ / "inbox" / name), sent[name]) << name << " is not whole";
    EXPECT_EQ(logged[name], "ok") << name << " is visible but not logged as saved";
    ++saved;
  }
  size_t ok = 0;
  for (const auto& [name, status] : logged) ok += status == "ok" ? 1 : 0;
  EXPECT_EQ(ok, saved) << "a file logged as saved is not there";
  EXPECT_EQ(testing::partial_count(tmp_ / "inbox"), 0u);
  // The server still serves.
  testing::write_file(tmp_ / "src" / "after.txt", "after");
  const auto report = send(server.port(), {(tmp_ / "src" / "after.txt").string()});
  ASSERT_EQ(report.files.size(), 1u);
  EXPECT_EQ(report.files[0].status, FileStatus::Saved);
}

TEST_F(Tree, FiftyMebibytesThroughStandardInput) {
  TempDir logs;
  testing::Process server({testing::ftx_binary(), "serve", "--host", "127.0.0.1", "--port", "0", "--dir",
                           (tmp_ / "inbox").string()},
                          logs.path(), "server");
  const auto port = server.wait_for_err(R"(on 127\.0\.0\.1:(\d+))");
  ASSERT_TRUE(port.has_value()) << server.err();
  const fs::path source = tmp_ / "stream.bin";
  testing::write_file(source, testing::random_bytes(50 << 20, 42));
  testing::Process sender(
      {testing::ftx_binary(), "send", "127.0.0.1:" + *port, "-", "--as", "from-stdin.tar", "--json"},
      logs.path(), "sender", source.string());
  EXPECT_EQ(sender.wait(testing::scaled(std::chrono::seconds(60))), 0) << sender.err();
  const auto json = nlohmann::json::parse(sender.out());
  EXPECT_EQ(json["status"], "ok");
  EXPECT_EQ(json["bytes"], 50u << 20);
  EXPECT_EQ(json["digest"], testing::independent_digest(source, "xxh128"));
  EXPECT_EQ(testing::read_file(tmp_ / "inbox" / "from-stdin.tar"), testing::read_file(source));
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(testing::scaled(std::chrono::seconds(15))), 0) << server.err();
}

TEST_F(Tree, StandardInputNeedsAName) {
  TempDir logs;
  testing::Process sender({testing::ftx_binary(), "send", "127.0.0.1:9", "-"}, logs.path(), "sender");
  EXPECT_EQ(sender.wait(testing::scaled(std::chrono::seconds(10))), 2);
  EXPECT_NE(sender.err().find("--as"), std::string::npos) << sender.err();
}

TEST(Plan, PostOrderSortedWithEmptyDirectories) {
  TempDir tmp;
  fs::create_directories(tmp / "top" / "b" / "empty");
  testing::write_file(tmp / "top" / "b" / "z", "z");
  testing::write_file(tmp / "top" / "a", "a");
  const auto plan = client::plan_send({(tmp / "top").string()}, {});
  std::vector<std::string> names;
  for (const auto& item : plan.items) names.push_back(item.name);
  EXPECT_EQ(names, (std::vector<std::string>{"top/a", "top/b/empty", "top/b/z", "top/b", "top"}));
  EXPECT_TRUE(plan.warnings.empty());
}

TEST(Plan, DotIsNamedAfterTheDirectory) {
  TempDir tmp;
  fs::create_directories(tmp / "named");
  testing::write_file(tmp / "named" / "f", "f");
  const fs::path old = fs::current_path();
  fs::current_path(tmp / "named");
  const auto plan = client::plan_send({"."}, {});
  fs::current_path(old);
  ASSERT_EQ(plan.items.size(), 2u);
  EXPECT_EQ(plan.items[0].name, "named/f");
  EXPECT_EQ(plan.items[1].name, "named");
}

}  // namespace
}  // namespace ftx
