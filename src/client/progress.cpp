// SPDX-License-Identifier: MIT
// Terminal progress bar.
#include "client/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "util/text.h"
#include "util/units.h"

namespace ftx::client {

std::string render_progress(const std::string& name, uint64_t done, uint64_t total, uint64_t moved,
                            double elapsed_seconds, int width) {
  const double fraction = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  char pct[8];
  std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(fraction * 100.0));
  std::string eta = "--:--";
  if (moved > 0 && elapsed_seconds > 0 && done < total) {
    const double rate = static_cast<double>(moved) / elapsed_seconds;
    const auto left = static_cast<long>(static_cast<double>(total - done) / rate);
    char buf[24];
    std::snprintf(buf, sizeof buf, "%ld:%02ld", left / 60, left % 60);
    eta = buf;
  } else if (done >= total) {
    eta = "0:00";
  }
  const std::string stats = std::string(pct) + "  " + format_bytes(done) + " / " + format_bytes(total) +
                            "  " + format_rate(moved, elapsed_seconds) + "  ETA " + eta;
  std::string label = printable(name);
  const int room = width - static_cast<int>(stats.size()) - 4;
  const int bar_width = room > 40 ? 20 : (room > 25 ? 10 : 0);
  const int label_room = room - (bar_width > 0 ? bar_width + 4 : 0);
  if (label_room < 4) {
    label.clear();
  } else if (static_cast<int>(label.size()) > label_room) {
    label = "..." + label.substr(label.size() - static_cast<size_t>(label_room - 3));
  }
  std::string out = label;
  if (bar_width > 0) {
    const int filled = static_cast<int>(fraction * bar_width);
    out += "  [" + std::string(static_cast<size_t>(filled), '=') +
           std::string(static_cast<size_t>(bar_width - filled), ' ') + "]";
  }
  out += "  " + stats;
  return out;
}

void SendProgress::job_started(size_t files, uint64_t bytes) {
  files_ = files;
  bytes_ = bytes;
}

void SendProgress::settle_current() {
  if (!have_current_) return;
  committed_ += std::max(current_size_, current_done_);
  if (current_size_ > current_done_) moved_ += current_size_ - current_done_;
  current_done_ = 0;
  have_current_ = false;
}

void SendProgress::file_started(const std::string& name, uint64_t size, Time now) {
  settle_current();      // sending is sequential: the one before has left
  if (!attempt_open_) {  // an attempt's clock starts with its first file, once connected
    attempt_open_ = true;
    attempt_started_ = now;
    moved_ = 0;
  }
  current_ = name;
  current_size_ = size;
  current_done_ = 0;
  have_current_ = true;
  ++started_;
  unanswered_.push_back(name);
}

void SendProgress::file_resumed(uint64_t offset) { current_done_ = offset; }

void SendProgress::file_progress(uint64_t done) {
  if (done > current_done_) moved_ += done - current_done_;
  current_done_ = done;
}

void SendProgress::file_done(const std::string& name, uint64_t bytes, bool directory) {
  if (directory) return;
  ++files_done_;
  bytes_done_ += bytes;
  if (!unanswered_.empty() && unanswered_.front() == name) {
    unanswered_.pop_front();
    if (unanswered_.empty()) settle_current();
  } else {
    ++started_;  // answered without being sent (unreadable, refused before READY): its turn passed
  }
}

void SendProgress::connection_lost() {
  unanswered_.clear();
  have_current_ = false;
  current_done_ = 0;
  committed_ = bytes_done_;
  started_ = files_done_;
  attempt_open_ = false;  // the next attempt starts with its first file
}

uint64_t SendProgress::total() const { return files_ > 1 ? bytes_ : current_size_; }

uint64_t SendProgress::done() const {
  const uint64_t done = committed_ + (have_current_ ? current_done_ : 0);
  const uint64_t total = this->total();
  return total > 0 ? std::min(done, total) : done;
}

std::string SendProgress::label() const {
  if (files_ <= 1) return current_;
  const size_t k = std::clamp<size_t>(started_, 1, files_);
  return "[" + std::to_string(k) + "/" + std::to_string(files_) + "] " + current_;
}

bool SendProgress::due(Time now) const {
  if (current_.empty()) return false;  // no file has started: nothing to name
  if (!ever_drawn_) return true;
  if (now - last_draw_ < kInterval) return false;
  return !shown_ || done() != drawn_done_ || moved_ != drawn_moved_ || label() != drawn_label_;
}

std::string SendProgress::draw(int width, Time now) {
  const double elapsed = attempt_open_ ? std::chrono::duration<double>(now - attempt_started_).count() : 0.0;
  ever_drawn_ = true;
  shown_ = true;
  last_draw_ = now;
  drawn_done_ = done();
  drawn_moved_ = moved_;
  drawn_label_ = label();
  return render_progress(drawn_label_, drawn_done_, total(), moved_, elapsed, width);
}

void ProgressBar::tick() {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!state_.due(now)) return;
  winsize ws{};
  int width = 80;
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) width = ws.ws_col;
  const std::string line = "\r\033[K" + state_.draw(width - 1, now);
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

void ProgressBar::finish() {
  // Also when the bar is already erased: on a clean line the erase does nothing, and a
  // result line never lands after a bar's text.
  if (!enabled_ || !state_.ever_drawn()) return;
  static constexpr char kClear[] = "\r\033[K";
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, kClear, sizeof kClear - 1);
  state_.erased();
}

}  // namespace ftx::client
