// SPDX-License-Identifier: MIT
// The server's human console on stderr.
#pragma once

#include <string>

#include "util/mutex.h"

namespace ftx::server {

/// Prints whole lines to stderr from any thread; silent when quiet.
class Console {
 public:
  explicit Console(bool quiet) : quiet_(quiet) {}
  /// Prints "HH:MM:SS line". Callers make peer text printable first.
  void print(const std::string& line);
  /// True with --quiet: print() shows nothing, so callers may skip building the line.
  bool quiet() const { return quiet_; }
  /// Printed even when quiet: problems the operator must see.
  void warn(const std::string& line);

 private:
  void emit(const std::string& line);
  bool quiet_;
  Mutex mutex_;
};

}  // namespace ftx::server
