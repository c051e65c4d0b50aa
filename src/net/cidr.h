// SPDX-License-Identifier: MIT
// Address ranges for --allow and --deny. Pure logic.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ftx::net {

/// An IPv4 or IPv6 network: "10.0.0.0/8", "192.168.1.7" (a /32), "fd00::/8", "::1".
class Cidr {
 public:
  /// nullopt when text is not an address with an optional /prefix in range.
  static std::optional<Cidr> parse(std::string_view text);

  /// Whether the address falls in this network. IPv4-mapped IPv6 addresses
  /// (::ffff:a.b.c.d, as a dual-stack socket reports IPv4 peers) match IPv4 networks.
  bool contains(const sockaddr* addr, socklen_t len) const;

  const std::string& text() const { return text_; }

 private:
  bool v6_ = false;
  std::array<uint8_t, 16> bytes_{};
  int prefix_ = 0;
  std::string text_;
};

/// --allow and --deny together: a peer is refused when it matches a deny rule, or when
/// there are allow rules and it matches none.
struct AccessRules {
  std::vector<Cidr> allow;
  std::vector<Cidr> deny;

  /// Why the peer is refused, or nullopt when it may connect.
  std::optional<std::string> refusal(const sockaddr* addr, socklen_t len) const;
};

}  // namespace ftx::net
