// SPDX-License-Identifier: MIT
// Who this client says it is.
#pragma once

#include <string>

namespace ftx::client {

/// "$USER@hostname", cut to the protocol's name limit.
std::string default_client_name();

}  // namespace ftx::client
