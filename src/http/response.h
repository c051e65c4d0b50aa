// SPDX-License-Identifier: MIT
// HTTP responses as bytes, and the one mapping from the protocol's error codes to HTTP
// statuses and JSON error bodies. Pure logic.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/errors.h"

namespace ftx::http {

/// "Not Found" for 404; "Unknown" for a status this server never sends.
std::string_view reason_phrase(int status);

/// The HTTP status that tells a client `code`: bad_request 400, name_refused 400,
/// too_large 413, exists 409, no_space 507, busy 503, unauthorized 401, timeout 408,
/// tls_required 426, integrity 422, unsupported_version 505, anything else 500.
int status_of(proto::ErrorCode code);

/// {"error": {"code": "name_refused", "message": "..."}}
std::string error_json(proto::ErrorCode code, std::string_view message);

/// An answer: status line, Content-Type and Content-Length of body, Connection (keep-alive
/// or close), Cache-Control: no-store, the extra headers as given, then body.
struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  ///< "Connection: close": the server ends the connection after it
  bool head = false;   ///< answering HEAD: the headers only
  /// Set when the body is sent apart after the encoded head (a file, with sendfile(2)): the
  /// Content-Length, and body stays empty.
  std::optional<uint64_t> body_length;
  std::string encode() const;
};

/// The response to a failure with that code: its status and error_json body, the
/// connection closed after it unless keep_alive.
Response error_response(proto::ErrorCode code, std::string_view message, bool keep_alive = false);

}  // namespace ftx::http
