// SPDX-License-Identifier: MIT
// A connected byte stream: what frames, text lines and file data travel over. Plain TCP
// today, TLS beside it; the layers above never know which. Bytes only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace ftx::net {

/// Shown each chunk of a file before it is sent (see Stream::send_file_read).
using FileTap = std::function<void(std::span<const uint8_t>)>;

/// Reading the file being sent failed (error(): its errno), or it ended early (error() 0:
/// it shrank): the connection itself may be fine, but the bytes promised cannot follow.
class FileReadError : public std::runtime_error {
 public:
  FileReadError(const std::string& what, int error) : std::runtime_error(what), error_(error) {}
  int error() const { return error_; }

 private:
  int error_;
};

/// A byte stream over a connected socket it does not own (the owner closes the fd after
/// the stream is gone). Reads and writes may be called from two threads at once (a chat
/// session reads while its outbox writes); everything else belongs to the owning thread.
class Stream {
 public:
  Stream(int fd, std::string peer) : fd_(fd), peer_(std::move(peer)) {}
  virtual ~Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  /// At least one byte, or 0 when the peer closed. Throws std::system_error (ETIMEDOUT
  /// past the read timeout, naming the peer).
  virtual size_t read_some(std::span<uint8_t> out) = 0;

  /// Every byte, or std::system_error (ETIMEDOUT past the write timeout).
  virtual void write_all(std::span<const uint8_t> data) = 0;
  /// The first bytes of data, as many as can go now without blocking: how many went (0 when
  /// none could, on an error too: write_all then reports it). A stream that cannot write
  /// part of its data without waiting (TLS: a record is retried whole) sends none.
  virtual size_t write_now(std::span<const uint8_t>) { return 0; }

  /// count bytes of file_fd from offset, in order, as write_all would send them (with
  /// sendfile(2) where the stream allows it); progress(bytes_so_far) after each chunk.
  /// Throws std::system_error for the connection, FileReadError for the file.
  virtual void send_file(int file_fd, uint64_t offset, uint64_t count,
                         const std::function<void(uint64_t)>& progress) = 0;

  /// As send_file, always read into memory and sent with write_all, each chunk shown to
  /// seen (when set) before it is sent: a sender that hashes what it sends reads the file
  /// once, not twice.
  void send_file_read(int file_fd, uint64_t offset, uint64_t count,
                      const std::function<void(uint64_t)>& progress, const FileTap& seen);

  /// True when a byte can be read now or within timeout (bytes the stream itself holds,
  /// such as a decrypted TLS record, count).
  virtual bool wait_readable(std::chrono::milliseconds timeout) = 0;

  /// Bounds one blocked read and one blocked write; 0 means no bound. A read that waits
  /// longer fails with ETIMEDOUT.
  virtual void set_timeouts(std::chrono::milliseconds read, std::chrono::milliseconds write) = 0;

  /// Says goodbye where the stream has a way to (TLS close_notify), half-closes, and
  /// discards what the peer still sends for up to drain (or until it closes): closing with
  /// unread input would send a reset that can destroy our last words before the peer reads
  /// them. The fd stays open for its owner.
  virtual void finish(std::chrono::milliseconds drain) = 0;

  int fd() const { return fd_; }
  const std::string& peer() const { return peer_; }

 protected:
  int fd_;
  std::string peer_;

 private:
  std::vector<uint8_t> file_buffer_;  // send_file_read's, owned by the writing thread
};

/// Plain TCP: recv/send with MSG_NOSIGNAL, sendfile(2), SO_RCVTIMEO/SO_SNDTIMEO.
class SocketStream final : public Stream {
 public:
  using Stream::Stream;
  size_t read_some(std::span<uint8_t> out) override;
  void write_all(std::span<const uint8_t> data) override;
  size_t write_now(std::span<const uint8_t> data) override;
  void send_file(int file_fd, uint64_t offset, uint64_t count,
                 const std::function<void(uint64_t)>& progress) override;
  bool wait_readable(std::chrono::milliseconds timeout) override;
  void set_timeouts(std::chrono::milliseconds read, std::chrono::milliseconds write) override;
  void finish(std::chrono::milliseconds drain) override;
};

}  // namespace ftx::net
