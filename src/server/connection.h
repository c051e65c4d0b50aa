// SPDX-License-Identifier: MIT
// What the handlers of one client connection share, whatever language it speaks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "net/stream.h"
#include "server/chat_hub.h"
#include "server/file_buffer.h"
#include "server/replies.h"
#include "server/session_context.h"

namespace ftx::server {

/// One client, on its session's thread. The handlers (file receiver, chat, text mode) read
/// and write through it; the session answers failures and logs the end.
struct Connection {
  Connection(const SessionContext& context, net::Stream& s, std::atomic<bool>& transferring)
      : ctx(context), stream(s), in_transfer(transferring), replies(s) {}

  const std::string& peer() const { return stream.peer(); }

  /// Joins the chat room under `wanted` (or "wanted-2"...): answers now queue on the
  /// member's outbox, the stream stops timing out reads (a listener may stay quiet for
  /// hours) and keepalive notices a peer that vanished. greet(name) runs before anyone can
  /// send to the member, to queue what must arrive first. Returns the member.
  ChatMember& join_room(ChatMember::Wire wire, const std::string& wanted,
                        const std::function<void(const std::string&)>& greet, std::string key = {});

  /// Leaves the room (announced with `reason` when there is one), letting queued answers
  /// leave for up to drain; then answers go straight to the stream again. Idempotent.
  void leave_room(std::chrono::milliseconds drain, const std::string& reason = {});

  bool in_room() const { return seat_ != nullptr; }
  /// The member while in_room().
  const std::shared_ptr<ChatMember>& member() const { return seat_->member; }

  const SessionContext& ctx;
  net::Stream& stream;
  std::atomic<bool>& in_transfer;  ///< moving file bytes: a shutdown gives it the grace period
  Replies replies;
  FileBuffer buffer;
  std::string client = "-";  ///< the name the log knows it by
  /// The binary client's protocol version (its HELLO's): what it may be sent. 0: text mode.
  uint16_t protocol_version = 0;
  uint64_t files = 0;  ///< saved on this connection
  uint64_t bytes = 0;

 private:
  std::unique_ptr<ChatMembership> seat_;
};

/// Marks a connection as moving file bytes for its lifetime.
class TransferGuard {
 public:
  explicit TransferGuard(std::atomic<bool>& flag) : flag_(flag) { flag_ = true; }
  ~TransferGuard() { flag_ = false; }
  TransferGuard(const TransferGuard&) = delete;
  TransferGuard& operator=(const TransferGuard&) = delete;

 private:
  std::atomic<bool>& flag_;
};

}  // namespace ftx::server
