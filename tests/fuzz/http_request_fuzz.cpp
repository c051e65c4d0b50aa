// SPDX-License-Identifier: MIT
// libFuzzer target: the HTTP request path, as the server walks it: the request line
// classifier, the head parser (libhttp-parser), target decoding and the name check.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

#include "http/request.h"
#include "proto/names.h"
#include "proto/opening.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "http_request_fuzz: %s\n", what);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ftx;
  const std::span<const uint8_t> input(data, size);
  // The classifier: a whole request line is never also "maybe, read on".
  if (proto::is_request_line(input) && proto::may_be_request_line(input)) fail("line both whole and partial");

  http::HeadLimits limits;
  limits.max_bytes = 4096;
  limits.max_headers = 16;
  const http::HeadResult head = http::parse_head(input, limits);
  if (head.status == http::HeadResult::Status::Error && head.message.empty()) fail("error without a message");
  if (head.status != http::HeadResult::Status::Done) return 0;
  if (head.consumed == 0 || head.consumed > size || head.consumed > limits.max_bytes)
    fail("consumed out of range");
  const http::Request& r = head.request;
  if (r.headers.size() > limits.max_headers) fail("more headers than the limit");
  if (r.target.empty() || r.target.front() != '/') fail("target is not a path");

  std::string why;
  const auto target = http::decode_target(r.target, &why);
  if (!target) {
    if (why.empty()) fail("refused target without a reason");
    return 0;
  }
  if (target->path.find('\0') != std::string::npos) fail("NUL in a decoded path");
  // What the inbox would be asked to create: check_name must hold its promises.
  if (!proto::check_name(target->path)) {
    const std::string& p = target->path;
    if (p.front() == '/') fail("accepted an absolute name");
    if (p == ".." || p.starts_with("../") || p.find("/../") != std::string::npos || p.ends_with("/..")) {
      fail("accepted a '..' component");
    }
    for (char c : p) {
      if (static_cast<uint8_t>(c) < 0x20 || c == 0x7F) fail("accepted a control character");
    }
  }
  if (const std::string* cookie = r.header("cookie")) (void)http::cookie_value(*cookie, "ftx_token");
  if (const std::string* auth = r.header("authorization")) (void)http::bearer_token(*auth);
  if (const std::string* range = r.header("content-range")) {
    const auto cr = http::content_range(*range);
    if (cr && (cr->last < cr->first || cr->last >= cr->total)) fail("inconsistent Content-Range accepted");
  }
  (void)http::form_value(target->query, "token");
  return 0;
}
