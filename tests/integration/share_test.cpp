// SPDX-License-Identifier: MIT
// Files flow both ways: `ftx serve --share` lists and serves a directory to GET_FILE and
// LIST_FILES (text mode, for nc), through the real binary. Never .ftx, never a link, nothing
// at all without --share.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat_clients.h"
#include "digest/digest.h"
#include "process.h"
#include "serve_process.h"
#include "temp_dir.h"
#include "test_env.h"

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

}  // namespace
}  // namespace ftx
