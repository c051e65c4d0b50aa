// SPDX-License-Identifier: MIT
// Connecting to a server.
#include "client/link.h"

#include <sys/socket.h>

#include <algorithm>
#include <thread>

#include "client/handshake.h"
#include "client/trust.h"
#include "net/socket.h"
#include "net/tls.h"

namespace ftx::client {

bool worth_retrying(const ConnectionLost& e) {
  if (dynamic_cast<const UntrustedServer*>(&e)) return false;  // a different key is not a glitch
  if (!e.code()) return true;
  switch (*e.code()) {
    case proto::ErrorCode::Busy:
    case proto::ErrorCode::Timeout:
    case proto::ErrorCode::Internal:
      return true;
    default:
      return false;
  }
}

std::chrono::milliseconds retry_delay(int n) {
  return std::min<std::chrono::milliseconds>(std::chrono::milliseconds(500) * (1 << std::min(n - 1, 4)),
                                             std::chrono::seconds(8));
}
bool retry_after(const ConnectionLost& e, bool connected_once, int max_retries, ConnectionOutcome& outcome,
                 const RetryNotice& notice) {
  if (outcome.retries_used >= max_retries || !connected_once || !worth_retrying(e)) {
    outcome.untrusted = dynamic_cast<const UntrustedServer*>(&e) != nullptr;
    outcome.connection_failed = true;
    outcome.connection_code = e.code();
    outcome.connection_error = e.what();
    return false;
  }
  ++outcome.retries_used;
  const auto delay = retry_delay(outcome.retries_used);
  notice(e.what(), outcome.retries_used, max_retries, delay);
  std::this_thread::sleep_for(delay);
  return true;
}

namespace {

// How long a goodbye, or the server's last words after a failure, may take.
constexpr std::chrono::milliseconds kLastWords{1000};
constexpr std::chrono::milliseconds kGoodbye{2000};

// TLS, and the server's key checked before a single byte of ours is sent.
std::unique_ptr<net::Stream> start_tls(int fd, const std::string& peer, const LinkOptions& options) {
  std::unique_ptr<net::TlsStream> tls;
  try {
    tls = net::TlsClient().connect(fd, peer, options.server.host, options.connect_timeout);
  } catch (const net::TlsClosed&) {
    throw ConnectionLost(peer +
                             " closed the connection during the TLS handshake: the server may be busy "
                             "(try again later) or may not accept this address",
                         std::nullopt);
  } catch (const std::exception& e) {
    throw ConnectionLost(peer + " did not complete a TLS handshake (" + std::string(e.what()) +
                             "). It may be a plain-only server (ftx serve --no-tls) or not ftx at all; "
                             "--plain talks to it in clear, if you trust the network",
                         std::nullopt);
  }
  const std::string& key = tls->peer_fingerprint();
  // No pin and nowhere to remember keys: an embedder (or a test) that trusts any key.
  if (!options.tls.pin && options.tls.known_hosts.empty()) return tls;
  KeyCheck check;
  try {
    check = check_server_key(peer, key, options.tls.pin, options.tls.known_hosts);
  } catch (const std::exception& e) {
    // As ssh does: a key that cannot be remembered is still this first meeting's key.
    if (options.tls.notice)
      options.tls.notice("new server " + peer + ", key " + key + "; not remembered: " + e.what());
    return tls;
  }
  if (check.verdict == KeyCheck::Verdict::Mismatch) {
    throw UntrustedServer(mismatch_warning(peer, key, check, options.tls.known_hosts));
  }
  if (check.verdict == KeyCheck::Verdict::Remembered && options.tls.notice) {
    options.tls.notice("new server " + peer + ", key " + key + ", remembered in " +
                       options.tls.known_hosts.string());
  }
  return tls;
}

}  // namespace

ServerLink ServerLink::open(const LinkOptions& options, const proto::Hello& hello) {
  ServerLink link;
  const std::string peer = net::format_host_port(options.server.host, options.server.port);
  try {
    link.sock_ = net::connect_tcp(options.server.host, options.server.port, options.connect_timeout);
  } catch (const std::exception& e) {
    throw ConnectionLost(e.what(), std::nullopt);
  }
  if (options.tls.plain) {
    link.stream_ = std::make_unique<net::SocketStream>(link.sock_.get(), peer);
  } else {
    link.stream_ = start_tls(link.sock_.get(), peer, options);
    link.encrypted_ = true;
  }
  link.stream_->set_timeouts(options.io_timeout, options.io_timeout);
  link.channel_ = std::make_unique<wire::Channel>(*link.stream_);
  std::variant<proto::Welcome, proto::Error> answer;
  try {
    answer = handshake(*link.channel_, hello);
  } catch (const std::exception& e) {
    link.lost(e);
  }
  if (auto* e = std::get_if<proto::Error>(&answer)) {
    throw ConnectionLost("refused by the server: " + proto::describe(e->code, e->message), e->code);
  }
  link.welcome_ = std::get<proto::Welcome>(answer);
  link.version_ = std::min(hello.version, link.welcome_.version);
  return link;
}

ServerLink ServerLink::open_newest(const LinkOptions& options, proto::Hello hello, uint16_t oldest) {
  while (true) {
    try {
      return open(options, hello);
    } catch (const ConnectionLost& e) {
      if (e.code() != proto::ErrorCode::UnsupportedVersion || hello.version <= oldest) throw;
      --hello.version;  // an older server: it serves what that version has
    }
  }
}

ServerLink::~ServerLink() = default;

void ServerLink::lost(const std::exception& e) {
  try {
    stream_->set_timeouts(kLastWords, kLastWords);
    proto::Frame frame = channel_->receive();
    if (auto* err = std::get_if<proto::Error>(&frame)) {
      throw ConnectionLost(proto::describe(err->code, err->message), err->code);
    }
  } catch (const ConnectionLost&) {
    throw;
  } catch (const std::exception&) {
  }
  throw ConnectionLost(e.what(), std::nullopt);
}

void ServerLink::send(const proto::Frame& frame) {
  try {
    channel_->send(frame);
  } catch (const std::exception& e) {
    lost(e);
  }
}

void ServerLink::flush() {
  try {
    channel_->flush();
  } catch (const std::exception& e) {
    lost(e);
  }
}

void ServerLink::send_raw(std::span<const uint8_t> bytes) {
  try {
    channel_->flush();
    stream_->write_all(bytes);
  } catch (const std::exception& e) {
    lost(e);
  }
}

void ServerLink::send_file(int file_fd, uint64_t offset, uint64_t count,
                           const std::function<void(uint64_t)>& progress, const net::FileTap& seen) {
  try {
    channel_->flush();
    stream_->send_file_read(file_fd, offset, count, progress, seen);
  } catch (const net::FileReadError&) {
    throw;  // not the connection's fault: the caller names the file
  } catch (const std::exception& e) {
    lost(e);
  }
}

proto::Frame ServerLink::receive() {
  try {
    return channel_->receive();
  } catch (const std::exception& e) {
    throw ConnectionLost(e.what(), std::nullopt);
  }
}

void ServerLink::say_goodbye() {
  try {
    channel_->send(proto::Bye{});
    stream_->set_timeouts(kGoodbye, kGoodbye);
    channel_->receive();
  } catch (const std::exception&) {
  }
}

void ServerLink::shut_down() { ::shutdown(sock_.get(), SHUT_RDWR); }

}  // namespace ftx::client
