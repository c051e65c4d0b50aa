// SPDX-License-Identifier: MIT
// Batches committed beside the session.
#include "server/batch_committer.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "util/thread_name.h"

namespace ftx::server {

BatchCommitter::~BatchCommitter() {
  thread_.request_stop();  // a batch being committed is dropped unless it is being published
  {
    MutexLock lock(mutex_);
    stopping_ = true;  // a batch still waiting is dropped with waiting_
  }
  changed_.notify_all();
  // jthread joins.
}

bool BatchCommitter::can_take() {
  MutexLock lock(mutex_);
  return !waiting_.has_value();
}

bool BatchCommitter::committed() {
  MutexLock lock(mutex_);
  return !outcomes_.empty();
}

void BatchCommitter::hand_over(EagerBatch batch) {
  if (!can_take()) throw std::logic_error("BatchCommitter::hand_over with a batch already waiting");
  if (!thread_.joinable()) {
    try {
      if (!committed_fd_) {
        committed_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE));
        if (!committed_fd_) throw std::system_error(errno, std::generic_category(), "eventfd");
      }
      thread_ = std::jthread([this](std::stop_token stop) {
        name_this_thread("ftx-commit");
        run(stop);
      });
    } catch (const std::system_error&) {
      // Out of threads: the batch is committed here, as it was before there was a thread.
      Outcome outcome;
      try {
        outcome.verdicts = batch.commit();
      } catch (...) {
        outcome.failure = std::current_exception();
      }
      post(std::move(outcome));
      ++in_hand_;
      return;
    }
  }
  {
    MutexLock lock(mutex_);
    waiting_ = std::move(batch);
  }
  ++in_hand_;
  changed_.notify_all();
}

EagerBatch::Verdicts BatchCommitter::collect() {
  if (in_hand_ == 0) return {};
  Outcome outcome;
  {
    MutexLock lock(mutex_);
    lock.wait(changed_, [&]() REQUIRES(mutex_) { return !outcomes_.empty(); });
    outcome = std::move(outcomes_.front());
    outcomes_.pop_front();
    if (committed_fd_) {
      uint64_t one = 0;
      (void)!::read(committed_fd_.get(), &one, sizeof one);  // a semaphore: takes one count
    }
  }
  --in_hand_;
  if (outcome.failure) std::rethrow_exception(outcome.failure);
  return std::move(outcome.verdicts);
}

std::optional<EagerBatch> BatchCommitter::next() {
  MutexLock lock(mutex_);
  lock.wait(changed_, [&]() REQUIRES(mutex_) { return stopping_ || waiting_.has_value(); });
  if (stopping_) return std::nullopt;
  std::optional<EagerBatch> batch = std::move(waiting_);
  waiting_.reset();
  return batch;
}

void BatchCommitter::post(Outcome outcome) {
  {
    MutexLock lock(mutex_);
    outcomes_.push_back(std::move(outcome));
    // Under the lock, so collect() cannot read the eventfd before this write.
    if (committed_fd_) {
      const uint64_t one = 1;
      (void)!::write(committed_fd_.get(), &one, sizeof one);
    }
  }
  changed_.notify_all();
}

void BatchCommitter::run(std::stop_token stop) {
  // A batch published while the next one was already waiting: its names become durable
  // with that one's sync, and it is answered then.
  std::optional<EagerBatch::Verdicts> unsynced;
  while (std::optional<EagerBatch> batch = next()) {
    Outcome outcome;
    try {
      const std::optional<Failure> sync_failed = batch->sync();
      if (unsynced) {
        Outcome earlier{std::move(*unsynced), nullptr};
        unsynced.reset();
        if (sync_failed) earlier.failure = std::make_exception_ptr(sync_failed->error());
        post(std::move(earlier));
      }
      outcome.verdicts = batch->publish(sync_failed, stop);
      if (outcome.verdicts.published && !can_take()) {  // the next batch is waiting
        unsynced = std::move(outcome.verdicts);
        continue;
      }
      if (outcome.verdicts.published) {
        // The new names, before the sender hears of them.
        if (const auto failed = batch->sync()) throw failed->error();
      }
    } catch (...) {
      outcome.failure = std::current_exception();
    }
    batch.reset();  // what a failed commit left is dropped (and logged) outside the lock
    post(std::move(outcome));
  }
}

}  // namespace ftx::server
