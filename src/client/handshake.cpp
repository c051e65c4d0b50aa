// SPDX-License-Identifier: MIT
// HELLO and WELCOME.
#include "client/handshake.h"

#include <stdexcept>
#include <string>

#include "proto/text.h"

namespace ftx::client {

std::variant<proto::Welcome, proto::Error> handshake(wire::Channel& channel, const proto::Hello& hello) {
  channel.send(hello);
  // "ftx 0.1.0 text mode; ..." starts with 'f', which is no frame type.
  if (channel.peek_byte() == 'f') {
    std::string greeting;
    channel.read_line(greeting, proto::kMaxTextLine);
  }
  try {
    proto::Frame reply = channel.receive();
    if (auto* e = std::get_if<proto::Error>(&reply)) return *e;
    if (auto* w = std::get_if<proto::Welcome>(&reply)) return *w;
    throw std::runtime_error("expected WELCOME, got " +
                             std::string(proto::frame_type_name(proto::frame_type(reply))));
  } catch (const proto::ProtocolError& e) {
    throw std::runtime_error(channel.peer() + " does not answer like an ftx server (" + e.what() + ")");
  }
}

}  // namespace ftx::client
