// SPDX-License-Identifier: MIT
// HOST:PORT parsing and socket address formatting. Pure logic.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ftx::net {

struct HostPort {
  std::string host;  ///< name, IPv4 literal or IPv6 literal (without brackets)
  uint16_t port = 0;
  bool operator==(const HostPort&) const = default;
};

/// Parses "name:port", "1.2.3.4:port" or "[::1]:port". On failure returns nullopt and, when
/// error is given, says why.
std::optional<HostPort> parse_host_port(std::string_view text, std::string* error = nullptr);

/// Parses a decimal port 1..65535 (0 too when allow_zero).
std::optional<uint16_t> parse_port(std::string_view text, bool allow_zero = false);

/// "host:port", with brackets around an IPv6 literal.
std::string format_host_port(std::string_view host, uint16_t port);

/// "1.2.3.4:5" or "[::1]:5"; an IPv4-mapped IPv6 address is shown as IPv4.
std::string format_sockaddr(const sockaddr* addr, socklen_t len);

}  // namespace ftx::net
