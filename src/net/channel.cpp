// SPDX-License-Identifier: MIT
// Framed connection over a socket.
#include "net/channel.h"

#include <cstring>

#include "net/socket.h"
#include "proto/codec.h"
#include "proto/limits.h"

namespace ftx::net {

Channel::Channel(int fd, std::string peer)
    : fd_(fd), peer_(std::move(peer)), buf_(proto::kHeaderSize + proto::kMaxPayload + 4096) {}

void Channel::send(const proto::Frame& frame) {
  out_.clear();
  proto::encode_frame(frame, out_);
  send_all(fd_, out_, peer_);
}

void Channel::fill() {
  if (start_ > 0) {
    std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  const size_t n = recv_some(fd_, std::span(buf_).subspan(end_), peer_);
  if (n == 0) {
    if (end_ > 0) {
      throw proto::ProtocolError(proto::ErrorCode::BadRequest,
                                 peer_ + " closed the connection in the middle of a frame");
    }
    throw ConnectionClosed(peer_ + " closed the connection");
  }
  end_ += n;
}

proto::Frame Channel::receive() {
  while (true) {
    auto result = proto::decode_frame(std::span(buf_).subspan(start_, end_ - start_));
    switch (result.status) {
      case proto::DecodeStatus::Ok:
        start_ += result.consumed;
        if (start_ == end_) start_ = end_ = 0;
        return std::move(result.frame);
      case proto::DecodeStatus::Error:
        throw proto::ProtocolError(result.error, result.detail);
      case proto::DecodeStatus::NeedMore:
        // The buffer holds a whole maximal frame, so NeedMore always has room to fill.
        fill();
        break;
    }
  }
}

size_t Channel::read_raw(std::span<uint8_t> out) {
  if (out.empty()) return 0;
  if (start_ < end_) {
    const size_t n = std::min(out.size(), end_ - start_);
    std::memcpy(out.data(), buf_.data() + start_, n);
    start_ += n;
    if (start_ == end_) start_ = end_ = 0;
    return n;
  }
  return recv_some(fd_, out, peer_);
}

int Channel::peek_byte() {
  if (start_ == end_) {
    start_ = end_ = 0;
    const size_t n = recv_some(fd_, std::span(buf_), peer_);
    if (n == 0) return -1;
    end_ = n;
  }
  return buf_[start_];
}

}  // namespace ftx::net
