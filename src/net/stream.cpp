// SPDX-License-Identifier: MIT
// The plain TCP stream.
#include "net/stream.h"

#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "net/chunk_pacer.h"
#include "net/socket.h"

namespace ftx::net {
namespace {

// Small enough to stay in a core's cache between the read, the tap and the send.
constexpr size_t kFileChunk = 256 * 1024;

}  // namespace

void Stream::send_file_read(int file_fd, uint64_t offset, uint64_t count,
                            const std::function<void(uint64_t)>& progress, const FileTap& seen) {
  if (file_buffer_.size() != kFileChunk) file_buffer_.resize(kFileChunk);
  limit_unsent(fd_, kUnsentLimit);
  ChunkPacer pacer(kFileChunk, kFileChunk);  // smaller chunks on a slow link: timely progress
  uint64_t sent = 0;
  while (sent < count) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(pacer.next(), count - sent));
    const ssize_t n = ::pread(file_fd, file_buffer_.data(), want, static_cast<off_t>(offset + sent));
    if (n < 0 && errno == EINTR) continue;
    if (const int err = errno; n < 0) {
      throw FileReadError("read the file being sent: " + std::generic_category().message(err), err);
    }
    if (n == 0) throw FileReadError("file ended early: it shrank while being sent", 0);
    const std::span<const uint8_t> chunk(file_buffer_.data(), static_cast<size_t>(n));
    if (seen) seen(chunk);
    const auto began = std::chrono::steady_clock::now();
    write_all(chunk);
    pacer.took(chunk.size(), std::chrono::steady_clock::now() - began);
    sent += chunk.size();
    if (progress) progress(sent);
  }
}

size_t SocketStream::read_some(std::span<uint8_t> out) { return recv_some(fd_, out, peer_); }

void SocketStream::write_all(std::span<const uint8_t> data) { send_all(fd_, data, peer_); }

size_t SocketStream::write_now(std::span<const uint8_t> data) { return send_now(fd_, data); }

void SocketStream::send_file(int file_fd, uint64_t offset, uint64_t count,
                             const std::function<void(uint64_t)>& progress) {
  // Chunks bound the time between progress updates (a blocking sendfile returns when its
  // whole chunk is in the socket buffer): large on a fast link, small on a slow one.
  limit_unsent(fd_, kUnsentLimit);
  ChunkPacer pacer(256u << 10, 8u << 20);
  off_t off = static_cast<off_t>(offset);
  uint64_t sent = 0;
  while (sent < count) {
    const size_t want = static_cast<size_t>(std::min(pacer.next(), count - sent));
    const auto began = std::chrono::steady_clock::now();
    const ssize_t n = ::sendfile(fd_, file_fd, &off, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io("sendfile to " + peer_, errno);
    }
    if (n == 0) throw FileReadError("file ended early: it shrank while being sent", 0);
    pacer.took(static_cast<uint64_t>(n), std::chrono::steady_clock::now() - began);
    sent += static_cast<uint64_t>(n);
    if (progress) progress(sent);
  }
}

bool SocketStream::wait_readable(std::chrono::milliseconds timeout) { return poll_readable(fd_, timeout); }

void SocketStream::set_timeouts(std::chrono::milliseconds read, std::chrono::milliseconds write) {
  set_socket_timeouts(fd_, read, write);
}

void SocketStream::finish(std::chrono::milliseconds drain) { drain_and_shutdown(fd_, drain); }

}  // namespace ftx::net
