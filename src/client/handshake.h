// SPDX-License-Identifier: MIT
// The start of every client connection: HELLO out, WELCOME (or a refusal) back.
#pragma once

#include <optional>
#include <variant>

#include "proto/frames.h"
#include "wire/channel.h"

namespace ftx::client {

/// Sends hello and returns the server's WELCOME, or its ERROR when it refused us. A text
/// greeting in front of the answer (the server took a late HELLO for a person at nc) is
/// skipped. Throws std::runtime_error, with a message saying the peer may not be an ftx
/// server, when the answer is neither; std::system_error on network errors.
std::variant<proto::Welcome, proto::Error> handshake(wire::Channel& channel, const proto::Hello& hello);

}  // namespace ftx::client
