// SPDX-License-Identifier: MIT
// Responses and the error-code mapping.
#include "http/response.h"

#include <nlohmann/json.hpp>

namespace ftx::http {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 303:
      return "See Other";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 426:
      return "Upgrade Required";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    case 507:
      return "Insufficient Storage";
    default:
      return "Unknown";
  }
}

int status_of(proto::ErrorCode code) {
  using proto::ErrorCode;
  switch (code) {
    case ErrorCode::BadRequest:
    case ErrorCode::NameRefused:
      return 400;
    case ErrorCode::UnsupportedVersion:
      return 505;
    case ErrorCode::TooLarge:
      return 413;
    case ErrorCode::Exists:
      return 409;
    case ErrorCode::NoSpace:
      return 507;
    case ErrorCode::Busy:
      return 503;
    case ErrorCode::Unauthorized:
      return 401;
    case ErrorCode::Timeout:
      return 408;
    case ErrorCode::Integrity:
      return 422;
    case ErrorCode::TlsRequired:
      return 426;
    case ErrorCode::NotFound:
      return 404;
    case ErrorCode::NotShared:
      return 403;
    case ErrorCode::Internal:
    case ErrorCode::Interrupted:
    case ErrorCode::Reset:
      break;
  }
  return 500;
}

std::string error_json(proto::ErrorCode code, std::string_view message) {
  const nlohmann::ordered_json j = {
      {"error", {{"code", proto::error_code_name(code)}, {"message", message}}}};
  // Bytes that are not UTF-8 (a refused name, echoed) are replaced, never thrown over.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string Response::encode() const {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) + "\r\n";
  if (!content_type.empty()) out += "Content-Type: " + content_type + "\r\n";
  out += "Content-Length: " + std::to_string(body_length.value_or(body.size())) + "\r\n";
  out += "Cache-Control: no-store\r\n";
  out += close ? "Connection: close\r\n" : "Connection: keep-alive\r\n";
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  out += "\r\n";
  if (!head) out += body;
  return out;
}

Response error_response(proto::ErrorCode code, std::string_view message, bool keep_alive) {
  Response r;
  r.status = status_of(code);
  r.body = error_json(code, message);
  r.close = !keep_alive;
  if (r.status == 426) r.headers.emplace_back("Upgrade", "TLS/1.3");
  if (r.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ftx\"");
  return r;
}

}  // namespace ftx::http
