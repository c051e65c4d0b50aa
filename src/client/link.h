// SPDX-License-Identifier: MIT
// A client's connection to an ftx server, from connect to WELCOME: the one way every
// client command reaches a server.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "net/address.h"
#include "net/stream.h"
#include "net/unique_fd.h"
#include "proto/errors.h"
#include "proto/frames.h"
#include "wire/channel.h"

namespace ftx::client {

/// The connection is gone (or was refused): nothing more can be sent on it. code is the
/// server's error code when it said why.
class ConnectionLost : public std::runtime_error {
 public:
  ConnectionLost(const std::string& what, std::optional<proto::ErrorCode> code)
      : std::runtime_error(what), code_(code) {}
  std::optional<proto::ErrorCode> code() const { return code_; }

 private:
  std::optional<proto::ErrorCode> code_;
};

/// The server's key is not the one pinned or remembered: nothing was sent. what() is the
/// whole warning for the user.
class UntrustedServer : public ConnectionLost {
 public:
  explicit UntrustedServer(const std::string& warning) : ConnectionLost(warning, std::nullopt) {}
};

/// Worth reconnecting for (ftx send's and ftx get's --retries): the network, or a server that
/// was busy, slow or failing; never a key that is not the one trusted.
bool worth_retrying(const ConnectionLost& e);

/// How long to wait before reconnecting the n-th time (1, 2, ...): 0.5 s doubling, at most 8 s.
std::chrono::milliseconds retry_delay(int n);

/// How the connections of a job that reconnects (ftx send, ftx get) ended: part of its report.
struct ConnectionOutcome {
  bool connection_failed = false;
  std::optional<proto::ErrorCode> connection_code;  ///< when the server refused the connection
  std::string connection_error;
  /// The server's key was not the one pinned or remembered: nothing was sent.
  bool untrusted = false;
  int retries_used = 0;
};

/// Announces a retry: why, the attempt, of how many, and the delay before it.
using RetryNotice = std::function<void(const std::string&, int, int, std::chrono::milliseconds)>;

/// After a job lost its connection: true when it tries again (once it connected at all,
/// within max_retries, for a cause worth_retrying), after telling `notice` and sleeping
/// retry_delay; false when it gives up, with outcome saying why.
bool retry_after(const ConnectionLost& e, bool connected_once, int max_retries, ConnectionOutcome& outcome,
                 const RetryNotice& notice);

/// How a client secures its connection and whom it trusts.
struct TlsOptions {
  /// Talk in clear to a plain-only server (ftx serve --no-tls). Never chosen by the client
  /// itself: a client that falls back to plain can be downgraded by anyone in the middle.
  bool plain = false;
  /// The server key's fingerprint, when the user gave one (--pin, FTX_PIN); otherwise the
  /// key is trusted on first use and remembered in known_hosts.
  std::optional<std::string> pin;
  /// Where keys met on first use are remembered (default_known_hosts() for the commands).
  /// Empty, and no pin: any key is accepted (for embedders that check nothing, and tests).
  std::filesystem::path known_hosts;
  /// Told once, when a new server's key is remembered.
  std::function<void(const std::string&)> notice;
};

struct LinkOptions {
  net::HostPort server;
  std::chrono::milliseconds connect_timeout{10000};
  /// Bounds every wait for the server once connected.
  std::chrono::milliseconds io_timeout{60000};
  TlsOptions tls;
};

/// After HELLO and WELCOME. Every failure is a ConnectionLost carrying the server's own
/// ERROR when it sent one before closing.
class ServerLink {
 public:
  /// Connects, starts TLS (unless plain) and checks the server's key before anything else
  /// is sent, says hello and waits for WELCOME. Throws UntrustedServer for a key that is
  /// not the right one; ConnectionLost with the server's code when it refused, without one
  /// for the network or a peer that is not an ftx server (or not a TLS one).
  static ServerLink open(const LinkOptions& options, const proto::Hello& hello);

  /// open() with hello's version, and when the server refuses it as unsupported, again
  /// with each older version down to `oldest` (a new connection each time): the newest
  /// version both speak. version() says which.
  static ServerLink open_newest(const LinkOptions& options, proto::Hello hello, uint16_t oldest);

  ServerLink(ServerLink&&) noexcept = default;
  ServerLink& operator=(ServerLink&&) noexcept = default;
  ~ServerLink();

  const proto::Welcome& welcome() const { return welcome_; }
  /// The protocol version of this conversation: the lower of HELLO's and WELCOME's.
  uint16_t version() const { return version_; }
  const std::string& peer() const { return stream_->peer(); }
  /// True over TLS.
  bool encrypted() const { return encrypted_; }

  void send(const proto::Frame& frame);
  /// Raw bytes after the frames already queued.
  void send_raw(std::span<const uint8_t> bytes);
  /// count bytes of file_fd from offset, as raw data, read into memory (never sendfile:
  /// a failed read must be told from a failed send) and each chunk shown to seen, when set,
  /// before it is sent (net::Stream::send_file_read). Throws ConnectionLost, or
  /// net::FileReadError when the file cannot be read (the stream is then unusable).
  void send_file(int file_fd, uint64_t offset, uint64_t count, const std::function<void(uint64_t)>& progress,
                 const net::FileTap& seen = {});
  proto::Frame receive();
  void queue(const proto::Frame& frame) { channel_->queue(frame); }
  void flush();
  size_t queued() const { return channel_->queued(); }

  /// A polite goodbye: BYE, and the server's BYE within a short wait; failures do not matter.
  void say_goodbye();

  /// Ends the connection at once (wakes a thread blocked reading it).
  void shut_down();

  wire::Channel& channel() { return *channel_; }
  net::Stream& stream() { return *stream_; }

 private:
  ServerLink() = default;
  /// After a failed send the server has usually said why in an ERROR just before closing:
  /// that reason, else the local error.
  [[noreturn]] void lost(const std::exception& e);

  net::UniqueFd sock_;
  std::unique_ptr<net::Stream> stream_;
  std::unique_ptr<wire::Channel> channel_;
  proto::Welcome welcome_;
  uint16_t version_ = 0;
  bool encrypted_ = false;
};

}  // namespace ftx::client
