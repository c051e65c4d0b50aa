// SPDX-License-Identifier: MIT
// What the server has to say to one chat client, and the thread that says it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "net/stream.h"
#include "util/mutex.h"

namespace ftx::server {

/// A bounded queue of encoded frames or text lines with a writer thread of its own. Once a
/// client has an Outbox, only the Outbox writes to its socket, and never blocks the one who
/// pushes, so the chat hub can hand a message to every client without waiting for one of
/// them. Bytes pushed while the queue is empty and the writer idle go straight into the
/// socket as far as it takes them now (Stream::write_now), in the pusher's thread: a room
/// whose members keep up costs no hand-off to 50 writer threads per message batch. The
/// rest waits in the queue for the writer.
///
/// Up to its capacity the queue takes bytes at once. Past it, a client that is reading (its
/// writer took from the queue within kReadingGrace) is worth waiting for: the sender goes at
/// the pace of its slowest reader and nobody loses a line. A client that is not reading
/// holds nobody up: its bytes are queued past the capacity, up to kBehindFactor times it,
/// while its writer judges it; a client that takes no byte for the stall limit, or falls
/// further behind, is cut off.
class Outbox {
 public:
  enum class Push {
    Ok,      ///< queued
    Wait,    ///< (try_push) full, and the client is reading: push_paced() waits for it
    Full,    ///< too far behind (or, for a reply, too many unread answers)
    Closed,  ///< closing or stopped
  };
  /// Bytes the hub encoded once for every client of one wire; each queue holds a reference.
  using Shared = std::shared_ptr<const std::string>;

  /// How recently the client must have taken bytes (the writer from the queue, or a direct
  /// write into the socket) for it to count as reading.
  static constexpr std::chrono::milliseconds kReadingGrace{50};
  /// How far past its capacity a client that is not reading may fall behind.
  static constexpr size_t kBehindFactor = 16;

  /// capacity_bytes bounds what may wait for a reading client (one message is always
  /// accepted when empty); stall_limit is how long the client may take no byte at all. The
  /// writer writes through stream (plain or TLS), which outlives the Outbox; the stream's
  /// write timeout is what enforces the stall limit (Connection::join_room sets both).
  Outbox(net::Stream& stream, size_t capacity_bytes,
         std::chrono::milliseconds stall_limit = std::chrono::milliseconds(5000));
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  /// Sets the stall limit (the chat hub's, when the client joins).
  void set_stall_limit(std::chrono::milliseconds limit);

  /// Queues bytes without waiting; Wait when the queue is full and the client is reading.
  Push try_push(Shared bytes);

  /// Queues bytes, waiting while the queue is full and the client keeps reading.
  Push push_paced(Shared bytes);

  /// The session's own answers: queued past the capacity (they are few and small), up to
  /// the limit of a client behind, so a client that asks without ever reading cannot grow
  /// the queue forever.
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

  /// Why the writer cut the client off ("not reading ..."); empty when it did not.
  std::string failure() const;

 private:
  void run();
  /// Sends every byte; throws when the socket fails, or takes nothing for the stall limit.
  void send_bytes(const std::string& bytes);

  net::Stream& stream_;
  int fd_;
  size_t capacity_;
  std::atomic<int64_t> stall_limit_ms_;
  mutable Mutex mutex_;
  std::condition_variable changed_;
  void enqueue(Shared bytes) REQUIRES(mutex_);
  /// Whether the writer took from the queue lately.
  bool reading(std::chrono::steady_clock::time_point now) const REQUIRES(mutex_);

  std::deque<Shared> queue_ GUARDED_BY(mutex_);
  size_t queued_bytes_ GUARDED_BY(mutex_) = 0;
  std::chrono::steady_clock::time_point taken_at_ GUARDED_BY(mutex_){};  ///< the last take: writer or direct
  bool writing_ GUARDED_BY(mutex_) = false;  ///< the writer sends what it took (outside the lock)
  bool closing_ GUARDED_BY(mutex_) = false;  ///< drain, then stop
  bool stopped_ GUARDED_BY(mutex_) = false;  ///< stop now or writer failed
  bool writer_done_ GUARDED_BY(mutex_) = false;
  std::string failure_ GUARDED_BY(mutex_);
  std::jthread writer_;  // last: started after everything above exists
};

}  // namespace ftx::server
