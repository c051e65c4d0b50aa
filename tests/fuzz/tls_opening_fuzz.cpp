// SPDX-License-Identifier: MIT
// libFuzzer target: what a hostile client can send first. The classifier must agree with
// its one rule (0x16 is TLS), and a connection that opens with 0x16 and then anything
// (garbage, half a ClientHello, a record cut short) goes through the server's real TLS
// accept on a socket pair: it must end in a TlsError or a timeout, never a crash, a hang
// or a leak.
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <system_error>

#include "net/tls.h"
#include "net/unique_fd.h"
#include "proto/codec.h"
#include "proto/opening.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "tls_opening_fuzz: %s\n", what);
  __builtin_trap();
}

// One key for the whole run, made where nothing else looks.
const ftx::net::TlsServer& server() {
  static const auto instance = [] {
    char dir[] = "/tmp/ftx-tls-fuzz-XXXXXX";
    if (::mkdtemp(dir) == nullptr) fail("mkdtemp");
    const std::filesystem::path root(dir);
    auto made = std::make_unique<ftx::net::TlsServer>(root / "key.pem", std::nullopt);
    std::filesystem::remove_all(root);  // the key is in memory now
    return made;
  }();
  return *instance;
}

void check_classifier(std::span<const uint8_t> first) {
  using ftx::proto::Language;
  const Language language = ftx::proto::classify_opening(first);
  if (first.empty()) {
    if (language != Language::Text) fail("nothing at all is not text");
    return;
  }
  const bool tls = first[0] == ftx::proto::kTlsHandshake;
  if ((language == Language::Tls) != tls) fail("TLS iff the first byte is 0x16");
  if (!tls && (language == Language::Binary) != ftx::proto::starts_binary(first[0])) {
    fail("binary iff the first byte starts a frame");
  }
}

// The server's handshake over a socket pair that holds `bytes` and then the client's end
// of the stream.
void accept_hostile(std::span<const uint8_t> bytes) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) fail("socketpair");
  ftx::net::UniqueFd server_end(pair[0]);
  ftx::net::UniqueFd client_end(pair[1]);
  // The fuzzer's inputs are far below a socket buffer: one write holds them.
  if (!bytes.empty() &&
      ::write(client_end.get(), bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
    fail("write to the socket pair");
  }
  ::shutdown(client_end.get(), SHUT_WR);
  try {
    auto stream = server().accept(server_end.get(), "fuzz", std::chrono::milliseconds(2000));
    fail("a handshake completed without a client");
  } catch (const ftx::net::TlsError&) {
  } catch (const std::system_error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  check_classifier(input);
  if (size > 0 && data[0] == ftx::proto::kTlsHandshake) accept_hostile(input);
  return 0;
}
