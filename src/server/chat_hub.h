// SPDX-License-Identifier: MIT
// The chat room: who is in it, and relaying each message to everyone else.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "server/console.h"
#include "server/outbox.h"
#include "server/transfer_log.h"
#include "util/mutex.h"

namespace ftx::server {

/// One client in the room. The session that owns it marks it gone before its socket can be
/// closed, so the hub never shuts down a descriptor that was reused.
class ChatMember {
 public:
  /// Binary frames (a MSG per message; BinaryBatches: MSG_BATCH, protocol version 4), text
  /// lines, or Server-Sent Events (the browser page's room).
  enum class Wire { Binary, BinaryBatches, Text, Events };
  /// How many kinds of Wire there are (Events is the last).
  static constexpr size_t kWires = static_cast<size_t>(Wire::Events) + 1;

  /// key: a secret the member's other requests prove themselves with (the page posts its
  /// lines on connections of their own); empty for none.
  ChatMember(int fd, std::string peer, Wire wire, std::shared_ptr<Outbox> outbox, std::string key = {})
      : fd_(fd), peer_(std::move(peer)), wire_(wire), outbox_(std::move(outbox)), key_(std::move(key)) {}

  const std::string& peer() const { return peer_; }
  Wire wire() const { return wire_; }
  const std::string& key() const { return key_; }
  Outbox& outbox() { return *outbox_; }
  std::string name() const;

  /// Cuts the client off: its queue is dropped and its socket shut down. The reason is kept
  /// for the leave notice, whichever thread announces it.
  void kick(const std::string& reason);
  std::string kick_reason() const;
  /// Called by the owning session before it returns.
  void mark_gone();

 private:
  friend class ChatHub;
  void set_name(std::string name);

  int fd_;
  std::string peer_;
  Wire wire_;
  std::shared_ptr<Outbox> outbox_;
  const std::string key_;
  mutable Mutex mutex_;
  std::string name_ GUARDED_BY(mutex_);
  bool gone_ GUARDED_BY(mutex_) = false;
  std::string kick_reason_ GUARDED_BY(mutex_);
};

struct ChatHubOptions {
  bool log_messages = false;  ///< --log-chat
  /// How long a client may take no byte of what waits for it before it is judged stuck
  /// and disconnected.
  std::chrono::milliseconds stall_limit{5000};
  /// Members at once (--max-chat); 0: no limit.
  size_t max_members = 0;
};

/// A session's place in the room, undone however the session ends: the member leaves the
/// hub, its outbox sends what it may within `drain` and stops for good, and only then is
/// the member marked gone, so no thread writes to or shuts down the socket after the
/// session returns and the server closes it.
class ChatHub;
struct ChatMembership {
  ChatMembership(ChatHub& owner, std::shared_ptr<ChatMember> who) : hub(owner), member(std::move(who)) {}
  ~ChatMembership();
  ChatMembership(const ChatMembership&) = delete;
  ChatMembership& operator=(const ChatMembership&) = delete;
  ChatHub& hub;
  std::shared_ptr<ChatMember> member;
  std::string reason;  ///< empty for an ordinary goodbye
  /// How long queued bytes (a BYE, an ERROR) may take to leave; 0 cuts at once.
  std::chrono::milliseconds drain{0};
};

class ChatHub {
 public:
  ChatHub(Console& console, TransferLog& log, ChatHubOptions options);

  /// Adds a member under `wanted`, or "wanted-2", "wanted-3"... when taken; announces it.
  /// Throws proto::ProtocolError (bad_request) when wanted passes for a member's name
  /// without being it (proto::choose_nick).
  /// before_visible(name) runs before anyone can send to the member (to queue a greeting
  /// ahead of relays); it must not block. Returns the name given, or nullopt when the room
  /// already holds max_members (the caller tells its client `busy`: full_message()).
  std::optional<std::string> join(const std::shared_ptr<ChatMember>& member, const std::string& wanted,
                                  const std::function<void(const std::string&)>& before_visible = {});

  /// Why join() refused: the room is full.
  std::string full_message() const;

  /// Removes a member and announces it; reason is empty for an ordinary goodbye.
  void leave(const std::shared_ptr<ChatMember>& member, const std::string& reason = "");

  /// Renames a member (text clients' NICK); returns the name given. Throws like join().
  std::string rename(const std::shared_ptr<ChatMember>& member, const std::string& wanted);

  /// Relays text from `from` to every member but `origin` (nullptr: the operator or a
  /// non-member), prints it on the console and logs it with --log-chat.
  void say(const std::string& from, const std::string& text, const ChatMember* origin);

  /// The same for several messages of one sender, in order: they are encoded once for all
  /// members and queued as one piece, so a busy sender costs a lock per member per batch,
  /// not per message.
  void say(const std::string& from, std::span<const std::string> texts, const ChatMember* origin);

  /// A notice to every member ("alice joined").
  void announce(const std::string& text, const ChatMember* except = nullptr);

  /// A notice to the members named `name` only (a receipt to a sharer), when there is room
  /// in their queues; nobody waits for it. False when nobody of that name is here.
  bool tell(const std::string& name, const std::string& text);
  /// The member whose key() is key (not empty), or nullptr.
  std::shared_ptr<ChatMember> member_with_key(const std::string& key) const;

  /// Connected names, sorted.
  std::vector<std::string> names() const;
  /// The same, as "a, b, c".
  std::string names_line() const;

 private:
  void deliver(const std::string& from, std::span<const std::string> texts, const ChatMember* except);
  /// wanted, or its numbered alternative, among the members but self. Throws like join().
  std::string unique_name(const std::string& wanted, const ChatMember* self) const REQUIRES(mutex_);

  Console& console_;
  TransferLog& log_;
  ChatHubOptions options_;
  mutable Mutex mutex_;
  std::vector<std::shared_ptr<ChatMember>> members_ GUARDED_BY(mutex_);
};

}  // namespace ftx::server
