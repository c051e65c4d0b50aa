// SPDX-License-Identifier: MIT
// A misbehaving client gets a clear error and loses nothing for anyone else: refused names,
// dropped connections, wrong digests, garbage, unexpected frames, limits and timeouts.
#include <poll.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "client/sender.h"
#include "digest/digest.h"
#include "proto/limits.h"
#include "raw_client.h"
#include "temp_dir.h"
#include "test_env.h"
#include "test_server.h"

namespace ftx {
namespace {

using proto::ErrorCode;
using testing::RawClient;
using testing::TempDir;
using testing::TestServer;

class Robustness : public ::testing::Test {
 protected:
  server::ServerConfig config() {
    server::ServerConfig c;
    c.dir = inbox();
    return c;
  }
  std::filesystem::path inbox() const { return tmp_ / "inbox"; }

  static std::string digest_of(const std::string& data) {
    digest::Hasher h(proto::DigestAlgo::Xxh128);
    h.update(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
    return h.finish();
  }

  // A complete, correct upload over a raw client; returns the saved name.
  static std::string upload(RawClient& c, const std::string& name, const std::string& data) {
    c.send(proto::FileBegin{name, data.size(), 0644, 0, 0, ""});
    EXPECT_EQ(std::get<proto::Ready>(c.receive()).offset, 0u);
    c.send_raw(data);
    c.send(proto::FileEnd{proto::DigestAlgo::Xxh128, digest_of(data)});
    return std::get<proto::Saved>(c.receive()).name;
  }

  // The server still serves a normal upload afterwards.
  void expect_still_serving(const TestServer& server) {
    RawClient c(server.port());
    c.handshake();
    const std::string name = "after-" + std::to_string(++uploads_);
    EXPECT_EQ(upload(c, name, "still here"), name);
    EXPECT_EQ(testing::read_file(inbox() / name), "still here");
  }

  static ErrorCode error_code(const proto::Frame& f) {
    const auto* e = std::get_if<proto::Error>(&f);
    if (!e) {
      ADD_FAILURE() << "expected ERROR, got " << proto::frame_type_name(proto::frame_type(f));
      return ErrorCode::Internal;
    }
    return e->code;
  }

  TempDir tmp_;
  int uploads_ = 0;
};

TEST_F(Robustness, RefusedNameWritesNothingAndTheConnectionGoesOn) {
  TestServer server(config());
  RawClient c(server.port());
  c.handshake();
  for (const std::string& name :
       std::vector<std::string>{"../escape", "/etc/passwd", "a/../../x", ".ftx/partial/x", "bad\x1b[2J"}) {
    c.send(proto::FileBegin{name, 3, 0644, 0, 0, ""});
    EXPECT_EQ(error_code(c.receive()), ErrorCode::NameRefused) << name;
  }
  EXPECT_EQ(upload(c, "fine.txt", "abc"), "fine.txt");
  EXPECT_EQ(testing::visible_files(inbox()), std::vector<std::string>{"fine.txt"});
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "escape"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(tmp_.path()), {}), 1);
}

TEST_F(Robustness, DisconnectMidFileLeavesNothingVisible) {
  TestServer server(config());
  {
    RawClient c(server.port());
    c.handshake();
    c.send(proto::FileBegin{"half.bin", 1'000'000, 0644, 0, 0, ""});
    ASSERT_TRUE(std::holds_alternative<proto::Ready>(c.receive()));
    c.send_raw(std::string(400'000, 'h'));
  }
  ASSERT_TRUE(server.wait_disconnects(1));
  EXPECT_TRUE(testing::visible_files(inbox()).empty());
  EXPECT_EQ(testing::partial_count(inbox()), 0u);
  const auto events = server.file_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["status"], "error");
  expect_still_serving(server);
}

TEST_F(Robustness, DirectorySwappedForASymlinkMidTransferIsNotFollowed) {
  TestServer server(config());
  std::filesystem::create_directories(inbox() / "sub");
  std::filesystem::create_directories(tmp_ / "outside");
  RawClient c(server.port());
  c.handshake();
  const std::string data(200000, 'd');
  c.send(proto::FileBegin{"sub/x.bin", data.size(), 0644, 0, 0, ""});
  ASSERT_TRUE(std::holds_alternative<proto::Ready>(c.receive()));
  c.send_raw(data.substr(0, 100000));
  // While the bytes are in flight, the directory becomes a link to outside DIR.
  std::filesystem::rename(inbox() / "sub", inbox() / "sub.real");
  std::filesystem::create_directory_symlink(tmp_ / "outside", inbox() / "sub");
  c.send_raw(data.substr(100000));
  c.send(proto::FileEnd{proto::DigestAlgo::Xxh128, digest_of(data)});
  const proto::Frame reply = c.receive();
  ASSERT_TRUE(std::holds_alternative<proto::Error>(reply));
  EXPECT_EQ(std::get<proto::Error>(reply).code, ErrorCode::NameRefused);
  EXPECT_TRUE(std::filesystem::is_empty(tmp_ / "outside"));
  EXPECT_TRUE(std::filesystem::is_empty(inbox() / "sub.real"));
  EXPECT_EQ(testing::partial_count(inbox()), 0u);
  EXPECT_EQ(upload(c, "after.txt", "ok"), "after.txt");  // the stream is still in step
}

TEST_F(Robustness, WrongDigestIsAnIntegrityErrorAndNothingIsCommitted) {
  TestServer server(config());
  RawClient c(server.port());
  c.handshake();
  c.send(proto::FileBegin{"x.bin", 5, 0644, 0, 0, ""});
  ASSERT_TRUE(std::holds_alternative<proto::Ready>(c.receive()));
  c.send_raw("hello");
  c.send(proto::FileEnd{proto::DigestAlgo::Xxh128, digest_of("hellO")});
  EXPECT_EQ(error_code(c.receive()), ErrorCode::Integrity);
  EXPECT_TRUE(testing::visible_files(inbox()).empty());
  EXPECT_EQ(testing::partial_count(inbox()), 0u);
  EXPECT_EQ(upload(c, "y.bin", "hello"), "y.bin");  // the stream is still in step
  EXPECT_EQ(server.file_events().at(0)["error"]["code"], "integrity");
}

TEST_F(Robustness, FileEndBeforeAllBytesIsNotCommitted) {
  TestServer server(config());
  RawClient c(server.port());
  c.handshake();
  c.send(proto::FileBegin{"short.bin", 100, 0644, 0, 0, ""});
  ASSERT_TRUE(std::holds_alternative<proto::Ready>(c.receive()));
  c.send_raw("abc");
  c.send(proto::FileEnd{proto::DigestAlgo::Xxh128, digest_of("abc")});
  c.close();
  ASSERT_TRUE(server.wait_disconnects(1));
  EXPECT_TRUE(testing::visible_files(inbox()).empty());
  EXPECT_EQ(testing::partial_count(inbox()), 0u);
}

TEST_F(Robustness, MoreBytesThanDeclaredIsABadRequest) {
  TestServer server(config());
  RawClient c(server.port());
  c.handshake();
  c.send(proto::FileBegin{"over.bin", 4, 0644, 0, 0, ""});
  ASSERT_TRUE(std::holds_alternative<proto::Ready>(c.receive()));
  c.send_raw("abcdefghijkl");
  EXPECT_EQ(error_code(c.receive()), ErrorCode::BadRequest);
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_TRUE(testing::visible_files(inbox()).empty());
  expect_still_serving(server);
}

TEST_F(Robustness, UnexpectedFramesAreRefused) {
  TestServer server(config());
  {
    RawClient c(server.port());
    c.send(proto::FileEnd{proto::DigestAlgo::Xxh128, std::string(16, 'a')});  // before HELLO
    EXPECT_EQ(error_code(c.receive()), ErrorCode::BadRequest);
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    RawClient c(server.port());
    c.handshake();
    c.send(proto::Ready{0});  // a server's frame from a client
    EXPECT_EQ(error_code(c.receive()), ErrorCode::BadRequest);
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    RawClient c(server.port());
    c.handshake();
    c.send(proto::FileEnd{proto::DigestAlgo::Xxh128, std::string(16, 'a')});  // no file begun
    EXPECT_EQ(error_code(c.receive()), ErrorCode::BadRequest);
  }
  expect_still_serving(server);
}

TEST_F(Robustness, WrongVersionAndWrongMagic) {
  TestServer server(config());
  {
    RawClient c(server.port());
    c.send(proto::Hello{99, proto::Role::Send, "future", ""});
    EXPECT_EQ(error_code(c.receive()), ErrorCode::UnsupportedVersion);
  }
  {
    RawClient c(server.port());
    auto bytes = proto::encode_frame(proto::Hello{});
    bytes[6] = 'Z';
    c.send_raw(std::string(bytes.begin(), bytes.end()));
    EXPECT_EQ(error_code(c.receive()), ErrorCode::BadRequest);
  }
  expect_still_serving(server);
}

TEST_F(Robustness, OversizedFrameIsRefusedWithoutReadingIt) {
  TestServer server(config());
  RawClient c(server.port());
  c.handshake();
  const uint32_t len = proto::kMaxPayload + 1;
  c.send_raw(std::string{'\x20', static_cast<char>(len >> 24), static_cast<char>(len >> 16),
                         static_cast<char>(len >> 8), static_cast<char>(len)});
  EXPECT_EQ(error_code(c.receive()), ErrorCode::TooLarge);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(Robustness, GarbageDoesNotDisturbOtherClients) {
  TestServer server(config());
  const std::string big = testing::random_bytes(20u << 20, 9);
  testing::write_file(tmp_ / "big.bin", big);
  client::SendReport report;
  std::atomic<bool> done{false};
  std::jthread good([&] {
    client::SendOptions o;
    o.server = {"127.0.0.1", server.port()};
    o.paths = {(tmp_ / "big.bin").string()};
    client::SendObserver quiet;
    report = client::send_files(o, quiet);
    done = true;
  });
  int rounds = 0;
  // Garbage keeps coming for as long as the good upload runs (and at least 20 times).
  while (rounds < 20 || (!done && rounds < 2000)) {
    ++rounds;
    // After a HELLO type byte: binary garbage, refused and closed.
    RawClient bad(server.port());
    bad.send_raw("\x01" + testing::random_bytes(1000 + static_cast<size_t>(rounds) * 37, 500 + rounds));
    EXPECT_TRUE(bad.closed_by_server()) << rounds;
    // Anything else is a text client: binary noise is a chat line with its bytes escaped.
    RawClient noise(server.port());
    noise.send_raw("\xff" + testing::random_bytes(3000, 900 + rounds));
  }
  good.join();
  ASSERT_EQ(report.files.at(0).status, client::FileStatus::Saved) << report.files[0].error;
  EXPECT_TRUE(testing::read_file(inbox() / "big.bin") == big);
  expect_still_serving(server);
}

TEST_F(Robustness, OneMoreThanMaxClientsIsBusy) {
  server::ServerConfig c = config();
  c.max_clients = 2;
  TestServer server(c);
  RawClient first(server.port());
  first.handshake();
  RawClient second(server.port());
  second.handshake();
  RawClient third(server.port());
  third.send(proto::Hello{proto::kProtocolVersion, proto::Role::Send, "third", ""});
  EXPECT_EQ(error_code(third.receive()), ErrorCode::Busy);
  EXPECT_TRUE(third.closed_by_server());
  first.send(proto::Bye{});
  EXPECT_TRUE(std::holds_alternative<proto::Bye>(first.receive()));
  first.close();
  ASSERT_TRUE(server.wait_disconnects(2));  // the busy refusal and `first`
  // A slot is free again: a new client is served (bounded retries while the slot is reaped).
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    RawClient next(server.port());
    next.send(proto::Hello{proto::kProtocolVersion, proto::Role::Send, "next", ""});
    served = std::holds_alternative<proto::Welcome>(next.receive());
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(served);
}

TEST_F(Robustness, SilentClientIsGreetedAsATextClient) {
  TestServer server(config());
  RawClient silent(server.port());
  std::string line;
  wire::Channel channel(silent.fd(), "server");
  ASSERT_EQ(channel.read_line(line, 1000), wire::Channel::LineStatus::Line);
  EXPECT_NE(line.find("SEND_FILE"), std::string::npos) << line;
}

TEST_F(Robustness, StalledHelloIsClosedAfterTheIdleTimeout) {
  server::ServerConfig c = config();
  c.idle_timeout = std::chrono::milliseconds(500);
  TestServer server(c);
  RawClient stalled(server.port());
  const auto hello = proto::encode_frame(proto::Hello{});
  stalled.send_raw(std::string(hello.begin(), hello.begin() + 7));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(error_code(stalled.receive()), ErrorCode::Timeout);
  EXPECT_TRUE(stalled.closed_by_server());
  EXPECT_LT(std::chrono::steady_clock::now() - start, testing::scaled(std::chrono::seconds(8)));
  expect_still_serving(server);
}

TEST_F(Robustness, TricklingClientIsClosedAfterTheIdleTimeout) {
  server::ServerConfig c = config();
  c.idle_timeout = std::chrono::milliseconds(1000);
  TestServer server(c);
  RawClient slow(server.port());
  slow.handshake();
  // A FILE_BEGIN header announcing 1,000 bytes, then one byte every 200 ms until the server
  // answers: each read is quick, so only the frame's own deadline can end this.
  const auto start = std::chrono::steady_clock::now();
  slow.send_raw(std::string{'\x10', 0, 0, '\x03', '\xe8'});
  for (int i = 0; i < 50; ++i) {
    pollfd p{slow.fd(), POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) break;  // the answer (or the close)
    try {
      slow.send_raw("x");
    } catch (const std::system_error&) {
      break;
    }
  }
  const auto answered = std::chrono::steady_clock::now() - start;
  // The answer says why, and comes neither before the frame's time is up (a server that
  // closes a trickler at once, for any reason, fails here) nor long after.
  EXPECT_EQ(error_code(slow.receive()), ErrorCode::Timeout);
  EXPECT_TRUE(slow.closed_by_server());
  EXPECT_GE(answered, c.idle_timeout - std::chrono::milliseconds(50));  // poll(2) counts whole ms
  EXPECT_LT(answered, testing::scaled(std::chrono::seconds(5)));
  expect_still_serving(server);
}

TEST_F(Robustness, StopEndsIdleSessionsPromptly) {
  auto server = std::make_unique<TestServer>(config());
  RawClient idle(server->port());
  idle.handshake();
  const auto start = std::chrono::steady_clock::now();
  server.reset();  // request_stop + join
  EXPECT_LT(std::chrono::steady_clock::now() - start, testing::scaled(std::chrono::seconds(2)));
  EXPECT_TRUE(idle.closed_by_server());
}

}  // namespace
}  // namespace ftx
