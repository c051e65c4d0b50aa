// SPDX-License-Identifier: MIT
// TCP sockets: resolve, connect, listen, and full-transfer I/O. EINTR, short reads and
// writes and timeouts are handled here and nowhere else.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "net/unique_fd.h"

namespace ftx::net {

/// The peer closed the connection before the expected bytes arrived.
class ConnectionClosed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Listening on an address failed (in use, not available, no permission).
class ListenError : public std::system_error {
 public:
  using std::system_error::system_error;
};

/// Connects to host:port (every address getaddrinfo gives, in order) within timeout.
/// Throws std::system_error naming the call and the address.
UniqueFd connect_tcp(const std::string& host, uint16_t port, std::chrono::milliseconds timeout);

struct Listener {
  UniqueFd fd;
  uint16_t port = 0;    ///< the bound port (useful when 0 was asked for)
  std::string address;  ///< what it listens on, e.g. "[::]:9000"
};

/// Listens on host:port. Without a host: dual-stack "::" (IPv4 and IPv6), falling back to
/// 0.0.0.0 where IPv6 is off. Port 0 picks an ephemeral port. Throws ListenError.
Listener listen_tcp(const std::optional<std::string>& host, uint16_t port, int backlog = 128);

/// Sets SO_RCVTIMEO and SO_SNDTIMEO (0: no bound); a blocked call then fails with ETIMEDOUT.
void set_socket_timeouts(int fd, std::chrono::milliseconds read, std::chrono::milliseconds write);

/// set_socket_timeouts with one bound for both directions.
void set_io_timeout(int fd, std::chrono::milliseconds timeout);

/// TCP_NODELAY: every write is a whole message (frames are queued and flushed together),
/// so Nagle's algorithm would only hold a small answer back until the peer's delayed ACK.
void send_without_delay(int fd);

/// TCP keepalive, so a peer that vanished from a connection that may stay quiet for hours
/// (chat) is still noticed.
void enable_keepalive(int fd);

/// For connections that may stay quiet for hours (chat): no read timeout, a write timeout
/// of send_timeout (0: none), and keepalive.
inline void make_long_lived(int fd, std::chrono::milliseconds send_timeout) {
  set_socket_timeouts(fd, std::chrono::milliseconds(0), send_timeout);
  enable_keepalive(fd);
}

/// True when fd is readable now or within timeout (EINTR retried).
bool poll_readable(int fd, std::chrono::milliseconds timeout);

/// Waits, without a timeout, until a or b is readable or hung up (EINTR retried): for a
/// caller that knows one of them will be soon.
void wait_either_readable(int a, int b);

/// Sends every byte (MSG_NOSIGNAL). Throws std::system_error mentioning peer.
void send_all(int fd, std::span<const uint8_t> data, const std::string& peer);

/// Receives at least one byte, or returns 0 when the peer closed. Throws on error or timeout.
size_t recv_some(int fd, std::span<uint8_t> out, const std::string& peer);

/// What the socket's send buffer takes now, without waiting (MSG_DONTWAIT): the bytes sent,
/// 0 when it would block or fails (a blocking send then finds the error).
size_t send_now(int fd, std::span<const uint8_t> data);

/// Up to out.size() bytes that have arrived, left in the socket for the next read
/// (MSG_PEEK); 0 when the peer closed. Throws like recv_some.
size_t peek_some(int fd, std::span<uint8_t> out, const std::string& peer);

/// Receives exactly out.size() bytes; throws ConnectionClosed if the peer closes first.
void recv_exact(int fd, std::span<uint8_t> out, const std::string& peer);

/// Throws std::system_error for a failed call on a socket (errno err), EAGAIN from a socket
/// timeout reported as ETIMEDOUT.
[[noreturn]] void throw_io(const std::string& context, int err);

/// Keeps at most `bytes` written but not yet sent queued on a TCP socket (TCP_NOTSENT_LOWAT):
/// a writer then wakes as the link drains instead of after megabytes of buffer, so its
/// progress is what left, on time. Bytes in flight are not limited. Best effort.
void limit_unsent(int fd, int bytes);

/// "addr:port" of the connected peer.
std::string peer_name(int fd);

/// Half-closes our side, then reads and discards what the peer still sends for up to
/// `wait` (or until it closes): closing with unread input would send a reset that can
/// destroy our last frame before the peer reads it. The fd stays open for its owner.
void drain_and_shutdown(int fd, std::chrono::milliseconds wait);

}  // namespace ftx::net
