// SPDX-License-Identifier: MIT
// A framed connection: frames in and out over a socket, with raw file bytes in between.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "proto/frames.h"

namespace ftx::net {

/// Reads and writes protocol frames on a connected socket it does not own. Bytes that
/// arrive after a frame stay buffered and are handed out first by read_raw(), so the raw
/// file stream after READY is never lost.
class Channel {
 public:
  Channel(int fd, std::string peer);

  /// Encodes and sends one frame. Throws std::system_error on failure.
  void send(const proto::Frame& frame);

  /// The next frame. Throws proto::ProtocolError on malformed input,
  /// net::ConnectionClosed on a clean close, std::system_error on errors and timeouts.
  proto::Frame receive();

  /// Up to out.size() raw bytes (buffered first); 0 when the peer closed.
  size_t read_raw(std::span<uint8_t> out);

  /// The next byte without consuming it (waits under the socket timeout); -1 if the peer
  /// closed first.
  int peek_byte();

  /// Bytes received but not yet consumed.
  size_t buffered() const { return end_ - start_; }

  int fd() const { return fd_; }
  const std::string& peer() const { return peer_; }

 private:
  void fill();

  int fd_;
  std::string peer_;
  std::vector<uint8_t> buf_;
  size_t start_ = 0;
  size_t end_ = 0;
  std::vector<uint8_t> out_;
};

}  // namespace ftx::net
