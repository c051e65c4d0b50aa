// SPDX-License-Identifier: MIT
// The protocol's error codes: what an ERROR frame or text-mode ERROR line carries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ftx::proto {

/// Error codes on the wire (u16). Values are part of protocol version 1: never renumber.
enum class ErrorCode : uint16_t {
  BadRequest = 1,
  UnsupportedVersion = 2,
  NameRefused = 3,
  TooLarge = 4,
  Exists = 5,
  NoSpace = 6,
  Busy = 7,
  Unauthorized = 8,
  Timeout = 9,
  Integrity = 10,
  Internal = 11,
  TlsRequired = 12,  ///< protocol version 2: the server takes only TLS (--require-tls)
  NotFound = 13,     ///< protocol version 3: no such file or directory on the shelf
  NotShared = 14,    ///< protocol version 3: the server shares nothing there (no --share, .ftx, a link)

  // Never on the wire: what the server's log and console say of a connection that ended
  // under it, when there is nobody left to tell. Far from the wire values, which may grow.
  Interrupted = 0x100,  ///< the connection ended before the file was whole or confirmed
  Reset = 0x101,        ///< the peer reset the connection (ECONNRESET, or a write to it failed)
};

/// False for the codes only logs use (Interrupted, Reset): never sent to a peer.
bool is_wire_code(ErrorCode code);

/// Stable snake_case name, as used in logs and text mode ("name_refused").
std::string_view error_code_name(ErrorCode code);

/// "code: message", as consoles, logs' leave notices and clients show an error.
std::string describe(ErrorCode code, std::string_view message);

/// Why a chat message of `bytes` bytes (over kMaxMessage) was not relayed.
std::string message_too_large(size_t bytes);

/// A default message a person can act on.
std::string_view error_code_hint(ErrorCode code);

/// Maps a wire value to a code; nullopt for values this version does not know.
std::optional<ErrorCode> error_code_from_wire(uint16_t value);

/// A failure that has a protocol error code: thrown inside a module, turned into an
/// ERROR frame (server) or an exit code (client) at the edge.
class ProtocolError : public std::runtime_error {
 public:
  ProtocolError(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace ftx::proto
