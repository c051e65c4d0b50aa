// SPDX-License-Identifier: MIT
// TLS on the same port as plain, as a user meets it through the real binary: the server's
// key and its fingerprint, pinned and trusted-on-first-use clients, a changed key refused
// before anything is sent (exit 5), no file byte or token readable on the wire, --plain and
// --no-tls, --require-tls, openssl s_client and ncat --ssl in text mode, and hostile
// handshakes that leave the server serving.
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat_clients.h"
#include "net/socket.h"
#include "net/tls.h"
#include "process.h"
#include "raw_client.h"
#include "recording_proxy.h"
#include "serve_process.h"
#include "shell.h"
#include "temp_dir.h"
#include "test_env.h"
#include "wire/channel.h"

namespace ftx {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::installed;
using testing::Process;
using testing::RecordingProxy;
using testing::shell_output;
using testing::TempDir;

using Serve = testing::ServeProcess;

struct Ran {
  int code = -1;
  std::string out;
  std::string err;
};

std::vector<nlohmann::json> log_events(const fs::path& dir, const std::string& event) {
  std::vector<nlohmann::json> out;
  std::ifstream in(dir / ".ftx" / "transfers.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j["event"] == event) out.push_back(j);
  }
  return out;
}

// Waits (bounded) until DIR's log holds n `disconnect` events; returns them.
std::vector<nlohmann::json> disconnects(const fs::path& dir, size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + testing::scaled(10s);
  while (log_events(dir, "disconnect").size() < n && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  return log_events(dir, "disconnect");
}

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// How many 32-byte runs of secret appear anywhere in haystack (0 when none does).
size_t runs_of(const std::string& secret, const std::string& haystack) {
  constexpr size_t kRun = 32;
  if (secret.size() < kRun || haystack.size() < kRun) return 0;
  std::unordered_set<std::string_view> windows;
  for (size_t i = 0; i + kRun <= secret.size(); ++i) windows.insert(std::string_view(secret).substr(i, kRun));
  size_t found = 0;
  for (size_t i = 0; i + kRun <= haystack.size(); ++i)
    found += windows.count(std::string_view(haystack).substr(i, kRun));
  return found;
}

// The first flight of a real TLS 1.3 client: a whole ClientHello record.
std::string client_hello() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, rbio, wbio);
  SSL_connect(ssl);  // wants to read the ServerHello; the ClientHello is in wbio
  char* data = nullptr;
  const long n = BIO_get_mem_data(wbio, &data);
  std::string out(data, static_cast<size_t>(n > 0 ? n : 0));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return out;
}

class Tls : public ::testing::Test {
 protected:
  // The clients see this process's environment: a pin or token of the user's must not
  // decide what a test sees.
  Tls() {
    ::unsetenv("FTX_PIN");
    ::unsetenv("FTX_TOKEN");
  }

  fs::path inbox() const { return tmp_ / "inbox"; }
  /// Where the clients this test starts remember keys (process.h gives them tmp_/config).
  fs::path known_hosts() const { return tmp_ / "config" / "ftx" / "known_hosts"; }

  std::unique_ptr<Serve> serve(const std::vector<std::string>& extra = {}, uint16_t port = 0) {
    auto s =
        std::make_unique<Serve>(inbox(), extra, tmp_.path(), "server" + std::to_string(++servers_), port);
    return s;
  }

  Ran ftx(std::vector<std::string> args, const std::string& stdin_path = "/dev/null") {
    args.insert(args.begin(), testing::ftx_binary());
    Process p(args, tmp_.path(), "run" + std::to_string(++runs_), stdin_path);
    Ran r;
    const auto code = p.wait();
    EXPECT_TRUE(code.has_value()) << args[1] << " did not end";
    r.code = code.value_or(-1);
    r.out = p.out();
    r.err = p.err();
    return r;
  }

  /// `ftx send 127.0.0.1:PORT FILE [extra]`.
  Ran send(uint16_t port, const fs::path& file, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"send", "127.0.0.1:" + std::to_string(port), file.string(),
                                     "--no-progress"};
    args.insert(args.end(), extra.begin(), extra.end());
    return ftx(args);
  }

  /// A file of recognisable random bytes in tmp_.
  fs::path source(const std::string& name, size_t size, uint64_t seed) {
    const fs::path p = tmp_ / "src" / name;
    testing::write_file(p, testing::random_bytes(size, seed));
    return p;
  }

  void expect_saved(const fs::path& src, const std::string& name) {
    ASSERT_TRUE(fs::exists(inbox() / name)) << name << " was not saved";
    EXPECT_TRUE(testing::read_file(inbox() / name) == testing::read_file(src)) << name << " differs";
  }

  void expect_nothing_saved() {
    if (!fs::exists(inbox())) return;
    EXPECT_TRUE(testing::visible_files(inbox()).empty());
    EXPECT_TRUE(log_events(inbox(), "file").empty()) << "a file event was logged";
    EXPECT_EQ(testing::partial_count(inbox()), 0u);
  }

  TempDir tmp_;
  int runs_ = 0;
  int servers_ = 0;
};

// ---------------------------------------------------------------------------------------
// 1. Pinning.

TEST_F(Tls, PinnedSendSavesTheFileAndAWrongPinSendsNothing) {
  auto server = serve();
  ASSERT_NE(server->port(), 0);
  ASSERT_FALSE(server->fingerprint().empty()) << server->err();
  const std::string key = server->fingerprint();
  EXPECT_NE(server->err().find("TLS key " + key + " (new); clients check it with --pin"), std::string::npos)
      << server->err();

  // A wrong pin: the server's key, one character changed.
  std::string wrong = key;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  const fs::path secret = source("secret.bin", 100000, 1);
  Ran r = send(server->port(), secret, {"--pin", wrong, "--token", "not-this-one"});
  EXPECT_EQ(r.code, 5) << r.err;
  EXPECT_NE(r.err.find(key), std::string::npos) << "the warning names the offered key: " << r.err;
  EXPECT_NE(r.err.find(wrong), std::string::npos) << "the warning names the pinned key: " << r.err;
  EXPECT_NE(r.err.find("Nothing was sent"), std::string::npos) << r.err;
  // The server never heard a HELLO on it: nobody is named in its disconnect.
  const auto gone = disconnects(inbox(), 1);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0]["client"], "-") << gone[0].dump();

  // The same through FTX_PIN.
  ::setenv("FTX_PIN", wrong.c_str(), 1);
  r = send(server->port(), secret);
  ::unsetenv("FTX_PIN");
  EXPECT_EQ(r.code, 5) << r.err;
  expect_nothing_saved();

  // The right pin: saved, byte for byte.
  r = send(server->port(), secret, {"--pin", key});
  EXPECT_EQ(r.code, 0) << r.err;
  expect_saved(secret, "secret.bin");
  const fs::path other = source("other.bin", 5000, 2);
  ::setenv("FTX_PIN", key.c_str(), 1);
  r = send(server->port(), other);
  ::unsetenv("FTX_PIN");
  EXPECT_EQ(r.code, 0) << r.err;
  expect_saved(other, "other.bin");
}

TEST_F(Tls, WrongPinForChatSaysNothing) {
  auto server = serve({"--log-chat"});
  ASSERT_NE(server->port(), 0);
  std::string wrong = server->fingerprint();
  ASSERT_FALSE(wrong.empty());
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  testing::write_file(tmp_ / "said", "a message that must not leave\n");
  Ran r = ftx({"chat", server->address(), "--pin", wrong, "--name", "mallory"}, (tmp_ / "said").string());
  EXPECT_EQ(r.code, 5) << r.err;
  EXPECT_NE(r.err.find(server->fingerprint()), std::string::npos) << r.err;
  server->stop();
  EXPECT_EQ(testing::read_file(inbox() / ".ftx" / "transfers.jsonl").find("must not leave"),
            std::string::npos);
  EXPECT_EQ(server->err().find("mallory"), std::string::npos) << server->err();
}

TEST_F(Tls, PinnedChatReachesTheRoom) {
  auto server = serve();
  ASSERT_NE(server->port(), 0);
  testing::TextClient listener(server->port());
  ASSERT_NE(listener.line_matching("text mode"), "");
  testing::write_file(tmp_ / "said", "pinned and private 5c1e\n");
  Ran r = ftx({"chat", server->address(), "--pin", server->fingerprint(), "--name", "pinned"},
              (tmp_ / "said").string());
  EXPECT_EQ(r.code, 0) << r.err;
  const std::string heard = listener.line_matching("pinned and private");
  EXPECT_NE(heard.find("<pinned> pinned and private 5c1e"), std::string::npos) << heard;
}

TEST_F(Tls, ABigFileArrivesWholeOverTls) {
  auto server = serve();
  ASSERT_NE(server->port(), 0);
  const fs::path big = source("big.bin", (24 << 20) + 12345, 16);
  Ran r = send(server->port(), big, {"--pin", server->fingerprint()});
  EXPECT_EQ(r.code, 0) << r.err;
  expect_saved(big, "big.bin");
}

// ---------------------------------------------------------------------------------------
// 2. Trust on first use.

TEST_F(Tls, FirstUseIsRememberedAndAChangedKeyIsRefused) {
  auto server = serve({"--key", (tmp_ / "first.pem").string()});
  const uint16_t port = server->port();
  ASSERT_NE(port, 0);
  const std::string first_key = server->fingerprint();
  ASSERT_FALSE(first_key.empty());
  const std::string host_port = "127.0.0.1:" + std::to_string(port);

  const fs::path a = source("a.bin", 20000, 3);
  Ran r = send(port, a);
  ASSERT_EQ(r.code, 0) << r.err;
  expect_saved(a, "a.bin");
  EXPECT_NE(r.err.find("new server " + host_port), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("remembered"), std::string::npos) << r.err;
  ASSERT_TRUE(fs::exists(known_hosts()));
  EXPECT_EQ(testing::read_file(known_hosts()), host_port + " " + first_key + "\n");
  EXPECT_EQ(mode_of(known_hosts()), 0600u);

  // Known now: no notice the second time.
  const fs::path b = source("b.bin", 20000, 4);
  r = send(port, b);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("new server"), std::string::npos) << r.err;

  // Another key on the same port: refused before anything is sent.
  ASSERT_EQ(server->stop(), 0);
  server = serve({"--key", (tmp_ / "second.pem").string()}, port);
  ASSERT_EQ(server->port(), port) << "the port was taken meanwhile";
  const std::string second_key = server->fingerprint();
  ASSERT_FALSE(second_key.empty());
  ASSERT_NE(second_key, first_key);
  const size_t files_before = log_events(inbox(), "file").size();
  const size_t disconnects_before = log_events(inbox(), "disconnect").size();
  const fs::path c = source("c.bin", 20000, 5);
  r = send(port, c, {"--token", "tok-not-to-be-sent"});
  EXPECT_EQ(r.code, 5) << r.err;
  EXPECT_NE(r.err.find(first_key), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(second_key), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 1 of " + known_hosts().string()), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(inbox() / "c.bin"));
  EXPECT_EQ(log_events(inbox(), "file").size(), files_before);
  // The server never heard a HELLO (nor the token in it) on that connection.
  const auto gone = disconnects(inbox(), disconnects_before + 1);
  ASSERT_EQ(gone.size(), disconnects_before + 1);
  EXPECT_EQ(gone.back()["client"], "-") << gone.back().dump();
  // The remembered key stays as it was.
  EXPECT_EQ(testing::read_file(known_hosts()), host_port + " " + first_key + "\n");
  // ftx chat is refused the same way.
  testing::write_file(tmp_ / "said", "hello\n");
  r = ftx({"chat", host_port}, (tmp_ / "said").string());
  EXPECT_EQ(r.code, 5) << r.err;

  // The first key back: the same fingerprint, and the send works without a pin.
  ASSERT_EQ(server->stop(), 0);
  server = serve({"--key", (tmp_ / "first.pem").string()}, port);
  ASSERT_EQ(server->port(), port);
  EXPECT_EQ(server->fingerprint(), first_key);
  r = send(port, c);
  EXPECT_EQ(r.code, 0) << r.err;
  expect_saved(c, "c.bin");
}

TEST_F(Tls, TheWarningNamesTheLineOfTheRememberedKey) {
  auto server = serve();
  ASSERT_NE(server->port(), 0);
  std::string other = server->fingerprint();
  ASSERT_FALSE(other.empty());
  other.back() = other.back() == 'A' ? 'B' : 'A';
  // Comments and other servers first: the stale entry is line 4.
  testing::write_file(known_hosts(),
                      "# my servers\n127.0.0.1:1 " + other + "\n\n" + server->address() + " " + other + "\n");
  const fs::path a = source("a.bin", 1000, 17);
  const Ran r = send(server->port(), a);
  EXPECT_EQ(r.code, 5) << r.err;
  EXPECT_NE(r.err.find("remove line 4 of " + known_hosts().string()), std::string::npos) << r.err;
  expect_nothing_saved();
}

TEST_F(Tls, AKeyFileThatIsNotAKeyStopsTheServer) {
  testing::write_file(tmp_ / "bad.pem", "not a key\n");
  const Ran r = ftx({"serve", "--host", "127.0.0.1", "--port", "0", "--dir", inbox().string(), "--key",
                     (tmp_ / "bad.pem").string()});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find((tmp_ / "bad.pem").string()), std::string::npos) << r.err;
  EXPECT_EQ(testing::read_file(tmp_ / "bad.pem"), "not a key\n") << "the file was overwritten";
}

TEST_F(Tls, DefaultKeyKeepsItsFingerprintAcrossRestarts) {
  auto server = serve();
  const uint16_t port = server->port();
  ASSERT_NE(port, 0);
  const std::string key = server->fingerprint();
  ASSERT_FALSE(key.empty());
  EXPECT_NE(server->err().find("(new)"), std::string::npos) << server->err();
  ASSERT_EQ(server->stop(), 0);
  server = serve({}, port);
  ASSERT_EQ(server->port(), port);
  EXPECT_EQ(server->fingerprint(), key);
  EXPECT_EQ(server->err().find("(new)"), std::string::npos) << server->err();
  const fs::path a = source("a.bin", 1000, 6);
  EXPECT_EQ(send(port, a, {"--pin", key}).code, 0);
  expect_saved(a, "a.bin");
}

// ---------------------------------------------------------------------------------------
// 3. The key file.

TEST_F(Tls, KeyFilesAreMadePrivateAndTheFingerprintIsTheSpkiDigest) {
  auto server = serve();
  ASSERT_NE(server->port(), 0);
  const fs::path default_key = inbox() / ".ftx" / "key.pem";
  ASSERT_TRUE(fs::exists(default_key));
  EXPECT_EQ(mode_of(default_key), 0600u);
  // Never offered as a received file.
  EXPECT_TRUE(testing::visible_files(inbox()).empty());

  // The fingerprint, computed independently: sha256 of the DER SubjectPublicKeyInfo, base64
  // without padding.
  if (installed("openssl")) {
    std::string b64 =
        shell_output("openssl pkey -in '" + default_key.string() +
                     "' -pubout -outform DER | openssl dgst -sha256 -binary | openssl base64 -A");
    while (!b64.empty() && (b64.back() == '=' || b64.back() == '\n')) b64.pop_back();
    EXPECT_EQ(server->fingerprint(), "sha256:" + b64);
  }
  server->stop();

  const fs::path own = tmp_ / "keys" / "mine.pem";
  fs::create_directories(own.parent_path());
  server = serve({"--key", own.string()});
  ASSERT_NE(server->port(), 0);
  ASSERT_TRUE(fs::exists(own));
  EXPECT_EQ(mode_of(own), 0600u);
  const std::string key = server->fingerprint();
  EXPECT_NE(key, "");
  const fs::path a = source("a.bin", 1000, 7);
  EXPECT_EQ(send(server->port(), a, {"--pin", key}).code, 0);
  expect_saved(a, "a.bin");
}

TEST_F(Tls, ACaCertificateForTheKeyIsPresentedAndTheKeyStillPins) {
  if (!installed("openssl")) GTEST_SKIP() << "openssl is not installed";
  const fs::path key = tmp_ / "k.pem";
  const fs::path cert = tmp_ / "cert.pem";
  ASSERT_EQ(std::system(("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '" +
                         key.string() + "' 2>/dev/null && openssl req -new -x509 -key '" + key.string() +
                         "' -subj /CN=ftx-ca-test -days 2 -out '" + cert.string() + "' 2>/dev/null")
                            .c_str()),
            0);
  auto server = serve({"--key", key.string(), "--cert", cert.string()});
  ASSERT_NE(server->port(), 0);
  const std::string shown = shell_output("openssl s_client -connect " + server->address() +
                                         " </dev/null 2>/dev/null | openssl x509 -noout -subject");
  EXPECT_NE(shown.find("ftx-ca-test"), std::string::npos) << shown;
  const fs::path a = source("a.bin", 1000, 8);
  EXPECT_EQ(send(server->port(), a, {"--pin", server->fingerprint()}).code, 0);
  expect_saved(a, "a.bin");
}

// ---------------------------------------------------------------------------------------
// 4. What the network sees.

TEST_F(Tls, NeitherTheFileNorTheTokenCrossesTheWireReadable) {
  const std::string token = "tok-Zq8rT3mW9vK2pL5xN7bY4cF6";
  auto server = serve({"--token", token});
  ASSERT_NE(server->port(), 0);
  const fs::path secret = source("secret.bin", 300000, 9);
  const std::string data = testing::read_file(secret);
  {
    RecordingProxy proxy(server->port());
    Ran r = send(proxy.port(), secret, {"--pin", server->fingerprint(), "--token", token});
    ASSERT_EQ(r.code, 0) << r.err;
    expect_saved(secret, "secret.bin");
    const std::string wire = proxy.recorded();
    EXPECT_GT(wire.size(), data.size()) << "the proxy did not see the transfer";
    EXPECT_EQ(runs_of(data, wire), 0u) << "the file crossed the wire readable";
    EXPECT_EQ(wire.find(token), std::string::npos) << "the token crossed the wire readable";
  }

  // The control: the same in clear does show both, so the check above can fail.
  server->stop();
  fs::remove(inbox() / "secret.bin");
  server = serve({"--no-tls", "--token", token});
  ASSERT_NE(server->port(), 0);
  RecordingProxy proxy(server->port());
  Ran r = send(proxy.port(), secret, {"--plain", "--token", token});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("token in clear"), std::string::npos) << "--plain with --token warns: " << r.err;
  expect_saved(secret, "secret.bin");
  const std::string wire = proxy.recorded();
  EXPECT_GT(runs_of(data, wire), 0u);
  EXPECT_NE(proxy.sent_by_client().find(token), std::string::npos);
}

// ---------------------------------------------------------------------------------------
// 5. --plain and --no-tls.

TEST_F(Tls, PlainClientsTalkToAPlainServerAndTlsClientsDoNotFallBack) {
  auto server = serve({"--no-tls"});
  ASSERT_NE(server->port(), 0);
  EXPECT_TRUE(server->fingerprint().empty());
  EXPECT_FALSE(fs::exists(inbox() / ".ftx" / "key.pem")) << "--no-tls made a key";
  const fs::path a = source("a.bin", 50000, 10);

  // Without --plain: no fallback to clear; the user is told what to do.
  Ran r = send(server->port(), a);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.code, 5) << "a plain server is not a changed key: " << r.err;
  EXPECT_NE(r.err.find("--plain"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("TLS"), std::string::npos) << r.err;
  expect_nothing_saved();
  EXPECT_FALSE(fs::exists(known_hosts())) << "a plain server's missing key was remembered";

  // The same for chat.
  testing::write_file(tmp_ / "said", "hello\n");
  r = ftx({"chat", server->address()}, (tmp_ / "said").string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--plain"), std::string::npos) << r.err;

  // Something that accepts and never answers: the client gives up on the handshake and
  // says why, still without falling back.
  {
    net::Listener mute = net::listen_tcp("127.0.0.1", 0);
    r = send(mute.port, a, {"--connect-timeout", "1"});
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("TLS handshake"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--plain"), std::string::npos) << r.err;
  }

  // --pin goes with TLS only.
  r = send(server->port(), a, {"--plain", "--pin", "sha256:" + std::string(43, 'A')});
  EXPECT_EQ(r.code, 2) << r.err;

  r = send(server->port(), a, {"--plain"});
  EXPECT_EQ(r.code, 0) << r.err;
  expect_saved(a, "a.bin");
}

TEST_F(Tls, PlainClientOfATlsServerStillWorksUnlessTlsIsRequired) {
  // Without --require-tls a TLS server takes plain clients too (same port).
  auto server = serve();
  ASSERT_NE(server->port(), 0);
  const fs::path a = source("a.bin", 5000, 11);
  Ran r = send(server->port(), a, {"--plain"});
  EXPECT_EQ(r.code, 0) << r.err;
  expect_saved(a, "a.bin");
}

// ---------------------------------------------------------------------------------------
// 6. --require-tls.

TEST_F(Tls, RequireTlsTurnsAwayPlainClientsInTheirOwnLanguage) {
  auto server = serve({"--require-tls"});
  ASSERT_NE(server->port(), 0);
  {
    testing::TextClient nc(server->port());
    nc.write("hello there\n");
    const std::string line = nc.line();
    EXPECT_TRUE(line.starts_with("ERROR tls_required ")) << line;
    EXPECT_EQ(nc.line(), "<eof>");
  }
  {
    // A person at nc who has not typed yet is told too.
    testing::TextClient nc(server->port());
    const std::string line = nc.line();
    EXPECT_TRUE(line.starts_with("ERROR tls_required ")) << line;
  }
  {
    // An nc upload is refused before its bytes count.
    testing::TextClient nc(server->port());
    nc.write("SEND_FILE x.txt 5\nhello");
    EXPECT_TRUE(nc.line().starts_with("ERROR tls_required ")) << "upload";
  }
  {
    // A binary client gets an ERROR frame.
    testing::RawClient raw(server->port());
    raw.send(proto::Hello{proto::kProtocolVersion, proto::Role::Send, "raw", ""});
    const proto::Frame f = raw.receive();
    const auto* e = std::get_if<proto::Error>(&f);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->code, proto::ErrorCode::TlsRequired);
  }
  const fs::path a = source("a.bin", 5000, 12);
  Ran r = send(server->port(), a, {"--plain"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("tls_required"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("without --plain"), std::string::npos) << r.err;
  expect_nothing_saved();

  r = send(server->port(), a, {"--pin", server->fingerprint()});
  EXPECT_EQ(r.code, 0) << r.err;
  expect_saved(a, "a.bin");
  EXPECT_TRUE(server->running());
}

// ---------------------------------------------------------------------------------------
// 7. Text mode inside TLS, with the tools people have.

// Runs a TLS tool with stdin from a file until it ends by itself (the server closes after
// QUIT); returns its stdout.
std::string run_tool(const std::vector<std::string>& args, const fs::path& stdin_path,
                     const fs::path& out_dir, const std::string& tag) {
  Process p(args, out_dir, tag, stdin_path.string());
  const auto code = p.wait(testing::scaled(30s));
  EXPECT_TRUE(code.has_value()) << tag << " did not end: " << p.err();
  return p.out();
}

std::vector<std::string> openssl_client(uint16_t port) {
  return {"/bin/sh", "-c", "exec openssl s_client -quiet -connect 127.0.0.1:" + std::to_string(port)};
}

std::vector<std::string> ncat_client(uint16_t port) {
  return {"/bin/sh", "-c", "exec ncat --ssl 127.0.0.1 " + std::to_string(port)};
}

class TlsTools : public Tls, public ::testing::WithParamInterface<std::string> {
 protected:
  std::vector<std::string> tool(uint16_t port) {
    return GetParam() == "openssl" ? openssl_client(port) : ncat_client(port);
  }
  void skip_unless_installed() {
    if (!installed(GetParam())) {
      if (testing::must_not_skip()) FAIL() << GetParam() << " is not installed";
      GTEST_SKIP() << GetParam() << " is not installed (./quickstart installs it)";
    }
  }
};

TEST_P(TlsTools, UploadWithSendFile) {
  skip_unless_installed();
  auto server = serve({"--require-tls"});
  ASSERT_NE(server->port(), 0);
  const fs::path src = source("up.bin", 70000, 13);
  const std::string data = testing::read_file(src);
  testing::write_file(tmp_ / "stdin",
                      "SEND_FILE up.bin " + std::to_string(data.size()) + "\n" + data + "QUIT\n");
  const std::string out = run_tool(tool(server->port()), tmp_ / "stdin", tmp_.path(), GetParam());
  EXPECT_NE(out.find("OK up.bin " + std::to_string(data.size()) + " "), std::string::npos) << out;
  expect_saved(src, "up.bin");
  EXPECT_NE(server->err().find("TLS"), std::string::npos);
}

TEST_P(TlsTools, ChatLinesReachTheRoom) {
  skip_unless_installed();
  auto server = serve({"--log-chat"});
  ASSERT_NE(server->port(), 0);
  // A listener already in the room (a plain nc; the server takes both on the same port).
  testing::TextClient listener(server->port());
  ASSERT_NE(listener.line_matching("text mode"), "");
  const std::string said = "over TLS from " + GetParam() + " 8f3a";
  testing::write_file(tmp_ / "stdin", said + "\nQUIT\n");
  run_tool(tool(server->port()), tmp_ / "stdin", tmp_.path(), GetParam());
  const std::string heard = listener.line_matching(said);
  EXPECT_NE(heard.find("> " + said), std::string::npos) << heard;
  server->stop();
  EXPECT_NE(testing::read_file(inbox() / ".ftx" / "transfers.jsonl").find(said), std::string::npos)
      << "the chat log lacks the line";
}

INSTANTIATE_TEST_SUITE_P(Tools, TlsTools, ::testing::Values("openssl", "ncat"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param;
                         });

// ---------------------------------------------------------------------------------------
// 8. Hostile TLS.

// True when the server ended the connection within the client's timeout (10 s).
bool closed_after(const std::string& bytes, uint16_t port) {
  testing::RawClient c(port);
  c.send_raw(bytes);
  return c.closed_by_server();
}

TEST_F(Tls, HostileHandshakesAreClosedAndTheServerCarriesOn) {
  auto server = serve({"--idle-timeout", "1", "--max-clients", "4"});
  ASSERT_NE(server->port(), 0);
  const uint16_t port = server->port();

  std::string garbage = "\x16" + testing::random_bytes(600, 14);
  EXPECT_TRUE(closed_after(garbage, port)) << "0x16 then garbage";
  // A record header claiming TLS, then nonsense inside a well-formed length.
  EXPECT_TRUE(closed_after(std::string("\x16\x03\x01\x00\x20", 5) + std::string(32, '\xff'), port));

  const std::string hello = client_hello();
  ASSERT_GT(hello.size(), 100u);
  ASSERT_EQ(hello[0], '\x16');
  {
    testing::RawClient half(port);
    half.send_raw(hello.substr(0, hello.size() / 2));
    half.close();
  }
  // Half a ClientHello and then silence: the idle timeout (1 s) ends it; the 10 s read
  // bound of RawClient fails the test if the server waits for ever.
  EXPECT_TRUE(closed_after(hello.substr(0, hello.size() / 2), port)) << "half a ClientHello, stalled";
  EXPECT_TRUE(closed_after(std::string("\x16\x03\x01", 3), port)) << "a stalled handshake";
  // A whole handshake, then silence: a person at ncat --ssl who has not typed yet, greeted
  // in text mode as one at nc is.
  {
    net::UniqueFd fd = net::connect_tcp("127.0.0.1", port, 5s);
    auto tls = net::TlsClient().connect(fd.get(), "server", "127.0.0.1", testing::scaled(10s));
    tls->set_timeouts(10s, 10s);
    wire::Channel channel(*tls);
    std::string line;
    ASSERT_EQ(channel.read_line(line, 4096), wire::Channel::LineStatus::Line);
    EXPECT_NE(line.find("text mode"), std::string::npos) << line;
  }
  // A second ClientHello inside TLS is answered, in text, and closed.
  {
    net::UniqueFd fd = net::connect_tcp("127.0.0.1", port, 5s);
    auto tls = net::TlsClient().connect(fd.get(), "server", "127.0.0.1", testing::scaled(10s));
    tls->set_timeouts(10s, 10s);
    const std::string inner = hello;
    tls->write_all(std::span(reinterpret_cast<const uint8_t*>(inner.data()), inner.size()));
    wire::Channel channel(*tls);
    std::string line;
    ASSERT_EQ(channel.read_line(line, 4096), wire::Channel::LineStatus::Line);
    EXPECT_TRUE(line.starts_with("ERROR bad_request")) << line;
  }
  EXPECT_TRUE(server->running());

  // 200 handshakes at once against 4 slots.
  constexpr int kClients = 200;
  std::latch start(kClients);
  std::latch done(kClients);  // every connection stays open until all have their answer
  std::atomic<int> handshakes{0};
  std::atomic<int> busy{0};
  std::atomic<int> greeted{0};
  {
    const net::TlsClient client;
    std::vector<std::jthread> threads;
    for (int i = 0; i < kClients; ++i) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        net::UniqueFd fd;
        std::unique_ptr<net::TlsStream> tls;
        try {
          fd = net::connect_tcp("127.0.0.1", port, 10s);
          tls = client.connect(fd.get(), "server", "127.0.0.1", testing::scaled(20s));
          ++handshakes;
          tls->set_timeouts(testing::scaled(5s), testing::scaled(5s));
          // Silent, as a person at ncat --ssl: greeted in a slot, or told busy.
          wire::Channel channel(*tls);
          std::string line;
          if (channel.read_line(line, 4096) == wire::Channel::LineStatus::Line) {
            if (line.starts_with("ERROR busy")) ++busy;
            if (line.find("text mode") != std::string::npos) ++greeted;
          }
        } catch (const std::exception&) {
          // refused without a handshake, reset, timed out: all fine in a flood
        }
        done.arrive_and_wait();
      });
    }
  }
  EXPECT_GT(handshakes.load(), 0);
  EXPECT_GT(busy.load(), 0) << "no client turned away over TLS was told busy";
  EXPECT_LE(greeted.load(), 4) << "more clients served than --max-clients";
  ASSERT_TRUE(server->running()) << server->err();

  const fs::path a = source("after.bin", 100000, 15);
  Ran r = send(port, a, {"--pin", server->fingerprint()});
  EXPECT_EQ(r.code, 0) << r.err;
  expect_saved(a, "after.bin");
  EXPECT_EQ(server->stop(), 0);
}

// Two connected loopback sockets: (accepted, connecting).
std::pair<net::UniqueFd, net::UniqueFd> socket_pair() {
  net::Listener listener = net::listen_tcp("127.0.0.1", 0);
  net::UniqueFd client = net::connect_tcp("127.0.0.1", listener.port, 10s);
  net::UniqueFd accepted(::accept4(listener.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
  return {std::move(accepted), std::move(client)};
}

// Copies what is readable on from to to until stop; a test's man in the middle.
void pump(int from, int to, const std::atomic<bool>& stop) {
  char buf[16384];
  while (!stop) {
    pollfd p{from, POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0) continue;
    const ssize_t n = ::recv(from, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) continue;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::send(to, buf + done, static_cast<size_t>(n - done), MSG_NOSIGNAL);
      if (w <= 0) return;
      done += w;
    }
  }
}

// read_some takes the records OpenSSL has read ahead after the first. When one of them is
// forged, the bytes before it still come, and the next read reports the forgery: it must
// not look like the peer's clean end (a read of 0), which is how OpenSSL answers a second
// read after a failure.
TEST(TlsStream, AForgedRecordAfterGoodOnesIsReportedNotTakenForTheEnd) {
  TempDir dir;
  auto [server_fd, middle_up] = socket_pair();    // server <-> the middle
  auto [middle_down, client_fd] = socket_pair();  // the middle <-> client
  std::unique_ptr<net::TlsStream> server;
  std::unique_ptr<net::TlsStream> client;
  {
    std::atomic<bool> handshaken{false};
    std::jthread up([&] { pump(middle_down.get(), middle_up.get(), handshaken); });
    std::jthread down([&] { pump(middle_up.get(), middle_down.get(), handshaken); });
    std::jthread connecting([&, fd = client_fd.get()] {
      try {
        client = net::TlsClient().connect(fd, "server", "", testing::scaled(20s));
      } catch (const std::exception&) {
      }
    });
    const net::TlsServer tls_server(dir.path() / "key.pem", std::nullopt);
    server = tls_server.accept(server_fd.get(), "client", testing::scaled(20s));
    connecting.join();
    handshaken = true;
  }
  ASSERT_TRUE(client);
  client->set_timeouts(testing::scaled(5s), testing::scaled(5s));
  client->write_all(std::span(reinterpret_cast<const uint8_t*>("first"), 5));
  client->write_all(std::span(reinterpret_cast<const uint8_t*>("second"), 6));
  // The two records as the client sent them: 5-byte headers, then their lengths.
  std::string wire;
  auto whole_records = [&] {
    size_t at = 0;
    for (int i = 0; i < 2; ++i) {
      if (wire.size() < at + 5) return false;
      at += 5 + ((static_cast<uint8_t>(wire[at + 3]) << 8) | static_cast<uint8_t>(wire[at + 4]));
    }
    return wire.size() >= at;
  };
  for (int polls = 0; !whole_records() && polls < 500; ++polls) {
    pollfd p{middle_down.get(), POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(middle_down.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) wire.append(buf, static_cast<size_t>(n));
  }
  ASSERT_TRUE(whole_records()) << wire.size() << " bytes";
  wire.back() ^= 0x01;  // the second record's authentication tag
  ASSERT_EQ(::send(middle_up.get(), wire.data(), wire.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(wire.size()));

  server->set_timeouts(testing::scaled(5s), testing::scaled(5s));
  uint8_t buf[64];
  const size_t got = server->read_some(buf);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf), got), "first");
  try {
    const size_t next = server->read_some(buf);
    ADD_FAILURE() << "the forged record read as " << next << " bytes";
  } catch (const net::TlsError& e) {
    EXPECT_NE(std::string(e.what()).find("TLS record from client"), std::string::npos) << e.what();
  }
  // And it stays an error.
  EXPECT_THROW(server->read_some(buf), net::TlsError);
}

}  // namespace
}  // namespace ftx
