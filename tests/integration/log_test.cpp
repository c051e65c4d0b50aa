// SPDX-License-Identifier: MIT
// The transfer log of the real `ftx serve` under stress: rotated (rename, SIGHUP) while
// clients upload, and written on a disk that fills up and frees again.
#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "digest/digest.h"
#include "process.h"
#include "raw_client.h"
#include "serve_process.h"
#include "temp_dir.h"
#include "test_env.h"
#include "tmpfs.h"

namespace ftx {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::Process;
using testing::TempDir;

// Every line of a log file as JSON; a line that is not one whole object fails the test.
std::vector<nlohmann::json> whole_lines(const fs::path& file) {
  std::vector<nlohmann::json> out;
  std::ifstream in(file);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const std::exception&) {
      ADD_FAILURE() << file.filename() << " line " << n << " is not whole: " << line.substr(0, 100);
    }
  }
  return out;
}

using Server = testing::ServeProcess;

std::string digest_of(const std::string& data) {
  digest::Hasher h(proto::DigestAlgo::Xxh128);
  h.update(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  return h.finish();
}

// One connection: HELLO, `files` small uploads named prefix-0, prefix-1..., BYE. Returns the
// names the server said it saved.
std::vector<std::string> upload_some(uint16_t port, const std::string& prefix, int files) {
  std::vector<std::string> saved;
  testing::RawClient c(port);
  c.handshake("rotator");
  for (int i = 0; i < files; ++i) {
    const std::string name = prefix + "-" + std::to_string(i);
    const std::string data = "content of " + name;
    c.send(proto::FileBegin{name, data.size(), 0644, 0, 0, ""});
    if (!std::holds_alternative<proto::Ready>(c.receive())) continue;
    c.send_raw(data);
    c.send(proto::FileEnd{proto::DigestAlgo::Xxh128, digest_of(data)});
    const proto::Frame verdict = c.receive();
    if (auto* s = std::get_if<proto::Saved>(&verdict)) saved.push_back(s->name);
  }
  c.send(proto::Bye{});
  c.receive();
  return saved;
}

// Was missing (issue 17): log rotation. logrotate renames the log and sends SIGHUP; the server
// reopens its log by name. Under load, with two rotations, every event is in exactly one of
// the three files, every line whole.
TEST(LogRotation, RenameAndSighupUnderLoadKeepEveryEventOnce) {
  TempDir tmp;
  const fs::path log = tmp / "transfers.jsonl";
  Server server(tmp / "inbox", {"--log", log.string()}, tmp.path());
  ASSERT_NE(server.port(), 0);
  constexpr int kThreads = 4;
  constexpr int kConnections = 30;
  constexpr int kFiles = 5;
  std::atomic<int> connections_done{0};
  std::vector<std::vector<std::string>> saved(kThreads);
  std::vector<std::jthread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int k = 0; k < kConnections; ++k) {
        try {
          for (auto& name :
               upload_some(server.port(), "t" + std::to_string(t) + "-c" + std::to_string(k), kFiles)) {
            saved[t].push_back(name);
          }
        } catch (const std::exception& e) {
          ADD_FAILURE() << "client " << t << ": " << e.what();
        }
        ++connections_done;
      }
    });
  }
  // Rotate twice while the clients are busy: once a third of them are done, again at two thirds.
  const int total = kThreads * kConnections;
  for (int rotation = 1; rotation <= 2; ++rotation) {
    const auto deadline = Clock::now() + testing::scaled(60s);
    while (connections_done < total * rotation / 3 && Clock::now() < deadline)
      std::this_thread::sleep_for(5ms);
    fs::rename(log, tmp / ("transfers.jsonl." + std::to_string(rotation)));
    server.process().signal(SIGHUP);
    ASSERT_TRUE(server.process().wait_for_err("log reopened", testing::scaled(10s)).has_value())
        << server.process().err();
  }
  clients.clear();  // joins
  EXPECT_EQ(connections_done, total);
  ASSERT_EQ(server.stop(), 0) << server.process().err();

  std::map<std::string, int> ok_files;
  int connects = 0, disconnects = 0;
  std::vector<size_t> sizes;
  for (const fs::path& file : {tmp / "transfers.jsonl.1", tmp / "transfers.jsonl.2", log}) {
    const auto events = whole_lines(file);
    sizes.push_back(events.size());
    for (const auto& e : events) {
      if (e["event"] == "file" && e["status"] == "ok") ++ok_files[e["path"].get<std::string>()];
      connects += e["event"] == "connect" ? 1 : 0;
      disconnects += e["event"] == "disconnect" ? 1 : 0;
    }
  }
  EXPECT_GT(sizes[0], 0u);
  EXPECT_GT(sizes[1], 0u) << "nothing went to the file between the rotations";
  EXPECT_GT(sizes[2], 0u) << "nothing went to the newest file";
  EXPECT_EQ(connects, total);
  EXPECT_EQ(disconnects, total);
  size_t uploads = 0;
  for (const auto& names : saved) {
    uploads += names.size();
    for (const auto& name : names) EXPECT_EQ(ok_files[name], 1) << name;
  }
  EXPECT_EQ(uploads, static_cast<size_t>(total * kFiles));
  EXPECT_EQ(ok_files.size(), uploads);
}

// Was a bug, fixed with this test: with DIR on a small disk that fills up, a log line was
// cut off mid-object with the next event appended to it, events of saved files were missing,
// and the console said nothing. Now every line is whole, the console warns, and the events
// wait in memory until space returns: then every file has exactly one event, every saved
// one its `ok`.
TEST(LogOnAFullDisk, EveryLineWholeAndEverySavedFileLogged) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs (run as root to test a full disk)";
  TempDir tmp;
  testing::TmpfsMount disk(tmp / "disk", "size=4m");
  if (!disk.mounted()) {
    if (testing::must_not_skip()) FAIL() << "cannot mount a tmpfs as root in CI: " << disk.error();
    GTEST_SKIP() << "cannot mount a tmpfs here: " << disk.error();
  }
  const fs::path inbox = tmp / "disk" / "inbox";
  Server server(inbox, {}, tmp.path());
  ASSERT_NE(server.port(), 0);
  // Leave 512 KiB: room for about 60 of the 400 files, and not for the log lines of the rest.
  struct statvfs vfs {};
  ASSERT_EQ(::statvfs((tmp / "disk").c_str(), &vfs), 0);
  const uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  ASSERT_GT(free_bytes, 1u << 20);
  testing::write_file(tmp / "disk" / "filler", std::string(free_bytes - (512u << 10), 'f'));
  constexpr int kFiles = 400;
  for (int i = 0; i < kFiles; ++i) {
    testing::write_file(tmp / "tree" / ("f" + std::to_string(i)), testing::random_bytes(8192, i));
  }
  Process send({testing::ftx_binary(), "send", server.address(), (tmp / "tree").string(), "--retries", "0",
                "--no-progress"},
               tmp.path(), "send");
  EXPECT_EQ(send.wait(testing::scaled(60s)), 1) << "some files should not fit: " << send.err();
  const fs::path log = inbox / ".ftx" / "transfers.jsonl";
  whole_lines(log);  // whole already, before the space returns
  EXPECT_TRUE(server.process().wait_for_err("cannot write the log", testing::scaled(5s)).has_value())
      << "no warning on the console:\n"
      << server.process().err();

  std::set<std::string> visible;
  for (const auto& entry : fs::directory_iterator(inbox / "tree"))
    visible.insert("tree/" + entry.path().filename().string());
  EXPECT_GT(visible.size(), 0u);
  EXPECT_LT(visible.size(), static_cast<size_t>(kFiles));
  fs::remove(tmp / "disk" / "filler");
  // The kept events go out at the server's next turn.
  std::vector<nlohmann::json> file_events;
  const auto deadline = Clock::now() + testing::scaled(10s);
  do {
    std::this_thread::sleep_for(50ms);
    file_events.clear();
    for (auto& e : whole_lines(log)) {
      if (e["event"] == "file" && e["name"] != "tree") file_events.push_back(e);
    }
  } while (file_events.size() < kFiles && Clock::now() < deadline);
  EXPECT_EQ(file_events.size(), static_cast<size_t>(kFiles)) << "every file has exactly one event";
  std::map<std::string, int> ok;
  for (const auto& e : file_events) {
    if (e["status"] == "ok") ++ok[e["path"].get<std::string>()];
  }
  EXPECT_EQ(ok.size(), visible.size());
  for (const auto& path : visible) EXPECT_EQ(ok[path], 1) << path << " was saved; its event is missing";
  EXPECT_TRUE(server.process().wait_for_err("takes events again", testing::scaled(5s)).has_value())
      << server.process().err();
  EXPECT_EQ(server.stop(), 0) << server.process().err();
}

}  // namespace
}  // namespace ftx
