// SPDX-License-Identifier: MIT
// The ftx binary as a user runs it: help, version, typos, exit codes, a real serve/send
// pair whose log digests match xxh128sum and sha256sum, and the promises of `ftx serve`'s
// defaults: 64 clients, a 5 s chat stall limit, 5 s for transfers in flight when stopped.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat_clients.h"
#include "digest/digest.h"
#include "digests.h"
#include "peers.h"
#include "process.h"
#include "raw_client.h"
#include "temp_dir.h"
#include "test_env.h"
#include "util/text.h"

namespace ftx {
namespace {

using testing::Process;
using testing::TempDir;

class Binary : public ::testing::Test {
 protected:
  // Runs ftx with args to completion.
  int run(std::vector<std::string> args, std::string* out = nullptr, std::string* err = nullptr) {
    args.insert(args.begin(), testing::ftx_binary());
    Process p(args, tmp_.path(), "run" + std::to_string(++runs_));
    const auto code = p.wait();
    if (out) *out = p.out();
    if (err) *err = p.err();
    EXPECT_TRUE(code.has_value()) << "timed out";
    return code.value_or(-1);
  }

  // Starts `ftx serve` on an ephemeral port; returns its port.
  uint16_t start_server(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        testing::ftx_binary(),    "serve", "--host", "127.0.0.1", "--port", "0", "--dir",
        (tmp_ / "inbox").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<Process>(args, tmp_.path(), "server");
    const auto port = server_->wait_for_err(R"(on 127\.0\.0\.1:(\d+))");
    EXPECT_TRUE(port.has_value()) << server_->err();
    return port ? static_cast<uint16_t>(std::stoi(*port)) : 0;
  }

  // Every event of the transfer log of type `event` ("" for all) so far.
  std::vector<nlohmann::json> log_events(const std::string& event = "") {
    std::vector<nlohmann::json> out;
    std::ifstream in(tmp_ / "inbox" / ".ftx" / "transfers.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && (event.empty() || j["event"] == event)) out.push_back(j);
    }
    return out;
  }
  std::vector<nlohmann::json> file_events() { return log_events("file"); }

  TempDir tmp_;
  std::unique_ptr<Process> server_;
  int runs_ = 0;
};

TEST_F(Binary, VersionAndHelp) {
  std::string out;
  EXPECT_EQ(run({"--version"}, &out), 0);
  EXPECT_EQ(out.rfind("ftx ", 0), 0u);
  EXPECT_EQ(run({"--help"}, &out), 0);
  EXPECT_NE(out.find("serve"), std::string::npos);
  EXPECT_NE(out.find("send"), std::string::npos);
  EXPECT_NE(out.find("chat"), std::string::npos);
  EXPECT_EQ(run({"chat", "--help"}, &out), 0);
  for (const char* flag : {"--name", "--quiet", "--no-echo", "/send", "/who", "/quit"}) {
    EXPECT_NE(out.find(flag), std::string::npos) << flag;
  }
  EXPECT_EQ(run({"serve", "--help"}, &out), 0);
  for (const char* flag : {"--host", "--port", "--dir", "--log", "--max-clients", "--max-size", "--overwrite",
                           "--idle-timeout", "--hash", "--log-chat", "--quiet"}) {
    EXPECT_NE(out.find(flag), std::string::npos) << flag;
  }
  EXPECT_EQ(run({"send", "--help"}, &out), 0);
  for (const char* flag : {"--as", "--json", "--no-progress", "--name", "--timeout"}) {
    EXPECT_NE(out.find(flag), std::string::npos) << flag;
  }
}

TEST_F(Binary, UsageErrorsExitTwo) {
  std::string err;
  EXPECT_EQ(run({"sned"}, nullptr, &err), 2);
  EXPECT_NE(err.find("did you mean 'send'"), std::string::npos) << err;
  EXPECT_EQ(run({}, nullptr, &err), 2);
  EXPECT_EQ(run({"send", "localhost"}, nullptr, &err), 2);
  EXPECT_EQ(run({"send", "localhost", "file"}, nullptr, &err), 2);
  EXPECT_NE(err.find(":PORT"), std::string::npos) << err;
  EXPECT_EQ(run({"serve", "--hash", "md5"}, nullptr, &err), 2);
  EXPECT_EQ(run({"serve", "--overwrite", "skip"}, nullptr, &err), 2);
  EXPECT_EQ(run({"serve", "--max-size", "lots"}, nullptr, &err), 2);
  EXPECT_EQ(run({"serve", "--bogus"}, nullptr, &err), 2);
}

TEST_F(Binary, SendToNothingExitsThree) {
  std::string err;
  testing::write_file(tmp_ / "f", "x");
  // Port 1 on loopback: nothing listens there on a test machine.
  EXPECT_EQ(run({"send", "127.0.0.1:1", (tmp_ / "f").string()}, nullptr, &err), 3);
  EXPECT_NE(err.find("connect 127.0.0.1:1"), std::string::npos) << err;
}

TEST_F(Binary, ServeSendAndStop) {
  const uint16_t port = start_server();
  ASSERT_NE(port, 0);
  const std::string target = "127.0.0.1:" + std::to_string(port);
  testing::write_file(tmp_ / "a.bin", testing::random_bytes(3'000'000, 1));
  testing::write_file(tmp_ / "b.txt", "hello\n");
  std::string out;
  EXPECT_EQ(run({"send", target, (tmp_ / "a.bin").string(), (tmp_ / "b.txt").string()}, &out), 0);
  EXPECT_NE(out.find("saved"), std::string::npos) << out;
  EXPECT_EQ(testing::read_file(tmp_ / "inbox" / "a.bin"), testing::read_file(tmp_ / "a.bin"));
  const auto events = file_events();
  ASSERT_EQ(events.size(), 2u);
  for (const auto& e : events) {
    EXPECT_EQ(e["digest"],
              testing::independent_digest(tmp_ / "inbox" / e["path"].get<std::string>(), "xxh128"));
  }

  // A missing local file: exit 4, the other file still answered (the same bytes are
  // already there: unchanged, not copied).
  EXPECT_EQ(run({"send", target, (tmp_ / "nope").string(), (tmp_ / "b.txt").string()}, &out), 4);
  EXPECT_NE(out.find("unchanged " + (tmp_ / "b.txt").string()), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "inbox" / "b (1).txt"));

  // --json: one object per file on stdout.
  EXPECT_EQ(run({"send", target, "--json", (tmp_ / "b.txt").string(), "--as", "j.txt"}, &out), 0);
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["saved_as"], "j.txt");
  EXPECT_EQ(j["digest"], testing::independent_digest(tmp_ / "b.txt", "xxh128"));

  server_->signal(SIGTERM);
  EXPECT_EQ(server_->wait(testing::scaled(std::chrono::seconds(15))), 0);
  EXPECT_NE(server_->err().find("stopped"), std::string::npos);
}

TEST_F(Binary, Sha256DigestsMatchSha256sum) {
  const uint16_t port = start_server({"--hash", "sha256"});
  ASSERT_NE(port, 0);
  testing::write_file(tmp_ / "s.bin", testing::random_bytes(1'234'567, 2));
  std::string out;
  EXPECT_EQ(run({"send", "127.0.0.1:" + std::to_string(port), (tmp_ / "s.bin").string()}, &out), 0);
  EXPECT_NE(out.find("sha256:"), std::string::npos);
  const auto events = file_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["digest"], testing::independent_digest(tmp_ / "inbox" / "s.bin", "sha256"));
}

TEST_F(Binary, RefusedFileExitsOne) {
  const uint16_t port = start_server({"--max-size", "1K"});
  ASSERT_NE(port, 0);
  testing::write_file(tmp_ / "big", std::string(2048, 'x'));
  std::string err;
  EXPECT_EQ(run({"send", "127.0.0.1:" + std::to_string(port), (tmp_ / "big").string()}, nullptr, &err), 1);
  EXPECT_NE(err.find("too_large"), std::string::npos) << err;
}

// Each result line names the file as the server saved it: not `saved photos/p1.jpg` for a
// file saved as p1.jpg, nor `saved build.log` for one sent --as logs/today.log.
TEST_F(Binary, ResultLinesNameTheFileAsSavedOnTheServer) {
  const uint16_t port = start_server();
  ASSERT_NE(port, 0);
  const std::string target = "127.0.0.1:" + std::to_string(port);
  std::filesystem::create_directories(tmp_ / "photos");
  const auto photo = (tmp_ / "photos" / "p1.jpg").string();
  const auto log = (tmp_ / "build.log").string();
  testing::write_file(photo, "jpeg\n");
  testing::write_file(log, "log\n");
  std::string out;
  EXPECT_EQ(run({"send", target, photo}, &out), 0);
  EXPECT_NE(out.find("saved " + photo + " as p1.jpg ("), std::string::npos) << out;
  EXPECT_EQ(run({"send", target, log, "--as", "logs/today.log"}, &out), 0);
  EXPECT_NE(out.find("saved " + log + " as logs/today.log ("), std::string::npos) << out;
  EXPECT_EQ(testing::read_file(tmp_ / "inbox" / "logs" / "today.log"), "log\n");
}

// A file refused before any of its bytes moved has no rate (not its byte count as one),
// and its error code is said once, in its field, not again inside the message.
TEST_F(Binary, AFailedFileInJsonHasNoMadeUpRateAndItsCodeOnce) {
  const uint16_t port = start_server({"--max-size", "1M"});
  ASSERT_NE(port, 0);
  testing::write_file(tmp_ / "big.bin", std::string(2'200'000, 'b'));
  std::string out;
  EXPECT_EQ(run({"send", "127.0.0.1:" + std::to_string(port), "--json", (tmp_ / "big.bin").string()}, &out),
            1);
  const auto j = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(j.is_object()) << out;
  EXPECT_EQ(j["status"], "error");
  EXPECT_EQ(j["mbps"], 0.0) << out;
  EXPECT_EQ(j["error"]["code"], "too_large") << out;
  const std::string message = j["error"]["message"];
  EXPECT_FALSE(message.empty());
  EXPECT_EQ(message.find("too_large"), std::string::npos) << out;
}

// The server's log tells a broken upload as it was: `interrupted`, with the bytes it kept
// for a resume (not bad_request with 0 bytes), and a reset connection as `reset` (not
// internal).
TEST_F(Binary, TheLogSaysInterruptedWithTheBytesKeptAndResetForAReset) {
  const uint16_t port = start_server();
  ASSERT_NE(port, 0);
  constexpr uint64_t kMiB = 1 << 20;
  const auto partial = tmp_ / "inbox" / ".ftx" / "partial";
  auto wait_until = [](const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + testing::scaled(std::chrono::seconds(20));
    while (!done() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return done();
  };
  auto file_event_of = [&](const std::string& name) {
    for (const auto& e : file_events())
      if (e["name"] == name) return e;
    return nlohmann::json();
  };
  {
    testing::RawClient closer(port);
    closer.handshake("closer");
    closer.send(proto::FileBegin{"closed.bin", 4 * kMiB, 0644, 0, 0, "c105ed"});
    ASSERT_TRUE(std::holds_alternative<proto::Ready>(closer.receive()));
    closer.send_raw(std::string(kMiB, 'c'));
  }  // closed mid-file
  ASSERT_TRUE(wait_until([&] { return !file_event_of("closed.bin").is_null(); }));
  const auto closed = file_event_of("closed.bin");
  EXPECT_EQ(closed["error"]["code"], "interrupted") << closed.dump();
  EXPECT_EQ(closed["bytes"], kMiB) << closed.dump();
  EXPECT_EQ(std::filesystem::file_size(partial / "r-c105ed"), kMiB);

  testing::RawClient resetter(port);
  resetter.handshake("resetter");
  resetter.send(proto::FileBegin{"reset.bin", 4 * kMiB, 0644, 0, 0, "2e5e7"});
  ASSERT_TRUE(std::holds_alternative<proto::Ready>(resetter.receive()));
  resetter.send_raw(std::string(kMiB, 'r'));
  // The reset must come after the server has the bytes (a reset drops what it has not read).
  ASSERT_TRUE(wait_until([&] {
    std::error_code ec;
    return std::filesystem::file_size(partial / "r-2e5e7", ec) >= kMiB && !ec;
  }));
  linger hard{1, 0};
  ASSERT_EQ(::setsockopt(resetter.fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard), 0);
  resetter.close();
  auto disconnect_of = [&](const std::string& client) {
    for (const auto& e : log_events("disconnect"))
      if (e["client"] == client) return e;
    return nlohmann::json();
  };
  ASSERT_TRUE(wait_until([&] { return !disconnect_of("resetter").is_null(); }));
  const auto reset = file_event_of("reset.bin");
  EXPECT_EQ(reset["error"]["code"], "interrupted") << reset.dump();
  EXPECT_EQ(reset["bytes"], kMiB) << reset.dump();
  const auto gone = disconnect_of("resetter");
  EXPECT_EQ(gone["error"]["code"], "reset") << gone.dump();
}

// Chat names that would let a member pass for another are refused with an ERROR, and the
// client keeps its name: "NICK bob> fake" made "<bob> fake> hi", and "server" followed by an
// invisible character printed as "<server>". A plain duplicate is still numbered.
TEST_F(Binary, NicksThatCouldImpersonateAreRefused) {
  const uint16_t port = start_server();
  ASSERT_NE(port, 0);
  testing::ChatClient bob(port, "bob");
  testing::TextClient t(port);
  for (const std::string nick : {"bob> fake", "bob fake", "server", "server\xe2\x80\x8b",
                                 "server\xe2\x81\xa0", "server\xef\xbb\xbf", "Bob",
                                 "b\xd0\xbe"
                                 "b"}) {
    t.write("NICK " + nick + "\n");
    const std::string line = t.line_matching("^ERROR|you are");
    EXPECT_EQ(line.rfind("ERROR bad_request ", 0), 0u) << printable(nick) << ": " << line;
  }
  t.write("NICK bob\n");
  EXPECT_NE(t.line_matching("you are").find("you are bob-2"), std::string::npos);
  // At HELLO too, and in the real client before it connects.
  testing::RawClient disguised(port);
  disguised.send(proto::Hello{proto::kProtocolVersion, proto::Role::Chat, "server\xe2\x80\x8b", ""});
  const auto reply = disguised.receive();
  ASSERT_TRUE(std::holds_alternative<proto::Error>(reply));
  EXPECT_EQ(std::get<proto::Error>(reply).code, proto::ErrorCode::BadRequest);
  std::string err;
  EXPECT_EQ(run({"chat", "127.0.0.1:" + std::to_string(port), "--name", "bob> fake"}, nullptr, &err), 2);
  EXPECT_NE(err.find("'<' or '>'"), std::string::npos) << err;
}

// `nc` without -N keeps an upload connection open after OK; the server closes it after
// --idle-timeout, as any silent client that is not a chat member, instead of holding the
// slot for ever.
TEST_F(Binary, AnUploadConnectionLeftOpenIsClosedAfterTheIdleTimeout) {
  const uint16_t port = start_server({"--idle-timeout", "1"});
  ASSERT_NE(port, 0);
  testing::TextClientOptions options;
  options.io_timeout = std::chrono::seconds(20);
  options.failure_reads_as_line = true;
  testing::TextClient nc(port, options);
  nc.write("SEND_FILE a.txt 5\nhello");
  EXPECT_EQ(nc.line_matching("^OK").rfind("OK a.txt 5 ", 0), 0u);
  EXPECT_EQ(nc.line_matching("^ERROR|<eof>|<reset>").rfind("ERROR timeout", 0), 0u);
  EXPECT_EQ(nc.line(), "<eof>");
}

TEST_F(Binary, PortInUseExitsThree) {
  const uint16_t port = start_server();
  ASSERT_NE(port, 0);
  std::string err;
  EXPECT_EQ(run({"serve", "--host", "127.0.0.1", "--port", std::to_string(port), "--dir",
                 (tmp_ / "other").string()},
                nullptr, &err),
            3);
  EXPECT_NE(err.find("in use"), std::string::npos) << err;
}

TEST_F(Binary, LogToStdout) {
  server_ = std::make_unique<Process>(
      std::vector<std::string>{testing::ftx_binary(), "serve", "--host", "127.0.0.1", "--port", "0", "--dir",
                               (tmp_ / "inbox").string(), "--log", "-"},
      tmp_.path(), "server");
  const auto port = server_->wait_for_err(R"(on 127\.0\.0\.1:(\d+))");
  ASSERT_TRUE(port.has_value());
  testing::write_file(tmp_ / "f", "x");
  EXPECT_EQ(run({"send", "127.0.0.1:" + *port, (tmp_ / "f").string()}), 0);
  server_->signal(SIGINT);
  EXPECT_EQ(server_->wait(testing::scaled(std::chrono::seconds(15))), 0);
  EXPECT_NE(server_->out().find("\"event\":\"file\""), std::string::npos) << server_->out();
}

// ---------------------------------------------------------------------------------------
// Promises of `ftx serve` with its defaults (README: "What the server guarantees").

using namespace std::chrono_literals;

// An upload over a raw connection, begun and left half sent: the server has READY'd it and
// written some of it, so it is a transfer in flight.
std::string begin_half_upload(testing::RawClient& c, const std::filesystem::path& inbox, size_t size) {
  const std::string data = testing::random_bytes(size, 19);
  c.send(proto::FileBegin{"inflight.bin", data.size(), 0644, 0, 0, ""});
  EXPECT_TRUE(std::holds_alternative<proto::Ready>(c.receive()));
  c.send_raw(data.substr(0, size / 2));
  const auto deadline = std::chrono::steady_clock::now() + testing::scaled(10s);
  while (testing::partial_count(inbox) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_GT(testing::partial_count(inbox), 0u) << "the server never began the file";
  return data;
}

// SIGTERM: no new connection, an idle client closed at once, and a transfer in flight
// finishes and is SAVED (within the 5 s grace) before the server exits 0. "At once" is
// checked by order: the idle client is closed while the transfer is still unfinished, and
// the transfer then completes, so the server did not wait out the grace to close it.
TEST_F(Binary, StopLetsATransferInFlightFinishAndClosesIdleClientsAtOnce) {
  const uint16_t port = start_server();
  ASSERT_NE(port, 0);
  testing::RawClient idle(port);
  idle.handshake("idle");
  testing::RawClient busy(port);
  busy.handshake("busy");
  const std::string data = begin_half_upload(busy, tmp_ / "inbox", 4 << 20);
  ASSERT_FALSE(HasFailure());

  server_->signal(SIGTERM);
  EXPECT_TRUE(idle.closed_by_server()) << "the idle client was not closed";
  EXPECT_THROW(net::connect_tcp("127.0.0.1", port, 2s), std::exception) << "still accepting";
  EXPECT_FALSE(server_->wait(0ms).has_value()) << "the server did not wait for the transfer";

  busy.send_raw(data.substr(data.size() / 2));
  digest::Hasher h(proto::DigestAlgo::Xxh128);
  h.update(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  busy.send(proto::FileEnd{proto::DigestAlgo::Xxh128, h.finish()});
  const proto::Frame answer = busy.receive();
  ASSERT_TRUE(std::holds_alternative<proto::Saved>(answer))
      << proto::frame_type_name(proto::frame_type(answer));
  EXPECT_TRUE(testing::read_file(tmp_ / "inbox" / "inflight.bin") == data);
  EXPECT_TRUE(busy.closed_by_server()) << "the finished client was kept";
  EXPECT_EQ(server_->wait(testing::scaled(15s)), 0) << server_->err();
}

// A transfer that does not finish within the grace is cut, and the server still exits 0.
TEST_F(Binary, StopCutsATransferThatOutlastsTheGrace) {
  const uint16_t port = start_server();
  ASSERT_NE(port, 0);
  testing::RawClient busy(port);
  busy.handshake("stalled");
  begin_half_upload(busy, tmp_ / "inbox", 4 << 20);
  ASSERT_FALSE(HasFailure());
  const auto stop = std::chrono::steady_clock::now();
  server_->signal(SIGTERM);
  // Still served a while after the signal (the grace), then closed.
  pollfd p{busy.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 1000), 0) << "cut at once, without the grace";
  EXPECT_TRUE(busy.closed_by_server());
  EXPECT_EQ(server_->wait(testing::scaled(15s)), 0) << server_->err();
  EXPECT_GE(std::chrono::steady_clock::now() - stop, 4s);  // 5 s, less poll(2)'s rounding
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "inbox" / "inflight.bin"));
}

// --max-clients defaults to 64: 64 clients are served at once, the 65th is told busy. They
// come from four addresses, 16 each: the default --max-per-address.
TEST_F(Binary, SixtyFourClientsByDefaultAndTheNextIsBusy) {
  const uint16_t port = start_server();
  ASSERT_NE(port, 0);
  std::vector<std::unique_ptr<testing::RawClient>> clients;
  for (int i = 0; i < 64; ++i) {
    clients.push_back(
        std::make_unique<testing::RawClient>(testing::connect_from(testing::loopback(2 + i / 16), port)));
    ASSERT_NO_THROW(clients.back()->handshake("c" + std::to_string(i))) << "client " << i + 1 << " refused";
  }
  testing::RawClient extra(testing::connect_from(testing::loopback(6), port));
  extra.send(proto::Hello{proto::kProtocolVersion, proto::Role::Send, "extra", ""});
  const proto::Frame reply = extra.receive();
  ASSERT_TRUE(std::holds_alternative<proto::Error>(reply))
      << proto::frame_type_name(proto::frame_type(reply));
  EXPECT_EQ(std::get<proto::Error>(reply).code, proto::ErrorCode::Busy);
}

// The chat stall limit defaults to 5 s: a member that stops reading is cut off once its
// full queue has held a message that long; checked by outcome and order (cut, and not
// before 5 s after the flood began), not by a tight clock.
TEST_F(Binary, AChatMemberThatStopsReadingIsCutAfterTheDefaultStallLimit) {
  const uint16_t port = start_server();
  ASSERT_NE(port, 0);
  testing::ChatClient stuck(port, "stuck");
  const int small = 4096;
  ::setsockopt(stuck.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  testing::ChatClient talker(port, "talker");

  std::atomic<bool> cut{false};
  const auto flood_began = std::chrono::steady_clock::now();
  std::jthread flood([&] {
    const std::string pad(60000, 'p');
    // More than the queue (1 MiB) and every socket buffer between, and less than the 16
    // queues a member that reads nothing may fall behind (past that it is cut at once).
    try {
      for (int i = 0; i < 150 && !cut; ++i) talker.say(pad);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "the talker was cut off too: " << e.what();
    }
  });
  auto stuck_left = [&] {
    for (const auto& e : log_events("chat_leave")) {
      if (e["client"] == "stuck") return e;
    }
    return nlohmann::json();
  };
  nlohmann::json left;
  const auto deadline = flood_began + testing::scaled(20s);
  while ((left = stuck_left()).is_null() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  const auto seen = std::chrono::steady_clock::now() - flood_began;
  cut = true;
  flood.join();
  ASSERT_FALSE(left.is_null()) << "the stuck member was never cut off";
  EXPECT_TRUE(left.contains("reason")) << left.dump();
  EXPECT_GE(seen, 5s) << "cut off before the default stall limit: " << left.dump();
  EXPECT_TRUE(talker.bye());
}

}  // namespace
}  // namespace ftx
