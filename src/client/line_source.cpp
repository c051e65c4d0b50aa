// SPDX-License-Identifier: MIT
// Line sources for the chat client.
#include "client/line_source.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace ftx::client {

std::optional<std::string> StreamLines::next(const std::function<bool()>& stop) {
  std::string line;
  if (stop() || !std::getline(in_, line)) return std::nullopt;
  return line;
}

std::optional<std::string> FdLines::next(const std::function<bool()>& stop) {
  while (true) {
    const size_t newline = buffer_.find('\n', pos_);
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(pos_, newline - pos_);
      pos_ = newline + 1;
      if (skipping_) {
        skipping_ = false;
        continue;  // the tail of a line already cut and returned
      }
      return line;
    }
    if (!skipping_ && buffer_.size() - pos_ > max_line_) {
      std::string line = buffer_.substr(pos_, max_line_ + 1);  // still over the limit: refused upstream
      buffer_.clear();
      pos_ = 0;
      skipping_ = true;
      return line;
    }
    if (skipping_) {
      buffer_.clear();
      pos_ = 0;
    }
    if (eof_) {
      if (pos_ == buffer_.size() || skipping_) return std::nullopt;
      std::string line = buffer_.substr(pos_);
      buffer_.clear();
      pos_ = 0;
      return line;
    }
    // Lines are taken from the front by moving pos_; the consumed bytes go only here,
    // once per read, not once per line.
    buffer_.erase(0, pos_);
    pos_ = 0;
    if (stop()) return std::nullopt;
    pollfd pfd{fd_, POLLIN, 0};
    const int n = ::poll(&pfd, 1, 200);
    if (n < 0 && errno != EINTR) return std::nullopt;
    if (n <= 0) continue;
    char buf[65536];
    const ssize_t got = ::read(fd_, buf, sizeof buf);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      eof_ = true;
      continue;
    }
    if (got == 0) {
      eof_ = true;
      continue;
    }
    buffer_.append(buf, static_cast<size_t>(got));
  }
}

std::optional<std::string> NoLines::next(const std::function<bool()>& stop) {
  while (!stop()) {
    pollfd pfd{wake_fd_, POLLIN, 0};
    const int n = ::poll(&pfd, 1, 200);
    if (n < 0 && errno != EINTR) break;
    if (n > 0) break;  // woken (or the descriptor failed): either way, the end
  }
  return std::nullopt;
}

bool FdLines::line_ready() const {
  return !skipping_ && (buffer_.find('\n', pos_) != std::string::npos || (eof_ && pos_ < buffer_.size()));
}

}  // namespace ftx::client
