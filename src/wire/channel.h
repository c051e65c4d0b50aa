// SPDX-License-Identifier: MIT
// A framed connection: frames in and out over a byte stream, with raw file bytes in between.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/stream.h"
#include "proto/codec.h"
#include "proto/frames.h"

namespace ftx::wire {

/// Reads and writes protocol frames on a byte stream. Bytes that arrive after a frame stay
/// buffered and are handed out first by read_raw(), so the raw file stream after READY is
/// never lost.
class Channel {
 public:
  /// Over a stream that outlives the channel.
  explicit Channel(net::Stream& stream);
  /// Over a plain socket it does not own (the channel keeps the SocketStream).
  Channel(int fd, std::string peer);

  /// Bounds the time one whole frame, or text line, may take to arrive once its first byte
  /// is here (0: no bound). Stops a peer that trickles a byte at a time from holding its
  /// connection forever; waiting for a frame to start is the socket timeout's business.
  void set_frame_timeout(std::chrono::milliseconds limit) { frame_timeout_ = limit; }

  /// Encodes and sends one frame (after anything queued). Throws std::system_error on
  /// failure.
  void send(const proto::Frame& frame);

  /// The next frame. Throws proto::ProtocolError on malformed input,
  /// net::ConnectionClosed on a clean close, std::system_error on errors and timeouts.
  proto::Frame receive();

  /// The next frame if it is already buffered whole, without reading the socket; nullopt
  /// otherwise. Throws proto::ProtocolError on malformed input.
  std::optional<proto::Frame> try_receive();

  /// Reads more bytes into the buffer, waiting for them as receive() does when no whole
  /// frame is buffered, without decoding anything. For a reader that takes its frames in
  /// place (take_buffered_msgs) and the others with try_receive. Throws like receive().
  void receive_more();

  /// Every MSG and MSG_BATCH frame already buffered whole at the front, read in place and
  /// appended to burst: each view's fields point into the receive buffer and stay valid
  /// until the next call that reads the socket (receive, read_raw, fill...), so a burst of
  /// messages is shown together. Returns how many messages were appended; at the first frame
  /// that is not a whole MSG or MSG_BATCH it stops (then try_receive or receive says what is
  /// next).
  size_t take_buffered_msgs(std::vector<proto::MsgView>& burst);

  /// Encodes a frame into the send queue without sending it; flush() sends the queue in
  /// one write. Lets a client that has many frames ready pay one system call for all.
  void queue(const proto::Frame& frame);
  /// Queues chat texts as a client's MSG frames, or MSG_BATCH to a server of version 4 or
  /// later (proto::encode_msgs).
  void queue_msgs(std::span<const std::string> texts, uint16_t version);
  void flush();
  /// Bytes queued and not yet flushed.
  size_t queued() const { return out_.size(); }

  /// Up to out.size() raw bytes (buffered first); 0 when the peer closed.
  size_t read_raw(std::span<uint8_t> out);

  /// Exactly out.size() raw bytes; throws net::ConnectionClosed when the peer closes first.
  void read_exact(std::span<uint8_t> out);

  /// Reads and drops count raw bytes (a refused file's data), through scratch.
  void skip_raw(uint64_t count, std::span<uint8_t> scratch);

  /// The next byte without consuming it (waits under the socket timeout); -1 if the peer
  /// closed first.
  int peek_byte();

  enum class LineStatus { Line, TooLong, Eof };

  /// The next '\n'-terminated line, without the '\n'. A line longer than max bytes is
  /// skipped through its newline and reported as TooLong, with its first max bytes in
  /// `line` (what it began as: a command?). At the end of the stream an
  /// unterminated last line is still returned as a Line; then Eof.
  LineStatus read_line(std::string& line, size_t max);

  /// True when a byte is buffered or arrives within timeout.
  bool wait_readable(std::chrono::milliseconds timeout);

  /// Bytes received but not yet consumed.
  size_t buffered() const { return end_ - start_; }

  /// Those bytes, left in place (valid until the next call that reads or consumes).
  std::span<const uint8_t> peek_buffered() const { return buf_.subspan(start_, end_ - start_); }

  enum class More { Read, Timeout, Closed, Full };

  /// Reads what arrives within timeout into the buffer, behind what is there, without
  /// consuming anything: Read, or why nothing came. Lets a caller look at more than one
  /// byte before it picks a language, or parse a head before it consumes it.
  More buffer_more(std::chrono::milliseconds timeout);

  /// Drops n buffered bytes (n <= buffered()), as a parser that read them from
  /// peek_buffered() has used them.
  void consume(size_t n);

  net::Stream& stream() { return *stream_; }
  int fd() const { return stream_->fd(); }
  const std::string& peer() const { return stream_->peer(); }

 private:
  void fill(std::optional<std::chrono::steady_clock::time_point>& deadline);
  /// Waits for more of what has begun arriving (`what`: "a frame", "a line") until its
  /// deadline, set on the first call; throws ETIMEDOUT past it.
  void await_rest(std::optional<std::chrono::steady_clock::time_point>& deadline, std::string_view what);
  /// Reads more into the buffer at end_; returns the bytes read (0: the peer closed).
  size_t read_more();

  std::unique_ptr<net::Stream> owned_;  // set only by the fd constructor
  net::Stream* stream_;
  // Not zero-filled: an idle connection then costs only the pages data was received into.
  std::unique_ptr<uint8_t[]> storage_;
  std::span<uint8_t> buf_;
  size_t start_ = 0;
  size_t end_ = 0;
  std::vector<uint8_t> out_;
  std::chrono::milliseconds frame_timeout_{0};
};

}  // namespace ftx::wire
