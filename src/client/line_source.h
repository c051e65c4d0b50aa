// SPDX-License-Identifier: MIT
// Where a chat client's lines come from: a stream (tests) or a descriptor it can stop
// waiting on when the connection goes away.
#pragma once

#include <functional>
#include <istream>
#include <optional>
#include <string>

namespace ftx::client {

class LineSource {
 public:
  virtual ~LineSource() = default;
  /// The next line without its '\n' (a trailing '\r' is kept), or nullopt at the end of
  /// input, or when stop() turns true while waiting.
  virtual std::optional<std::string> next(const std::function<bool()>& stop) = 0;
  /// True when next() would return a line without waiting for input; false when unsure.
  virtual bool line_ready() const { return false; }
};

/// Lines of a std::istream; it cannot be interrupted, so stop is checked between lines only.
class StreamLines : public LineSource {
 public:
  explicit StreamLines(std::istream& in) : in_(in) {}
  std::optional<std::string> next(const std::function<bool()>& stop) override;

 private:
  std::istream& in_;
};

/// Lines read from a descriptor with poll(2), so a chat that lost its server ends even while
/// nobody types. A line longer than max_line is cut there and the rest of it skipped.
class FdLines : public LineSource {
 public:
  FdLines(int fd, size_t max_line) : fd_(fd), max_line_(max_line) {}
  std::optional<std::string> next(const std::function<bool()>& stop) override;
  bool line_ready() const override;

 private:
  int fd_;
  size_t max_line_;
  std::string buffer_;
  size_t pos_ = 0;  ///< where the next line starts in buffer_
  bool skipping_ = false;
  bool eof_ = false;
};

/// No lines at all, for a client that only listens: waits until stop() turns true or
/// wake_fd becomes readable (a signal handler writes to it), then ends the input.
class NoLines : public LineSource {
 public:
  explicit NoLines(int wake_fd) : wake_fd_(wake_fd) {}
  std::optional<std::string> next(const std::function<bool()>& stop) override;

 private:
  int wake_fd_;
};

}  // namespace ftx::client
