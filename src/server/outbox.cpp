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
}  // namespace

Outbox::Outbox(int fd, std::string peer, size_t capacity_bytes)
    : fd_(fd), peer_(std::move(peer)), capacity_(capacity_bytes), writer_([this] { run(); }) {
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &kChatSendBuffer, sizeof kChatSendBuffer);
}

Outbox::~Outbox() {
  abort();
  if (writer_.joinable()) writer_.join();
}

Outbox::Push Outbox::try_push(std::string bytes) {
  std::lock_guard lock(mutex_);
  if (stopped_ || closing_) return Push::Closed;
  if (!queue_.empty() && queued_bytes_ + bytes.size() > capacity_) return Push::Full;
  queued_bytes_ += bytes.size();
  queue_.push_back(std::move(bytes));
  changed_.notify_all();
  return Push::Ok;
}

Outbox::Push Outbox::push_until(std::string bytes, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  const bool room = changed_.wait_until(lock, deadline, [&] {
    return stopped_ || closing_ || queue_.empty() || queued_bytes_ + bytes.size() <= capacity_;
  });
  if (stopped_ || closing_) return Push::Closed;
  if (!room) return Push::Full;
  queued_bytes_ += bytes.size();
  queue_.push_back(std::move(bytes));
  changed_.notify_all();
  return Push::Ok;
}

Outbox::Push Outbox::push_reply(std::string bytes) {
  std::lock_guard lock(mutex_);
  if (stopped_ || closing_) return Push::Closed;
  if (queued_bytes_ > 2 * capacity_) return Push::Full;  // a client asking without reading
  queued_bytes_ += bytes.size();
  queue_.push_back(std::move(bytes));
  changed_.notify_all();
  return Push::Ok;
}

void Outbox::finish() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    changed_.notify_all();
  }
  if (writer_.joinable()) writer_.join();
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
  while (true) {
    std::string next;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopped_ || closing_ || !queue_.empty(); });
      if (stopped_ || queue_.empty()) return;  // stopped, or closing with nothing left
      next = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= next.size();
      changed_.notify_all();  // room for pushers waiting in push_until
    }
    try {
      net::send_all(fd_, std::span(reinterpret_cast<const uint8_t*>(next.data()), next.size()), peer_);
    } catch (const std::exception&) {
      std::lock_guard lock(mutex_);
      stopped_ = true;
      queue_.clear();
      queued_bytes_ = 0;
      changed_.notify_all();
      return;
    }
  }
}

}  // namespace ftx::server
