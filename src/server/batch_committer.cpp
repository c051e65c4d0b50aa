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

bool BatchCommitter::committed() {
  MutexLock lock(mutex_);
  return verdicts_.has_value() || failure_ != nullptr;
}

void BatchCommitter::hand_over(EagerBatch batch) {
  if (in_hand_) throw std::logic_error("BatchCommitter::hand_over with a batch in hand");
  if (!thread_.joinable()) {
    try {
      committed_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      if (!committed_fd_) throw std::system_error(errno, std::generic_category(), "eventfd");
      thread_ = std::jthread([this](std::stop_token stop) {
        name_this_thread("ftx-commit");
        run(stop);
      });
    } catch (const std::system_error&) {
      // Out of threads: the batch is committed here, as it was before there was a thread.
      EagerBatch::Verdicts verdicts = batch.commit();
      MutexLock lock(mutex_);
      verdicts_ = std::move(verdicts);
      in_hand_ = true;
      return;
    }
  }
  {
    MutexLock lock(mutex_);
    waiting_ = std::move(batch);
  }
  in_hand_ = true;
  changed_.notify_all();
}

EagerBatch::Verdicts BatchCommitter::collect() {
  if (!in_hand_) return {};
  MutexLock lock(mutex_);
  lock.wait(changed_, [&]() REQUIRES(mutex_) { return verdicts_.has_value() || failure_ != nullptr; });
  in_hand_ = false;
  if (committed_fd_) {
    uint64_t count = 0;
    (void)!::read(committed_fd_.get(), &count, sizeof count);  // back to unreadable
  }
  if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
  EagerBatch::Verdicts verdicts = std::move(*verdicts_);
  verdicts_.reset();
  return verdicts;
}

void BatchCommitter::run(std::stop_token stop) {
  while (true) {
    std::optional<EagerBatch> batch;
    {
      MutexLock lock(mutex_);
      lock.wait(changed_, [&]() REQUIRES(mutex_) { return stopping_ || waiting_.has_value(); });
      if (stopping_) return;
      batch = std::move(waiting_);
      waiting_.reset();
    }
    std::optional<EagerBatch::Verdicts> verdicts;
    std::exception_ptr failure;
    try {
      verdicts = batch->commit(stop);
    } catch (...) {
      failure = std::current_exception();
    }
    batch.reset();  // what a failed commit left is dropped (and logged) outside the lock
    {
      MutexLock lock(mutex_);
      verdicts_ = std::move(verdicts);
      failure_ = failure;
      // Under the lock, so collect() cannot read the eventfd before this write.
      const uint64_t one = 1;
      (void)!::write(committed_fd_.get(), &one, sizeof one);
    }
    changed_.notify_all();
  }
}

}  // namespace ftx::server
