// SPDX-License-Identifier: MIT
// Resumable uploads through the real binary: a sender or a server killed with SIGKILL in
// the middle of a large file, a source that changed between attempts, two clients sending
// one name at once, and `ftx send --retries` reconnecting to a restarted server by itself.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net/socket.h"
#include "peers.h"
#include "process.h"
#include "raw_client.h"
#include "temp_dir.h"
#include "test_env.h"
#include "test_server.h"
#include "tmpfs.h"
#include "wire/channel.h"

namespace ftx {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::Process;
using testing::TempDir;

constexpr uint64_t kMiB = 1024 * 1024;

// Pseudo-random bytes written a piece at a time, so a 200 MiB source never sits in memory.
void write_random_file(const fs::path& path, uint64_t size, uint64_t seed) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> piece(kMiB / sizeof(uint64_t));
  for (uint64_t left = size; left > 0;) {
    for (uint64_t& word : piece) word = rng();
    const uint64_t n = std::min<uint64_t>(left, kMiB);
    out.write(reinterpret_cast<const char*>(piece.data()), static_cast<std::streamsize>(n));
    left -= n;
  }
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// Byte-for-byte comparison (like cmp), naming the first difference when there is one.
::testing::AssertionResult same_bytes(const fs::path& a, const fs::path& b) {
  std::error_code ec_a, ec_b;
  const uint64_t size_a = fs::file_size(a, ec_a), size_b = fs::file_size(b, ec_b);
  if (ec_a || ec_b) return ::testing::AssertionFailure() << "cannot stat " << (ec_a ? a : b);
  if (size_a != size_b) {
    return ::testing::AssertionFailure() << a << " has " << size_a << " bytes, " << b << " has " << size_b;
  }
  std::ifstream in_a(a, std::ios::binary), in_b(b, std::ios::binary);
  std::vector<char> buf_a(kMiB), buf_b(kMiB);
  for (uint64_t at = 0; at < size_a;) {
    const auto n = static_cast<std::streamsize>(std::min<uint64_t>(size_a - at, kMiB));
    if (!in_a.read(buf_a.data(), n) || !in_b.read(buf_b.data(), n)) {
      return ::testing::AssertionFailure() << "cannot read " << a << " or " << b;
    }
    if (std::memcmp(buf_a.data(), buf_b.data(), static_cast<size_t>(n)) != 0) {
      const auto diff = std::mismatch(buf_a.begin(), buf_a.begin() + n, buf_b.begin());
      return ::testing::AssertionFailure()
             << a << " and " << b << " differ at byte " << at + (diff.first - buf_a.begin());
    }
    at += static_cast<uint64_t>(n);
  }
  return ::testing::AssertionSuccess();
}

class Resume : public ::testing::Test {
 protected:
  fs::path inbox() const { return tmp_ / "inbox"; }
  fs::path source(const std::string& name) const { return tmp_ / "src" / name; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

  // Starts `ftx serve` on the inbox; port 0 takes any free one. Returns the port it listens
  // on, 0 when it did not start.
  uint16_t start_server(uint16_t port = 0) {
    server_ = std::make_unique<Process>(
        std::vector<std::string>{testing::ftx_binary(), "serve", "--host", "127.0.0.1", "--port",
                                 std::to_string(port), "--dir", inbox().string()},
        tmp_.path(), "server" + std::to_string(++servers_));
    const auto listening = server_->wait_for_err(R"(on 127\.0\.0\.1:(\d+))");
    EXPECT_TRUE(listening.has_value()) << server_->err();
    port_ = listening ? static_cast<uint16_t>(std::stoi(*listening)) : 0;
    return port_;
  }

  void kill_server() {
    server_->signal(SIGKILL);
    ASSERT_EQ(server_->wait(testing::scaled(10s)), -SIGKILL);
  }

  // `ftx send --json` of one file to the current server, as client `name`.
  std::unique_ptr<Process> start_sender(const fs::path& file, const std::string& name = "tester",
                                        std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {testing::ftx_binary(), "send",   target(), file.string(), "--json",
                                     "--no-progress",       "--name", name};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<Process>(args, tmp_.path(), "send" + std::to_string(++senders_));
  }

  // Sends file to completion; returns the sender's JSON report of it.
  json send_to_completion(const fs::path& file, const std::string& name = "tester") {
    auto sender = start_sender(file, name);
    EXPECT_EQ(sender->wait(testing::scaled(60s)), 0) << sender->err();
    return sender_report(*sender);
  }

  // The single file object a `--json` sender printed.
  static json sender_report(const Process& sender) {
    const std::string out = sender.out();
    const auto parsed = json::parse(out, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(parsed.is_object()) << "stdout: " << out << "\nstderr: " << sender.err();
    return parsed.is_object() ? parsed : json::object();
  }

  // Size of the resumable partial in the hidden area (r-<id>, not its r-<id>.meta record),
  // or nullopt when there is none. The area changes under us, so errors mean "not there".
  std::optional<uint64_t> partial_size() const {
    std::error_code ec;
    for (fs::directory_iterator it(inbox() / ".ftx" / "partial", ec), end; !ec && it != end;
         it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!name.starts_with("r-") || name.ends_with(".meta")) continue;
      std::error_code size_ec;
      const uint64_t size = fs::file_size(it->path(), size_ec);
      if (!size_ec) return size;
    }
    return std::nullopt;
  }

  // Polls the partial every millisecond until it holds at least `bytes`. False when the
  // sender exited first or a minute passed.
  bool wait_for_partial(uint64_t bytes, Process& sender) {
    const auto deadline = std::chrono::steady_clock::now() + testing::scaled(60s);
    while (std::chrono::steady_clock::now() < deadline) {
      if (partial_size().value_or(0) >= bytes) return true;
      if (sender.wait(0ms)) return false;
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }

  // SIGKILLs the sender once the server has written `bytes` of the file, then waits for
  // the server to log the broken attempt. The server is paused around the kill: a sender
  // cannot finish without the server's SAVED, so it dies mid-file however fast the
  // loopback is (as long as the rest of the file is more than the socket buffers hold).
  // Resumed, the server reads what the sender had queued and sees the connection close.
  void kill_sender_at(Process& sender, uint64_t bytes) {
    const size_t logged_before = file_events().size();
    ASSERT_TRUE(wait_for_partial(bytes, sender))
        << "the sender ended before the server had " << bytes << " bytes\n"
        << sender.err();
    server_->signal(SIGSTOP);
    sender.signal(SIGKILL);
    const auto status = sender.wait(testing::scaled(10s));
    server_->signal(SIGCONT);
    ASSERT_EQ(status, -SIGKILL);
    const auto events = wait_for_file_events(logged_before + 1);
    ASSERT_EQ(events.size(), logged_before + 1);
    ASSERT_EQ(events.back()["status"], "error") << "not an interrupted file: " << events.back().dump();
  }

  // What interrupted_upload leaves for the test to go on from.
  struct InterruptedUpload {
    fs::path file;         // the source, whole and unchanged
    uint64_t size = 0;     // its length
    uint64_t arrived = 0;  // the server had at least this much of it when the sender died
  };

  // A random source of `size` bytes, the server, and a sender SIGKILLed (see
  // kill_sender_at) once `percent` of the file has reached the server. A failed ASSERT in
  // here ends only this function: callers check HasFatalFailure() before going on.
  InterruptedUpload interrupted_upload(const std::string& name, uint64_t size, uint64_t seed,
                                       uint64_t percent) {
    InterruptedUpload upload{source(name), size, size * percent / 100};
    write_random_file(upload.file, size, seed);
    // ASSERT_* needs a function returning void; this lambda is that function.
    [&] {
      ASSERT_NE(start_server(), 0);
      auto sender = start_sender(upload.file);
      kill_sender_at(*sender, upload.arrived);
    }();
    return upload;
  }

  // Every "file" event in the transfer log so far, in order.
  std::vector<json> file_events() const {
    std::vector<json> events;
    std::ifstream in(inbox() / ".ftx" / "transfers.jsonl");
    for (std::string line; std::getline(in, line);) {
      const auto event = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (event.is_object() && event.value("event", "") == "file") events.push_back(event);
    }
    return events;
  }

  // Waits (bounded) until the log holds `count` file events; returns them.
  std::vector<json> wait_for_file_events(size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + testing::scaled(20s);
    auto events = file_events();
    while (events.size() < count && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
      events = file_events();
    }
    EXPECT_GE(events.size(), count) << "the server did not log " << count << " files";
    return events;
  }

  // The log and the sender agree that the file was resumed from the partial the server
  // kept (`kept` bytes), so only the rest crossed the wire, and the saved copy is exact.
  void expect_resumed_copy(const json& report, const fs::path& file, uint64_t kept) {
    const uint64_t size = fs::file_size(file);
    const auto events = file_events();
    ASSERT_FALSE(events.empty());
    const json& last = events.back();
    EXPECT_EQ(last["status"], "ok") << last.dump();
    EXPECT_EQ(last["bytes"].get<uint64_t>(), size) << last.dump();
    const uint64_t resumed_from = last["resumed_from"].get<uint64_t>();
    EXPECT_GT(resumed_from, 0u) << last.dump();
    EXPECT_EQ(resumed_from, kept) << "READY's offset is not the length of the kept partial";
    EXPECT_LT(last["bytes"].get<uint64_t>() - resumed_from, size) << "the whole file was sent again";
    EXPECT_EQ(report.value("status", ""), "ok") << report.dump();
    EXPECT_EQ(report.value("resumed_from", uint64_t{0}), resumed_from) << report.dump();
    EXPECT_TRUE(same_bytes(file, inbox() / last["path"].get<std::string>()));
    EXPECT_EQ(testing::partial_count(inbox()), 0u) << "the partial outlived its commit";
  }

  TempDir tmp_;
  std::unique_ptr<Process> server_;
  uint16_t port_ = 0;
  int servers_ = 0;
  int senders_ = 0;
};

// 1. The sender killed at 25%, 50% and 75% of a 200 MiB file; sent again, it resumes.
class KilledSender : public Resume, public ::testing::WithParamInterface<int> {};

TEST_P(KilledSender, ResendResumesFromTheKeptPartial) {
  const auto upload = interrupted_upload("big.bin", 200 * kMiB, /*seed=*/1, GetParam());
  if (HasFatalFailure()) return;

  // The server keeps the bytes of the broken attempt for the next one.
  const auto kept = partial_size();
  ASSERT_TRUE(kept.has_value()) << "the server dropped the partial";
  ASSERT_GE(*kept, upload.arrived);
  ASSERT_LT(*kept, upload.size);

  const json report = send_to_completion(upload.file);
  expect_resumed_copy(report, upload.file, *kept);
}

INSTANTIATE_TEST_SUITE_P(At, KilledSender, ::testing::Values(25, 50, 75),
                         [](const auto& point) { return std::to_string(point.param) + "Percent"; });

// 2. The server killed mid-file and started again on the same directory (another port):
// the partial it wrote before dying is resumed.
TEST_F(Resume, ServerKilledMidFileResumesAfterRestart) {
  const uint64_t size = 64 * kMiB;
  const fs::path file = source("big.bin");
  write_random_file(file, size, 2);
  ASSERT_NE(start_server(), 0);

  // No retries: this sender just fails; the next `ftx send` resumes.
  auto sender = start_sender(file, "tester", {"--retries", "0"});
  ASSERT_TRUE(wait_for_partial(size / 2, *sender)) << sender->err();
  kill_server();
  if (HasFatalFailure()) return;
  EXPECT_EQ(sender->wait(testing::scaled(30s)), 3) << sender->err();
  const auto kept = partial_size();
  ASSERT_TRUE(kept.has_value()) << "the restarted server has nothing to resume";

  ASSERT_NE(start_server(), 0);
  const json report = send_to_completion(file);
  expect_resumed_copy(report, file, *kept);
}

// 3. A source rewritten between two attempts (new bytes, new mtime) is sent from 0: the
// kept prefix belongs to the old content.
class ChangedSource : public Resume {
 protected:
  void expect_starts_over(uint64_t new_size) {
    // A quarter in: the rest (48 MiB) is more than the socket buffers hold, so the sender
    // is surely still sending when it dies.
    const fs::path file = interrupted_upload("changing.bin", 64 * kMiB, /*seed=*/3, 25).file;
    if (HasFatalFailure()) return;
    ASSERT_GT(partial_size().value_or(0), 0u) << "no partial kept to be tempted by";

    // New content, and an mtime surely unlike the old one (the clock alone may not move).
    const auto old_mtime = fs::last_write_time(file);
    write_random_file(file, new_size, 33);
    fs::last_write_time(file, old_mtime + 10s);

    const json report = send_to_completion(file);
    const auto events = file_events();
    ASSERT_EQ(events.size(), 2u);
    const json& last = events.back();
    EXPECT_EQ(last["status"], "ok") << last.dump();
    EXPECT_EQ(last["resumed_from"].get<uint64_t>(), 0u) << last.dump();
    EXPECT_EQ(last["bytes"].get<uint64_t>(), new_size) << last.dump();
    EXPECT_EQ(report.value("resumed_from", uint64_t{1}), 0u) << report.dump();
    EXPECT_EQ(report.value("status", ""), "ok") << report.dump();
    EXPECT_TRUE(same_bytes(file, inbox() / last["path"].get<std::string>()));
    EXPECT_EQ(testing::partial_count(inbox()), 0u);
  }
};

TEST_F(ChangedSource, SameSizeStartsOver) { expect_starts_over(64 * kMiB); }

TEST_F(ChangedSource, OtherSizeStartsOver) { expect_starts_over(40 * kMiB); }

// 4. Two clients send different files under one name at the same time: each gets its own
// copy and neither is taken for a resume of the other.
TEST_F(Resume, TwoClientsSendingOneNameGetTwoFiles) {
  const fs::path alice_file = tmp_ / "alice" / "data.bin";
  const fs::path bob_file = tmp_ / "bob" / "data.bin";
  write_random_file(alice_file, 20 * kMiB, 4);
  write_random_file(bob_file, 20 * kMiB, 5);
  // Same size and mtime: only the transfer id (client name, path) tells the uploads apart.
  fs::last_write_time(bob_file, fs::last_write_time(alice_file));
  ASSERT_NE(start_server(), 0);

  auto alice = start_sender(alice_file, "alice", {"--as", "shared.bin"});
  auto bob = start_sender(bob_file, "bob", {"--as", "shared.bin"});
  ASSERT_EQ(alice->wait(testing::scaled(60s)), 0) << alice->err();
  ASSERT_EQ(bob->wait(testing::scaled(60s)), 0) << bob->err();

  EXPECT_EQ(testing::visible_files(inbox()), (std::vector<std::string>{"shared (1).bin", "shared.bin"}));
  const json alice_report = sender_report(*alice);
  const json bob_report = sender_report(*bob);
  const std::string alice_saved = alice_report.value("saved_as", "");
  const std::string bob_saved = bob_report.value("saved_as", "");
  EXPECT_NE(alice_saved, bob_saved);
  EXPECT_TRUE(same_bytes(alice_file, inbox() / alice_saved));
  EXPECT_TRUE(same_bytes(bob_file, inbox() / bob_saved));
  EXPECT_FALSE(same_bytes(inbox() / "shared.bin", inbox() / "shared (1).bin"));

  const auto events = file_events();
  ASSERT_EQ(events.size(), 2u);
  std::set<std::string> clients;
  for (const json& e : events) {
    EXPECT_EQ(e["status"], "ok") << e.dump();
    EXPECT_EQ(e["resumed_from"].get<uint64_t>(), 0u) << e.dump();
    clients.insert(e["client"].get<std::string>());
  }
  EXPECT_EQ(clients, (std::set<std::string>{"alice", "bob"}));
  EXPECT_EQ(alice_report.value("resumed_from", uint64_t{1}), 0u);
  EXPECT_EQ(bob_report.value("resumed_from", uint64_t{1}), 0u);
  EXPECT_EQ(testing::partial_count(inbox()), 0u);
}

// 5. --retries: the server killed mid-file and restarted on the same port at once.
class Retries : public Resume {
 protected:
  // Starts a sender with `retries`, kills the server once it has half the file, and starts
  // a new one on the same port. Returns the sender; `kept` gets the partial's length.
  std::unique_ptr<Process> send_through_server_restart(const fs::path& file, int retries, uint64_t& kept) {
    const uint64_t size = 64 * kMiB;
    write_random_file(file, size, 6);
    const uint16_t port = start_server();
    EXPECT_NE(port, 0);
    auto sender = start_sender(file, "tester", {"--retries", std::to_string(retries)});
    EXPECT_TRUE(wait_for_partial(size / 2, *sender)) << sender->err();
    kill_server();
    kept = partial_size().value_or(0);
    // The listening port is free again at once: the server binds with SO_REUSEADDR.
    EXPECT_EQ(start_server(port), port) << "could not listen on the same port again";
    return sender;
  }
};

TEST_F(Retries, SenderReconnectsAndResumesByItself) {
  const fs::path file = source("big.bin");
  uint64_t kept = 0;
  auto sender = send_through_server_restart(file, 3, kept);
  ASSERT_FALSE(HasFailure());
  ASSERT_GT(kept, 0u);

  ASSERT_EQ(sender->wait(testing::scaled(60s)), 0) << sender->err();
  EXPECT_NE(sender->err().find("reconnecting"), std::string::npos) << sender->err();
  expect_resumed_copy(sender_report(*sender), file, kept);
}

TEST_F(Retries, NoRetriesExitsThreeAtOnce) {
  const fs::path file = source("big.bin");
  uint64_t kept = 0;
  auto sender = send_through_server_restart(file, 0, kept);
  ASSERT_FALSE(HasFailure());

  // A bound, not a measurement: a sender that retried would still be waiting to reconnect
  // and then finish; this one must give up on the first failure.
  EXPECT_EQ(sender->wait(testing::scaled(10s)), 3) << sender->err();
  EXPECT_EQ(sender->err().find("reconnecting"), std::string::npos) << sender->err();
  const json report = sender_report(*sender);
  EXPECT_EQ(report.value("status", ""), "error") << report.dump();
  // Nothing reached the restarted server (the killed one logged nothing); the partial
  // waits for a later `ftx send`.
  EXPECT_TRUE(file_events().empty());
  EXPECT_EQ(partial_size(), kept);
}

// A kept prefix that does not match the file (a flipped byte on the server's disk) fails
// the whole-file digest; the partial is dropped and the sender sends the file once more
// from the start, by itself.
TEST_F(Resume, AWrongKeptPrefixIsSentAgainFromTheStart) {
  const fs::path file = interrupted_upload("flip.bin", 64 * kMiB, /*seed=*/9, 50).file;
  if (HasFatalFailure()) return;

  fs::path partial;
  for (const auto& entry : fs::directory_iterator(inbox() / ".ftx" / "partial")) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("r-") && !name.ends_with(".meta")) partial = entry.path();
  }
  ASSERT_FALSE(partial.empty());
  {
    std::fstream bytes(partial, std::ios::in | std::ios::out | std::ios::binary);
    bytes.seekg(1000);
    const char was = static_cast<char>(bytes.get());
    bytes.seekp(1000);
    bytes.put(static_cast<char>(~was));
  }
  const size_t logged_before = file_events().size();
  const json report = send_to_completion(file);
  const auto events = file_events();
  ASSERT_EQ(events.size(), logged_before + 2);
  const json& refused = events[logged_before];
  EXPECT_EQ(refused["status"], "error") << refused.dump();
  EXPECT_EQ(refused["error"]["code"], "integrity") << refused.dump();
  EXPECT_GT(refused["resumed_from"].get<uint64_t>(), 0u);
  const json& saved = events.back();
  EXPECT_EQ(saved["status"], "ok") << saved.dump();
  EXPECT_EQ(saved["resumed_from"].get<uint64_t>(), 0u);
  EXPECT_EQ(report.value("status", ""), "ok") << report.dump();
  EXPECT_EQ(report.value("resumed_from", uint64_t{1}), 0u) << report.dump();
  EXPECT_TRUE(same_bytes(file, inbox() / saved["path"].get<std::string>()));
  EXPECT_EQ(testing::partial_count(inbox()), 0u);
}

// A connection reset (not closed) mid-file is a dropped connection too: the partial stays.
TEST_F(Resume, AResetMidFileKeepsThePartialForTheNextAttempt) {
  server::ServerConfig config;
  config.dir = inbox();
  testing::TestServer server(config);
  testing::RawClient client(server.port());
  client.handshake("resetter");
  client.send(proto::FileBegin{"reset.bin", 4 * kMiB, 0644, 0, 0, "abc123"});
  const proto::Frame ready = client.receive();
  ASSERT_TRUE(std::holds_alternative<proto::Ready>(ready));
  client.send_raw(std::string(kMiB, 'r'));
  // The reset must come after the server has the bytes (a reset drops what it has not read).
  const auto deadline = std::chrono::steady_clock::now() + testing::scaled(20s);
  while (partial_size().value_or(0) < kMiB && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_GE(partial_size().value_or(0), kMiB) << "the server never wrote the first MiB";
  linger reset{1, 0};
  ASSERT_EQ(::setsockopt(client.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset), 0);
  client.close();
  ASSERT_TRUE(server.wait_disconnects(1));
  EXPECT_EQ(testing::partial_count(inbox()), 2u);  // the bytes and their record
  const auto events = server.file_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["error"]["code"], "interrupted") << events[0].dump();
  EXPECT_EQ(events[0]["bytes"].get<uint64_t>(), partial_size().value_or(0)) << events[0].dump();
}

// Resumable partials abandoned on purpose, against `ftx serve` with bounds on them.
class PartialBounds : public ::testing::Test {
 protected:
  fs::path inbox() const { return dir_ / "inbox"; }

  uint16_t start(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {
        testing::ftx_binary(), "serve", "--host", "127.0.0.1", "--port", "0", "--dir", inbox().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<Process>(args, tmp_.path(), "server");
    const auto listening = server_->wait_for_err(R"(on 127\.0\.0\.1:(\d+))");
    EXPECT_TRUE(listening.has_value()) << server_->err();
    port_ = listening ? static_cast<uint16_t>(std::stoi(*listening)) : 0;
    return port_;
  }

  // From `source`, starts a resumable upload of `size` bytes under transfer id `id` (and
  // name "x<id>"), sends `sent` bytes of it and hangs up; returns once the server logged the
  // broken upload, so partials are abandoned in the order of the calls.
  void abandon(const std::string& source, const std::string& id, uint64_t size, uint64_t sent) {
    const size_t logged = file_events().size();
    {
      net::UniqueFd fd = testing::connect_from(source, port_);
      net::set_io_timeout(fd.get(), testing::scaled(10s));
      wire::Channel channel(fd.get(), "server");
      channel.send(proto::Hello{proto::kProtocolVersion, proto::Role::Send, "abandoner", ""});
      ASSERT_TRUE(std::holds_alternative<proto::Welcome>(channel.receive()));
      channel.send(proto::FileBegin{"x" + id, size, 0644, 0, 0, id});
      const proto::Frame ready = channel.receive();
      ASSERT_TRUE(std::holds_alternative<proto::Ready>(ready)) << id;
      const std::string data(sent, 'a');
      net::send_all(fd.get(), std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()),
                    "server");
    }
    const auto deadline = std::chrono::steady_clock::now() + testing::scaled(10s);
    while (file_events().size() <= logged && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    ASSERT_GT(file_events().size(), logged) << "the server did not log the broken upload " << id;
  }

  std::vector<json> file_events() const {
    std::vector<json> out;
    std::ifstream in(inbox() / ".ftx" / "transfers.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      const auto e = json::parse(line, nullptr, false);
      if (e.is_object() && e["event"] == "file") out.push_back(e);
    }
    return out;
  }

  // The transfer ids of the resumable partials kept, and the bytes they hold.
  std::map<std::string, uint64_t> partials() const {
    std::map<std::string, uint64_t> out;
    for (const auto& e : fs::directory_iterator(inbox() / ".ftx" / "partial")) {
      const std::string name = e.path().filename().string();
      if (name.starts_with("r-") && !name.ends_with(".meta")) out[name.substr(2)] = fs::file_size(e.path());
    }
    return out;
  }

  static std::set<std::string> ids(const std::map<std::string, uint64_t>& kept) {
    std::set<std::string> out;
    for (const auto& [id, bytes] : kept) out.insert(id);
    return out;
  }

  void TearDown() override {
    if (server_) {
      server_->signal(SIGTERM);
      EXPECT_EQ(server_->wait(testing::scaled(20s)), 0) << server_->err();
    }
  }

  TempDir tmp_;
  fs::path dir_ = tmp_.path();
  std::unique_ptr<Process> server_;
  uint16_t port_ = 0;
};

// Was a bug, fixed with this test: connections that send most of a file under fresh
// transfer ids and hang up left resumable partials that counted against nobody, for 24 h.
// Now each peer address keeps at most --partial-peer-files of them and everyone together
// --partial-max-files; a new one evicts the oldest.
TEST_F(PartialBounds, FileCountsPerPeerAndOverallEvictTheOldest) {
  ASSERT_NE(start({"--partial-peer-files", "4", "--partial-max-files", "6", "--partial-peer-bytes", "0",
                   "--partial-max-bytes", "0"}),
            0);
  for (int i = 0; i < 10; ++i) abandon(testing::loopback(2), "a" + std::to_string(i), 1000, 600);
  EXPECT_EQ(ids(partials()), (std::set<std::string>{"a6", "a7", "a8", "a9"}));
  for (int i = 0; i < 4; ++i) abandon(testing::loopback(3), "b" + std::to_string(i), 1000, 600);
  EXPECT_EQ(ids(partials()), (std::set<std::string>{"a8", "a9", "b0", "b1", "b2", "b3"}));
}

// The same in bytes: a new partial counts at its announced size, the kept ones at what they
// hold.
TEST_F(PartialBounds, BytesPerPeerAndOverallEvictTheOldest) {
  ASSERT_NE(start({"--partial-peer-bytes", "3000", "--partial-max-bytes", "5000", "--partial-peer-files", "0",
                   "--partial-max-files", "0"}),
            0);
  for (int i = 0; i < 5; ++i) abandon(testing::loopback(2), "c" + std::to_string(i), 1000, 999);
  EXPECT_EQ(ids(partials()), (std::set<std::string>{"c2", "c3", "c4"}));
  for (int i = 0; i < 3; ++i) abandon(testing::loopback(3), "d" + std::to_string(i), 1000, 999);
  EXPECT_EQ(ids(partials()), (std::set<std::string>{"c3", "c4", "d0", "d1", "d2"}));
  uint64_t total = 0;
  for (const auto& [id, bytes] : partials()) total += bytes;
  EXPECT_LE(total, 5000u);
}

// Was a bug, fixed with this test: on a 20 MiB disk, 406 abandoned partials filled it and a
// normal upload got no_space. On a 4 MiB tmpfs: by default they hold at most a quarter of
// the disk; and with no bounds at all, a new upload still evicts them (oldest first) to fit.
class PartialBoundsOnASmallDisk : public PartialBounds {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs (run as root to test a full disk)";
    mount_ = std::make_unique<testing::TmpfsMount>(tmp_ / "disk", "size=4m");
    if (!mount_->mounted()) {
      if (testing::must_not_skip()) FAIL() << "cannot mount a tmpfs as root in CI: " << mount_->error();
      GTEST_SKIP() << "cannot mount a tmpfs here: " << mount_->error();
    }
    dir_ = tmp_ / "disk";
  }
  void TearDown() override {
    PartialBounds::TearDown();
    server_.reset();
    mount_.reset();
  }
  std::unique_ptr<testing::TmpfsMount> mount_;
};

TEST_F(PartialBoundsOnASmallDisk, ByDefaultTheyHoldAtMostAQuarterOfTheDisk) {
  ASSERT_NE(start({}), 0);
  for (int i = 0; i < 12; ++i)
    abandon(testing::loopback(2 + i), "e" + std::to_string(i), 300 << 10, 256 << 10);
  uint64_t total = 0;
  for (const auto& [id, bytes] : partials()) total += bytes;
  RecordProperty("kept", static_cast<int>(partials().size()));
  RecordProperty("kept_bytes", static_cast<int>(total));
  EXPECT_LE(total, 1u << 20) << partials().size() << " partials kept";
  EXPECT_TRUE(partials().contains("e11")) << "the newest was evicted";
}

TEST_F(PartialBoundsOnASmallDisk, ANewUploadEvictsThemForSpace) {
  ASSERT_NE(start({"--partial-max-bytes", "0", "--partial-max-files", "0", "--partial-peer-bytes", "0",
                   "--partial-peer-files", "0"}),
            0);
  for (int i = 0; i < 12; ++i)
    abandon(testing::loopback(2 + i), "f" + std::to_string(i), 300 << 10, 256 << 10);
  ASSERT_EQ(partials().size(), 12u);  // 3 MiB of the 4
  const std::string data = testing::random_bytes(2 << 20, 7);
  testing::write_file(tmp_ / "big.bin", data);
  auto send = std::make_unique<Process>(
      std::vector<std::string>{testing::ftx_binary(), "send", "127.0.0.1:" + std::to_string(port_),
                               (tmp_ / "big.bin").string(), "--retries", "0", "--no-progress"},
      tmp_.path(), "send");
  EXPECT_EQ(send->wait(testing::scaled(60s)), 0) << send->err();
  EXPECT_EQ(testing::read_file(inbox() / "big.bin"), data);
  // The oldest gave way: what is left is the newest ones.
  const auto left = ids(partials());
  ASSERT_FALSE(left.empty());
  for (int i = 0; i < 12; ++i) {
    const bool kept = left.contains("f" + std::to_string(i));
    EXPECT_EQ(kept, i >= 12 - static_cast<int>(left.size())) << "f" << i;
  }
}

}  // namespace
}  // namespace ftx
