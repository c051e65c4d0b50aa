// SPDX-License-Identifier: MIT
// What ftx send and ftx get show while a job runs: the progress bar, reconnections, and a
// lost connection said once.
#pragma once

#include <chrono>
#include <iostream>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "client/progress.h"
#include "util/text.h"

namespace ftx::cli {

/// The part of a job's observer (client::SendObserver or client::FetchObserver, which
/// name these hooks alike) that both commands show the same way.
template <typename Observer>
class TerminalObserver : public Observer {
 public:
  void file_started(const std::string& name, uint64_t size) override {
    bar_.state().file_started(name, size, std::chrono::steady_clock::now());
    bar_.tick();
  }
  void file_resumed(uint64_t offset) override { bar_.state().file_resumed(offset); }
  void file_progress(uint64_t done) override {
    bar_.state().file_progress(done);
    bar_.tick();
  }
  void retrying(const std::string& why, int attempt, int of, std::chrono::milliseconds delay) override {
    bar_.finish();
    bar_.state().connection_lost();
    std::cerr << "ftx " << command_ << ": connection lost (" << printable(why) << "); reconnecting in "
              << delay.count() / 1000.0 << " s (retry " << attempt << " of " << of << ")" << std::endl;
  }
  void connection_failed(const std::string& why) override {
    bar_.finish();
    print_error(command_, why);
    connection_error_ = why;
  }

 protected:
  TerminalObserver(std::string_view command, bool progress) : command_(command), bar_(progress) {}

  /// True for a file the lost connection left undone: connection_failed() said why, so its
  /// own line only names it.
  bool left_by_connection(bool undone, const std::string& error) const {
    return undone && error == connection_error_;
  }

  std::string_view command_;
  client::ProgressBar bar_;

 private:
  std::string connection_error_;  ///< said by connection_failed(), not repeated for each file
};

}  // namespace ftx::cli
