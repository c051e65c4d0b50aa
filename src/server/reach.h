// SPDX-License-Identifier: MIT
// What `ftx serve` prints at start so people on other machines can reach it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/interfaces.h"

namespace ftx::server {

/// The command another machine pastes to send this server a file: "ftx send ADDR:PORT FILE".
/// The one place that line is built.
std::string send_line(std::string_view address, uint16_t port);

/// One console line per address other machines can reach a listener on, listen_address
/// being what it is bound to ("[::]:9000"); dual_stack: "::" takes IPv4 too. Pure.
std::vector<std::string> reach_lines(std::string_view listen_address, bool dual_stack,
                                     const std::vector<net::InterfaceAddress>& interfaces);

/// reach_lines with this machine's interfaces; a line saying why when they cannot be listed.
std::vector<std::string> reach_lines(std::string_view listen_address, bool dual_stack);

}  // namespace ftx::server
