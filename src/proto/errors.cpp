// SPDX-License-Identifier: MIT
// Names and hints for the protocol error codes.
#include "proto/errors.h"

#include "proto/limits.h"

namespace ftx::proto {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::BadRequest:
      return "bad_request";
    case ErrorCode::UnsupportedVersion:
      return "unsupported_version";
    case ErrorCode::NameRefused:
      return "name_refused";
    case ErrorCode::TooLarge:
      return "too_large";
    case ErrorCode::Exists:
      return "exists";
    case ErrorCode::NoSpace:
      return "no_space";
    case ErrorCode::Busy:
      return "busy";
    case ErrorCode::Unauthorized:
      return "unauthorized";
    case ErrorCode::Timeout:
      return "timeout";
    case ErrorCode::Integrity:
      return "integrity";
    case ErrorCode::Internal:
      return "internal";
    case ErrorCode::TlsRequired:
      return "tls_required";
    case ErrorCode::NotFound:
      return "not_found";
    case ErrorCode::NotShared:
      return "not_shared";
    case ErrorCode::Interrupted:
      return "interrupted";
    case ErrorCode::Reset:
      return "reset";
  }
  return "unknown";
}

std::string_view error_code_hint(ErrorCode code) {
  switch (code) {
    case ErrorCode::BadRequest:
      return "the request was malformed; check that client and server are both ftx";
    case ErrorCode::UnsupportedVersion:
      return "protocol version not supported; upgrade the older side";
    case ErrorCode::NameRefused:
      return "file name refused; use a relative name without '..', control characters or backslashes";
    case ErrorCode::TooLarge:
      return "too large for this server's limits";
    case ErrorCode::Exists:
      return "a file of that name already exists on the server";
    case ErrorCode::NoSpace:
      return "the server has no space left for this file";
    case ErrorCode::Busy:
      return "the server is serving its maximum number of clients; try again later";
    case ErrorCode::Unauthorized:
      return "not authorized";
    case ErrorCode::Timeout:
      return "timed out waiting for the peer";
    case ErrorCode::Integrity:
      return "digest mismatch: the file did not arrive intact and was not saved";
    case ErrorCode::Internal:
      return "internal server error; see the server's console";
    case ErrorCode::TlsRequired:
      return "this server takes only TLS connections; connect without --plain";
    case ErrorCode::NotFound:
      return "no such file or directory on the server's shelf";
    case ErrorCode::NotShared:
      return "the server does not share that; it shares files only when started with --share";
    case ErrorCode::Interrupted:
      return "the connection ended before the file was complete; sending it again resumes it";
    case ErrorCode::Reset:
      return "the peer reset the connection";
  }
  return "unknown error";
}

bool is_wire_code(ErrorCode code) {
  return static_cast<uint16_t>(code) <= static_cast<uint16_t>(ErrorCode::NotShared);
}

std::optional<ErrorCode> error_code_from_wire(uint16_t value) {
  if (value >= static_cast<uint16_t>(ErrorCode::BadRequest) &&
      value <= static_cast<uint16_t>(ErrorCode::NotShared)) {
    return static_cast<ErrorCode>(value);
  }
  return std::nullopt;
}

std::string message_too_large(size_t bytes) {
  return "a message of " + std::to_string(bytes) + " bytes is over the limit of " +
         std::to_string(kMaxMessage) + "; it was not sent";
}

std::string describe(ErrorCode code, std::string_view message) {
  std::string out(error_code_name(code));
  out += ": ";
  out += message;
  return out;
}

}  // namespace ftx::proto
