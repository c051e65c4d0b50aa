// SPDX-License-Identifier: MIT
// An HTTP/1.x request head (request line and headers) from bytes, through Debian's
// libhttp-parser, and the decoding of its target into a file name. Pure logic: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ftx::http {

/// What one request head may hold. Over a bound the request is refused (431), never grown.
struct HeadLimits {
  size_t max_bytes = 16 * 1024;  ///< request line and headers, through the blank line
  size_t max_headers = 64;
};

/// A parsed request head. Header names are lower case; the body is not part of it.
struct Request {
  std::string method;  ///< "GET", "PUT", ...
  std::string target;  ///< as sent: "/dir/a%20b.txt?x=1"
  int version_minor = 1;
  std::vector<std::pair<std::string, std::string>> headers;
  /// Content-Length, when the request has one.
  std::optional<uint64_t> content_length;
  bool chunked = false;          ///< Transfer-Encoding: chunked
  bool keep_alive = true;        ///< the connection may carry another request after this one
  bool expect_continue = false;  ///< Expect: 100-continue

  /// The first header of that (lower-case) name, or nullptr.
  const std::string* header(std::string_view name) const;
};

/// The outcome of parse_head().
struct HeadResult {
  enum class Status {
    NeedMore,  ///< no complete head yet, and nothing wrong so far
    Done,      ///< request is the head; it took `consumed` bytes
    Error,     ///< malformed or over a limit: answer `status` with `message` and close
  };
  Status status = Status::NeedMore;
  size_t consumed = 0;
  Request request;
  int status_code = 400;
  std::string message;
};

/// Parses the request head at the start of bytes (anything after it, a body or the next
/// request, is left alone).
HeadResult parse_head(std::span<const uint8_t> bytes, const HeadLimits& limits = {});

/// A request target split and percent-decoded.
struct Target {
  std::string path;   ///< decoded, without the leading '/' ("" for "/")
  std::string query;  ///< still encoded, without the '?'
};

/// Decodes an origin-form target ("/a/b%20c?q"). Refuses (with the reason) what is not one,
/// a bad or truncated %-escape, and an encoded NUL; other name rules are check_name's.
std::optional<Target> decode_target(std::string_view target, std::string* why = nullptr);

/// The value of one cookie in a Cookie header ("a=1; b=2"), or nullopt.
std::optional<std::string> cookie_value(std::string_view header, std::string_view name);

/// The value of one field in an application/x-www-form-urlencoded body, decoded.
std::optional<std::string> form_value(std::string_view body, std::string_view name);

/// "Content-Range: bytes FIRST-LAST/TOTAL" of a request that sends part of a file.
struct ContentRange {
  uint64_t first = 0;
  uint64_t last = 0;  ///< inclusive
  uint64_t total = 0;
};
/// Parses that header; nullopt when malformed or inconsistent (last < first, last >= total).
std::optional<ContentRange> content_range(std::string_view header);

/// The token of "Authorization: Bearer TOKEN", or nullopt.
std::optional<std::string> bearer_token(std::string_view authorization);

}  // namespace ftx::http
