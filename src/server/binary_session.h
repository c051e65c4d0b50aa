// SPDX-License-Identifier: MIT
// The binary protocol on the server: HELLO, then files or the chat room.
#pragma once

#include <stop_token>
#include <string>

#include "proto/frames.h"
#include "server/connection.h"
#include "wire/channel.h"

namespace ftx::server {

/// Serves a binary client: HELLO (version, token, name) answered with WELCOME, then files
/// (send role) until BYE, or the chat room (chat role) until BYE. Throws on failures; the
/// session answers them.
void serve_binary(Connection& conn, wire::Channel& channel, std::stop_token stop);

/// This server's WELCOME for a client known as name.
proto::Welcome welcome_for(const SessionContext& ctx, const std::string& name);

}  // namespace ftx::server
