// SPDX-License-Identifier: MIT
// Hashing and writing a large upload while the next bytes are received.
#pragma once

#include <cstdint>
#include <exception>
#include <span>
#include <thread>
#include <vector>

#include "digest/digest.h"
#include "server/inbox.h"
#include "util/mutex.h"

namespace ftx::server {

/// Hands the bytes of one upload to its hasher and its partial file. Threaded, it splits
/// the session's buffer into slots and hashes and writes filled slots on a thread of its
/// own, in order, so that receiving one slot overlaps hashing and writing the ones before:
/// the session thread only receives (with sha256 the hash was most of its time, and on two
/// cores this is what lets a receiver keep up with the sender). Unthreaded (small files,
/// where a thread costs more than it saves), the whole buffer is one slot, hashed and
/// written at once.
class WriteBehind {
 public:
  /// The hasher is the writer's until finish() returns.
  WriteBehind(PartialFile& file, digest::Hasher& hasher, std::span<uint8_t> buffer, bool threaded);
  /// Stops the writer; slots not yet written are dropped (the partial keeps a prefix of
  /// the file, which is what a resume needs).
  ~WriteBehind();
  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;

  /// A slot to fill, once the writer has freed one. Rethrows the writer's failure (a full
  /// disk is proto::ProtocolError(NoSpace)).
  std::span<uint8_t> slot();
  /// The slot from slot() holds n bytes: hash and write them.
  void submit(size_t n);
  /// Waits until every submitted byte is hashed and written; rethrows the writer's failure.
  void finish();

  static constexpr size_t kSlots = 4;

 private:
  void run();
  void rethrow_failure() REQUIRES(mutex_);
  void consume(std::span<const uint8_t> bytes);

  PartialFile& file_;
  digest::Hasher& hasher_;  ///< the writer's while it runs; the caller's again after finish()
  std::span<uint8_t> buffer_;
  size_t slots_;  ///< fixed once the writer runs
  size_t slot_size_;
  Mutex mutex_;
  std::condition_variable changed_;
  std::vector<size_t> filled_ GUARDED_BY(mutex_);  ///< bytes in each slot, 0 = free
  size_t next_fill_ = 0;                           ///< the reader's next slot (its thread only)
  size_t next_write_ GUARDED_BY(mutex_) = 0;       ///< the writer's next slot
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::exception_ptr failure_ GUARDED_BY(mutex_);
  std::jthread writer_;  // last: started once everything above exists
};

}  // namespace ftx::server
