// SPDX-License-Identifier: MIT
// One client connection on the server.
#include "server/session.h"

#include <optional>

#include "net/socket.h"
#include "net/stream.h"
#include "proto/codec.h"
#include "proto/text.h"
#include "server/binary_session.h"
#include "server/connection.h"
#include "server/failure.h"
#include "server/text_session.h"
#include "util/clock.h"
#include "util/text.h"
#include "util/units.h"

namespace ftx::server {
namespace {

using Clock = std::chrono::steady_clock;

// After an error answer, how long the client may take to read it before the socket closes.
constexpr std::chrono::milliseconds kDrainAfterError{1000};
// Binary clients speak first; a connection silent this long is a person at nc.
constexpr std::chrono::milliseconds kTextGreetingPause{300};

// The language a connection speaks, from its first byte.
enum class Opening {
  Left,    // connected and closed without a word
  Silent,  // said nothing yet: a person at nc, to be greeted
  Binary,
  Text,
};

Opening classify(wire::Channel& channel) {
  if (!channel.wait_readable(kTextGreetingPause)) return Opening::Silent;
  const int first = channel.peek_byte();
  if (first < 0) return Opening::Left;
  return proto::starts_binary(static_cast<uint8_t>(first)) ? Opening::Binary : Opening::Text;
}

// The one place a failure is told to the client, in the language it speaks.
void answer(Connection& conn, bool binary, const Failure& failure) {
  std::string bytes;
  if (binary) {
    const auto frame = proto::encode_frame(proto::Error{failure.code, failure.message});
    bytes.assign(frame.begin(), frame.end());
  } else {
    bytes = proto::text_error_line(failure.code, failure.message);
  }
  conn.replies.say_last(std::move(bytes), kDrainAfterError);
}

}  // namespace

void Session::run(std::stop_token stop) {
  const auto started = Clock::now();
  ctx_.log.write(connect_event(std::chrono::system_clock::now(), peer_));
  ctx_.console.print(peer_ + " connected");
  net::SocketStream stream(fd_, peer_);
  Connection conn(ctx_, stream, in_transfer_);
  std::optional<Failure> failure;
  bool binary = false;
  try {
    stream.set_timeouts(ctx_.config.idle_timeout, ctx_.config.idle_timeout);
    wire::Channel channel(stream);
    channel.set_frame_timeout(ctx_.config.idle_timeout);
    const Opening opening = classify(channel);
    binary = opening == Opening::Binary;
    if (opening == Opening::Text || opening == Opening::Silent) {
      binary = TextSession(conn, channel).run(/*greet=*/opening == Opening::Silent, stop);
      if (binary) stream.set_timeouts(ctx_.config.idle_timeout, ctx_.config.idle_timeout);
    }
    if (binary) serve_binary(conn, channel, stop);
  } catch (const net::ConnectionClosed&) {
    // A client leaving without a goodbye is ordinary.
  } catch (const std::exception& e) {
    failure = failure_of(e);
    answer(conn, binary, *failure);
  }
  // Leaving the room last lets a queued answer (or the BYE of a clean goodbye) leave first.
  conn.leave_room(failure ? kDrainAfterError : std::chrono::milliseconds(0),
                  failure ? failure->describe() : std::string());
  stream.finish(failure ? kDrainAfterError : std::chrono::milliseconds(0));

  const double secs = std::chrono::duration<double>(Clock::now() - started).count();
  ctx_.log.write(disconnect_event(std::chrono::system_clock::now(), peer_, conn.client, conn.files,
                                  conn.bytes, secs, failure ? std::optional(failure->code) : std::nullopt,
                                  failure ? failure->message : std::string()));
  std::string line =
      peer_ + " disconnected (" + std::to_string(conn.files) + " files, " + format_bytes(conn.bytes) + ")";
  if (failure) line += ": " + printable(failure->describe());
  ctx_.console.print(line);
}

}  // namespace ftx::server
