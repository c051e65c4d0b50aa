// SPDX-License-Identifier: MIT
// The plain TCP stream.
#include "net/stream.h"

#include "net/socket.h"

namespace ftx::net {

size_t SocketStream::read_some(std::span<uint8_t> out) { return recv_some(fd_, out, peer_); }

void SocketStream::write_all(std::span<const uint8_t> data) { send_all(fd_, data, peer_); }

size_t SocketStream::write_now(std::span<const uint8_t> data) { return send_now(fd_, data); }

void SocketStream::send_file(int file_fd, uint64_t offset, uint64_t count,
                             const std::function<void(uint64_t)>& progress) {
  sendfile_all(fd_, file_fd, offset, count, peer_, progress);
}

bool SocketStream::wait_readable(std::chrono::milliseconds timeout) { return poll_readable(fd_, timeout); }

void SocketStream::set_timeouts(std::chrono::milliseconds read, std::chrono::milliseconds write) {
  set_socket_timeouts(fd_, read, write);
}

void SocketStream::finish(std::chrono::milliseconds drain) { drain_and_shutdown(fd_, drain); }

}  // namespace ftx::net
