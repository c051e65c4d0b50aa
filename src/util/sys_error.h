// SPDX-License-Identifier: MIT
// One way to report a failed system call: its name, its target and errno.
#pragma once

#include <cerrno>
#include <exception>
#include <string>
#include <system_error>

namespace ftx {

/// True for a read or write that gave up waiting (ETIMEDOUT): the one test for "timed out".
inline bool is_timeout(const std::exception& e) {
  const auto* sys = dynamic_cast<const std::system_error*>(&e);
  return sys && sys->code() == std::errc::timed_out;
}

/// Throws std::system_error for errno value err, e.g. ("connect 127.0.0.1:9000", ECONNREFUSED)
/// reads "connect 127.0.0.1:9000: Connection refused".
[[noreturn]] inline void throw_sys(const std::string& context, int err = errno) {
  throw std::system_error(err, std::generic_category(), context);
}

}  // namespace ftx
