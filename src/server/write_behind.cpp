// SPDX-License-Identifier: MIT
// Hash- and write-behind for large uploads.
#include "server/write_behind.h"
#include "util/thread_name.h"

#include <algorithm>
#include <system_error>

namespace ftx::server {

WriteBehind::WriteBehind(PartialFile& file, digest::Hasher& hasher, std::span<uint8_t> buffer, bool threaded)
    : file_(file),
      hasher_(hasher),
      buffer_(buffer),
      slots_(threaded ? kSlots : 1),
      slot_size_(buffer.size() / slots_),
      filled_(slots_, 0) {
  if (!threaded) return;
  try {
    writer_ = std::jthread([this] {
      name_this_thread("ftx-disk-write");
      run();
    });
  } catch (const std::system_error&) {
    // Out of threads (a busy server): the upload still works, written as it arrives.
    slots_ = 1;
    slot_size_ = buffer.size();
    filled_.assign(1, 0);
  }
}

WriteBehind::~WriteBehind() {
  {
    MutexLock lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  // jthread joins: the writer finishes the write it is in, then returns.
}

void WriteBehind::rethrow_failure() {
  if (failure_) std::rethrow_exception(failure_);
}

void WriteBehind::consume(std::span<const uint8_t> bytes) {
  hasher_.update(bytes);
  file_.write(bytes);
}

std::span<uint8_t> WriteBehind::slot() {
  if (writer_.joinable()) {
    MutexLock lock(mutex_);
    lock.wait(changed_, [&]() REQUIRES(mutex_) { return failure_ || filled_[next_fill_] == 0; });
    rethrow_failure();
  }
  return buffer_.subspan(next_fill_ * slot_size_, slot_size_);
}

void WriteBehind::submit(size_t n) {
  if (n == 0) return;
  if (!writer_.joinable()) {
    consume(buffer_.first(n));
    return;
  }
  {
    MutexLock lock(mutex_);
    filled_[next_fill_] = n;
  }
  changed_.notify_all();
  next_fill_ = (next_fill_ + 1) % slots_;
}

void WriteBehind::finish() {
  if (!writer_.joinable()) return;
  MutexLock lock(mutex_);
  lock.wait(changed_, [&]() REQUIRES(mutex_) {
    return failure_ || std::all_of(filled_.begin(), filled_.end(), [](size_t n) { return n == 0; });
  });
  rethrow_failure();
}

void WriteBehind::run() {
  MutexLock lock(mutex_);
  while (true) {
    lock.wait(changed_, [&]() REQUIRES(mutex_) { return stopping_ || filled_[next_write_] != 0; });
    if (stopping_) return;
    const size_t n = filled_[next_write_];
    const auto bytes = buffer_.subspan(next_write_ * slot_size_, n);
    lock.unlock();
    try {
      consume(bytes);
    } catch (...) {
      lock.lock();
      failure_ = std::current_exception();
      changed_.notify_all();
      return;
    }
    lock.lock();
    filled_[next_write_] = 0;
    next_write_ = (next_write_ + 1) % slots_;
    changed_.notify_all();
  }
}

}  // namespace ftx::server
