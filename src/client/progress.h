// SPDX-License-Identifier: MIT
// A one-line progress bar for a terminal: what it says and when it is redrawn (pure, the
// caller passes the time), and the terminal writer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

namespace ftx::client {

/// "name  [=====>    ]  45%  45.0 MiB / 100.0 MiB  123.4 MB/s  ETA 0:03" fitted to width.
/// The rate and ETA come from `moved`, the bytes sent in `elapsed_seconds` of this attempt
/// (not the bytes a resumed upload found on the server). Pure.
std::string render_progress(const std::string& name, uint64_t done, uint64_t total, uint64_t moved,
                            double elapsed_seconds, int width);
/// The same when every byte done was moved in elapsed_seconds.
inline std::string render_progress(const std::string& name, uint64_t done, uint64_t total,
                                   double elapsed_seconds, int width) {
  return render_progress(name, done, total, done, elapsed_seconds, width);
}

/// What an `ftx send` job's bar shows, fed with the sender's events and the time. Pure.
/// One file: its name and its bytes. Several: "[k/N] name" of the file being sent (k counts
/// files started, so pipelined small files are named as they leave) over the job's bytes.
class SendProgress {
 public:
  using Time = std::chrono::steady_clock::time_point;
  /// The bar is redrawn at most this often, and this often while bytes move.
  static constexpr std::chrono::milliseconds kInterval{100};

  void job_started(size_t files, uint64_t bytes);
  /// A file (or a new attempt at it) starts; what was being sent before it has left.
  void file_started(const std::string& name, uint64_t size, Time now);
  /// The server already has `offset` bytes of the current file: done, but not moved now.
  void file_resumed(uint64_t offset);
  /// `done` bytes of the current file are with the server (offset included).
  void file_progress(uint64_t done);
  /// A file's answer arrived (answers come in the order the files left).
  void file_done(const std::string& name, uint64_t bytes, bool directory);
  /// The connection failed: unanswered files will be sent again, in a new attempt.
  void connection_lost();

  /// True when a redraw is due: nothing drawn yet, or kInterval passed since the last one
  /// and bytes moved (however few), the file changed or the bar was erased.
  bool due(Time now) const;
  /// The line as of now; marks it drawn.
  std::string draw(int width, Time now);
  /// The bar was erased (for a result line): the next due() is on the usual schedule.
  void erased() { shown_ = false; }
  bool shown() const { return shown_; }
  bool ever_drawn() const { return ever_drawn_; }

  uint64_t done() const;
  uint64_t total() const;
  uint64_t moved() const { return moved_; }
  std::string label() const;
  /// Every file of the job has its answer.
  bool finished() const { return files_done_ >= files_; }

 private:
  size_t files_ = 0;
  uint64_t bytes_ = 0;
  // Files done and their bytes; files started in this job (pipelined ones included).
  size_t files_done_ = 0;
  uint64_t bytes_done_ = 0;
  size_t started_ = 0;
  std::deque<std::string> unanswered_;
  // Bytes of the files that left before the current one, and the current one's.
  uint64_t committed_ = 0;
  std::string current_;
  uint64_t current_size_ = 0;
  uint64_t current_done_ = 0;
  bool have_current_ = false;
  // This attempt: when it started and the bytes it sent.
  bool attempt_open_ = false;
  Time attempt_started_{};
  uint64_t moved_ = 0;
  // The last drawing.
  bool ever_drawn_ = false;
  bool shown_ = false;
  Time last_draw_{};
  uint64_t drawn_done_ = 0;
  uint64_t drawn_moved_ = 0;
  std::string drawn_label_;

  void settle_current();
};

/// Writes a SendProgress to stderr, a terminal; does nothing when disabled.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  SendProgress& state() { return state_; }
  /// Redraws when due.
  void tick();
  /// Erases the bar so the next line prints cleanly.
  void finish();

 private:
  bool enabled_;
  SendProgress state_;
};

}  // namespace ftx::client
