// SPDX-License-Identifier: MIT
// Files flow both ways: `ftx serve --share` lists and serves a directory to GET_FILE and
// LIST_FILES (text mode, for nc), through the real binary. Never .ftx, never a link, nothing
// at all without --share.
#include <sys/stat.h>
#include <unistd.h>

#include <sys/socket.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat_clients.h"
#include "digest/digest.h"
#include "net/socket.h"
#include "process.h"
#include "proto/codec.h"
#include "pty_process.h"
#include "serve_process.h"
#include "temp_dir.h"
#include "test_env.h"
#include "wire/channel.h"

namespace ftx {
namespace {

using testing::Process;
using testing::ServeProcess;
using testing::TempDir;
using testing::TextClient;

std::string xxh(const std::string& text) {
  digest::Hasher h(DigestAlgo::Xxh128);
  h.update(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  return digest::labelled(DigestAlgo::Xxh128, h.finish());
}

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// The partial ftx get writes beside a file while it arrives (client/fetch.cpp).
std::string client_partial(const std::string& leaf, const std::string& raw_digest) {
  return "." + leaf + "." + digest::to_hex(raw_digest).substr(0, 16) + ".ftx-part";
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class Share : public ::testing::Test {
 protected:
  std::unique_ptr<ServeProcess> serve(std::vector<std::string> extra) {
    extra.insert(extra.begin(), "--no-tls");
    return std::make_unique<ServeProcess>(inbox(), extra, tmp_.path(), "server" + std::to_string(++servers_));
  }
  std::filesystem::path inbox() const { return tmp_ / "inbox"; }

  // One text-mode exchange: the lines up to and including the one matching `last`.
  std::vector<std::string> ask(uint16_t port, const std::string& line,
                               const std::string& last = "^(END|ERROR)") {
    TextClient c(port);
    c.write(line + "\n");
    std::vector<std::string> out;
    const std::regex re(last);
    for (int i = 0; i < 100; ++i) {
      out.push_back(c.line());
      if (std::regex_search(out.back(), re) || out.back() == "<eof>") break;
    }
    return out;
  }

  std::vector<nlohmann::json> log_events(const std::string& event) {
    std::vector<nlohmann::json> out;
    std::ifstream in(inbox() / ".ftx" / "transfers.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j["event"] == event) out.push_back(j);
    }
    return out;
  }

  TempDir tmp_;
  int servers_ = 0;
};

TEST_F(Share, GetFileSendsTheOkLineThenExactlyTheBytes) {
  const std::string data = testing::random_bytes(300000, 7);
  write(inbox() / "docs" / "big file.bin", data);
  auto server = serve({"--share"});
  TextClient c(server->port());
  c.write("GET_FILE docs/big file.bin\n");
  EXPECT_EQ(c.line(), "OK docs/big file.bin 300000 " + xxh(data));
  EXPECT_EQ(c.bytes(data.size()) == data, true);
  // Still in step: a second request on the same connection.
  c.write("GET_FILE nope\n");
  EXPECT_EQ(c.line().rfind("ERROR not_found ", 0), 0u);
  server->stop();
  const auto gets = log_events("get");
  ASSERT_EQ(gets.size(), 2u);
  EXPECT_EQ(gets[0]["name"], "docs/big file.bin");
  EXPECT_EQ(gets[0]["bytes"], 300000);
  EXPECT_EQ(gets[0]["digest"], xxh(data));
  EXPECT_EQ(gets[0]["status"], "ok");
  EXPECT_EQ(gets[1]["status"], "error");
  EXPECT_EQ(gets[1]["error"]["code"], "not_found");
}

TEST_F(Share, ListFilesGivesALinePerEntryThenEnd) {
  write(inbox() / "a.txt", "hello");
  write(inbox() / "sub" / "b.txt", "bb");
  auto server = serve({"--share"});
  const auto root = ask(server->port(), "LIST_FILES");
  ASSERT_EQ(root.size(), 3u) << ::testing::PrintToString(root);
  EXPECT_TRUE(std::regex_match(
      root[0], std::regex(R"(FILE 5 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ )" + xxh("hello") + " a.txt")))
      << root[0];
  EXPECT_TRUE(std::regex_match(root[1], std::regex(R"(DIR 0 \S+Z - sub/)"))) << root[1];
  EXPECT_EQ(root[2], "END 2");
  const auto sub = ask(server->port(), "LIST_FILES sub");
  ASSERT_EQ(sub.size(), 2u);
  EXPECT_NE(sub[0].find(" sub/b.txt"), std::string::npos);
  EXPECT_EQ(ask(server->port(), "LIST_FILES nope")[0].rfind("ERROR not_found ", 0), 0u);
}

TEST_F(Share, WithoutShareNothingIsListedOrServed) {
  write(inbox() / "a.txt", "hello");
  auto server = serve({});
  EXPECT_EQ(ask(server->port(), "GET_FILE a.txt")[0].rfind("ERROR not_shared ", 0), 0u);
  const auto list = ask(server->port(), "LIST_FILES");
  EXPECT_EQ(list[0].rfind("ERROR not_shared ", 0), 0u);
  EXPECT_NE(list[0].find("--share"), std::string::npos);  // says how to turn it on
}

TEST_F(Share, DotFtxLinksAndEscapesAreNeverServed) {
  write(tmp_ / "outside.txt", "secret");
  write(inbox() / "a.txt", "hello");
  std::filesystem::create_directories(inbox());
  std::filesystem::create_symlink(tmp_ / "outside.txt", inbox() / "link.txt");
  std::filesystem::create_directory_symlink(tmp_.path(), inbox() / "up");
  auto server = serve({"--share"});  // DIR/.ftx holds the log
  const uint16_t port = server->port();
  EXPECT_EQ(ask(port, "GET_FILE .ftx/transfers.jsonl")[0].rfind("ERROR not_shared ", 0), 0u);
  EXPECT_EQ(ask(port, "LIST_FILES .ftx")[0].rfind("ERROR not_shared ", 0), 0u);
  EXPECT_EQ(ask(port, "GET_FILE link.txt")[0].rfind("ERROR not_shared ", 0), 0u);
  EXPECT_EQ(ask(port, "GET_FILE up/outside.txt")[0].rfind("ERROR not_shared ", 0), 0u);
  EXPECT_EQ(ask(port, "GET_FILE ../outside.txt")[0].rfind("ERROR name_refused ", 0), 0u);
  EXPECT_EQ(ask(port, "GET_FILE " + (tmp_ / "outside.txt").string())[0].rfind("ERROR name_refused ", 0), 0u);
  const auto list = ask(port, "LIST_FILES");
  ASSERT_EQ(list.size(), 2u) << ::testing::PrintToString(list);  // a.txt and END: no .ftx, no links
  EXPECT_NE(list[0].find(" a.txt"), std::string::npos);
}

TEST_F(Share, ShareAnotherDirectoryReadOnly) {
  write(tmp_ / "pub" / "r.txt", "read me");
  write(inbox() / "in.txt", "inbox file");
  auto server = serve({"--share=" + (tmp_ / "pub").string()});
  EXPECT_NE(server->err().find("(read-only)"), std::string::npos) << server->err();
  TextClient c(server->port());
  c.write("GET_FILE r.txt\n");
  EXPECT_EQ(c.line(), "OK r.txt 7 " + xxh("read me"));
  EXPECT_EQ(c.bytes(7), "read me");
  EXPECT_EQ(ask(server->port(), "GET_FILE in.txt")[0].rfind("ERROR not_found ", 0), 0u);
}

TEST_F(Share, AnUploadIsOnTheShelfWithTheDigestTheInboxKnew) {
  auto server = serve({"--share"});
  TextClient up(server->port());
  up.write("SEND_FILE up.txt 5\nhello");
  EXPECT_EQ(up.line().rfind("OK up.txt 5 ", 0), 0u);
  // Recorded at commit, before anyone asked for it.
  EXPECT_NE(slurp(inbox() / ".ftx" / "shelf-digests.jsonl").find(xxh("hello")), std::string::npos);
  TextClient c(server->port());
  c.write("GET_FILE up.txt\n");
  EXPECT_EQ(c.line(), "OK up.txt 5 " + xxh("hello"));
  EXPECT_EQ(c.bytes(5), "hello");
}

TEST_F(Share, AChatConnectionIsToldToFetchFromAConnectionOfItsOwn) {
  write(inbox() / "a.txt", "hello");
  auto server = serve({"--share"});
  TextClient c(server->port());
  c.write("WHO\n");
  c.line_matching("connected:");
  c.write("GET_FILE a.txt\n");
  EXPECT_EQ(c.line_matching("^ERROR").rfind("ERROR bad_request ", 0), 0u);
  // A file connection does not chat.
  TextClient f(server->port());
  f.write("LIST_FILES\nhello room\n");
  EXPECT_NE(f.line_matching("^ERROR").find("this connection moves files"), std::string::npos);
}

// The user with only nc: `printf 'GET_FILE name\n' | nc -N HOST PORT`.
TEST_F(Share, NetcatFetchesAFile) {
  if (::access("/usr/bin/nc", X_OK) != 0) GTEST_SKIP() << "no nc";
  const std::string data = testing::random_bytes(100000, 3);
  write(inbox() / "f.bin", data);
  auto server = serve({"--share"});
  write(tmp_ / "request", "GET_FILE f.bin\n");
  Process nc({"/usr/bin/nc", "-N", "127.0.0.1", std::to_string(server->port())}, tmp_.path(), "nc",
             (tmp_ / "request").string());
  EXPECT_EQ(nc.wait(), 0);
  const std::string header = "OK f.bin 100000 " + xxh(data) + "\n";
  EXPECT_EQ(nc.out() == header + data, true) << nc.out().substr(0, 200) << nc.err();
}

// ftx ls and ftx get: the binary protocol (version 3), through the real client.
class Get : public Share {
 protected:
  // Runs ftx with args to completion; stdout and stderr in out and err.
  int run(std::vector<std::string> args, std::string* out = nullptr, std::string* err = nullptr) {
    args.insert(args.begin(), testing::ftx_binary());
    Process p(args, tmp_.path(), "run" + std::to_string(++runs_));
    const auto code = p.wait();
    if (out) *out = p.out();
    if (err) *err = p.err();
    EXPECT_TRUE(code.has_value()) << "timed out";
    return code.value_or(-1);
  }
  std::filesystem::path out() const { return tmp_ / "out"; }
  // `ftx chat` at a terminal as name, working in tmp_/name.
  std::unique_ptr<testing::PtyProcess> chat_terminal(const std::string& address, const std::string& name) {
    return std::make_unique<testing::PtyProcess>(
        std::vector<std::string>{testing::ftx_binary(), "chat", address, "--plain", "--name", name},
        tmp_.path(), name, tmp_ / name);
  }
  // True once the terminal shows text past mark, within 30 s (scaled).
  static bool shows(testing::PtyProcess& terminal, const std::string& text, size_t mark) {
    return terminal.wait_for(text, mark, testing::scaled(std::chrono::seconds(30)));
  }
  // /quit at each terminal; each then exits 0.
  static void quit(std::initializer_list<testing::PtyProcess*> terminals) {
    for (auto* t : terminals) t->type("/quit\n");
    for (auto* t : terminals) EXPECT_EQ(t->wait(testing::scaled(std::chrono::seconds(15))), 0) << t->screen();
  }
  int runs_ = 0;
};

TEST_F(Get, LsListsOneLinePerEntryAndJson) {
  write(inbox() / "a.txt", "hello");
  write(inbox() / "sub" / "b.txt", "bb");
  auto server = serve({"--share"});
  std::string text;
  ASSERT_EQ(run({"ls", server->address(), "--plain"}, &text), 0);
  EXPECT_TRUE(std::regex_search(text, std::regex("^5 \\S+Z " + xxh("hello") + " a.txt\n0 \\S+Z - sub/\n$")))
      << text;
  ASSERT_EQ(run({"ls", server->address(), "sub", "--json", "--plain"}, &text), 0);
  const auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["name"], "sub/b.txt");
  EXPECT_EQ(j["type"], "file");
  EXPECT_EQ(j["size"], 2);
  EXPECT_EQ(j["digest"], xxh("bb"));
  std::string err;
  EXPECT_EQ(run({"ls", server->address(), "nope", "--plain"}, &text, &err), 1);
  EXPECT_NE(err.find("not_found"), std::string::npos) << err;
}

TEST_F(Get, FetchesVerifiedFilesWithTheirModeAndMtimeOverTls) {
  const std::string data = testing::random_bytes(3 << 20, 11);
  write(inbox() / "big.bin", data);
  write(inbox() / "docs" / "a.txt", "hello");
  ::chmod((inbox() / "docs" / "a.txt").c_str(), 0640);
  const auto mtime = std::filesystem::last_write_time(inbox() / "docs" / "a.txt");
  auto server =
      std::make_unique<ServeProcess>(inbox(), std::vector<std::string>{"--share"}, tmp_.path(), "tls");
  std::string text, err;
  ASSERT_EQ(run({"get", server->address(), "big.bin", "docs/a.txt", "-o", out().string(), "--pin",
                 server->fingerprint()},
                &text, &err),
            0)
      << err;
  EXPECT_EQ(slurp(out() / "big.bin") == data, true);
  EXPECT_EQ(slurp(out() / "a.txt"), "hello");
  struct stat st {};
  ASSERT_EQ(::stat((out() / "a.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u & ~0022u);
  EXPECT_EQ(std::filesystem::last_write_time(out() / "a.txt"), mtime);
  EXPECT_NE(text.find("fetched big.bin"), std::string::npos) << text;
  // Nothing but the files: no partial left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(out()), {}), 2);
}

TEST_F(Get, AnIdenticalFileIsUnchangedADifferentOneIsRefusedUnlessReplace) {
  write(inbox() / "a.txt", "server");
  write(out() / "a.txt", "server");
  auto server = serve({"--share"});
  std::string text, err;
  EXPECT_EQ(run({"get", server->address(), "a.txt", "-o", out().string(), "--plain"}, &text), 0);
  EXPECT_NE(text.find("unchanged"), std::string::npos) << text;
  write(out() / "a.txt", "local!");
  EXPECT_EQ(run({"get", server->address(), "a.txt", "-o", out().string(), "--plain"}, &text, &err), 4);
  EXPECT_NE(err.find("--overwrite replace"), std::string::npos) << err;
  EXPECT_EQ(slurp(out() / "a.txt"), "local!");
  EXPECT_EQ(run({"get", server->address(), "a.txt", "-o", out().string(), "--overwrite", "replace", "--json",
                 "--plain"},
                &text),
            0);
  EXPECT_EQ(slurp(out() / "a.txt"), "server");
  EXPECT_EQ(nlohmann::json::parse(text)["status"], "ok");
}

TEST_F(Get, StdoutTakesOneNameOnly) {
  write(inbox() / "a.txt", "hello");
  auto server = serve({"--share"});
  std::string text;
  EXPECT_EQ(run({"get", server->address(), "a.txt", "-o", "-", "--plain"}, &text), 0);
  EXPECT_EQ(text, "hello");
  EXPECT_EQ(run({"get", server->address(), "a.txt", "a.txt", "-o", "-", "--plain"}), 2);
}

TEST_F(Get, RefusalsAndAServerThatSharesNothingExitOne) {
  write(inbox() / "a.txt", "hello");
  {
    auto server = serve({});
    std::string err;
    EXPECT_EQ(run({"get", server->address(), "a.txt", "-o", out().string(), "--plain"}, nullptr, &err), 1);
    EXPECT_NE(err.find("not_shared"), std::string::npos) << err;
    EXPECT_EQ(run({"ls", server->address(), "--plain"}, nullptr, &err), 1);
    EXPECT_NE(err.find("not_shared"), std::string::npos) << err;
  }
  auto server = serve({"--share"});
  std::string err;
  EXPECT_EQ(run({"get", server->address(), "nope", ".ftx/transfers.jsonl", "-o", out().string(), "--plain"},
                nullptr, &err),
            1);
  EXPECT_NE(err.find("nope: not_found"), std::string::npos) << err;
  EXPECT_NE(err.find("not_shared"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(out() / "transfers.jsonl"));
}

// A partial a broken fetch left (as a client killed half way does) is continued, and the
// whole file verified.
TEST_F(Get, APartialIsResumed) {
  const std::string data = testing::random_bytes(1 << 20, 5);
  write(inbox() / "big.bin", data);
  digest::Hasher h(DigestAlgo::Xxh128);
  h.update(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  const std::string raw = h.finish();
  write(out() / client_partial("big.bin", raw), data.substr(0, data.size() / 2));
  auto server = serve({"--share"});
  std::string text;
  ASSERT_EQ(run({"get", server->address(), "big.bin", "-o", out().string(), "--json", "--plain"}, &text), 0);
  EXPECT_EQ(nlohmann::json::parse(text)["resumed_from"], data.size() / 2);
  EXPECT_EQ(slurp(out() / "big.bin") == data, true);
  EXPECT_FALSE(std::filesystem::exists(out() / client_partial("big.bin", raw)));
  server->stop();
  const auto gets = log_events("get");
  ASSERT_EQ(gets.size(), 1u);
  EXPECT_EQ(gets[0]["resumed_from"], data.size() / 2);
}

// Starts `ftx get` of big.bin into out() and stops it (SIGSTOP) once its partial holds some
// bytes; false when the client finished before it could be caught.
bool stop_midway(Process& client, const std::filesystem::path& partial) {
  const auto until = std::chrono::steady_clock::now() + testing::scaled(std::chrono::seconds(30));
  while (std::chrono::steady_clock::now() < until) {
    std::error_code ec;
    if (std::filesystem::file_size(partial, ec) > 0 && !ec) {
      client.signal(SIGSTOP);
      return true;
    }
    if (client.wait(std::chrono::milliseconds(1)).has_value()) return false;
  }
  return false;
}

std::string raw_xxh(const std::string& data) {
  digest::Hasher h(DigestAlgo::Xxh128);
  h.update(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  return h.finish();
}

TEST_F(Get, AClientKilledMidwayResumesFromWhatItKept) {
  const std::string data = testing::random_bytes(128 << 20, 21);
  write(inbox() / "big.bin", data);
  const std::filesystem::path partial = out() / client_partial("big.bin", raw_xxh(data));
  auto server = serve({"--share"});
  {
    Process killed({testing::ftx_binary(), "get", server->address(), "big.bin", "-o", out().string(),
                    "--plain", "--no-progress"},
                   tmp_.path(), "killed");
    ASSERT_TRUE(stop_midway(killed, partial)) << "ftx get finished before it could be stopped midway";
    killed.signal(SIGKILL);
    EXPECT_EQ(killed.wait(), -SIGKILL);
  }
  const auto kept = std::filesystem::file_size(partial);
  ASSERT_GT(kept, 0u);
  ASSERT_LT(kept, data.size());
  EXPECT_FALSE(std::filesystem::exists(out() / "big.bin"));

  std::string text, err;
  ASSERT_EQ(
      run({"get", server->address(), "big.bin", "-o", out().string(), "--json", "--plain"}, &text, &err), 0)
      << err;
  const auto result = nlohmann::json::parse(text);
  EXPECT_GT(result["resumed_from"].get<uint64_t>(), 0u) << text;
  EXPECT_LE(result["resumed_from"].get<uint64_t>(), kept) << text;
  EXPECT_TRUE(slurp(out() / "big.bin") == data);
  EXPECT_FALSE(std::filesystem::exists(partial));
  server->stop();
  const auto gets = log_events("get");
  ASSERT_FALSE(gets.empty());
  EXPECT_EQ(gets.back()["resumed_from"], result["resumed_from"]);
}

TEST_F(Get, AFileChangedWhileFetchedNeverArrivesMixed) {
  const std::string data = testing::random_bytes(128 << 20, 22);
  write(inbox() / "big.bin", data);
  auto server = serve({"--share"});
  Process client({testing::ftx_binary(), "get", server->address(), "big.bin", "-o", out().string(), "--plain",
                  "--no-progress", "--retries", "0"},
                 tmp_.path(), "changed");
  ASSERT_TRUE(stop_midway(client, out() / client_partial("big.bin", raw_xxh(data))))
      << "ftx get finished before it could be stopped midway";
  // Rewritten in place (same inode, same size) while the server still has most of it to send:
  // what arrives after this is the new content.
  const std::string other = testing::random_bytes(data.size(), 23);
  {
    std::fstream f(inbox() / "big.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.write(other.data(), static_cast<std::streamsize>(other.size()));
  }
  client.signal(SIGCONT);
  const auto code = client.wait();
  ASSERT_TRUE(code.has_value());
  // Either it failed its digest and nothing has the name, or it fetched the new version whole
  // under its new digest: never a mix of the two.
  if (std::filesystem::exists(out() / "big.bin")) {
    const std::string got = slurp(out() / "big.bin");
    EXPECT_TRUE(got == other || got == data) << "a mixed file was given its name: " << client.err();
    EXPECT_EQ(*code, 0) << client.err();
  } else {
    EXPECT_NE(*code, 0) << client.err();
  }
}

// A server that lies: a plain-TCP fake speaking just enough of the protocol.
class FakeServer {
 public:
  // answer(channel, request) answers one LIST_FILES or GET_FILE; it may throw to drop the
  // connection. Serves `connections` connections, one after the other.
  explicit FakeServer(std::function<void(wire::Channel&, const proto::Frame&)> answer, int connections = 1)
      : listener_(net::listen_tcp("127.0.0.1", 0)), answer_(std::move(answer)) {
    thread_ = std::thread([this, connections] {
      for (; connection_ < connections; ++connection_) {
        net::UniqueFd fd(::accept4(listener_.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!fd) return;
        net::set_io_timeout(fd.get(), std::chrono::seconds(10));
        wire::Channel ch(fd.get(), "client");
        try {
          ch.receive();  // HELLO
          proto::Welcome w;
          w.name = "victim";
          ch.send(w);
          for (int i = 0; i < 8; ++i) {
            proto::Frame f = ch.receive();
            if (std::holds_alternative<proto::Bye>(f)) break;
            answer_(ch, f);
          }
        } catch (const std::exception&) {
        }
      }
    });
  }
  /// The connection being served (0 first).
  int connection() const { return connection_; }
  ~FakeServer() {
    ::shutdown(listener_.fd.get(), SHUT_RDWR);
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(listener_.port); }

 private:
  net::Listener listener_;
  std::function<void(wire::Channel&, const proto::Frame&)> answer_;
  std::atomic<int> connection_{0};
  std::thread thread_;
};

proto::FileEntry entry(const std::string& name, const std::string& content) {
  digest::Hasher h(DigestAlgo::Xxh128);
  h.update(std::span(reinterpret_cast<const uint8_t*>(content.data()), content.size()));
  proto::FileEntry e;
  e.name = name;
  e.size = content.size();
  e.digest = h.finish();
  return e;
}

TEST_F(Get, AServerThatSendsANameNotAskedForIsRefusedWithNothingWritten) {
  for (const std::string evil : {"../evil.txt", "other.txt", "/tmp/evil.txt", ".bashrc", "a.txt/../../x"}) {
    FakeServer fake([&](wire::Channel& ch, const proto::Frame& f) {
      if (std::holds_alternative<proto::ListFiles>(f)) {
        ch.send(entry(evil, "pwned"));
        ch.send(proto::ListEnd{1});
      } else {
        ch.send(entry(evil, "pwned"));
        const std::string data = "pwned";
        ch.stream().write_all(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
      }
    });
    std::string err;
    EXPECT_EQ(run({"get", fake.address(), "a.txt", "-o", out().string(), "--plain", "--retries", "0"},
                  nullptr, &err),
              1)
        << evil;
    EXPECT_NE(err.find("the server sent a name"), std::string::npos) << evil << ": " << err;
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(out()), {}), 0) << evil;
    EXPECT_FALSE(std::filesystem::exists(tmp_ / "evil.txt"));
  }
}

TEST_F(Get, TheAnswerToGetMustNameTheFileAskedFor) {
  FakeServer fake([&](wire::Channel& ch, const proto::Frame& f) {
    if (std::holds_alternative<proto::ListFiles>(f)) {
      ch.send(entry("a.txt", "good"));
      ch.send(proto::ListEnd{1});
    } else {
      ch.send(entry("../a.txt", "good"));
    }
  });
  EXPECT_EQ(run({"get", fake.address(), "a.txt", "-o", out().string(), "--plain", "--retries", "0"}), 1);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(out()), {}), 0);
}

// Bytes that do not match the digest (a file changed while it was sent, or a liar) are
// never given the name: tried again once from the start, then refused, nothing left.
TEST_F(Get, BytesThatFailTheDigestAreNeverVisible) {
  FakeServer fake([&](wire::Channel& ch, const proto::Frame& f) {
    const proto::FileEntry e = entry("a.txt", "good!");
    if (std::holds_alternative<proto::ListFiles>(f)) {
      ch.send(e);
      ch.send(proto::ListEnd{1});
    } else {
      ch.send(e);
      const std::string data = "evil!";
      ch.stream().write_all(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
    }
  });
  std::string err;
  EXPECT_EQ(
      run({"get", fake.address(), "a.txt", "-o", out().string(), "--plain", "--retries", "0"}, nullptr, &err),
      1);
  EXPECT_NE(err.find("integrity"), std::string::npos) << err;
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(out()), {}), 0);
}

TEST_F(Get, ADirectoryComesWholeWithEmptyDirectoriesModesAndMtimes) {
  write(inbox() / "docs" / "a.txt", "aaa");
  write(inbox() / "docs" / "sub" / "b.txt", "bbbb");
  std::filesystem::create_directories(inbox() / "docs" / "empty");
  ::chmod((inbox() / "docs" / "sub" / "b.txt").c_str(), 0600);
  ::chmod((inbox() / "docs" / "sub").c_str(), 0700);
  const auto when = std::filesystem::file_time_type::clock::now() - std::chrono::hours(48);
  for (const char* p : {"docs/sub/b.txt", "docs/sub", "docs/empty", "docs"}) {
    std::filesystem::last_write_time(inbox() / p, when);
  }
  auto server = serve({"--share"});
  std::string text, err;
  ASSERT_EQ(run({"get", server->address(), "docs/", "-o", out().string(), "--plain"}, &text, &err), 0) << err;
  EXPECT_EQ(slurp(out() / "docs" / "a.txt"), "aaa");
  EXPECT_EQ(slurp(out() / "docs" / "sub" / "b.txt"), "bbbb");
  EXPECT_TRUE(std::filesystem::is_directory(out() / "docs" / "empty"));
  struct stat st {};
  ASSERT_EQ(::stat((out() / "docs" / "sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((out() / "docs" / "sub" / "b.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  for (const char* p : {"docs/sub/b.txt", "docs/sub", "docs/empty", "docs"}) {
    EXPECT_EQ(std::filesystem::last_write_time(out() / p), when) << p;
  }
  // Again: every file is unchanged.
  ASSERT_EQ(run({"get", server->address(), "docs", "-o", out().string(), "--plain"}, &text), 0);
  EXPECT_NE(text.find("unchanged"), std::string::npos) << text;
  EXPECT_EQ(text.find("fetched"), std::string::npos) << text;
  EXPECT_EQ(run({"get", server->address(), "docs", "-o", "-", "--plain"}), 1);
}

TEST_F(Get, AListDeeperThanAskedIsRefused) {
  FakeServer fake([&](wire::Channel& ch, const proto::Frame& f) {
    if (std::holds_alternative<proto::ListFiles>(f)) {
      ch.send(entry("d/x/y.txt", "deep"));
      ch.send(proto::ListEnd{1});
    }
  });
  std::string err;
  EXPECT_EQ(
      run({"get", fake.address(), "d", "-o", out().string(), "--plain", "--retries", "0"}, nullptr, &err), 1);
  EXPECT_NE(err.find("not asked for"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(out() / "d" / "x"));
  EXPECT_FALSE(std::filesystem::exists(out() / "d" / "y.txt"));
}

// A connection that breaks half way through a file: the client reconnects (--retries) and
// asks for the rest only; the whole file is verified.
TEST_F(Get, ABrokenConnectionIsResumedWhereItStopped) {
  const std::string data = testing::random_bytes(1 << 20, 9);
  std::atomic<uint64_t> second_offset{UINT64_MAX};
  // Set once the server exists; its thread reads it only after a client connected.
  std::atomic<FakeServer*> self{nullptr};
  FakeServer fake(
      [&](wire::Channel& ch, const proto::Frame& f) {
        const proto::FileEntry e = entry("big.bin", data);
        if (std::holds_alternative<proto::ListFiles>(f)) {
          ch.send(e);
          ch.send(proto::ListEnd{1});
          return;
        }
        const uint64_t offset = std::get<proto::GetFile>(f).offset;
        ch.send(e);
        if (self.load()->connection() == 0) {
          ch.stream().write_all(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size() / 2));
          throw std::runtime_error("cut");  // the connection drops half way
        }
        second_offset = offset;
        ch.stream().write_all(
            std::span(reinterpret_cast<const uint8_t*>(data.data()) + offset, data.size() - offset));
      },
      2);
  self = &fake;
  std::string text, err;
  ASSERT_EQ(run({"get", fake.address(), "big.bin", "-o", out().string(), "--plain", "--json"}, &text, &err),
            0)
      << err;
  EXPECT_EQ(second_offset, data.size() / 2);
  EXPECT_NE(err.find("reconnecting"), std::string::npos) << err;
  EXPECT_EQ(nlohmann::json::parse(text)["resumed_from"], data.size() / 2);
  EXPECT_EQ(slurp(out() / "big.bin") == data, true);
}

// The room's shelf from a real `ftx chat` at a terminal: /share uploads and tells the room,
// /files lists, /get fetches into the current directory, verified.
TEST_F(Get, TheRoomsShelfFromAChatTerminal) {
  if (auto why = testing::PtyProcess::unavailable()) GTEST_SKIP() << *why;
  auto server = serve({"--share"});
  write(tmp_ / "alice" / "report.txt", "quarterly numbers\n");
  std::filesystem::create_directories(tmp_ / "bob");
  TextClient room(server->port());
  room.write("NICK carol\n");
  ASSERT_NE(room.line_matching("you are carol"), "");
  auto alice = chat_terminal(server->address(), "alice");
  ASSERT_TRUE(alice->wait_for("/help for commands")) << alice->screen();
  size_t mark = alice->screen().size();
  alice->type("/share report.txt\n");
  ASSERT_TRUE(shows(*alice, "/share: shared report.txt", mark)) << alice->screen();
  EXPECT_NE(
      room.line_matching("shared report.txt").find("<alice> shared report.txt (18 B) - /get report.txt"),
      std::string::npos);

  auto bob = chat_terminal(server->address(), "bob");
  ASSERT_TRUE(bob->wait_for("/help for commands")) << bob->screen();
  mark = bob->screen().size();
  bob->type("/files\n");
  ASSERT_TRUE(shows(*bob, "/files: report.txt (18 B)", mark)) << bob->screen();
  mark = bob->screen().size();
  const size_t alice_mark = alice->screen().size();
  bob->type("/get report.txt\n");
  ASSERT_TRUE(shows(*bob, "/get: fetched report.txt", mark)) << bob->screen();
  EXPECT_EQ(slurp(tmp_ / "bob" / "report.txt"), "quarterly numbers\n");
  // The sharer's receipt, and only the sharer's.
  EXPECT_TRUE(shows(*alice, "* bob fetched report.txt, verified", alice_mark)) << alice->screen();
  // And from ftx get too.
  EXPECT_EQ(run({"get", server->address(), "report.txt", "-o", out().string(), "--plain", "--name", "dave"}),
            0);
  EXPECT_TRUE(shows(*alice, "* dave fetched report.txt, verified", alice_mark)) << alice->screen();
  room.write("WHO\n");
  for (int i = 0; i < 20; ++i) {
    const std::string l = room.line();
    EXPECT_EQ(l.find("fetched"), std::string::npos) << "the room heard a receipt: " << l;
    if (l.find("connected:") != std::string::npos || l == "<eof>") break;
  }
  mark = bob->screen().size();
  bob->type("/get nope.txt\n");
  EXPECT_TRUE(shows(*bob, "/get: nope.txt: not_found", mark)) << bob->screen();
  quit({bob.get(), alice.get()});
}

// A name with blanks, quoted as in a shell: /share takes it, the room is told a /get that
// works as it is written, and /get with a backslash fetches it too. An open quote is an
// error, not a guess.
TEST_F(Get, ANameWithBlanksIsQuotedAsInAShell) {
  if (auto why = testing::PtyProcess::unavailable()) GTEST_SKIP() << *why;
  auto server = serve({"--share"});
  write(tmp_ / "alice" / "my report (final).txt", "quarterly numbers\n");
  std::filesystem::create_directories(tmp_ / "bob");
  TextClient room(server->port());
  room.write("NICK carol\n");
  ASSERT_NE(room.line_matching("you are carol"), "");
  auto alice = chat_terminal(server->address(), "alice");
  ASSERT_TRUE(alice->wait_for("/help for commands")) << alice->screen();
  size_t mark = alice->screen().size();
  alice->type("/share 'my report (final).txt'\n");
  ASSERT_TRUE(shows(*alice, "/share: shared my report (final).txt", mark)) << alice->screen();
  const std::string told = room.line_matching("shared my report");
  const std::string get = "/get 'my report (final).txt'";
  ASSERT_NE(told.find(get), std::string::npos) << told;

  auto bob = chat_terminal(server->address(), "bob");
  ASSERT_TRUE(bob->wait_for("/help for commands")) << bob->screen();
  mark = bob->screen().size();
  bob->type(get + "\n");  // as the room was told
  ASSERT_TRUE(shows(*bob, "/get: fetched my report (final).txt", mark)) << bob->screen();
  EXPECT_EQ(slurp(tmp_ / "bob" / "my report (final).txt"), "quarterly numbers\n");
  std::filesystem::remove(tmp_ / "bob" / "my report (final).txt");
  mark = bob->screen().size();
  bob->type("/get my\\ report\\ (final).txt\n");
  ASSERT_TRUE(shows(*bob, "/get: fetched my report (final).txt", mark)) << bob->screen();
  mark = bob->screen().size();
  bob->type("/get 'my report\n");
  EXPECT_TRUE(shows(*bob, "/get: a ' is not closed", mark)) << bob->screen();
  quit({bob.get(), alice.get()});
}

// A server sharing another directory, read-only, has no shelf to add to: /share says so and
// uploads nothing.
TEST_F(Get, ShareIsRefusedBeforeUploadingWhenTheShelfIsAnotherDirectory) {
  if (auto why = testing::PtyProcess::unavailable()) GTEST_SKIP() << *why;
  write(tmp_ / "releases" / "v1.tar", "release\n");
  write(tmp_ / "alice" / "report.txt", "quarterly numbers\n");
  auto server = serve({"--share=" + (tmp_ / "releases").string()});
  auto alice = chat_terminal(server->address(), "alice");
  ASSERT_TRUE(alice->wait_for("/help for commands")) << alice->screen();
  const size_t mark = alice->screen().size();
  alice->type("/share report.txt\n");
  ASSERT_TRUE(shows(*alice, "/share: the server shares another directory, read-only", mark))
      << alice->screen();
  quit({alice.get()});
  EXPECT_FALSE(std::filesystem::exists(inbox() / "report.txt"));
  EXPECT_TRUE(log_events("file").empty());
}

// --token guards fetching as it guards uploads, in both languages.
TEST_F(Get, TheTokenAppliesToFetchingToo) {
  write(inbox() / "a.txt", "hello");
  auto server = serve({"--share", "--token", "s3cret"});
  std::string err;
  EXPECT_EQ(run({"ls", server->address(), "--plain"}, nullptr, &err), 1);
  EXPECT_NE(err.find("unauthorized"), std::string::npos) << err;
  EXPECT_EQ(run({"get", server->address(), "a.txt", "-o", out().string(), "--plain"}, nullptr, &err), 1);
  EXPECT_FALSE(std::filesystem::exists(out() / "a.txt"));
  EXPECT_EQ(run({"get", server->address(), "a.txt", "-o", out().string(), "--plain", "--token", "s3cret"}),
            0);
  EXPECT_EQ(slurp(out() / "a.txt"), "hello");
  EXPECT_EQ(ask(server->port(), "GET_FILE a.txt")[0].rfind("ERROR unauthorized", 0), 0u);
}

}  // namespace
}  // namespace ftx
