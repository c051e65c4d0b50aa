// SPDX-License-Identifier: MIT
// Terminal progress bar.
#include "client/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

#include "util/text.h"
#include "util/units.h"

namespace ftx::client {

std::string render_progress(const std::string& name, uint64_t done, uint64_t total, double elapsed_seconds,
                            int width) {
  const double fraction = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  char pct[8];
  std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(fraction * 100.0));
  std::string eta = "--:--";
  if (done > 0 && elapsed_seconds > 0 && done < total) {
    const double rate = static_cast<double>(done) / elapsed_seconds;
    const auto left = static_cast<long>(static_cast<double>(total - done) / rate);
    char buf[24];
    std::snprintf(buf, sizeof buf, "%ld:%02ld", left / 60, left % 60);
    eta = buf;
  } else if (done >= total) {
    eta = "0:00";
  }
  const std::string stats = std::string(pct) + "  " + format_bytes(done) + " / " + format_bytes(total) +
                            "  " + format_rate(done, elapsed_seconds) + "  ETA " + eta;
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

void ProgressBar::start(const std::string& name, uint64_t total) {
  name_ = name;
  total_ = total;
  started_ = std::chrono::steady_clock::now();
  last_draw_ = {};
  if (enabled_) draw(0);
}

void ProgressBar::update(uint64_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && done < total_) return;
  draw(done);
}

void ProgressBar::draw(uint64_t done) {
  last_draw_ = std::chrono::steady_clock::now();
  winsize ws{};
  int width = 80;
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) width = ws.ws_col;
  const double elapsed = std::chrono::duration<double>(last_draw_ - started_).count();
  const std::string line = "\r\033[K" + render_progress(name_, done, total_, elapsed, width - 1);
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
  drawn_ = true;
}

void ProgressBar::finish() {
  if (!enabled_ || !drawn_) return;
  static constexpr char kClear[] = "\r\033[K";
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, kClear, sizeof kClear - 1);
  drawn_ = false;
}

}  // namespace ftx::client
