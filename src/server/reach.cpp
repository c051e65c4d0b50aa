// SPDX-License-Identifier: MIT
// The start lines of `ftx serve` that tell people how to reach it.
#include "server/reach.h"

#include <system_error>

#include "net/address.h"

namespace ftx::server {

std::string send_line(std::string_view address, uint16_t port, std::string_view pin) {
  const std::string target = net::format_host_port(address, port);
  if (pin.empty()) return "ftx send --plain " + target + " FILE";
  return "ftx send " + target + " --pin " + std::string(pin) + " FILE";
}

std::vector<std::string> reach_lines(std::string_view listen_address, bool dual_stack,
                                     const std::vector<net::InterfaceAddress>& interfaces,
                                     std::string_view pin) {
  std::vector<std::string> out;
  const auto bound = net::parse_host_port(listen_address);
  if (!bound) return out;
  for (const std::string& address : net::reachable_addresses(bound->host, dual_stack, interfaces))
    out.push_back("from another machine: " + send_line(address, bound->port, pin));
  // Bound where no other machine reaches it (loopback): the line for this one, so the pin
  // is still a paste away.
  if (out.empty() && bound->host != "0.0.0.0" && bound->host != "::")
    out.push_back("from this machine: " + send_line(bound->host, bound->port, pin));
  return out;
}

std::vector<std::string> reach_lines(std::string_view listen_address, bool dual_stack, std::string_view pin) {
  try {
    return reach_lines(listen_address, dual_stack, net::interface_addresses(), pin);
  } catch (const std::system_error& e) {
    // Only a hint is lost: serving goes on.
    return {std::string("cannot list this machine's addresses: ") + e.what()};
  }
}

}  // namespace ftx::server
