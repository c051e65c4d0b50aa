// SPDX-License-Identifier: MIT
// Re-sending sends nothing that is already there (protocol version 3): a file whose content
// is at its destination is reported unchanged and not copied, a large one does not cross
// the wire, a different one follows --overwrite; older peers get what they always got.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "digest/digest.h"
#include "process.h"
#include "raw_client.h"
#include "recording_proxy.h"
#include "serve_process.h"
#include "temp_dir.h"
#include "test_env.h"
#include "test_server.h"

namespace ftx {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using json = nlohmann::json;
using testing::Process;
using testing::RecordingProxy;
using testing::TempDir;

constexpr uint64_t kMiB = 1 << 20;

struct Ran {
  int code = -1;
  std::string out;
  std::string err;
};

std::string raw_digest(const std::string& data) {
  digest::Hasher h(proto::DigestAlgo::Xxh128);
  h.update(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  return h.finish();
}

std::vector<json> read_events(const fs::path& log, const std::string& kind) {
  std::vector<json> out;
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    const json e = json::parse(line);
    if (e["event"] == kind) out.push_back(e);
  }
  return out;
}

void write_random(const fs::path& path, uint64_t size, uint64_t seed) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  const std::string block = testing::random_bytes(kMiB, seed);
  for (uint64_t left = size; left > 0;) {
    const uint64_t n = std::min<uint64_t>(left, block.size());
    out.write(block.data(), static_cast<std::streamsize>(n));
    left -= n;
  }
}

// `ftx serve` as a user starts it, and `ftx send` runs against it.
class Unchanged : public ::testing::Test {
 protected:
  void start(const std::vector<std::string>& extra = {}) {
    server_ = std::make_unique<testing::ServeProcess>(inbox(), extra, tmp_.path());
    ASSERT_NE(server_->port(), 0);
  }
  fs::path inbox() const { return tmp_ / "inbox"; }
  fs::path src(const std::string& name) const { return tmp_ / "src" / name; }

  Ran send(const std::vector<std::string>& args, uint16_t port = 0) {
    std::vector<std::string> argv = {testing::ftx_binary(), "send",
                                     "127.0.0.1:" + std::to_string(port ? port : server_->port())};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const std::string& a : {std::string("--pin"), server_->fingerprint(), std::string("--retries"),
                                 std::string("0"), std::string("--no-progress")}) {
      argv.push_back(a);
    }
    Process p(argv, tmp_.path(), "send" + std::to_string(++sends_));
    Ran r;
    r.code = p.wait(testing::scaled(120s)).value_or(-1);
    r.out = p.out();
    r.err = p.err();
    return r;
  }

  std::vector<json> events() const { return read_events(inbox() / ".ftx" / "transfers.jsonl", "file"); }

  bool wait_disconnects(size_t n) const {
    const auto deadline = std::chrono::steady_clock::now() + testing::scaled(20s);
    while (std::chrono::steady_clock::now() < deadline) {
      if (read_events(inbox() / ".ftx" / "transfers.jsonl", "disconnect").size() >= n) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  TempDir tmp_;
  std::unique_ptr<testing::ServeProcess> server_;
  int sends_ = 0;
};

TEST_F(Unchanged, ASingleFileSentAgainIsUnchangedAndNotCopied) {
  start();
  testing::write_file(src("notes.txt"), "the same notes\n");
  const Ran first = send({src("notes.txt").string()});
  ASSERT_EQ(first.code, 0) << first.err;
  const Ran again = send({src("notes.txt").string()});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(
      again.out.find("unchanged " + src("notes.txt").string() + ", already on the server as notes.txt ("),
      std::string::npos)
      << again.out;
  EXPECT_EQ(testing::visible_files(inbox()), std::vector<std::string>{"notes.txt"});
  const auto logged = events();
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[0]["status"], "ok");
  EXPECT_EQ(logged[1]["status"], "unchanged") << logged[1].dump();
  EXPECT_EQ(logged[1]["path"], "notes.txt");
  EXPECT_EQ(logged[1]["digest"], logged[0]["digest"]);

  // --json says so too.
  const Ran json_run = send({src("notes.txt").string(), "--json"});
  ASSERT_EQ(json_run.code, 0) << json_run.err;
  const json j = json::parse(json_run.out);
  EXPECT_EQ(j["status"], "unchanged");
  EXPECT_EQ(j["saved_as"], "notes.txt");
  EXPECT_EQ(testing::visible_files(inbox()), std::vector<std::string>{"notes.txt"});
}

TEST_F(Unchanged, ATreeSentTwiceIsAllUnchangedTheSecondTime) {
  start();
  const fs::path root = tmp_ / "src" / "project";
  for (int i = 0; i < 20; ++i) {
    testing::write_file(root / ("dir" + std::to_string(i % 3)) / ("f" + std::to_string(i) + ".txt"),
                        "file " + std::to_string(i));
  }
  write_random(root / "big" / "blob.bin", 3 * kMiB, 7);  // waits for READY, so it gets HAVE
  testing::write_file(root / "empty.txt", "");
  const Ran first = send({root.string()});
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_NE(first.out.find("saved 22, unchanged 0, failed 0 (in 5 directories"), std::string::npos)
      << first.out;
  const auto before = testing::visible_files(inbox());
  ASSERT_EQ(before.size(), 22u);

  const Ran again = send({root.string()});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("saved 0, unchanged 22, failed 0 (in 5 directories)"), std::string::npos)
      << again.out;
  EXPECT_EQ(testing::visible_files(inbox()), before);  // no "(1)" copies
  const auto logged = events();
  ASSERT_EQ(logged.size(), 44u);
  for (size_t i = 22; i < logged.size(); ++i) EXPECT_EQ(logged[i]["status"], "unchanged") << logged[i].dump();
}

// A changed file of the same name follows --overwrite: rename makes a numbered copy, replace
// replaces it, refuse refuses it; the unchanged one is never an error.
TEST_F(Unchanged, ADifferentFileOfTheSameNameFollowsOverwrite) {
  start();
  testing::write_file(src("a.txt"), "version one");
  ASSERT_EQ(send({src("a.txt").string()}).code, 0);
  testing::write_file(src("a.txt"), "version two");
  const Ran renamed = send({src("a.txt").string()});
  ASSERT_EQ(renamed.code, 0) << renamed.err;
  EXPECT_NE(renamed.out.find("as a (1).txt"), std::string::npos) << renamed.out;
  EXPECT_EQ(testing::read_file(inbox() / "a.txt"), "version one");
  EXPECT_EQ(testing::read_file(inbox() / "a (1).txt"), "version two");
  // The numbered copy is not the destination: the same content again is compared with a.txt.
  testing::write_file(src("a.txt"), "version one");
  const Ran back = send({src("a.txt").string()});
  ASSERT_EQ(back.code, 0) << back.err;
  EXPECT_NE(back.out.find("unchanged "), std::string::npos) << back.out;
  EXPECT_EQ(testing::visible_files(inbox()), (std::vector<std::string>{"a (1).txt", "a.txt"}));
}

TEST_F(Unchanged, ReplaceReplacesOnlyADifferentFile) {
  start({"--overwrite", "replace"});
  testing::write_file(src("a.txt"), "version one");
  ASSERT_EQ(send({src("a.txt").string()}).code, 0);
  const Ran same = send({src("a.txt").string()});
  EXPECT_NE(same.out.find("unchanged "), std::string::npos) << same.out;
  testing::write_file(src("a.txt"), "version two");
  const Ran replaced = send({src("a.txt").string()});
  ASSERT_EQ(replaced.code, 0) << replaced.err;
  EXPECT_NE(replaced.out.find("saved "), std::string::npos) << replaced.out;
  EXPECT_EQ(testing::visible_files(inbox()), std::vector<std::string>{"a.txt"});
  EXPECT_EQ(testing::read_file(inbox() / "a.txt"), "version two");
  const auto logged = events();
  ASSERT_EQ(logged.size(), 3u);
  EXPECT_EQ(logged[1]["status"], "unchanged");
  EXPECT_EQ(logged[2]["status"], "ok");
}

TEST_F(Unchanged, RefuseRefusesOnlyADifferentFile) {
  start({"--overwrite", "refuse"});
  testing::write_file(src("a.txt"), "version one");
  ASSERT_EQ(send({src("a.txt").string()}).code, 0);
  EXPECT_EQ(send({src("a.txt").string()}).code, 0);  // unchanged: nothing to refuse
  testing::write_file(src("a.txt"), "version two");
  const Ran refused = send({src("a.txt").string()});
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("exists"), std::string::npos) << refused.err;
  EXPECT_EQ(testing::read_file(inbox() / "a.txt"), "version one");
}

// The proof that a large unchanged file stays home: what the client sends through a relay.
TEST_F(Unchanged, ALargeUnchangedFileDoesNotCrossTheWire) {
  start();
  write_random(src("big.bin"), 64 * kMiB, 11);
  ASSERT_EQ(send({src("big.bin").string()}).code, 0);
  RecordingProxy proxy(server_->port());
  const Ran again = send({src("big.bin").string(), "--json"}, proxy.port());
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(json::parse(again.out)["status"], "unchanged");
  EXPECT_LT(proxy.sent_by_client().size(), 64u * 1024) << "the file crossed the wire again";
  EXPECT_EQ(testing::visible_files(inbox()), std::vector<std::string>{"big.bin"});
  const auto logged = events();
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[1]["status"], "unchanged");
  EXPECT_EQ(logged[1]["bytes"], 64 * kMiB);
}

// Touched (another mtime), the same bytes: no offer, so they cross, and are then found equal.
TEST_F(Unchanged, ATouchedFileIsComparedAfterArrival) {
  start();
  write_random(src("big.bin"), 2 * kMiB, 12);
  ASSERT_EQ(send({src("big.bin").string()}).code, 0);
  fs::last_write_time(src("big.bin"), fs::last_write_time(src("big.bin")) + 10s);
  const Ran again = send({src("big.bin").string()});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("unchanged "), std::string::npos) << again.out;
  EXPECT_EQ(testing::visible_files(inbox()), std::vector<std::string>{"big.bin"});
}

// kill -9 in the middle of a tree, then the same command again: what arrived is not sent
// twice (no "(1)" copies), what did not is; at whatever moment the kill landed.
TEST_F(Unchanged, AResendAfterAKilledSendOnlyFillsTheGaps) {
  start();
  const fs::path root = tmp_ / "src" / "tree";
  for (int i = 0; i < 300; ++i) {
    testing::write_file(root / ("d" + std::to_string(i % 7)) / ("f" + std::to_string(i)),
                        testing::random_bytes(1000 + i, static_cast<uint64_t>(i)));
  }
  for (int i = 0; i < 3; ++i) write_random(root / ("large" + std::to_string(i)), 8 * kMiB, 20 + i);
  {
    Process first({testing::ftx_binary(), "send", server_->address(), root.string(), "--pin",
                   server_->fingerprint(), "--no-progress"},
                  tmp_.path(), "killed");
    // Killed once some files are in (or, on a fast machine, when it is done anyway).
    const auto deadline = std::chrono::steady_clock::now() + testing::scaled(30s);
    while (events().size() < 20 && std::chrono::steady_clock::now() < deadline &&
           !first.wait(std::chrono::milliseconds(0))) {
      std::this_thread::sleep_for(5ms);
    }
    first.signal(SIGKILL);
    first.wait();
  }
  // The server has seen the end of that connection: what it kept is on disk.
  ASSERT_TRUE(wait_disconnects(1));
  const size_t arrived = testing::visible_files(inbox()).size();
  ASSERT_GT(arrived, 0u);
  const Ran again = send({root.string()});
  ASSERT_EQ(again.code, 0) << again.err;
  const auto files = testing::visible_files(inbox());
  EXPECT_EQ(files.size(), 303u);
  for (const auto& f : files) EXPECT_EQ(f.find("(1)"), std::string::npos) << f;
  EXPECT_NE(again.out.find(", unchanged " + std::to_string(arrived) + ", failed 0"), std::string::npos)
      << again.out;
}

// The same bytes again over nc: one file, and the OK line names it.
TEST_F(Unchanged, TextModeSendFileAgainIsUnchanged) {
  start({"--no-tls"});
  for (int round = 0; round < 2; ++round) {
    testing::RawClient c(server_->port());
    c.send_raw("SEND_FILE up.txt 5\nhello");
    std::string answer;
    const auto deadline = std::chrono::steady_clock::now() + testing::scaled(10s);
    while (answer.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      uint8_t b[256];
      const ssize_t n = ::recv(c.fd(), b, sizeof b, 0);
      if (n <= 0) break;
      answer.append(reinterpret_cast<char*>(b), static_cast<size_t>(n));
    }
    EXPECT_EQ(answer.rfind("OK up.txt 5 xxh128:", 0), 0u) << answer;
  }
  EXPECT_EQ(testing::visible_files(inbox()), std::vector<std::string>{"up.txt"});
  const auto logged = events();
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[1]["status"], "unchanged");
}

// ---------------------------------------------------------------------------------------
// The conversation itself, and older peers.

class UnchangedProtocol : public ::testing::Test {
 protected:
  server::ServerConfig config() const {
    server::ServerConfig c;
    c.dir = tmp_ / "inbox";
    c.tls = false;
    return c;
  }
  // A non-eager upload of data under name with this mtime; returns the verdict.
  static proto::Frame upload(testing::RawClient& c, const std::string& name, const std::string& data,
                             int64_t mtime_ns, std::optional<proto::Frame>* first_answer = nullptr) {
    c.send(proto::FileBegin{name, data.size(), 0644, mtime_ns, 0, ""});
    proto::Frame answer = c.receive();
    if (first_answer) *first_answer = answer;
    if (std::holds_alternative<proto::Have>(answer)) {
      c.send(proto::FileEnd{proto::DigestAlgo::Xxh128, raw_digest(data)});
      answer = c.receive();
      if (!std::holds_alternative<proto::Ready>(answer)) return answer;
    }
    if (!std::holds_alternative<proto::Ready>(answer)) return answer;
    c.send_raw(data);
    c.send(proto::FileEnd{proto::DigestAlgo::Xxh128, raw_digest(data)});
    return c.receive();
  }
  TempDir tmp_;
};

constexpr int64_t kMtime = 1'700'000'000'000'000'000;

TEST_F(UnchangedProtocol, VersionThreeGetsHaveThenUnchangedOrReady) {
  testing::TestServer server(config());
  testing::RawClient c(server.port());
  // The server says its newest version; the client's 3 is what it is spoken to in.
  EXPECT_EQ(c.handshake("v3", 3).version, proto::kProtocolVersion);
  const std::string data(1000, 'a');
  ASSERT_TRUE(std::holds_alternative<proto::Saved>(upload(c, "x.bin", data, kMtime)));
  // Same name, size and mtime: HAVE (the server's algorithm, not its digest).
  std::optional<proto::Frame> first;
  const proto::Frame same = upload(c, "x.bin", data, kMtime, &first);
  ASSERT_TRUE(first && std::holds_alternative<proto::Have>(*first));
  EXPECT_EQ(std::get<proto::Have>(*first).algo, proto::DigestAlgo::Xxh128);
  ASSERT_TRUE(std::holds_alternative<proto::Unchanged>(same));
  EXPECT_EQ(std::get<proto::Unchanged>(same).name, "x.bin");
  // Same size and mtime, other bytes: HAVE, then READY for the sender's different digest.
  const std::string other(1000, 'b');
  const proto::Frame different = upload(c, "x.bin", other, kMtime, &first);
  ASSERT_TRUE(first && std::holds_alternative<proto::Have>(*first));
  ASSERT_TRUE(std::holds_alternative<proto::Saved>(different));
  EXPECT_EQ(std::get<proto::Saved>(different).name, "x (1).bin");
  // Something else than FILE_END after HAVE is a protocol error.
  c.send(proto::FileBegin{"x.bin", data.size(), 0644, kMtime, 0, ""});
  ASSERT_TRUE(std::holds_alternative<proto::Have>(c.receive()));
  c.send(proto::Bye{});
  const proto::Frame err = c.receive();
  ASSERT_TRUE(std::holds_alternative<proto::Error>(err));
  EXPECT_EQ(std::get<proto::Error>(err).code, proto::ErrorCode::BadRequest);
  EXPECT_EQ(testing::visible_files(tmp_ / "inbox"), (std::vector<std::string>{"x (1).bin", "x.bin"}));
}

// A version 2 client is served as before: no HAVE, no UNCHANGED, a numbered copy.
TEST_F(UnchangedProtocol, VersionTwoClientGetsTodaysBehaviour) {
  testing::TestServer server(config());
  testing::RawClient c(server.port());
  c.send(proto::Hello{2, proto::Role::Send, "v2", ""});
  ASSERT_TRUE(std::holds_alternative<proto::Welcome>(c.receive()));
  const std::string data(1000, 'a');
  std::optional<proto::Frame> first;
  ASSERT_TRUE(std::holds_alternative<proto::Saved>(upload(c, "x.bin", data, kMtime)));
  const proto::Frame again = upload(c, "x.bin", data, kMtime, &first);
  ASSERT_TRUE(first && std::holds_alternative<proto::Ready>(*first));
  ASSERT_TRUE(std::holds_alternative<proto::Saved>(again));
  EXPECT_EQ(std::get<proto::Saved>(again).name, "x (1).bin");
  // Eager too.
  std::vector<uint8_t> wire;
  proto::encode_frame(proto::FileBegin{"x.bin", data.size(), 0644, kMtime, proto::kFlagEager, ""}, wire);
  wire.insert(wire.end(), data.begin(), data.end());
  proto::encode_frame(proto::FileEnd{proto::DigestAlgo::Xxh128, raw_digest(data)}, wire);
  c.send_raw(std::string(wire.begin(), wire.end()));
  const proto::Frame eager = c.receive();
  ASSERT_TRUE(std::holds_alternative<proto::Saved>(eager));
  EXPECT_EQ(std::get<proto::Saved>(eager).name, "x (2).bin");
}

// ftx send against a version 2 server: it falls back to version 2 and sends as before.
TEST_F(UnchangedProtocol, TodaysClientTalksToAVersionTwoServer) {
  server::ServerConfig c = config();
  c.protocol_version = 2;
  testing::TestServer server(c);
  testing::write_file(tmp_ / "src" / "a.txt", "same");
  write_random(tmp_ / "src" / "big.bin", kMiB, 3);
  for (int round = 0; round < 2; ++round) {
    Process send({testing::ftx_binary(), "send", "127.0.0.1:" + std::to_string(server.port()),
                  (tmp_ / "src" / "a.txt").string(), (tmp_ / "src" / "big.bin").string(), "--plain",
                  "--retries", "0", "--no-progress"},
                 tmp_.path(), "send" + std::to_string(round));
    ASSERT_EQ(send.wait(testing::scaled(60s)), 0) << send.err();
  }
  EXPECT_EQ(testing::visible_files(tmp_ / "inbox"),
            (std::vector<std::string>{"a (1).txt", "a.txt", "big (1).bin", "big.bin"}));
  // Chat, the same in both versions, too.
  testing::write_file(tmp_ / "lines.txt", "hello from version 4\n");
  Process chat({testing::ftx_binary(), "chat", "127.0.0.1:" + std::to_string(server.port()), "--plain",
                "--name", "newer"},
               tmp_.path(), "chat", (tmp_ / "lines.txt").string());
  EXPECT_EQ(chat.wait(testing::scaled(30s)), 0) << chat.err();
}

// ftx ls and ftx get against a version 3 server: they fall back from version 4 and fetch as
// before; a version 2 server, which has no fetch role, is named as too old.
TEST_F(UnchangedProtocol, FetchFallsBackToAVersionThreeServer) {
  testing::write_file(tmp_ / "inbox" / "a.txt", "on the shelf");
  server::ServerConfig c = config();
  c.share = true;
  c.protocol_version = 3;
  testing::TestServer server(c);
  const std::string addr = "127.0.0.1:" + std::to_string(server.port());
  Process ls({testing::ftx_binary(), "ls", addr, "--plain"}, tmp_.path(), "ls");
  ASSERT_EQ(ls.wait(testing::scaled(30s)), 0) << ls.err();
  EXPECT_NE(ls.out().find(" a.txt\n"), std::string::npos) << ls.out();
  Process get({testing::ftx_binary(), "get", addr, "a.txt", "-o", (tmp_ / "got").string(), "--plain"},
              tmp_.path(), "get");
  ASSERT_EQ(get.wait(testing::scaled(30s)), 0) << get.err();
  EXPECT_EQ(testing::read_file(tmp_ / "got" / "a.txt"), "on the shelf");
  c.protocol_version = 2;
  testing::TestServer old(c);
  Process too_old({testing::ftx_binary(), "ls", "127.0.0.1:" + std::to_string(old.port()), "--plain"},
                  tmp_.path(), "too-old");
  EXPECT_EQ(too_old.wait(testing::scaled(30s)), 1) << too_old.err();
  EXPECT_NE(too_old.err().find("older than ftx get"), std::string::npos) << too_old.err();
}

}  // namespace
}  // namespace ftx
