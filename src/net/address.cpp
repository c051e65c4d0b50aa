// SPDX-License-Identifier: MIT
// HOST:PORT parsing and socket address formatting.
#include "net/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace ftx::net {

std::optional<uint16_t> parse_port(std::string_view text, bool allow_zero) {
  unsigned value = 0;
  if (text.empty() || text.size() > 5) return std::nullopt;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  if (value > 65535 || (value == 0 && !allow_zero)) return std::nullopt;
  return static_cast<uint16_t>(value);
}

std::optional<HostPort> parse_host_port(std::string_view text, std::string* error) {
  auto fail = [error](const char* why) -> std::optional<HostPort> {
    if (error) *error = why;
    return std::nullopt;
  };
  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return fail("missing ']' after an IPv6 address");
    out.host = std::string(text.substr(1, close - 1));
    if (close + 1 >= text.size() || text[close + 1] != ':') return fail("missing ':PORT'");
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("missing ':PORT'");
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos) {
      return fail("an IPv6 address needs brackets: [ADDR]:PORT");
    }
    port_text = text.substr(colon + 1);
  }
  if (out.host.empty()) return fail("missing host");
  const auto port = parse_port(port_text);
  if (!port) return fail("port must be a number from 1 to 65535");
  out.port = *port;
  return out;
}

std::string format_host_port(std::string_view host, uint16_t port) {
  if (host.find(':') != std::string_view::npos) {
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

std::string format_sockaddr(const sockaddr* addr, socklen_t len) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in sin;
    std::memcpy(&sin, addr, sizeof sin);
    inet_ntop(AF_INET, &sin.sin_addr, buf, sizeof buf);
    return format_host_port(buf, ntohs(sin.sin_port));
  }
  if (addr->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, addr, sizeof sin6);
    if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
      in_addr v4;
      std::memcpy(&v4, sin6.sin6_addr.s6_addr + 12, sizeof v4);
      inet_ntop(AF_INET, &v4, buf, sizeof buf);
    } else {
      inet_ntop(AF_INET6, &sin6.sin6_addr, buf, sizeof buf);
    }
    return format_host_port(buf, ntohs(sin6.sin6_port));
  }
  return "unknown";
}

}  // namespace ftx::net
