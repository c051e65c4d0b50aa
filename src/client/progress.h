// SPDX-License-Identifier: MIT
// A one-line progress bar for a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ftx::client {

/// "name  [=====>    ]  45%  45.0 MiB / 100.0 MiB  123.4 MB/s  ETA 0:03" fitted to width.
/// Pure: the bar's text for a state.
std::string render_progress(const std::string& name, uint64_t done, uint64_t total, double elapsed_seconds,
                            int width);

/// Redraws the bar on stderr at most ten times a second; does nothing when disabled.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  void start(const std::string& name, uint64_t total);
  void update(uint64_t done);
  /// Changes the label (the current file of a multi-file job) from the next redraw on.
  void rename(const std::string& name) { name_ = name; }
  /// Erases the bar so the next line prints cleanly.
  void finish();

 private:
  void draw(uint64_t done);
  bool enabled_;
  bool drawn_ = false;
  std::string name_;
  uint64_t total_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace ftx::client
