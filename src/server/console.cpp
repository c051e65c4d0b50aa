// SPDX-License-Identifier: MIT
// The server's human console.
#include "server/console.h"

#include <unistd.h>

#include <chrono>
#include <ctime>

namespace ftx::server {

void Console::print(const std::string& line) {
  if (!quiet_) emit(line);
}

void Console::warn(const std::string& line) { emit("warning: " + line); }

void Console::emit(const std::string& line) {
  const time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  tm local{};
  localtime_r(&now, &local);
  char stamp[16];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S ", &local);
  const std::string text = stamp + line + "\n";
  MutexLock lock(mutex_);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
}

}  // namespace ftx::server
