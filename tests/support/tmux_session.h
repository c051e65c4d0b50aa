// SPDX-License-Identifier: MIT
// A program in a terminal drawn by tmux, for tests that check what a person would see: keys
// and pastes in, the screen's rows out. Each session has its own tmux server (its socket in
// the test's directory), killed with everything in it when the session object goes.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "process.h"
#include "pty_process.h"
#include "temp_dir.h"
#include "test_env.h"

namespace ftx::testing {

class TmuxSession {
 public:
  /// Where tmux is, or nothing.
  static std::optional<std::string> tmux_path() {
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');) {
      const std::string candidate = dir + "/tmux";
      if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return std::nullopt;
  }

  /// Why this machine cannot run the test in tmux, or nothing when it can.
  static std::optional<std::string> unavailable() {
    if (!tmux_path()) return std::string("tmux is not installed (apt-get install tmux)");
    // tmux draws into a pseudo-terminal of its own: without /dev/pts its server cannot start.
    return PtyProcess::unavailable();
  }

  /// Starts `args` (a path and its arguments, none holding a single quote) in a detached
  /// session of `columns` x `rows`, with the environment variables `env` ("NAME=value").
  TmuxSession(const std::vector<std::string>& args, const std::vector<std::string>& env,
              const std::filesystem::path& out_dir, int columns = 100, int rows = 30)
      : out_dir_(out_dir), tmux_(tmux_path().value_or("tmux")) {
    static std::atomic<int> counter{0};
    name_ = "tmux-" + std::to_string(counter++);
    socket_ = (out_dir / (name_ + ".sock")).string();
    std::string command = "exec env";
    // The program's sanitizer reports go to files this object reads when it goes (tmux's
    // server, not this process, is the program's parent).
    sanitizer_log_ = out_dir / (name_ + ".sanitizer");
    for (const auto& e : child_environment(sanitizer_log_)) {
      if (e.find("SAN_OPTIONS=") != std::string::npos) command += " '" + e + "'";
    }
    for (const auto& e : env) command += " '" + e + "'";
    for (const auto& a : args) command += " '" + a + "'";
    // -f /dev/null: none of the user's settings; the session ends with the program.
    run({"-f", "/dev/null", "new-session", "-d", "-x", std::to_string(columns), "-y", std::to_string(rows),
         command});
  }
  ~TmuxSession() {
    run({"kill-server"}, /*check=*/false);
    std::error_code ec;
    std::filesystem::remove(socket_, ec);
    const std::string prefix = sanitizer_log_.filename().string() + ".";
    for (std::filesystem::directory_iterator it(out_dir_, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().filename().string().starts_with(prefix))
        ADD_FAILURE() << "the program in tmux left a sanitizer report in " << it->path() << ":\n"
                      << read_file(it->path());
    }
  }
  TmuxSession(const TmuxSession&) = delete;
  TmuxSession& operator=(const TmuxSession&) = delete;

  /// Types `text` as keys, literally.
  void type(const std::string& text) { run({"send-keys", "-l", text}); }
  /// Presses named keys ("Enter", "Up", "C-c").
  void press(const std::string& key) { run({"send-keys", key}); }
  /// Pastes `text` at once, as a terminal's paste does.
  void paste(const std::string& text) {
    const auto file = out_dir_ / (name_ + ".paste");
    write_file(file, text);
    run({"load-buffer", file.string()});
    run({"paste-buffer", "-d"});
  }

  /// The screen's rows, trailing blanks removed.
  std::vector<std::string> rows() {
    const std::string text = run({"capture-pane", "-p"});
    std::vector<std::string> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out.push_back(line);
    }
    return out;
  }
  std::string screen() {
    std::string all;
    for (const auto& r : rows()) all += r + "\n";
    return all;
  }
  /// The row the cursor is on, 0 at the top.
  int cursor_row() {
    const std::string y = run({"display-message", "-p", "#{cursor_y}"});
    return std::atoi(y.c_str());
  }
  std::string cursor_line() {
    const auto r = rows();
    const int y = cursor_row();
    return y >= 0 && static_cast<size_t>(y) < r.size() ? r[static_cast<size_t>(y)] : "";
  }

  /// Waits (bounded) until the screen shows `text`; true if it did.
  bool wait_for(const std::string& text, std::chrono::milliseconds limit = scaled(std::chrono::seconds(10))) {
    return wait_until([&] { return screen().find(text) != std::string::npos; }, limit);
  }
  /// Waits (bounded) until `done()` (which looks at the screen) is true; true if it was. A
  /// program draws in several writes: what a test checks, it waits for.
  template <typename Done>
  bool wait_until(Done done, std::chrono::milliseconds limit = scaled(std::chrono::seconds(10))) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      if (done()) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

 private:
  // Runs one tmux command against this session's server (bounded); its stdout.
  std::string run(std::vector<std::string> args, bool check = true) {
    args.insert(args.begin(), {tmux_, "-S", socket_});
    const std::string tag = name_ + "-" + std::to_string(commands_++);
    Process p(args, out_dir_, tag);
    const auto code = p.wait(scaled(std::chrono::seconds(10)));
    if (check && code != 0) ADD_FAILURE() << "tmux " << args[3] << ": " << p.err();
    return p.out();
  }

  std::filesystem::path out_dir_;
  std::string tmux_;
  std::string name_;
  std::string socket_;
  std::filesystem::path sanitizer_log_;
  int commands_ = 0;
};

}  // namespace ftx::testing
