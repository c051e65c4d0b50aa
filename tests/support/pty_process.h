// SPDX-License-Identifier: MIT
// A program on a pseudo-terminal, as a person at a keyboard runs it: keystrokes in, the
// screen's bytes out, every wait bounded.
#pragma once

#include <poll.h>
#include <pty.h>
#include <termios.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "net/unique_fd.h"
#include "process.h"

namespace ftx::testing {

class PtyProcess : public ChildProcess {
 public:
  /// Why this machine cannot give a test a terminal (a chroot without /dev/pts, say), or
  /// nothing when it can. A test skips, visibly, on a reason: no terminal, nothing to test.
  static std::optional<std::string> unavailable() {
    const int fd = ::posix_openpt(O_RDWR | O_NOCTTY);
    if (fd < 0) return std::string("no pseudo-terminal (posix_openpt: ") + std::strerror(errno) + ")";
    const bool ok = ::grantpt(fd) == 0 && ::unlockpt(fd) == 0 && ::ptsname(fd) != nullptr &&
                    ::access(::ptsname(fd), R_OK | W_OK) == 0;
    const int saved = errno;
    ::close(fd);
    if (!ok) return std::string("no pseudo-terminal (/dev/pts: ") + std::strerror(saved) + ")";
    return std::nullopt;
  }

  /// Starts args[0] (a path) with a new terminal as its stdin, stdout and stderr, and its
  /// controlling terminal. out_dir and tag as for Process (the sanitizer log goes there);
  /// cwd, when given, is the child's working directory.
  PtyProcess(const std::vector<std::string>& args, const std::filesystem::path& out_dir,
             const std::string& tag, const std::filesystem::path& cwd = {})
      : ChildProcess(out_dir, tag) {
    const std::string dir = cwd.string();
    // Everything the child needs is built before the fork: between fork and exec a
    // multithreaded parent's child may only make async-signal-safe calls.
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const auto env = child_environment(sanitizer_log_);
    std::vector<char*> envp;
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    winsize size{};
    size.ws_row = 24;
    size.ws_col = 100;
    int master = -1;
    pid_ = ::forkpty(&master, nullptr, nullptr, &size);
    if (pid_ == 0) {
      if (!dir.empty() && ::chdir(dir.c_str()) != 0) ::_exit(126);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    if (pid_ < 0) {
      ADD_FAILURE() << "forkpty: " << std::strerror(errno);
      return;
    }
    master_.reset(master);
    ::fcntl(master, F_SETFD, FD_CLOEXEC);
    ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
    // The child must not block writing to a terminal nobody reads while the test waits.
    pump_ = [this] { read_available(0); };
  }
  ~PtyProcess() {
    finish();  // while the terminal is still open: closing it first would send SIGHUP
    pump_ = nullptr;
  }

  /// Types keys (a line needs its "\n": the terminal is in canonical mode, as a shell leaves it).
  void type(const std::string& keys) {
    size_t at = 0;
    const auto deadline = std::chrono::steady_clock::now() + scaled(std::chrono::seconds(10));
    while (at < keys.size() && std::chrono::steady_clock::now() < deadline) {
      const ssize_t n = ::write(master_.get(), keys.data() + at, keys.size() - at);
      if (n > 0) {
        at += static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        ADD_FAILURE() << "writing to the terminal: " << std::strerror(errno);
        return;
      } else {
        read_available(10);  // the child may be blocked on output: drain it
      }
    }
    if (at < keys.size())
      ADD_FAILURE() << "the terminal took only " << at << " of " << keys.size() << " bytes";
  }

  /// Waits (bounded) until `text` appears on the screen at or after byte `from`; true if it
  /// did. False at once if the program ended without printing it.
  bool wait_for(const std::string& text, size_t from = 0,
                std::chrono::milliseconds limit = scaled(std::chrono::seconds(10))) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      if (screen_.find(text, std::min(from, screen_.size())) != std::string::npos) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      if (!read_available(50) && wait(std::chrono::milliseconds(0))) {
        read_available(0);
        return screen_.find(text, std::min(from, screen_.size())) != std::string::npos;
      }
    }
  }

  /// Everything the program printed so far (its stdout and stderr, and the terminal's echo
  /// of what was typed), with the terminal's "\r\n" line ends.
  const std::string& screen() const { return screen_; }

 private:
  // Reads what is there, waiting up to timeout_ms for the first byte. False when nothing came.
  bool read_available(int timeout_ms) {
    if (!master_) return false;
    bool got = false;
    pollfd p{master_.get(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    while (true) {
      const ssize_t n = ::read(master_.get(), buf, sizeof buf);
      if (n > 0) {
        screen_.append(buf, static_cast<size_t>(n));
        got = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      // EAGAIN: all read. EIO: every holder of the terminal closed it (the child ended), and
      // poll will keep saying so at once: do not spin on it.
      if (!got && n < 0 && errno == EIO) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      return got;
    }
  }

  net::UniqueFd master_;
  std::string screen_;
};

}  // namespace ftx::testing
