// SPDX-License-Identifier: MIT
// A chat client's outbound queue and writer thread.
#include "server/outbox.h"

#include <sys/socket.h>

#include "net/socket.h"

namespace ftx::server {

namespace {
// The kernel's own send buffer for a chat client is part of what may wait for it; left to
// autotuning it grows to megabytes and hides a client that stopped reading.
constexpr int kChatSendBuffer = 256 * 1024;
constexpr size_t kCoalesceBytes = 256 * 1024;
constexpr std::chrono::microseconds kGatherTime{1000};
}  // namespace

Outbox::Outbox(net::Stream& stream, size_t capacity_bytes)
    : stream_(stream), fd_(stream.fd()), capacity_(capacity_bytes), writer_([this] { run(); }) {
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &kChatSendBuffer, sizeof kChatSendBuffer);
}

Outbox::~Outbox() { close(std::chrono::milliseconds(0)); }

void Outbox::enqueue(Shared bytes) {
  const bool was_short = queued_bytes_ < kCoalesceBytes;
  queued_bytes_ += bytes->size();
  queue_.push_back(std::move(bytes));
  // The writer waits for a queue that is empty, or gathers until it holds a full send;
  // waking it for every message of a busy room would cost a context switch per message
  // per client.
  if (queue_.size() == 1 || (was_short && queued_bytes_ >= kCoalesceBytes)) changed_.notify_all();
}

Outbox::Push Outbox::try_push(Shared bytes) {
  std::lock_guard lock(mutex_);
  if (stopped_ || closing_) return Push::Closed;
  if (!queue_.empty() && queued_bytes_ + bytes->size() > capacity_) return Push::Full;
  enqueue(std::move(bytes));
  return Push::Ok;
}

Outbox::Push Outbox::push_until(Shared bytes, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  const bool room = changed_.wait_until(lock, deadline, [&] {
    return stopped_ || closing_ || queue_.empty() || queued_bytes_ + bytes->size() <= capacity_;
  });
  if (stopped_ || closing_) return Push::Closed;
  if (!room) return Push::Full;
  enqueue(std::move(bytes));
  return Push::Ok;
}

Outbox::Push Outbox::push_reply(std::string bytes) {
  std::lock_guard lock(mutex_);
  if (stopped_ || closing_) return Push::Closed;
  if (queued_bytes_ > 2 * capacity_) return Push::Full;  // a client asking without reading
  enqueue(std::make_shared<const std::string>(std::move(bytes)));
  return Push::Ok;
}

void Outbox::close(std::chrono::milliseconds drain_limit) {
  {
    std::unique_lock lock(mutex_);
    closing_ = true;
    changed_.notify_all();
    if (!changed_.wait_for(lock, drain_limit, [&] { return writer_done_; })) {
      stopped_ = true;
      queue_.clear();
      queued_bytes_ = 0;
      changed_.notify_all();
      ::shutdown(fd_, SHUT_RDWR);  // ends a write blocked on a client that does not read
    }
  }
  if (writer_.joinable() && writer_.get_id() != std::this_thread::get_id()) writer_.join();
}

void Outbox::abort() {
  std::lock_guard lock(mutex_);
  stopped_ = true;
  queue_.clear();
  queued_bytes_ = 0;
  changed_.notify_all();
}

bool Outbox::failed() const {
  std::lock_guard lock(mutex_);
  return stopped_;
}

void Outbox::run() {
  struct Done {
    Outbox& box;
    ~Done() {
      std::lock_guard lock(box.mutex_);
      box.writer_done_ = true;
      box.changed_.notify_all();
    }
  } done{*this};
  auto last_send = std::chrono::steady_clock::time_point();
  while (true) {
    Shared next;
    std::string joined;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopped_ || closing_ || !queue_.empty(); });
      // A busy room: let messages gather for up to a millisecond after the last send, so
      // they go out together. A quiet one sends at once.
      const auto gather_until = last_send + kGatherTime;
      if (std::chrono::steady_clock::now() < gather_until) {
        changed_.wait_until(lock, gather_until,
                            [&] { return stopped_ || closing_ || queued_bytes_ >= kCoalesceBytes; });
      }
      if (stopped_ || queue_.empty()) return;  // stopped, or closing with nothing left
      // Everything queued goes out in one send: a busy room costs a syscall per wake-up,
      // not one per message.
      next = std::move(queue_.front());
      queue_.pop_front();
      if (!queue_.empty() && next->size() + queue_.front()->size() <= kCoalesceBytes) {
        joined = *next;
        while (!queue_.empty() && joined.size() + queue_.front()->size() <= kCoalesceBytes) {
          joined += *queue_.front();
          queue_.pop_front();
        }
        queued_bytes_ -= joined.size();
        next.reset();
      } else {
        queued_bytes_ -= next->size();
      }
      changed_.notify_all();  // room for pushers waiting in push_until
    }
    const std::string& bytes = next ? *next : joined;
    try {
      stream_.write_all(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
      last_send = std::chrono::steady_clock::now();
    } catch (const std::exception&) {
      std::lock_guard lock(mutex_);
      stopped_ = true;
      queue_.clear();
      queued_bytes_ = 0;
      changed_.notify_all();
      // The client is gone or stuck past the send timeout: wake its session's reader so it
      // leaves the room. The owner has not closed the socket yet: it joins this thread first.
      ::shutdown(fd_, SHUT_RDWR);
      return;
    }
  }
}

}  // namespace ftx::server
