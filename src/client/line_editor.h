// SPDX-License-Identifier: MIT
// The chat's input line at a terminal: libedit edits it (raw mode, emacs keys, history for
// the session); what arrives meanwhile is printed above it and the half-typed line is drawn
// again below.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/line_source.h"
#include "util/mutex.h"

struct editline;
struct history;

namespace ftx::client {

/// Columns `text` (UTF-8) takes on a terminal: one per character, two for East Asian wide
/// ones, none for combining marks; a control character shows as ^X (two).
size_t display_columns(std::string_view text);

/// What moves the cursor from column `column` of an input line (counted from the line's
/// start, over wrapped rows of `width` columns) back to where the line starts, and erases
/// everything from there down: the room for text to be printed above the line.
std::string erase_input(size_t column, size_t width);

/// Bytes at the front of `text` (from `from`) that are plain text to insert as they are:
/// whole characters of the locale that are not controls. A paste goes in by such runs
/// rather than a key (and a redraw) at a time.
size_t plain_run(std::string_view text, size_t from);

/// Lines typed at a terminal. Construct only when both in_fd and out_fd are terminals;
/// throws std::runtime_error when libedit cannot start. While it lives, SIGINT and SIGTERM
/// end the input (next() returns nullopt; a second one puts the terminal back and ends the
/// process as it would have without the editor), SIGWINCH
/// resizes the line, and ^Z (SIGTSTP) gives the terminal back as it was until `fg`. The terminal's modes and
/// the signal handlers are restored when the input ends and when it is destroyed, whatever the way out.
class LineEditor : public LineSource {
 public:
  LineEditor(int in_fd, int out_fd);
  ~LineEditor() override;
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  std::optional<std::string> next(const std::function<bool()>& stop) override;
  bool line_ready() const override;

  /// From any thread: writes text (whole lines, each ending in '\n') to fd. While a line is
  /// being typed it goes above the input line, which is then drawn again with what it held.
  void print(int fd, std::string text);

  /// True when the input ended on SIGINT or SIGTERM.
  bool interrupted() const { return interrupted_; }

 private:
  struct Pending {
    int fd;
    std::string text;
  };
  friend int read_key(editline* el, wchar_t* out);
  int read_key(wchar_t* out);
  void release();
  void redraw(size_t column);
  void erase(std::optional<size_t> column = std::nullopt);
  void suspend();
  size_t cursor_column() const;
  void insert(std::string_view text);
  std::optional<std::string> take_keys();
  void show_pending();
  void start_line();
  void end_line();
  void handle_signals();

  int in_fd_;
  int out_fd_;
  int wake_[2] = {-1, -1};  ///< signal handlers and print() write a byte here
  std::FILE* in_ = nullptr;
  std::FILE* out_ = nullptr;
  editline* el_ = nullptr;
  history* history_ = nullptr;
  std::string keys_;         ///< read from the terminal, not yet taken by the editor
  size_t keys_pos_ = 0;      ///< where the untaken keys start in keys_
  uint64_t keys_taken_ = 0;  ///< keys handed to libedit so far
  std::string old_locale_;
  bool editing_ = false;  ///< the terminal is in libedit's raw mode, the line on screen
  bool ended_ = false;
  bool input_closed_ = false;  ///< a read of the terminal found its end or failed
  bool interrupted_ = false;
  Mutex mutex_;
  bool reading_ GUARDED_BY(mutex_) = false;  ///< next() draws the line: others queue
  std::vector<Pending> pending_ GUARDED_BY(mutex_);
};

}  // namespace ftx::client
