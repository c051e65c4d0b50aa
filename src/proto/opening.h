// SPDX-License-Identifier: MIT
// What a connection speaks, from its first bytes. Pure logic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace ftx::proto {

enum class Language {
  Tls,     ///< a TLS record (ClientHello): 0x16
  Binary,  ///< an ftx frame: a non-printable byte that is a frame type (HELLO, ...)
  Text,    ///< anything else: a person at nc, a textbook SEND_FILE client
  Http,    ///< a whole HTTP/1.x request line: "METHOD SP target SP HTTP/1.x" CRLF
};

/// The language of a connection whose first bytes are `first` (at least one byte). TLS and
/// binary are decided by the first byte; HTTP needs its whole request line, so a caller
/// that has only part of one (may_be_request_line) reads on before it believes Text.
Language classify_opening(std::span<const uint8_t> first);

/// True while bytes (no newline among them yet) could still begin an HTTP request line:
/// an upper-case method, one space, a target without spaces or controls, " HTTP/1.".
bool may_be_request_line(std::span<const uint8_t> bytes);

/// True when bytes start with a whole HTTP/1.x request line, through its '\n'.
bool is_request_line(std::span<const uint8_t> bytes);

/// The longest request line the classifier waits for; a longer line is text.
inline constexpr size_t kMaxRequestLine = 8192;

/// The TLS handshake record type: a ClientHello's first byte.
inline constexpr uint8_t kTlsHandshake = 0x16;

}  // namespace ftx::proto
