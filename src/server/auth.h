// SPDX-License-Identifier: MIT
// The shared token (--token), checked the same way for every language.
#pragma once

#include <stop_token>
#include <string>
#include <string_view>

#include "server/session_context.h"

namespace ftx::server {

/// Checks a presented token against --token (nothing to check without one). A wrong or
/// missing token waits as the throttle says for that address (or until stop), then throws
/// ProtocolError(Unauthorized). Never logs the token.
void check_token(const SessionContext& ctx, const std::string& peer, std::string_view presented,
                 std::stop_token stop);

}  // namespace ftx::server
