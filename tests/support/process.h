// SPDX-License-Identifier: MIT
// Runs the real ftx binary: captured output, bounded waits, no process left behind, and
// any sanitizer report of the child fails the test that started it.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "temp_dir.h"
#include "test_env.h"

extern char** environ;

namespace ftx::testing {

/// $FTX_BIN (meson sets it), else the binary beside the test programs in the build tree.
inline std::string ftx_binary() {
  if (const char* bin = std::getenv("FTX_BIN"); bin && *bin) return bin;
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "src" / "ftx")
      .string();
}

/// The environment of a child: this process's, with every sanitizer told to write its
/// report to `log_path.PID` instead of stderr. Reports then outlive a child killed by the
/// test, and are read by the test instead of being lost with an output file nobody looks at.
/// The child's configuration directory (XDG_CONFIG_HOME) is the test's too: what a client
/// remembers (a server's key, for one) must not reach another test or the machine's user.
inline std::vector<std::string> child_environment(const std::filesystem::path& log_path) {
  if (log_path.string().find(':') != std::string::npos) {
    ADD_FAILURE() << "a sanitizer log_path cannot hold ':': " << log_path;
  }
  const std::vector<std::string> options = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS"};
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    if (std::find(options.begin(), options.end(), name) == options.end() && name != "XDG_CONFIG_HOME") {
      env.push_back(entry);
    }
  }
  env.push_back("XDG_CONFIG_HOME=" + (log_path.parent_path() / "config").string());
  for (const auto& name : options) {
    const char* old = std::getenv(name.c_str());
    // The last setting of a flag wins, so the caller's other flags stay in force.
    env.push_back(name + "=" + (old && *old ? std::string(old) + ":" : "") + "log_path=" + log_path.string());
  }
  return env;
}

/// A started child: bounded waits, stopped when destroyed (SIGTERM, so that a server's
/// shutdown and LeakSanitizer run; SIGKILL only when that does not end it), and the test
/// fails when the child left a sanitizer report. Tests that need a SIGKILL send it.
class ChildProcess {
 public:
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const {
    if (pid_ > 0 && !status_) ::kill(pid_, sig);
  }

  /// Exit code, or nullopt when it did not exit within limit (or died by a signal: -signal).
  std::optional<int> wait(std::chrono::milliseconds limit = scaled(std::chrono::seconds(60))) {
    if (pid_ <= 0) return std::nullopt;  // never started: waitpid(-1) would reap a stranger
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!status_) {
      if (pump_) pump_();
      int st = 0;
      const pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return status_;
  }

  /// Every sanitizer report this child (or a program it exec'd) wrote: "FILE:\nTEXT" each.
  std::vector<std::string> sanitizer_reports() const {
    std::vector<std::string> out;
    std::error_code ec;
    const std::string prefix = sanitizer_log_.filename().string() + ".";
    for (std::filesystem::directory_iterator it(sanitizer_log_.parent_path(), ec), end; !ec && it != end;
         it.increment(ec)) {
      if (!it->path().filename().string().starts_with(prefix)) continue;
      std::string text;
      try {
        text = read_file(it->path());
      } catch (const std::exception& e) {
        text = e.what();
      }
      out.push_back(it->path().string() + ":\n" + text);
    }
    return out;
  }

  /// How long the child may take to end after SIGTERM before it is killed and the test fails.
  void set_stop_limit(std::chrono::milliseconds limit) { stop_limit_ = limit; }

 protected:
  ChildProcess(const std::filesystem::path& out_dir, const std::string& tag)
      : name_(tag), sanitizer_log_(out_dir / (tag + ".sanitizer")) {}
  ~ChildProcess() { finish(); }

  /// Stops the child if it still runs, then fails the test on a sanitizer report. Once.
  void finish() {
    if (finished_) return;
    finished_ = true;
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGTERM);
      // A child the test left stopped (SIGSTOP) must see the SIGTERM. Only then: a SIGCONT
      // to a running child now and then leaves LeakSanitizer's exit-time ptrace waiting
      // forever (seen with gcc 12's ASan, 2 exits in 12).
      if (stopped()) ::kill(pid_, SIGCONT);
      const auto code = wait(stop_limit_);
      if (!code) {
        ::kill(pid_, SIGKILL);
        int st = 0;
        ::waitpid(pid_, &st, 0);
        ADD_FAILURE() << name_ << " (pid " << pid_ << ") did not end within " << stop_limit_.count()
                      << " ms of SIGTERM; killed";
      } else if (*code != 0 && *code != -SIGTERM) {
        ADD_FAILURE() << name_ << " (pid " << pid_ << ") ended with " << describe_status(*code)
                      << " when stopped with SIGTERM";
      }
    }
    for (const auto& report : sanitizer_reports()) {
      ADD_FAILURE() << name_ << " left a sanitizer report in " << report;
    }
  }

  bool stopped() const {
    std::string stat;
    try {
      stat = read_file("/proc/" + std::to_string(pid_) + "/stat");
    } catch (const std::exception&) {
      return false;
    }
    const size_t paren = stat.rfind(')');  // "PID (COMM) STATE ...", COMM may hold anything
    return paren != std::string::npos && paren + 2 < stat.size() &&
           (stat[paren + 2] == 'T' || stat[paren + 2] == 't');
  }

  static std::string describe_status(int code) {
    return code < 0 ? "signal " + std::to_string(-code) + " (" + strsignal(-code) + ")"
                    : "exit code " + std::to_string(code);
  }

  pid_t pid_ = -1;
  std::function<void()> pump_;  // run while waiting (a pty must be drained)
  std::string name_;
  std::filesystem::path sanitizer_log_;

 private:
  std::optional<int> status_;
  std::chrono::milliseconds stop_limit_ = scaled(std::chrono::seconds(15));
  bool finished_ = false;
};

/// A child process whose stdout and stderr go to files.
class Process : public ChildProcess {
 public:
  Process(const std::vector<std::string>& args, const std::filesystem::path& out_dir, const std::string& tag,
          const std::string& stdin_path = "/dev/null")
      : ChildProcess(out_dir, tag), out_(out_dir / (tag + ".out")), err_(out_dir / (tag + ".err")) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, stdin_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const auto env = child_environment(sanitizer_log_);
    std::vector<char*> envp;
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data()) != 0) {
      pid_ = -1;
      ADD_FAILURE() << "cannot start " << args.front();
    }
    posix_spawn_file_actions_destroy(&fa);
  }

  std::string out() const { return read_file(out_); }
  std::string err() const { return read_file(err_); }

  /// Waits (bounded) until stderr matches the regex; returns the first capture group.
  std::optional<std::string> wait_for_err(
      const std::string& pattern, std::chrono::milliseconds limit = scaled(std::chrono::seconds(10))) {
    const std::regex re(pattern);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch m;
      const std::string text = err();
      if (std::regex_search(text, m, re)) return m.size() > 1 ? m[1].str() : m[0].str();
      if (wait(std::chrono::milliseconds(0))) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  }

 private:
  std::filesystem::path out_;
  std::filesystem::path err_;
};

}  // namespace ftx::testing
