// SPDX-License-Identifier: MIT
// A connection's seat in the chat room.
#include "server/connection.h"

#include "net/socket.h"

namespace ftx::server {

ChatMember& Connection::join_room(ChatMember::Wire wire, const std::string& wanted,
                                  const std::function<void(const std::string&)>& greet) {
  auto outbox = std::make_shared<Outbox>(stream, ctx.config.chat_queue_bytes);
  auto member = std::make_shared<ChatMember>(stream.fd(), peer(), wire, outbox);
  replies.route_through(outbox);
  try {
    client = ctx.hub.join(member, wanted, greet);
  } catch (...) {
    replies.route_direct();  // the refusal is answered straight, and the outbox stops unused
    throw;
  }
  seat_ = std::make_unique<ChatMembership>(ctx.hub, member);
  stream.set_timeouts(std::chrono::milliseconds(0), ctx.config.idle_timeout);
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
