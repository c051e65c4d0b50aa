// SPDX-License-Identifier: MIT
// HTTP requests.
#include "server/http_session.h"

#include <charconv>
#include <random>

#include <nlohmann/json.hpp>

#include "http/pages.h"
#include "proto/errors.h"
#include "proto/limits.h"
#include "proto/names.h"
#include "server/auth.h"
#include "server/incoming_file.h"
#include "server/outgoing_file.h"
#include "util/clock.h"

namespace ftx::server {

using proto::ErrorCode;
using proto::ProtocolError;
using Clock = std::chrono::steady_clock;

namespace {

// The cookie the page's sign-in sets.
constexpr std::string_view kCookie = "ftx_token";

// A form body (the sign-in) is small.
constexpr uint64_t kMaxFormBody = 4096;

bool has_body(const http::Request& r) { return r.chunked || r.content_length.value_or(0) > 0; }

// A decimal number, the whole of text; nullopt otherwise.
std::optional<uint64_t> number(std::string_view text) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

std::optional<uint64_t> header_number(const http::Request& r, std::string_view name) {
  const std::string* v = r.header(name);
  return v ? number(*v) : std::nullopt;
}

http::Response html_page(std::string body, int status = 200) {
  http::Response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  r.headers.emplace_back("Content-Security-Policy", std::string(http::kPageSecurityPolicy));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

http::Response json_response(int status, const nlohmann::ordered_json& j) {
  http::Response r;
  r.status = status;
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return r;
}

}  // namespace

void HttpSession::send(const http::Response& response) {
  const std::string bytes = response.encode();
  conn_.stream.write_all(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

std::optional<http::Request> HttpSession::read_head(bool& refused) {
  const auto idle = conn_.ctx.config.idle_timeout;
  // Between requests a client may think for up to --idle-timeout, then it is let go quietly.
  if (channel_.buffered() == 0 && channel_.buffer_more(idle) != wire::Channel::More::Read)
    return std::nullopt;
  // Once a request has begun, its whole head must arrive within --idle-timeout: a client
  // trickling header bytes (slowloris) does not keep its slot.
  const auto deadline = Clock::now() + idle;
  while (true) {
    http::HeadResult head = http::parse_head(channel_.peek_buffered());
    if (head.status == http::HeadResult::Status::Done) {
      channel_.consume(head.consumed);
      return std::move(head.request);
    }
    if (head.status == http::HeadResult::Status::Error) {
      http::Response r = http::error_response(ErrorCode::BadRequest, head.message);
      r.status = head.status_code;
      send(r);
      refused = true;
      return std::nullopt;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    const auto more = left.count() > 0 ? channel_.buffer_more(left) : wire::Channel::More::Timeout;
    if (more == wire::Channel::More::Closed) return std::nullopt;  // gone in the middle of its head
    if (more == wire::Channel::More::Timeout && Clock::now() >= deadline) {
      throw ProtocolError(ErrorCode::Timeout, "the request head did not arrive within the idle timeout (" +
                                                  std::to_string(idle.count()) + " ms)");
    }
  }
}

namespace {
// The cookie holds the token in hex, so no byte of it can end the cookie early.
std::string hex_of(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string from_hex(std::string_view s) {
  auto value = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  std::string out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) {
    const int hi = value(s[i]);
    const int lo = value(s[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out += static_cast<char>(hi * 16 + lo);
  }
  return s.size() % 2 == 0 ? out : std::string();
}

// The token a request presents: a bearer token, else the page's cookie.
std::string presented_token(const http::Request& request) {
  if (const std::string* auth = request.header("authorization"))
    return http::bearer_token(*auth).value_or("");
  if (const std::string* cookie = request.header("cookie")) {
    return from_hex(http::cookie_value(*cookie, kCookie).value_or(""));
  }
  return {};
}
}  // namespace

http::Response HttpSession::page(const http::Request& request, std::stop_token stop) {
  if (!conn_.ctx.config.token.empty()) {
    const std::string presented = presented_token(request);
    if (presented.empty()) return html_page(http::signin_page());
    try {
      check_token(conn_.ctx, conn_.peer(), presented, stop);
    } catch (const ProtocolError&) {
      return html_page(http::signin_page("That token is not this server's. Try again."));
    }
  }
  return html_page(std::string(http::upload_page()));
}

http::Response HttpSession::sign_in(const http::Request& request, std::stop_token stop) {
  const uint64_t length = request.content_length.value_or(0);
  if (request.chunked || length > kMaxFormBody) {
    return http::error_response(ErrorCode::TooLarge, "a sign-in form is at most 4 KiB");
  }
  std::string body(static_cast<size_t>(length), '\0');
  channel_.read_exact(std::span(reinterpret_cast<uint8_t*>(body.data()), body.size()));
  const std::string token = http::form_value(body, "token").value_or("");
  try {
    check_token(conn_.ctx, conn_.peer(), token, stop);
  } catch (const ProtocolError&) {
    http::Response r = html_page(http::signin_page("That token is not this server's. Try again."), 401);
    r.close = !request.keep_alive;
    return r;
  }
  http::Response r;
  r.status = 303;
  r.content_type.clear();
  r.headers.emplace_back("Location", "/");
  // HttpOnly: no script reads it; SameSite=Strict: no other site's page sends it.
  r.headers.emplace_back("Set-Cookie",
                         std::string(kCookie) + "=" + hex_of(token) + "; Path=/; HttpOnly; SameSite=Strict");
  r.close = !request.keep_alive;
  return r;
}

void HttpSession::authorize(const http::Request& request, std::stop_token stop) {
  if (conn_.ctx.config.token.empty()) return;
  const std::string presented = presented_token(request);
  try {
    check_token(conn_.ctx, conn_.peer(), presented, stop);
  } catch (const ProtocolError& e) {
    throw ProtocolError(e.code(), std::string(e.what()) + "; send the header Authorization: Bearer TOKEN");
  }
}

http::Response HttpSession::upload(const http::Request& request, const std::string& name) {
  if (request.chunked || !request.content_length) {
    http::Response r = http::error_response(
        ErrorCode::BadRequest, "an upload needs a Content-Length (curl -T FILE sends one; a pipe does not)");
    r.status = 411;
    return r;
  }
  // A resumable upload (the page's, for big files) names its source: Ftx-Transfer-Id and
  // Ftx-Mtime (ms), and with Content-Range: bytes FIRST-LAST/TOTAL sends only the bytes
  // after what the server kept.
  const std::string* id = request.header("ftx-transfer-id");
  const int64_t mtime_ms = static_cast<int64_t>(header_number(request, "ftx-mtime").value_or(0));
  uint64_t offset = 0;
  uint64_t size = *request.content_length;
  if (const std::string* range = request.header("content-range")) {
    const auto r = http::content_range(*range);
    if (!r || !id || r->last - r->first + 1 != *request.content_length || r->last + 1 != r->total) {
      return http::error_response(
          ErrorCode::BadRequest,
          "Content-Range must be bytes FIRST-LAST/TOTAL, to the end of the file and as "
          "long as the body, with Ftx-Transfer-Id");
    }
    offset = r->first;
    size = r->total;
  }
  TransferGuard busy(conn_.in_transfer);
  const int64_t now_ns = unix_ms(std::chrono::system_clock::now()) * 1000000;
  IncomingFile file(conn_.ctx, conn_.peer(), conn_.client, name, size, 0644,
                    id && mtime_ms > 0 ? mtime_ms * 1000000 : now_ns);
  // Name, --max-size and the disk are checked before the body: a client that asked to
  // wait (Expect: 100-continue, as curl does for large files) never sends it.
  const uint64_t kept = file.start(id ? std::string_view(*id) : std::string_view());
  if (kept != offset) {
    // The kept partial is not where the client thinks (gone, or grown): it asks again.
    http::Response r = json_response(
        409, {{"error",
               {{"code", "bad_request"},
                {"message", "the server holds " + std::to_string(kept) + " bytes of this file, not " +
                                std::to_string(offset) + ": ask /.ftx/offset again"}}},
              {"offset", kept}});
    r.close = true;
    file.interrupted(ErrorCode::BadRequest, "resumed at the wrong offset");
    return r;
  }
  if (request.expect_continue) {
    constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    conn_.stream.write_all(std::span(reinterpret_cast<const uint8_t*>(kContinue.data()), kContinue.size()));
  }
  file.receive([this](std::span<uint8_t> out) { return channel_.read_raw(out); }, conn_.buffer.get());
  // The same content already there under its name is kept, as for every upload.
  file.detect_unchanged();
  // Every byte was read: a refusal now leaves the connection in step.
  std::string saved;
  try {
    saved = file.commit();
  } catch (const ProtocolError& e) {
    return http::error_response(e.code(), e.what(), request.keep_alive);
  }
  ++conn_.files;
  conn_.bytes += size - offset;
  nlohmann::ordered_json answer = {{"name", name},
                                   {"path", saved},
                                   {"bytes", size},
                                   {"resumed_from", offset},
                                   {"digest", file.labelled_digest()}};
  // 201 for a file written; 200 when the same content was there already and nothing was.
  if (file.unchanged()) answer["unchanged"] = true;
  http::Response r = json_response(file.unchanged() ? 200 : 201, answer);
  r.close = !request.keep_alive;
  return r;
}

void HttpSession::events(const http::Request& request, const std::string& query) {
  std::string wanted = http::form_value(query, "name").value_or("");
  if (wanted.empty()) wanted = "web@" + conn_.peer();
  if (auto why = proto::check_nick(wanted))
    throw ProtocolError(ErrorCode::BadRequest, "name refused: " + *why);
  (void)request;
  // 128 random bits: what the page's POSTs prove they are this member with.
  std::random_device random;
  std::string key;
  for (int i = 0; i < 4; ++i) {
    char word[9];
    std::snprintf(word, sizeof word, "%08x", static_cast<unsigned>(random()));
    key += word;
  }
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
      "X-Accel-Buffering: no\r\nConnection: close\r\n\r\n";
  conn_.client = wanted;
  // Who is here before this member (the hub's lock is held while the greeting is queued).
  const std::vector<std::string> present = conn_.ctx.hub.names();
  conn_.join_room(
      ChatMember::Wire::Events, wanted,
      [&](const std::string& given) {
        const nlohmann::ordered_json hello = {{"name", given}, {"key", key}, {"who", present}};
        conn_.replies.say(head + "event: hello\ndata: " +
                          hello.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n");
      },
      key);
  streamed_ = true;
  // The stream is one way: whatever the browser sends now is ignored, and its close (or the
  // server's shutdown of the socket) ends the membership.
  uint8_t sink[512];
  while (channel_.read_raw(sink) > 0) {
  }
  conn_.leave_room(std::chrono::milliseconds(0));
}

http::Response HttpSession::say(const http::Request& request) {
  const uint64_t length = request.content_length.value_or(0);
  if (request.chunked || length > proto::kMaxMessage) {
    return http::error_response(ErrorCode::TooLarge, proto::message_too_large(static_cast<size_t>(length)));
  }
  std::string body(static_cast<size_t>(length), '\0');
  channel_.read_exact(std::span(reinterpret_cast<uint8_t*>(body.data()), body.size()));
  const std::string* key = request.header("ftx-chat-key");
  const auto member = key ? conn_.ctx.hub.member_with_key(*key) : nullptr;
  if (!member) {
    http::Response r =
        http::error_response(ErrorCode::BadRequest, "join the room first (/.ftx/events)", request.keep_alive);
    r.status = 403;
    return r;
  }
  std::vector<std::string> lines;
  for (size_t at = 0; at <= body.size();) {
    size_t nl = body.find('\n', at);
    if (nl == std::string::npos) nl = body.size();
    std::string line = body.substr(at, nl - at);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(std::move(line));
    at = nl + 1;
  }
  if (!lines.empty()) conn_.ctx.hub.say(member->name(), lines, member.get());
  http::Response r;
  r.status = 204;
  r.content_type.clear();
  r.close = !request.keep_alive;
  return r;
}

http::Response HttpSession::resume_offset(const http::Request& request, const std::string& query) {
  const auto size = number(http::form_value(query, "size").value_or(""));
  const auto mtime_ms = number(http::form_value(query, "mtime").value_or(""));
  const std::string id = http::form_value(query, "id").value_or("");
  const std::string name = http::form_value(query, "name").value_or("");
  if (!size || !mtime_ms || id.empty() || name.empty()) {
    return http::error_response(ErrorCode::BadRequest,
                                "ask /.ftx/offset?id=HEX&name=NAME&size=BYTES&mtime=MS", request.keep_alive);
  }
  const uint64_t kept =
      conn_.ctx.inbox.resumable_bytes(ResumeKey{id, name, *size, static_cast<int64_t>(*mtime_ms) * 1000000});
  http::Response r = json_response(200, {{"offset", kept}});
  r.close = !request.keep_alive;
  return r;
}

http::Response HttpSession::shelf_listing(const http::Request& request, const std::string& query) {
  nlohmann::ordered_json entries = nlohmann::ordered_json::array();
  if (conn_.ctx.shelf) {
    for (const ShelfEntry& e : conn_.ctx.shelf->list(http::form_value(query, "path").value_or(""))) {
      entries.push_back({{"name", e.name},
                         {"type", e.directory ? "directory" : "file"},
                         {"size", e.size},
                         {"mtime", iso8601_utc_seconds(e.mtime_ns)},
                         {"digest", e.digest}});
    }
  }
  http::Response r =
      json_response(200, {{"shared", conn_.ctx.shelf != nullptr}, {"entries", std::move(entries)}});
  r.close = !request.keep_alive;
  return r;
}

http::Response HttpSession::serve(const http::Request& request, std::stop_token stop) {
  std::string why;
  const auto target = http::decode_target(request.target, &why);
  if (!target) return http::error_response(ErrorCode::NameRefused, "refused target: " + why);
  const bool get = request.method == "GET" || request.method == "HEAD";
  if (get && (target->path.empty() || target->path == "index.html")) {
    http::Response r = page(request, stop);
    r.close = !request.keep_alive;
    return r;
  }
  if (request.method == "POST" && target->path == ".ftx/signin") return sign_in(request, stop);
  if (get && target->path == ".ftx/events") {
    authorize(request, stop);
    events(request, target->query);
    return {};
  }
  if (request.method == "POST" && target->path == ".ftx/say") {
    authorize(request, stop);
    return say(request);
  }
  if (get && target->path == ".ftx/files") {
    authorize(request, stop);
    return shelf_listing(request, target->query);
  }
  if (get && target->path == ".ftx/offset") {
    authorize(request, stop);
    return resume_offset(request, target->query);
  }
  if (request.method == "PUT") {
    authorize(request, stop);
    if (target->path.empty()) {
      return http::error_response(
          ErrorCode::NameRefused,
          "PUT needs a file name in the path: curl -T FILE http://HOST:PORT/ names it "
          "after FILE");
    }
    return upload(request, target->path);
  }
  if (get && conn_.ctx.shelf && !target->path.empty()) {
    authorize(request, stop);
    return download(request, target->path);
  }
  if (get) {
    authorize(request, stop);
    std::string missing = "no such page: " + request.target;
    if (!conn_.ctx.shelf) missing += " (this server shares no files; ftx serve --share does)";
    http::Response r =
        http::error_response(ErrorCode::NotFound, missing, request.keep_alive && !has_body(request));
    r.head = request.method == "HEAD";
    return r;
  }
  http::Response r =
      http::error_response(ErrorCode::BadRequest, "method " + request.method + " is not served here");
  r.status = 405;
  // POST is for the page's sign-in and chat lines only.
  const bool post_target = target->path == ".ftx/signin" || target->path == ".ftx/say";
  r.headers.emplace_back("Allow", post_target ? "POST" : "GET, HEAD, PUT");
  return r;
}

http::Response HttpSession::download(const http::Request& request, const std::string& name) {
  http::Response r;
  r.content_type = "application/octet-stream";
  r.close = !request.keep_alive || has_body(request);
  r.headers.emplace_back("Content-Disposition", "attachment");
  if (request.method == "HEAD") {
    const std::vector<ShelfEntry> found = conn_.ctx.shelf->list(name);
    if (found.size() != 1 || found.front().directory || found.front().name != name) {
      throw ProtocolError(ErrorCode::NotFound, "'" + name + "' is not a file on the shelf");
    }
    r.body_length = found.front().size;
    r.headers.emplace_back("Ftx-Digest", found.front().digest);
    return r;
  }
  TransferGuard busy(conn_.in_transfer);
  OutgoingFile file(conn_.ctx, conn_.peer(), conn_.client, name);
  r.body_length = file.entry().size;
  r.headers.emplace_back("Ftx-Digest", file.entry().digest);
  const auto idle = conn_.ctx.config.idle_timeout;
  conn_.stream.set_timeouts(idle, idle);
  send(r);
  file.send(conn_.stream);
  answered_ = true;
  return r;
}

bool HttpSession::run(std::stop_token stop) {
  conn_.client = "http@" + conn_.peer();
  while (!stop.stop_requested()) {
    bool refused = false;
    const auto request = read_head(refused);
    if (!request) return refused;
    http::Response response;
    try {
      response = serve(*request, stop);
      if (streamed_) return false;
      if (answered_) {
        answered_ = false;
        if (response.close) return false;
        continue;
      }
    } catch (const ProtocolError& e) {
      // Refused before its body was read (a too large file, a wrong token): the body may be on
      // its way, so the connection ends after the answer.
      response = http::error_response(e.code(), e.what(), request->keep_alive && !has_body(*request));
    }
    response.head = response.head || request->method == "HEAD";
    send(response);
    if (response.close) return response.status >= 400;
  }
  return false;
}

}  // namespace ftx::server
