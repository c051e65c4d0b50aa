// SPDX-License-Identifier: MIT
// What the server has to say to one chat client, and the thread that says it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "net/stream.h"

namespace ftx::server {

/// A bounded queue of encoded frames or text lines with a writer thread of its own. Once a
/// client has an Outbox, only its writer writes to its socket, so the chat hub can hand a
/// message to every client without ever blocking on one of them.
class Outbox {
 public:
  enum class Push { Ok, Full, Closed };
  /// Bytes the hub encoded once for every client of one wire; each queue holds a reference.
  using Shared = std::shared_ptr<const std::string>;

  /// capacity_bytes bounds what may wait (one message is always accepted when empty). The
  /// writer writes through stream (plain or TLS), which outlives the Outbox.
  Outbox(net::Stream& stream, size_t capacity_bytes);
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  /// Queues bytes unless the queue is full (Closed once closing or stopped).
  Push try_push(Shared bytes);

  /// Queues bytes, waiting while the queue is full until deadline.
  Push push_until(Shared bytes, std::chrono::steady_clock::time_point deadline);

  /// The session's own answers: queued past the capacity (they are few and small), up to
  /// twice it, so a client that asks without ever reading cannot grow the queue forever.
  Push push_reply(std::string bytes);

  /// Takes no more, lets the writer send what is queued for up to drain_limit, then shuts
  /// the socket down if it is still writing (a client that does not read) and joins it.
  /// The session that owns the socket calls this before it returns: afterwards the Outbox
  /// never touches the descriptor again. Idempotent.
  void close(std::chrono::milliseconds drain_limit);

  /// Stops at once; what is queued is dropped. A write blocked on the socket ends only
  /// when the socket is shut down (ChatMember::kick does both).
  void abort();

  /// True once the writer could not write (the client is gone or was cut off).
  bool failed() const;

 private:
  void run();

  net::Stream& stream_;
  int fd_;
  size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  void enqueue(Shared bytes);  // caller holds mutex_

  std::deque<Shared> queue_;  // guarded by mutex_
  size_t queued_bytes_ = 0;   // guarded by mutex_
  bool closing_ = false;      // guarded by mutex_: drain, then stop
  bool stopped_ = false;      // guarded by mutex_: stop now or writer failed
  bool writer_done_ = false;  // guarded by mutex_
  std::jthread writer_;       // last: started after everything above exists
};

}  // namespace ftx::server
