// SPDX-License-Identifier: MIT
// Many peers on one machine: connections from chosen loopback addresses (127.0.0.2, ...),
// which Linux routes to 127.0.0.1 without any setup.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <system_error>

#include "net/unique_fd.h"

namespace ftx::testing {

/// "127.0.0.N" for n in 1..254.
inline std::string loopback(int n) { return "127.0.0." + std::to_string(n); }

/// A blocking TCP connection to 127.0.0.1:port from source (an IPv4 loopback address).
/// Throws std::system_error.
inline net::UniqueFd connect_from(const std::string& source, uint16_t port) {
  net::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in local{};
  local.sin_family = AF_INET;
  if (::inet_pton(AF_INET, source.c_str(), &local.sin_addr) != 1) {
    throw std::system_error(EINVAL, std::generic_category(), "bad source address " + source);
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
    throw std::system_error(errno, std::generic_category(), "bind " + source);
  }
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&remote), sizeof remote) < 0) {
    throw std::system_error(errno, std::generic_category(), "connect from " + source);
  }
  return fd;
}

}  // namespace ftx::testing
