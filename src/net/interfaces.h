// SPDX-License-Identifier: MIT
// This machine's interface addresses, and which of them other machines can reach a listener on.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ftx::net {

struct InterfaceAddress {
  std::string interface;  ///< e.g. "eth0"
  std::string address;    ///< numeric, e.g. "192.168.1.20" or "2001:db8::5"
};

/// The IPv4 and IPv6 addresses of every interface that is up, in getifaddrs order.
/// Throws std::system_error.
std::vector<InterfaceAddress> interface_addresses();

/// The addresses another machine can use to reach a listener bound to bound_host (numeric:
/// "::", "0.0.0.0" or one address); dual_stack: "::" takes IPv4 too. IPv4 first, each once.
/// Loopback addresses are for this machine only and IPv6 link-local ones need a scope that
/// a pasted command would not carry, so both are left out. Pure: no system call.
std::vector<std::string> reachable_addresses(std::string_view bound_host, bool dual_stack,
                                             const std::vector<InterfaceAddress>& interfaces);

}  // namespace ftx::net
