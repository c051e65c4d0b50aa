// SPDX-License-Identifier: MIT
// Request heads through libhttp-parser; targets, cookies and form fields decoded by hand
// (a few lines each, with every escape checked).
#include "http/request.h"

#include <http_parser.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace ftx::http {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding; plus_is_space for form bodies. nullopt on a bad escape or an encoded NUL.
std::optional<std::string> percent_decoded(std::string_view s, bool plus_is_space, std::string* why) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
      continue;
    }
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (i + 2 >= s.size()) {
      if (why) *why = "a %-escape is cut short";
      return std::nullopt;
    }
    const int h = hex_value(s[i + 1]);
    const int l = hex_value(s[i + 2]);
    if (h < 0 || l < 0) {
      if (why) *why = "a %-escape is not two hex digits";
      return std::nullopt;
    }
    const char decoded = static_cast<char>(h * 16 + l);
    if (decoded == '\0') {
      if (why) *why = "an encoded NUL (%00)";
      return std::nullopt;
    }
    out.push_back(decoded);
    i += 2;
  }
  return out;
}

// What the parser's callbacks build. Header fields and values may arrive in pieces.
struct HeadBuilder {
  Request request;
  const HeadLimits* limits = nullptr;
  std::string field;
  std::string value;
  bool in_value = false;
  bool complete = false;
  bool too_many = false;

  void finish_header() {
    if (!in_value) return;
    request.headers.emplace_back(lowered(field), std::string(trimmed(value)));
    field.clear();
    value.clear();
    in_value = false;
  }
};

HeadBuilder& builder(http_parser* p) { return *static_cast<HeadBuilder*>(p->data); }

int on_url(http_parser* p, const char* at, size_t length) {
  builder(p).request.target.append(at, length);
  return 0;
}

int on_header_field(http_parser* p, const char* at, size_t length) {
  HeadBuilder& b = builder(p);
  if (b.in_value) {
    b.finish_header();
    if (b.request.headers.size() >= b.limits->max_headers) {
      b.too_many = true;
      return 1;
    }
  }
  b.field.append(at, length);
  return 0;
}

int on_header_value(http_parser* p, const char* at, size_t length) {
  HeadBuilder& b = builder(p);
  b.in_value = true;
  b.value.append(at, length);
  return 0;
}

int on_headers_complete(http_parser* p) {
  HeadBuilder& b = builder(p);
  b.finish_header();
  if (b.request.headers.size() > b.limits->max_headers) {
    b.too_many = true;
    return -1;
  }
  b.complete = true;
  return 0;
}

// The end of the head: the blank line after the headers ("\r\n\r\n", or bare "\n\n", which
// the parser accepts too). 0 while it has not arrived.
size_t head_end(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\n') continue;
    if (i + 1 < s.size() && s[i + 1] == '\n') return i + 2;
    if (i + 2 < s.size() && s[i + 1] == '\r' && s[i + 2] == '\n') return i + 3;
  }
  return 0;
}

HeadResult error(int status, std::string message) {
  HeadResult r;
  r.status = HeadResult::Status::Error;
  r.status_code = status;
  r.message = std::move(message);
  return r;
}

}  // namespace

const std::string* Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

HeadResult parse_head(std::span<const uint8_t> bytes, const HeadLimits& limits) {
  const std::string_view all(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const size_t end = head_end(all.substr(0, std::min(all.size(), limits.max_bytes)));
  if (end == 0) {
    if (all.size() >= limits.max_bytes) {
      return error(431, "the request head is over " + std::to_string(limits.max_bytes) + " bytes");
    }
    return {};
  }
  // Only the head is parsed: the body is read raw by whoever serves the request.
  http_parser_settings settings;
  http_parser_settings_init(&settings);
  settings.on_url = on_url;
  settings.on_header_field = on_header_field;
  settings.on_header_value = on_header_value;
  settings.on_headers_complete = on_headers_complete;
  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  HeadBuilder b;
  b.limits = &limits;
  parser.data = &b;
  const size_t parsed = http_parser_execute(&parser, &settings, all.data(), end);
  if (b.too_many) return error(431, "more than " + std::to_string(limits.max_headers) + " header lines");
  const auto err = HTTP_PARSER_ERRNO(&parser);
  if (!b.complete || (err != HPE_OK && err != HPE_PAUSED) || parsed != end) {
    return error(400, std::string("malformed request: ") + http_errno_description(err));
  }
  if (parser.http_major != 1) return error(505, "only HTTP/1.x is spoken here");

  HeadResult r;
  r.status = HeadResult::Status::Done;
  r.consumed = end;
  r.request = std::move(b.request);
  Request& req = r.request;
  req.method = http_method_str(static_cast<http_method>(parser.method));
  req.version_minor = parser.http_minor;
  req.keep_alive = http_should_keep_alive(&parser) != 0;
  // The parser checked Content-Length's digits and refused two that differ.
  if ((parser.flags & F_CONTENTLENGTH) != 0) req.content_length = parser.content_length;
  req.chunked = (parser.flags & F_CHUNKED) != 0;
  if (const std::string* expect = req.header("expect")) {
    if (!iequals(*expect, "100-continue")) return error(417, "unknown Expect: " + *expect);
    req.expect_continue = true;
  }
  if (req.target.empty() || req.target.front() != '/') {
    return error(400, "the request target must be a path starting with '/'");
  }
  return r;
}

std::optional<Target> decode_target(std::string_view target, std::string* why) {
  if (target.empty() || target.front() != '/') {
    if (why) *why = "the target is not a path starting with '/'";
    return std::nullopt;
  }
  Target t;
  const size_t q = target.find('?');
  std::string_view path = target.substr(1, q == std::string_view::npos ? std::string_view::npos : q - 1);
  if (q != std::string_view::npos) t.query = std::string(target.substr(q + 1));
  const size_t hash = t.query.find('#');
  if (hash != std::string::npos) t.query.resize(hash);
  if (q == std::string_view::npos) {
    const size_t h = path.find('#');
    if (h != std::string_view::npos) path = path.substr(0, h);
  }
  auto decoded = percent_decoded(path, /*plus_is_space=*/false, why);
  if (!decoded) return std::nullopt;
  t.path = std::move(*decoded);
  return t;
}

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t semi = header.find(';');
    const std::string_view pair = trimmed(header.substr(0, semi));
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && trimmed(pair.substr(0, eq)) == name) {
      std::string_view v = trimmed(pair.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return std::string(v);
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

std::optional<std::string> form_value(std::string_view body, std::string_view name) {
  while (!body.empty()) {
    const size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    const size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    if (key == name) {
      return percent_decoded(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1),
                             /*plus_is_space=*/true, nullptr);
    }
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::optional<ContentRange> content_range(std::string_view header) {
  header = trimmed(header);
  if (!header.starts_with("bytes ")) return std::nullopt;
  header.remove_prefix(6);
  ContentRange r;
  const char* p = header.data();
  const char* end = header.data() + header.size();
  auto read = [&](uint64_t& v, char stop) {
    const auto [q, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || q == p) return false;
    p = q;
    if (stop == '\0') return p == end;
    if (p == end || *p != stop) return false;
    ++p;
    return true;
  };
  if (!read(r.first, '-') || !read(r.last, '/') || !read(r.total, '\0')) return std::nullopt;
  if (r.last < r.first || r.last >= r.total) return std::nullopt;
  return r;
}

std::optional<std::string> bearer_token(std::string_view authorization) {
  authorization = trimmed(authorization);
  if (authorization.size() < 7 || !iequals(authorization.substr(0, 7), "Bearer ")) return std::nullopt;
  return std::string(trimmed(authorization.substr(7)));
}

}  // namespace ftx::http
