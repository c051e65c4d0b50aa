// SPDX-License-Identifier: MIT
// A chat client's outbound queue and writer thread.
#include "server/outbox.h"

#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "util/sys_error.h"
#include "util/thread_name.h"

namespace ftx::server {

namespace {
// The kernel's own send buffer for a chat client is part of what may wait for it; left to
// autotuning it grows to megabytes and hides a client that stopped reading.
constexpr int kChatSendBuffer = 256 * 1024;
constexpr size_t kCoalesceBytes = 256 * 1024;
constexpr std::chrono::microseconds kGatherTime{1000};
}  // namespace

Outbox::Outbox(net::Stream& stream, size_t capacity_bytes, std::chrono::milliseconds stall_limit)
    : stream_(stream),
      fd_(stream.fd()),
      capacity_(capacity_bytes),
      stall_limit_ms_(stall_limit.count()),
      writer_([this] {
        name_this_thread("ftx-outbox");
        run();
      }) {
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &kChatSendBuffer, sizeof kChatSendBuffer);
}

void Outbox::set_stall_limit(std::chrono::milliseconds limit) { stall_limit_ms_ = limit.count(); }

bool Outbox::reading(std::chrono::steady_clock::time_point now) const {
  return now < taken_at_ + kReadingGrace;
}

Outbox::~Outbox() { close(std::chrono::milliseconds(0)); }

void Outbox::enqueue(Shared bytes) {
  if (queue_.empty() && !writing_ && !bytes->empty()) {
    // Nothing ahead of these bytes: what the socket takes now goes at once.
    const size_t sent =
        stream_.write_now(std::span(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()));
    if (sent > 0) taken_at_ = std::chrono::steady_clock::now();
    if (sent == bytes->size()) return;
    if (sent > 0) bytes = std::make_shared<const std::string>(bytes->data() + sent, bytes->size() - sent);
  }
  const bool was_short = queued_bytes_ < kCoalesceBytes;
  queued_bytes_ += bytes->size();
  queue_.push_back(std::move(bytes));
  // The writer waits for a queue that is empty, or gathers until it holds a full send;
  // waking it for every message of a busy room would cost a context switch per message
  // per client.
  if (queue_.size() == 1 || (was_short && queued_bytes_ >= kCoalesceBytes)) changed_.notify_all();
}

Outbox::Push Outbox::try_push(Shared bytes) {
  MutexLock lock(mutex_);
  if (stopped_ || closing_) return Push::Closed;
  if (!queue_.empty() && queued_bytes_ + bytes->size() > capacity_) {
    if (reading(std::chrono::steady_clock::now())) return Push::Wait;
    if (queued_bytes_ + bytes->size() > kBehindFactor * capacity_) return Push::Full;
  }
  enqueue(std::move(bytes));
  return Push::Ok;
}

Outbox::Push Outbox::push_paced(Shared bytes) {
  MutexLock lock(mutex_);
  while (true) {
    if (stopped_ || closing_) return Push::Closed;
    if (queue_.empty() || queued_bytes_ + bytes->size() <= capacity_) break;
    const auto now = std::chrono::steady_clock::now();
    // Not reading (any more): no reason to wait for it.
    if (!reading(now)) {
      if (queued_bytes_ + bytes->size() > kBehindFactor * capacity_) return Push::Full;
      break;
    }
    lock.wait_until(changed_, taken_at_ + kReadingGrace);
  }
  enqueue(std::move(bytes));
  return Push::Ok;
}

Outbox::Push Outbox::push_reply(std::string bytes) {
  MutexLock lock(mutex_);
  if (stopped_ || closing_) return Push::Closed;
  if (queued_bytes_ > kBehindFactor * capacity_) return Push::Full;  // a client asking without reading
  enqueue(std::make_shared<const std::string>(std::move(bytes)));
  return Push::Ok;
}

void Outbox::close(std::chrono::milliseconds drain_limit) {
  {
    MutexLock lock(mutex_);
    closing_ = true;
    changed_.notify_all();
    if (!lock.wait_until(changed_, std::chrono::steady_clock::now() + drain_limit,
                         [&]() REQUIRES(mutex_) { return writer_done_; })) {
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
  MutexLock lock(mutex_);
  stopped_ = true;
  queue_.clear();
  queued_bytes_ = 0;
  changed_.notify_all();
}

bool Outbox::failed() const {
  MutexLock lock(mutex_);
  return stopped_;
}

std::string Outbox::failure() const {
  MutexLock lock(mutex_);
  return failure_;
}

namespace {
// The client took nothing for the stall limit.
class NotReading : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
}  // namespace

void Outbox::send_bytes(const std::string& bytes) {
  // The stream's write timeout is the stall limit, counted from the last byte the client
  // took: a client that takes nothing for that long is not reading.
  try {
    stream_.write_all(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  } catch (const std::system_error& e) {
    if (e.code() != std::errc::timed_out) throw;
    throw NotReading("not reading (took nothing for " + std::to_string(stall_limit_ms_.load()) + " ms)");
  }
}

void Outbox::run() {
  struct Done {
    Outbox& box;
    ~Done() {
      MutexLock lock(box.mutex_);
      box.writer_done_ = true;
      box.changed_.notify_all();
    }
  } done{*this};
  auto last_send = std::chrono::steady_clock::time_point();
  while (true) {
    Shared next;
    std::string joined;
    {
      MutexLock lock(mutex_);
      writing_ = false;
      lock.wait(changed_, [&]() REQUIRES(mutex_) { return stopped_ || closing_ || !queue_.empty(); });
      // A busy room: let messages gather for up to a millisecond after the last send, so
      // they go out together. A quiet one sends at once.
      const auto gather_until = last_send + kGatherTime;
      if (std::chrono::steady_clock::now() < gather_until) {
        lock.wait_until(changed_, gather_until, [&]() REQUIRES(mutex_) {
          return stopped_ || closing_ || queued_bytes_ >= kCoalesceBytes;
        });
      }
      if (stopped_ || queue_.empty()) return;  // stopped, or closing with nothing left
      // Everything queued goes out in one send: a busy room costs a syscall per wake-up,
      // not one per message.
      taken_at_ = std::chrono::steady_clock::now();
      writing_ = true;
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
      changed_.notify_all();  // room for pushers waiting in push_paced
    }
    const std::string& bytes = next ? *next : joined;
    try {
      send_bytes(bytes);
      last_send = std::chrono::steady_clock::now();
    } catch (const std::exception& e) {
      MutexLock lock(mutex_);
      if (dynamic_cast<const NotReading*>(&e)) failure_ = e.what();
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
