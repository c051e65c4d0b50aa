// SPDX-License-Identifier: MIT
// A connection's seat in the chat room.
#include "server/connection.h"

#include "net/socket.h"
#include "proto/errors.h"
#include "server/failure.h"

namespace ftx::server {

ChatMember& Connection::join_room(ChatMember::Wire wire, const std::string& wanted,
                                  const std::function<void(const std::string&)>& greet, std::string key) {
  auto outbox = std::make_shared<Outbox>(stream, ctx.config.chat_queue_bytes, ctx.config.chat_stall_limit);
  auto member = std::make_shared<ChatMember>(stream.fd(), peer(), wire, outbox, std::move(key));
  replies.route_through(outbox);
  std::optional<std::string> given;
  try {
    given = ctx.hub.join(member, wanted, greet);
  } catch (...) {
    outbox->close(kDrainAfterError);
    replies.route_direct();
    throw;
  }
  if (!given) {
    // The room is full (--max-chat): the refusal is answered straight. The outbox has
    // nothing queued; it is let stop by itself (closed at once, it would shut the socket
    // down before the refusal is written).
    outbox->close(kDrainAfterError);
    replies.route_direct();
    throw proto::ProtocolError(proto::ErrorCode::Busy, ctx.hub.full_message());
  }
  client = *given;
  seat_ = std::make_unique<ChatMembership>(ctx.hub, member);
  // A member may stay quiet for hours; one that takes none of what waits for it for the
  // stall limit is not reading (the outbox's writer turns that timeout into its verdict).
  stream.set_timeouts(std::chrono::milliseconds(0), ctx.config.chat_stall_limit);
  net::enable_keepalive(stream.fd());
  return *member;
}

void Connection::leave_room(std::chrono::milliseconds drain, const std::string& reason) {
  if (!seat_) return;
  client = seat_->member->name();
  seat_->drain = drain;
  seat_->reason = reason;
  seat_.reset();  // leaves, drains the outbox, and only then lets go of the socket
  replies.route_direct();
}

}  // namespace ftx::server
