// SPDX-License-Identifier: MIT
// Committing one batch of small files while the session receives the next.
#pragma once

#include <condition_variable>
#include <exception>
#include <optional>
#include <stop_token>
#include <thread>

#include "net/unique_fd.h"
#include "server/eager_batch.h"
#include "util/mutex.h"

namespace ftx::server {

/// Runs EagerBatch::commit() (two syncs, a rename and a log line per file) on a thread of
/// its own, one batch at a time, so that the session thread goes on creating and writing
/// the next batch's files: on a stream of small files the two halves take about as long
/// as each other. The session thread alone touches the connection; it collects the
/// verdicts and sends them, in the order the batches were handed over.
class BatchCommitter {
 public:
  BatchCommitter() = default;
  /// Only a session whose connection failed ends with a batch in hand (one that ends well
  /// collects every batch first). Nobody will hear that batch's verdicts, so its files are
  /// dropped and logged as interrupted, as those of the batch being filled are, unless
  /// they are already being published (a connection that fails while a batch is
  /// answered); the sender sends them again.
  ~BatchCommitter();
  BatchCommitter(const BatchCommitter&) = delete;
  BatchCommitter& operator=(const BatchCommitter&) = delete;

  /// True when no batch is in hand: the last one's verdicts, if any, are collected.
  bool idle() const { return !in_hand_; }
  /// True when the batch in hand is committed (collect() will not wait).
  bool committed() EXCLUDES(mutex_);
  /// Readable once the batch in hand is committed, so the session can wait for that and
  /// its peer at once; -1 when no batch is in hand on a thread (committed() is true then).
  int committed_fd() const { return in_hand_ && thread_.joinable() ? committed_fd_.get() : -1; }
  /// Hands a batch over; requires idle() (throws std::logic_error otherwise). Committed at once on this
  /// thread when no thread can be started (a busy server).
  void hand_over(EagerBatch batch) EXCLUDES(mutex_);
  /// Waits for the batch in hand and returns its verdicts (none when idle). Rethrows what
  /// stopped the commit, which only a bug or an exhausted heap can.
  EagerBatch::Verdicts collect() EXCLUDES(mutex_);

 private:
  void run(std::stop_token stop);

  bool in_hand_ = false;        ///< the session thread's own view: handed over, not collected
  net::UniqueFd committed_fd_;  ///< an eventfd: the thread adds 1 per batch, collect() reads it
  Mutex mutex_;
  std::condition_variable changed_;
  std::optional<EagerBatch> waiting_ GUARDED_BY(mutex_);             ///< handed, not started
  std::optional<EagerBatch::Verdicts> verdicts_ GUARDED_BY(mutex_);  ///< committed, not collected
  std::exception_ptr failure_ GUARDED_BY(mutex_);
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::jthread thread_;  // last: joins before the state above is destroyed
};

}  // namespace ftx::server
