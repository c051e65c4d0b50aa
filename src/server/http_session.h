// SPDX-License-Identifier: MIT
// HTTP/1.1 on the server's port: uploads with PUT (curl -T) into the same inbox as ftx send,
// and the browser page. Keep-alive, one request at a time.
#pragma once

#include <optional>
#include <stop_token>
#include <string>

#include "http/request.h"
#include "http/response.h"
#include "server/connection.h"
#include "wire/channel.h"

namespace ftx::server {

class HttpSession {
 public:
  HttpSession(Connection& conn, wire::Channel& channel) : conn_(conn), channel_(channel) {}

  /// Serves requests until the client closes, asks to close, stays idle past
  /// --idle-timeout between requests, or a request leaves the stream out of step (its body
  /// unread). A request head that does not arrive whole within --idle-timeout is answered
  /// 408 (ProtocolError timeout, thrown for the session to answer and log). Returns true
  /// when it ended on an error answer, which the client must be given time to read.
  bool run(std::stop_token stop);

 private:
  /// The next request head; nullopt when the client closed or went quiet between requests.
  /// A malformed or oversized head is answered here and ends the connection (nullopt, and
  /// refused set).
  std::optional<http::Request> read_head(bool& refused);
  /// The answer to one request; may read its body.
  http::Response serve(const http::Request& request, std::stop_token stop);
  /// GET /: the upload page, or with --token and no valid cookie the sign-in form.
  http::Response page(const http::Request& request, std::stop_token stop);
  /// POST /.ftx/signin: a right token sets the cookie (HttpOnly, SameSite=Strict).
  http::Response sign_in(const http::Request& request, std::stop_token stop);
  /// GET /.ftx/offset?id=&name=&size=&mtime=: {"offset": bytes a resumable partial holds}.
  http::Response resume_offset(const http::Request& request, const std::string& query);
  /// GET /.ftx/events?name=NICK: joins the room and streams it as Server-Sent Events (a
  /// "hello" event with the name given and the key that posts lines, then "msg" events)
  /// until the client leaves. The connection is the stream's from then on.
  void events(const http::Request& request, const std::string& query);
  /// POST /.ftx/say with Ftx-Chat-Key: the body's lines, said in the room by that member.
  http::Response say(const http::Request& request);
  /// GET /.ftx/files?path=P: {"shared": bool, "entries": [{name, type, size, mtime, digest}]}
  /// for the page's list of shared files (empty and false without --share).
  http::Response shelf_listing(const http::Request& request, const std::string& query);
  /// GET /NAME with --share: the shelf's file, its head (with Ftx-Digest) then its bytes
  /// with sendfile(2), logged as a `get` event; HEAD: the head only. Throws ProtocolError
  /// (not_found, not_shared, name_refused) before anything is sent.
  http::Response download(const http::Request& request, const std::string& name);
  /// PUT /NAME: the body into the inbox as NAME (the rest of it after Ftx-Offset, resumed).
  http::Response upload(const http::Request& request, const std::string& name);
  /// Throws ProtocolError(unauthorized) unless the request carries --token (as a bearer
  /// token or the page's cookie).
  void authorize(const http::Request& request, std::stop_token stop);
  void send(const http::Response& response);

  Connection& conn_;
  wire::Channel& channel_;
  bool streamed_ = false;  ///< the connection became an event stream, now over
  bool answered_ = false;  ///< serve() sent its answer itself (a download)
};

}  // namespace ftx::server
