// SPDX-License-Identifier: MIT
// Framed connection over a byte stream.
#include "wire/channel.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "net/socket.h"
#include "net/stream.h"
#include "proto/codec.h"
#include "proto/limits.h"

namespace ftx::wire {
namespace {

constexpr size_t kBufferBytes = proto::kHeaderSize + proto::kMaxPayload + 4096;

}  // namespace

Channel::Channel(net::Stream& stream)
    : stream_(&stream),
      storage_(std::make_unique_for_overwrite<uint8_t[]>(kBufferBytes)),
      buf_(storage_.get(), kBufferBytes) {}

Channel::Channel(int fd, std::string peer)
    : owned_(std::make_unique<net::SocketStream>(fd, std::move(peer))),
      stream_(owned_.get()),
      storage_(std::make_unique_for_overwrite<uint8_t[]>(kBufferBytes)),
      buf_(storage_.get(), kBufferBytes) {}

size_t Channel::read_more() { return stream_->read_some(buf_.subspan(end_)); }

void Channel::send(const proto::Frame& frame) {
  queue(frame);
  flush();
}

void Channel::queue(const proto::Frame& frame) { proto::encode_frame(frame, out_); }

void Channel::flush() {
  if (out_.empty()) return;
  // Cleared even when the send fails: a broken connection is not retried with stale bytes.
  struct Clear {
    std::vector<uint8_t>& out;
    ~Clear() { out.clear(); }
  } clear{out_};
  stream_->write_all(out_);
}

void Channel::await_rest(std::optional<std::chrono::steady_clock::time_point>& deadline,
                         std::string_view what) {
  if (frame_timeout_.count() <= 0) return;
  if (!deadline) deadline = std::chrono::steady_clock::now() + frame_timeout_;
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
  // Ask the stream itself: wait_readable() would return at once on the buffered start of
  // the frame, and the read could then block past the deadline on a stream without timeout.
  if (left.count() <= 0 || !stream_->wait_readable(left)) {
    throw std::system_error(ETIMEDOUT, std::generic_category(),
                            "recv from " + peer() + ": " + std::string(what) + " took longer than " +
                                std::to_string(frame_timeout_.count() / 1000) + " s");
  }
}

void Channel::fill(std::optional<std::chrono::steady_clock::time_point>& deadline) {
  if (start_ < end_) await_rest(deadline, "a frame");
  if (start_ > 0) {
    std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  const size_t n = read_more();
  if (n == 0) {
    if (end_ > 0) {
      throw proto::ProtocolError(proto::ErrorCode::BadRequest,
                                 peer() + " closed the connection in the middle of a frame");
    }
    throw net::ConnectionClosed(peer() + " closed the connection");
  }
  end_ += n;
}

proto::Frame Channel::receive() {
  std::optional<std::chrono::steady_clock::time_point> deadline;
  while (true) {
    if (auto frame = try_receive()) return std::move(*frame);
    // The buffer holds a whole maximal frame, so a partial one always has room to fill.
    fill(deadline);
  }
}

void Channel::receive_more() {
  std::optional<std::chrono::steady_clock::time_point> deadline;
  fill(deadline);
}

std::optional<proto::Frame> Channel::try_receive() {
  if (start_ == end_) return std::nullopt;
  auto result = proto::decode_frame(buf_.subspan(start_, end_ - start_));
  switch (result.status) {
    case proto::DecodeStatus::Ok:
      start_ += result.consumed;
      if (start_ == end_) start_ = end_ = 0;
      return std::move(result.frame);
    case proto::DecodeStatus::Error:
      throw proto::ProtocolError(result.error, result.detail);
    case proto::DecodeStatus::NeedMore:
      break;
  }
  return std::nullopt;
}

size_t Channel::take_buffered_msgs(std::vector<proto::MsgView>& burst) {
  const size_t before = burst.size();
  while (true) {
    const size_t used = proto::decode_msgs_in_place(buf_.subspan(start_, end_ - start_), burst);
    if (used == 0) return burst.size() - before;
    // Consumed without resetting start_ and end_ to 0: the bytes stay where the views point.
    start_ += used;
  }
}

void Channel::queue_msgs(std::span<const std::string> texts, uint16_t version) {
  proto::encode_msgs("", 0, texts, version, out_);
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
  return stream_->read_some(out);
}

void Channel::read_exact(std::span<uint8_t> out) {
  for (size_t done = 0; done < out.size();) {
    const size_t n = read_raw(out.subspan(done));
    if (n == 0) throw net::ConnectionClosed(peer() + " closed the connection in the middle of the data");
    done += n;
  }
}

void Channel::skip_raw(uint64_t count, std::span<uint8_t> scratch) {
  while (count > 0) {
    const size_t n = read_raw(scratch.first(static_cast<size_t>(std::min<uint64_t>(count, scratch.size()))));
    if (n == 0) throw net::ConnectionClosed(peer() + " closed the connection in the middle of a file");
    count -= n;
  }
}

Channel::LineStatus Channel::read_line(std::string& line, size_t max) {
  bool skipping = false;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  while (true) {
    const uint8_t* begin = buf_.data() + start_;
    const auto* newline = static_cast<const uint8_t*>(std::memchr(begin, '\n', end_ - start_));
    if (newline) {
      const size_t len = static_cast<size_t>(newline - begin);
      const bool too_long = skipping || len > max;
      if (!skipping) line.assign(reinterpret_cast<const char*>(begin), std::min(len, max));
      start_ += len + 1;
      if (start_ == end_) start_ = end_ = 0;
      return too_long ? LineStatus::TooLong : LineStatus::Line;
    }
    if (skipping || end_ - start_ > max) {
      // Drop what we have and keep looking for the newline; how the line began is kept.
      if (!skipping) line.assign(reinterpret_cast<const char*>(begin), max);
      skipping = true;
      start_ = end_ = 0;
    } else if (start_ > 0) {
      std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
    }
    // A line begun is bounded as a frame is: one trickled a byte at a time is cut off.
    if (skipping || end_ > start_) await_rest(deadline, "a line");
    const size_t n = read_more();
    if (n == 0) {
      if (skipping) return LineStatus::TooLong;
      if (end_ > start_) {
        line.assign(reinterpret_cast<const char*>(buf_.data() + start_), end_ - start_);
        start_ = end_ = 0;
        return LineStatus::Line;
      }
      return LineStatus::Eof;
    }
    end_ += n;
  }
}

bool Channel::wait_readable(std::chrono::milliseconds timeout) {
  return start_ < end_ || stream_->wait_readable(timeout);
}

Channel::More Channel::buffer_more(std::chrono::milliseconds timeout) {
  if (start_ > 0) {
    std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  if (end_ == buf_.size()) return More::Full;
  if (!stream_->wait_readable(timeout)) return More::Timeout;
  const size_t n = read_more();
  end_ += n;
  return n > 0 ? More::Read : More::Closed;
}

void Channel::consume(size_t n) {
  start_ += std::min(n, end_ - start_);
  if (start_ == end_) start_ = end_ = 0;
}

int Channel::peek_byte() {
  if (start_ == end_) {
    start_ = end_ = 0;
    const size_t n = read_more();
    if (n == 0) return -1;
    end_ = n;
  }
  return buf_[start_];
}

}  // namespace ftx::wire
