// SPDX-License-Identifier: MIT
// The one way a connection's answers reach its client, whatever the language.
#pragma once

#include <memory>
#include <string>

#include "net/stream.h"
#include "server/outbox.h"

namespace ftx::server {

/// Answers go straight to the stream until the connection joins the chat room; from then
/// on they queue on its outbox, whose writer thread is the only one that writes to the
/// stream, so an answer never interleaves with a relayed message.
class Replies {
 public:
  explicit Replies(net::Stream& stream) : stream_(stream) {}

  /// From now on answers queue on outbox.
  void route_through(std::shared_ptr<Outbox> outbox) { outbox_ = std::move(outbox); }
  /// The outbox has closed: answers go straight to the stream again.
  void route_direct() { outbox_.reset(); }

  /// Queues or writes bytes. False when the client is not taking them: its queue is over
  /// its bound, or the write failed (the stream's write timeout bounds how long it blocks).
  bool say(std::string bytes);

  /// A last answer before the connection closes (an ERROR): a client that does not read
  /// holds the session for at most `patience`, then the answer is dropped.
  void say_last(std::string bytes, std::chrono::milliseconds patience);

  net::Stream& stream() { return stream_; }

 private:
  net::Stream& stream_;
  std::shared_ptr<Outbox> outbox_;
};

}  // namespace ftx::server
