// SPDX-License-Identifier: MIT
// Log events: fields, formatting, and one whole line per write under concurrency.
#include "server/transfer_log.h"

#include <fcntl.h>

#include <thread>

#include <gtest/gtest.h>

#include "temp_dir.h"

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

}  // namespace
}  // namespace ftx::server
