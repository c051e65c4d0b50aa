// SPDX-License-Identifier: MIT
// What `ftx serve` prints at start so people on other machines can reach it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/interfaces.h"

namespace ftx::server {

/// The command another machine pastes to send this server a file:
/// "ftx send ADDR:PORT --pin sha256:... FILE", or with no key (--no-tls) "ftx send --plain
/// ADDR:PORT FILE". The one place that line is built.
std::string send_line(std::string_view address, uint16_t port, std::string_view pin);

/// One console line per address other machines can reach a listener on, listen_address
/// being what it is bound to ("[::]:9000"); dual_stack: "::" takes IPv4 too. A listener
/// bound to one address no other machine reaches (127.0.0.1) gets a line for this machine.
/// Pure.
std::vector<std::string> reach_lines(std::string_view listen_address, bool dual_stack,
                                     const std::vector<net::InterfaceAddress>& interfaces,
                                     std::string_view pin);

/// reach_lines with this machine's interfaces; a line saying why when they cannot be listed.
std::vector<std::string> reach_lines(std::string_view listen_address, bool dual_stack, std::string_view pin);

}  // namespace ftx::server
