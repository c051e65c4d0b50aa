// SPDX-License-Identifier: MIT
// Log events: fields, formatting, and one whole line per write under concurrency.
#include "server/transfer_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "temp_dir.h"
#include "test_env.h"
#include "tmpfs.h"

namespace ftx::server {
namespace {

FileRecord sample() {
  FileRecord r;
  r.ts = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764241099123));
  r.peer = "127.0.0.1:5000";
  r.client = "alice@host";
  r.name = "a.txt";
  r.path = "a (1).txt";
  r.bytes = 2'000'000;
  r.digest = "xxh128:00112233445566778899aabbccddeeff";
  r.seconds = 0.5;
  return r;
}

TEST(TransferLog, FileEventHasEveryField) {
  const auto j = file_event(sample());
  EXPECT_EQ(j["ts"], "2025-11-27T10:58:19.123Z");
  EXPECT_EQ(j["event"], "file");
  EXPECT_EQ(j["peer"], "127.0.0.1:5000");
  EXPECT_EQ(j["client"], "alice@host");
  EXPECT_EQ(j["name"], "a.txt");
  EXPECT_EQ(j["path"], "a (1).txt");
  EXPECT_EQ(j["bytes"], 2000000);
  EXPECT_EQ(j["digest"], "xxh128:00112233445566778899aabbccddeeff");
  EXPECT_EQ(j["duration_ms"], 500);
  EXPECT_DOUBLE_EQ(j["mbps"].get<double>(), 4.0);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_FALSE(j.contains("error"));
}

TEST(TransferLog, FailedFileHasErrorObject) {
  FileRecord r = sample();
  r.error = proto::ErrorCode::Integrity;
  r.error_message = "digest mismatch";
  const auto j = file_event(r);
  EXPECT_EQ(j["status"], "error");
  EXPECT_EQ(j["error"]["code"], "integrity");
  EXPECT_EQ(j["error"]["message"], "digest mismatch");
}

// Content the server already had: status unchanged; bytes that never crossed have no rate.
TEST(TransferLog, UnchangedFileHasItsStatus) {
  FileRecord r = sample();
  r.unchanged = true;
  auto j = file_event(r);
  EXPECT_EQ(j["status"], "unchanged");
  EXPECT_FALSE(j.contains("error"));
  EXPECT_DOUBLE_EQ(j["mbps"].get<double>(), 4.0);  // the bytes crossed (an eager file)
  r.not_sent = r.bytes;
  j = file_event(r);
  EXPECT_DOUBLE_EQ(j["mbps"].get<double>(), 0.0);
  EXPECT_EQ(j["bytes"], 2000000);
}

TEST(TransferLog, LineIsOneCompactObjectStartingWithTs) {
  const std::string line = format_log_line(file_event(sample()));
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(line.rfind("{\"ts\":", 0), 0u);
  EXPECT_TRUE(nlohmann::json::accept(line));
}

TEST(TransferLog, InvalidUtf8FromPeersDoesNotThrow) {
  FileRecord r = sample();
  r.name = "bad\xff\xfe";
  r.client = "\xc0";
  std::string line;
  EXPECT_NO_THROW(line = format_log_line(file_event(r)));
  EXPECT_TRUE(nlohmann::json::accept(line));
}

TEST(TransferLog, ConnectAndDisconnectEvents) {
  const auto t = std::chrono::system_clock::now();
  EXPECT_EQ(connect_event(t, "[::1]:7")["event"], "connect");
  const auto d = disconnect_event(t, "[::1]:7", "bob", 3, 99, 1.25, proto::ErrorCode::Timeout, "idle");
  EXPECT_EQ(d["event"], "disconnect");
  EXPECT_EQ(d["files"], 3);
  EXPECT_EQ(d["bytes"], 99);
  EXPECT_EQ(d["duration_ms"], 1250);
  EXPECT_EQ(d["error"]["code"], "timeout");
}

TEST(TransferLog, RefusedAndChatEvents) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764241099123));
  EXPECT_EQ(format_log_line(refused_event(t, "10.0.0.9:4", "denied by --deny 10.0.0.0/8")),
            "{\"ts\":\"2025-11-27T10:58:19.123Z\",\"event\":\"refused\",\"peer\":\"10.0.0.9:4\","
            "\"reason\":\"denied by --deny 10.0.0.0/8\"}\n");
  EXPECT_EQ(format_log_line(chat_join_event(t, "[::1]:7", "bob")),
            "{\"ts\":\"2025-11-27T10:58:19.123Z\",\"event\":\"chat_join\",\"peer\":\"[::1]:7\",\"client\":"
            "\"bob\"}\n");
  const auto left = chat_leave_event(t, "[::1]:7", "bob", "");
  EXPECT_EQ(left["event"], "chat_leave");
  EXPECT_FALSE(left.contains("reason"));  // left by itself
  EXPECT_EQ(chat_leave_event(t, "[::1]:7", "bob", "not reading")["reason"], "not reading");
  const auto said = chat_event(t, "bob", "hi <all>");
  EXPECT_EQ(said["event"], "chat");
  EXPECT_EQ(said["client"], "bob");
  EXPECT_EQ(said["text"], "hi <all>");
}

TEST(TransferLog, ConcurrentWritersNeverInterleave) {
  testing::TempDir dir;
  const auto path = (dir / "log.jsonl").string();
  {
    TransferLog log = TransferLog::open(path);
    std::vector<std::jthread> writers;
    for (int t = 0; t < 8; ++t) {
      writers.emplace_back([&log, t] {
        FileRecord r = sample();
        r.name = std::string(3000, static_cast<char>('a' + t));
        for (int i = 0; i < 200; ++i) ASSERT_TRUE(log.write(file_event(r)));
      });
    }
  }
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);  // throws on an interleaved line
    const std::string name = j["name"];
    EXPECT_EQ(name.find_first_not_of(name[0]), std::string::npos);
    ++lines;
  }
  EXPECT_EQ(lines, 8 * 200);
}

// A log on a 512 KiB tmpfs that something else fills up (root only: mount).
class FullDiskLog : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs (run as root to test a full disk)";
    mount_ = std::make_unique<testing::TmpfsMount>(tmp_ / "disk", "size=512k");
    if (!mount_->mounted()) {
      if (testing::must_not_skip()) FAIL() << "cannot mount a tmpfs as root in CI: " << mount_->error();
      GTEST_SKIP() << "cannot mount a tmpfs here: " << mount_->error();
    }
  }
  void TearDown() override { mount_.reset(); }

  std::filesystem::path disk() const { return tmp_ / "disk"; }

  // Takes every free byte of the disk.
  void fill() {
    const int fd = ::open((disk() / "filler").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    const std::string block(4096, 'f');
    for (size_t size = block.size(); size > 0; size /= 2) {
      while (::write(fd, block.data(), size) > 0) {
      }
    }
    ::close(fd);
  }
  void free_space() { std::filesystem::remove(disk() / "filler"); }

  static nlohmann::ordered_json event(int seq) {
    auto e = connect_event(std::chrono::system_clock::now(), "127.0.0.1:1");
    e["seq"] = seq;
    e["pad"] = std::string(200, 'p');
    return e;
  }

  // The seq of every line; a line that is not one whole JSON object fails the test.
  std::vector<int> lines() const {
    std::vector<int> out;
    std::ifstream in(disk() / "log.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      try {
        out.push_back(nlohmann::json::parse(line)["seq"].get<int>());
      } catch (const std::exception& e) {
        ADD_FAILURE() << "line " << out.size() + 1 << " is not whole: " << line.substr(0, 80) << "...";
        out.push_back(-1);
      }
    }
    return out;
  }

  static bool said(const std::vector<std::string>& warnings, const std::string& text) {
    return std::any_of(warnings.begin(), warnings.end(),
                       [&](const std::string& w) { return w.find(text) != std::string::npos; });
  }

  testing::TempDir tmp_;
  std::unique_ptr<testing::TmpfsMount> mount_;
};

// Was a bug, fixed with this test: on a full disk a line was cut off mid-object and the next
// event appended to it, and events that did not fit were lost without a word. Now a line is
// whole or absent, the failure is reported, and the events wait in memory until the disk
// takes them again, then go in order.
TEST_F(FullDiskLog, LinesAreWholeOrAbsentAndKeptUntilSpaceReturns) {
  std::vector<std::string> warnings;
  constexpr int kEvents = 1000;
  {
    TransferLog log = TransferLog::open((disk() / "log.jsonl").string());
    log.on_warning([&](const std::string& w) { warnings.push_back(w); });
    fill();
    int kept = 0;
    for (int i = 0; i < kEvents; ++i) kept += log.write(event(i)) ? 0 : 1;
    EXPECT_GT(kept, 0) << "the disk never filled up";
    EXPECT_EQ(log.pending(), static_cast<size_t>(kept));
    const std::vector<int> before = lines();
    EXPECT_EQ(before.size() + static_cast<size_t>(kept), static_cast<size_t>(kEvents));
    for (size_t i = 0; i < before.size(); ++i) ASSERT_EQ(before[i], static_cast<int>(i));
    EXPECT_TRUE(said(warnings, "cannot write the log")) << "no warning";
    free_space();
    log.retry();
    EXPECT_EQ(log.pending(), 0u);
    EXPECT_TRUE(log.write(event(kEvents)));
  }
  const std::vector<int> after = lines();
  ASSERT_EQ(after.size(), static_cast<size_t>(kEvents + 1));
  for (int i = 0; i <= kEvents; ++i) ASSERT_EQ(after[static_cast<size_t>(i)], i);
  EXPECT_TRUE(said(warnings, "takes events again")) << "no word that the log recovered";
}

// What waits in memory is bounded: past TransferLog::kMaxPendingBytes the newest events are
// lost, counted and reported; the kept ones still go in order.
TEST_F(FullDiskLog, WhatWaitsInMemoryIsBounded) {
  std::vector<std::string> warnings;
  const int events = static_cast<int>(2 * TransferLog::kMaxPendingBytes / 300);
  {
    TransferLog log = TransferLog::open((disk() / "log.jsonl").string());
    log.on_warning([&](const std::string& w) { warnings.push_back(w); });
    fill();
    for (int i = 0; i < events; ++i) log.write(event(i));
    EXPECT_LE(log.pending() * format_log_line(event(0)).size(), TransferLog::kMaxPendingBytes);
    EXPECT_TRUE(said(warnings, "further events are lost")) << "no word of the loss";
    free_space();
    log.retry();
  }
  const std::vector<int> got = lines();
  ASSERT_LT(got.size(), static_cast<size_t>(events));
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(got[i], static_cast<int>(i)) << "kept in order, oldest first";
  EXPECT_TRUE(said(warnings, "lost")) << "the recovery does not count the lost";
}

}  // namespace
}  // namespace ftx::server
