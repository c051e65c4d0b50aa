// SPDX-License-Identifier: MIT
// Answers to one client.
#include "server/replies.h"

#include <cstdint>
#include <span>

namespace ftx::server {

bool Replies::say(std::string bytes) {
  if (outbox_) return outbox_->push_reply(std::move(bytes)) == Outbox::Push::Ok;
  try {
    stream_.write_all(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    return true;
  } catch (const std::exception&) {
    return false;  // the client is gone or stuck; the caller ends the connection anyway
  }
}

void Replies::say_last(std::string bytes, std::chrono::milliseconds patience) {
  if (!outbox_) {
    try {
      stream_.set_timeouts(patience, patience);
    } catch (const std::exception&) {
      return;  // the socket is already unusable
    }
  }
  say(std::move(bytes));
}

}  // namespace ftx::server
