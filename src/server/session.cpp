// SPDX-License-Identifier: MIT
// One client connection on the server.
#include "server/session.h"

#include <optional>

#include "http/response.h"
#include "net/socket.h"
#include "net/stream.h"
#include "net/tls.h"
#include "proto/codec.h"
#include "proto/opening.h"
#include "proto/text.h"
#include "server/binary_session.h"
#include "server/connection.h"
#include "server/failure.h"
#include "server/http_session.h"
#include "server/text_session.h"
#include "util/clock.h"
#include "util/text.h"
#include "util/units.h"

namespace ftx::server {
namespace {

using Clock = std::chrono::steady_clock;

// Binary clients speak first; a connection silent this long is a person at nc.
constexpr std::chrono::milliseconds kTextGreetingPause{300};
// How long the rest of a line that may be an HTTP request line is waited for.
constexpr std::chrono::milliseconds kRequestLinePause{1000};

// How a connection opened.
enum class Opening {
  Left,    // connected and closed without a word
  Silent,  // said nothing yet: a person at nc, to be greeted
  Tls,
  Binary,
  Text,
  Http,
};

Opening opening_of(proto::Language language) {
  switch (language) {
    case proto::Language::Tls:
      return Opening::Tls;
    case proto::Language::Binary:
      return Opening::Binary;
    case proto::Language::Http:
      return Opening::Http;
    case proto::Language::Text:
      break;
  }
  return Opening::Text;
}

// The first bytes of the socket itself, left unread for whoever speaks the language.
Opening classify_socket(int fd, const std::string& peer) {
  if (!net::poll_readable(fd, kTextGreetingPause)) return Opening::Silent;
  uint8_t first = 0;
  if (net::peek_some(fd, std::span(&first, 1), peer) == 0) return Opening::Left;
  return opening_of(proto::classify_opening(std::span(&first, 1)));
}

// The first bytes inside TLS.
Opening classify_channel(wire::Channel& channel) {
  if (!channel.wait_readable(kTextGreetingPause)) return Opening::Silent;
  const int first = channel.peek_byte();
  if (first < 0) return Opening::Left;
  const auto byte = static_cast<uint8_t>(first);
  return opening_of(proto::classify_opening(std::span(&byte, 1)));
}

// A printable first byte may begin an HTTP request line: read on (into the channel, so a
// text client loses nothing) until the line is whole, cannot be one, or a pause passes.
Opening http_or_text(wire::Channel& channel) {
  const auto until = Clock::now() + kRequestLinePause;
  while (true) {
    const auto bytes = channel.peek_buffered();
    if (proto::is_request_line(bytes)) return Opening::Http;
    if (!proto::may_be_request_line(bytes)) return Opening::Text;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0 || channel.buffer_more(left) != wire::Channel::More::Read) return Opening::Text;
  }
}

// The one place a failure is told to the client, in the language it speaks.
void answer(Connection& conn, bool binary, bool http, const Failure& failure) {
  std::string bytes;
  if (http) {
    bytes = http::error_response(failure.code, failure.message).encode();
  } else if (binary) {
    const auto frame = proto::encode_frame(proto::Error{failure.code, failure.message});
    bytes.assign(frame.begin(), frame.end());
  } else {
    bytes = proto::text_error_line(failure.code, failure.message);
  }
  conn.replies.say_last(std::move(bytes), kDrainAfterError);
}

// Throws, in the client's own language, for what this server does not take here: TLS when
// it has none (--no-tls) or inside TLS, and anything plain under --require-tls.
void refuse_unwanted(Opening opening, bool tls, bool require_tls) {
  if (opening == Opening::Tls) {
    throw proto::ProtocolError(proto::ErrorCode::BadRequest,
                               tls ? "TLS inside TLS"
                                   : "this server speaks plain TCP only (ftx serve --no-tls): "
                                     "connect with --plain");
  }
  if (!tls && require_tls && opening != Opening::Left) {
    throw proto::ProtocolError(proto::ErrorCode::TlsRequired,
                               "this server takes only TLS: use ftx without --plain, or ncat --ssl / "
                               "openssl s_client");
  }
}

}  // namespace

void Session::run(std::stop_token stop) {
  const auto started = Clock::now();
  ctx_.log.write(connect_event(std::chrono::system_clock::now(), peer_));
  ctx_.console.print(peer_ + " connected");
  const auto idle = ctx_.config.idle_timeout;
  net::SocketStream plain(fd_, peer_);
  std::unique_ptr<net::TlsStream> tls;
  std::optional<Connection> conn;
  std::optional<Failure> failure;
  bool binary = false;
  bool http = false;
  bool http_refused = false;
  try {
    plain.set_timeouts(idle, idle);
    Opening opening = classify_socket(fd_, peer_);
    if (opening == Opening::Tls && ctx_.tls) {
      tls = ctx_.tls->accept(fd_, peer_, idle);
      tls->set_timeouts(idle, idle);
    }
    net::Stream& stream = tls ? static_cast<net::Stream&>(*tls) : plain;
    conn.emplace(ctx_, stream, in_transfer_);
    wire::Channel channel(stream);
    channel.set_frame_timeout(idle);
    if (tls) opening = classify_channel(channel);
    if (opening == Opening::Text) opening = http_or_text(channel);
    binary = opening == Opening::Binary;
    http = opening == Opening::Http;
    refuse_unwanted(opening, tls != nullptr, ctx_.config.require_tls);
    if (http) http_refused = HttpSession(*conn, channel).run(stop);
    if (opening == Opening::Text || opening == Opening::Silent) {
      binary = TextSession(*conn, channel).run(/*greet=*/opening == Opening::Silent, stop);
      if (binary) stream.set_timeouts(idle, idle);
    }
    if (binary) serve_binary(*conn, channel, stop);
  } catch (const net::ConnectionClosed&) {
    // A client leaving without a goodbye is ordinary.
  } catch (const std::exception& e) {
    failure = failure_of(e);
    // A handshake that failed leaves no language to answer in; a reset, nobody to answer.
    if (conn && proto::is_wire_code(failure->code)) answer(*conn, binary, http, *failure);
  }
  const bool wire_failure = failure && proto::is_wire_code(failure->code);
  const auto drain = wire_failure || http_refused ? kDrainAfterError : std::chrono::milliseconds(0);
  std::string client = "-";
  uint64_t files = 0;
  uint64_t bytes = 0;
  if (conn) {
    // Leaving the room last lets a queued answer (or the BYE of a clean goodbye) leave first.
    conn->leave_room(drain, failure ? failure->describe() : std::string());
    client = conn->client;
    files = conn->files;
    bytes = conn->bytes;
    conn->stream.finish(drain);
  } else {
    plain.finish(drain);
  }

  const double secs = std::chrono::duration<double>(Clock::now() - started).count();
  ctx_.log.write(disconnect_event(std::chrono::system_clock::now(), peer_, client, files, bytes, secs,
                                  failure ? std::optional(failure->code) : std::nullopt,
                                  failure ? failure->message : std::string()));
  std::string line = peer_ + " disconnected (" + std::to_string(files) + " files, " + format_bytes(bytes) +
                     (tls ? ", TLS" : "") + ")";
  if (failure) line += ": " + printable(failure->describe());
  ctx_.console.print(line);
}

}  // namespace ftx::server
