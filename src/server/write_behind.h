// SPDX-License-Identifier: MIT
// Writing a large upload to its partial file while the next bytes are received.
#pragma once

#include <cstdint>
#include <exception>
#include <span>
#include <thread>
#include <vector>

#include "server/inbox.h"
#include "util/mutex.h"

namespace ftx::server {

/// Hands the bytes of one upload to the partial file. Threaded, it splits the session's
/// buffer into slots and writes filled slots on a thread of its own, in order, so that
/// receiving and hashing one slot overlaps writing the one before: on two cores this is
/// what lets a receiver keep up with the sender. Unthreaded (small files, where a thread
/// costs more than it saves), the whole buffer is one slot written at once.
class WriteBehind {
 public:
  WriteBehind(PartialFile& file, std::span<uint8_t> buffer, bool threaded);
  /// Stops the writer; slots not yet written are dropped (the partial keeps a prefix of
  /// the file, which is what a resume needs).
  ~WriteBehind();
  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;

  /// A slot to fill, once the writer has freed one. Rethrows the writer's failure (a full
  /// disk is proto::ProtocolError(NoSpace)).
  std::span<uint8_t> slot();
  /// The slot from slot() holds n bytes: write them.
  void submit(size_t n);
  /// Waits until every submitted byte is written; rethrows the writer's failure.
  void finish();

  static constexpr size_t kSlots = 4;

 private:
  void run();
  void rethrow_failure() REQUIRES(mutex_);

  PartialFile& file_;
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
