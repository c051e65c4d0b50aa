// SPDX-License-Identifier: MIT
// What a connection speaks, from its first bytes. Pure logic.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace ftx::proto {

enum class Language {
  Tls,     ///< a TLS record (ClientHello): 0x16
  Binary,  ///< an ftx frame: a non-printable byte that is a frame type (HELLO, ...)
  Text,    ///< anything else: a person at nc, a textbook SEND_FILE client
};

/// The language of a connection whose first bytes are `first` (at least one byte). Every
/// language is decided by the first byte today; the span leaves room for one that needs
/// more (an HTTP request line).
Language classify_opening(std::span<const uint8_t> first);

/// The TLS handshake record type: a ClientHello's first byte.
inline constexpr uint8_t kTlsHandshake = 0x16;

}  // namespace ftx::proto
