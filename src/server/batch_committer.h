// SPDX-License-Identifier: MIT
// Committing one batch of small files while the session receives the next.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <optional>
#include <stop_token>
#include <thread>

#include "net/unique_fd.h"
#include "server/eager_batch.h"
#include "util/mutex.h"

namespace ftx::server {

/// Runs EagerBatch::commit()'s steps (two syncs, a rename and a log line per file) on a
/// thread of its own, so that the session thread goes on creating and writing the next
/// batch's files: on a stream of small files the two halves take about as long as each
/// other. The session thread alone touches the connection; it collects the verdicts and
/// sends them, in the order the batches were handed over.
///
/// A batch can be handed over while the one before is being committed. When it is there by
/// the time the one before is published, a single sync makes the earlier batch's names and
/// this batch's data durable: one sync a batch instead of two, while the sender keeps
/// sending.
class BatchCommitter {
 public:
  BatchCommitter() = default;
  /// Only a session whose connection failed ends with batches in hand (one that ends well
  /// collects every batch first). Nobody will hear their verdicts, so their files are
  /// dropped and logged as interrupted, as those of the batch being filled are, unless
  /// they are already being published (a connection that fails while a batch is
  /// answered); the sender sends them again.
  ~BatchCommitter();
  BatchCommitter(const BatchCommitter&) = delete;
  BatchCommitter& operator=(const BatchCommitter&) = delete;

  /// True when no batch is in hand: every one handed over has had its verdicts collected.
  bool idle() const { return in_hand_ == 0; }
  /// True when a batch can be handed over now: none is waiting for the thread to start it.
  bool can_take() EXCLUDES(mutex_);
  /// True when the oldest batch in hand is committed (collect() will not wait).
  bool committed() EXCLUDES(mutex_);
  /// Readable while a committed batch's verdicts wait to be collected, so the session can
  /// wait for that and its peer at once; -1 when no batch is in hand on a thread
  /// (committed() is true then).
  int committed_fd() const { return in_hand_ > 0 && thread_.joinable() ? committed_fd_.get() : -1; }
  /// Hands a batch over; requires can_take() (throws std::logic_error otherwise). Committed
  /// at once on this thread when no thread can be started (a busy server).
  void hand_over(EagerBatch batch) EXCLUDES(mutex_);
  /// Waits for the oldest batch in hand and returns its verdicts (none when idle).
  /// Rethrows what stopped its commit: a failed sync of names already published, or what
  /// only a bug or an exhausted heap can throw.
  EagerBatch::Verdicts collect() EXCLUDES(mutex_);

 private:
  /// A batch's verdicts, or why it could not be committed.
  struct Outcome {
    EagerBatch::Verdicts verdicts;
    std::exception_ptr failure;
  };

  void run(std::stop_token stop);
  /// Next batch to commit; nullopt when stopping.
  std::optional<EagerBatch> next() EXCLUDES(mutex_);
  void post(Outcome outcome) EXCLUDES(mutex_);

  size_t in_hand_ = 0;          ///< the session thread's own count: handed over, not collected
  net::UniqueFd committed_fd_;  ///< an eventfd semaphore: one count per outcome not collected
  Mutex mutex_;
  std::condition_variable changed_;
  std::optional<EagerBatch> waiting_ GUARDED_BY(mutex_);  ///< handed, not started
  std::deque<Outcome> outcomes_ GUARDED_BY(mutex_);       ///< committed, not collected, oldest first
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::jthread thread_;  // last: joins before the state above is destroyed
};

}  // namespace ftx::server
