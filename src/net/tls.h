// SPDX-License-Identifier: MIT
// TLS 1.3 from OpenSSL: the server's key and certificate, handshakes on both sides, and a
// byte stream over an established session. Nothing here decides whom to trust: the client
// gets the server key's fingerprint and checks it before it sends a byte.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "net/stream.h"

namespace ftx::net {

/// "sha256:" and the unpadded base64 of the SHA-256 of a DER SubjectPublicKeyInfo: how ftx
/// names a server key.
std::string spki_fingerprint(std::string_view spki_der);

/// True for "sha256:" followed by 43 base64 characters.
bool looks_like_fingerprint(std::string_view text);

/// A TLS failure: a bad handshake, a peer that does not speak TLS, a broken record.
class TlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The peer closed the connection in the middle of the handshake without a word: a busy
/// server turning a client away, or a client that gave up; not a peer speaking something else.
class TlsClosed : public TlsError {
 public:
  using TlsError::TlsError;
};

/// A TLS session over a connected socket (made non-blocking for its lifetime). One thread
/// may read while another writes: the session is behind a mutex, and a side that must wait
/// for the socket waits outside it.
class TlsStream final : public Stream {
 public:
  ~TlsStream() override;
  size_t read_some(std::span<uint8_t> out) override;
  void write_all(std::span<const uint8_t> data) override;
  void send_file(int file_fd, uint64_t offset, uint64_t count,
                 const std::function<void(uint64_t)>& progress) override;
  bool wait_readable(std::chrono::milliseconds timeout) override;
  void set_timeouts(std::chrono::milliseconds read, std::chrono::milliseconds write) override;
  void finish(std::chrono::milliseconds drain) override;

  /// The peer's key fingerprint (servers only have one to show).
  const std::string& peer_fingerprint() const { return peer_fingerprint_; }
  /// "TLS_AES_128_GCM_SHA256" and whether the kernel encrypts (kTLS).
  std::string description() const;

 private:
  friend class TlsServer;
  friend class TlsClient;
  struct Session;
  TlsStream(int fd, std::string peer, std::unique_ptr<Session> session);
  /// Handshakes as server or client within timeout; throws std::system_error (ETIMEDOUT) or
  /// TlsError.
  void handshake(bool server, std::chrono::milliseconds timeout);
  /// What a failed SSL_read says (err from SSL_get_error, errno as it left it): true to
  /// wait for the socket and try again, false at the peer's end; throws on a failure.
  bool read_failed(int err) const;

  std::unique_ptr<Session> session_;
  std::string peer_fingerprint_;
};

/// The server's side: its key (made on the first start and kept), the certificate it
/// presents, and handshakes with clients.
class TlsServer {
 public:
  /// Loads the PEM private key at key_path, or makes an EC P-256 key there (file mode 0600)
  /// when the file does not exist. With cert_path, presents that certificate (a CA-signed
  /// one; it must match the key); otherwise a self-signed one made from the key. Throws
  /// TlsError or std::system_error naming the file.
  TlsServer(const std::filesystem::path& key_path, const std::optional<std::filesystem::path>& cert_path);
  ~TlsServer();
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  /// The key's fingerprint, the same after every restart with the same key.
  const std::string& fingerprint() const { return fingerprint_; }
  /// True when the key file was made by this start.
  bool key_created() const { return key_created_; }

  /// The handshake on a connection whose first byte was a ClientHello. Throws TlsError or
  /// std::system_error (ETIMEDOUT past timeout).
  std::unique_ptr<TlsStream> accept(int fd, std::string peer, std::chrono::milliseconds timeout) const;

 private:
  struct Context;
  std::unique_ptr<Context> context_;
  std::string fingerprint_;
  bool key_created_ = false;
};

/// The client's side: TLS 1.3 without certificate verification, because the caller pins the
/// server's key by its fingerprint instead.
class TlsClient {
 public:
  TlsClient();
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  /// The handshake; server_name goes in SNI when it is a name. Throws TlsError or
  /// std::system_error (ETIMEDOUT past timeout).
  std::unique_ptr<TlsStream> connect(int fd, std::string peer, const std::string& server_name,
                                     std::chrono::milliseconds timeout) const;

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

}  // namespace ftx::net
