// SPDX-License-Identifier: MIT
// What went wrong on a connection, in the protocol's terms: the one translation from an
// exception to the error code a client is told and the log records.
#pragma once

#include <chrono>
#include <exception>
#include <string>

#include "proto/errors.h"

namespace ftx::server {

/// After an error answer, how long the client may take to read it before the socket closes.
inline constexpr std::chrono::milliseconds kDrainAfterError{1000};

struct Failure {
  proto::ErrorCode code = proto::ErrorCode::Internal;
  std::string message;
  /// "code: message".
  std::string describe() const { return proto::describe(code, message); }
  /// The exception to throw for it, where a failure returned as a value must end a session.
  proto::ProtocolError error() const { return proto::ProtocolError(code, message); }
};

/// A ProtocolError keeps its code; a read or write that timed out is `timeout`; a
/// connection the peer reset (or broke: a write found it gone) is `reset`; anything else
/// (a failing disk, a bug of ours) is `internal`, with the exception's text.
Failure failure_of(const std::exception& e);

/// True when e says the peer reset or broke the connection (ECONNRESET, ECONNABORTED, EPIPE).
bool is_reset(const std::exception& e);

}  // namespace ftx::server
