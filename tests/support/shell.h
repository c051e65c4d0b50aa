// SPDX-License-Identifier: MIT
// The shell, for tests that check ftx against the tools people use (curl, openssl, nc).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace ftx::testing {

/// What `sh -c command` prints on stdout (empty when it cannot run).
inline std::string shell_output(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

/// True when program is on the PATH.
inline bool installed(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace ftx::testing
