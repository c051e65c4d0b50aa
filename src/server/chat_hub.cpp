// SPDX-License-Identifier: MIT
// The chat room.
#include "server/chat_hub.h"

#include <sys/socket.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "proto/codec.h"
#include "proto/errors.h"
#include "proto/limits.h"
#include "proto/names.h"
#include "proto/text.h"
#include "util/clock.h"
#include "util/text.h"

namespace ftx::server {
namespace {

// Appends the bytes that carry messages of one sender to a member of the given wire.
void encode_for(std::string& out, ChatMember::Wire wire, const std::string& from, int64_t ts_ms,
                std::span<const std::string> texts) {
  switch (wire) {
    case ChatMember::Wire::Text: {
      proto::ChatLines lines;
      for (const auto& text : texts) lines.append(out, ts_ms, from, text);
      return;
    }
    case ChatMember::Wire::Events:
      for (const auto& text : texts) {
        // One SSE event per message; JSON keeps every byte of the text inside its data line.
        const nlohmann::ordered_json j = {{"ts", ts_ms}, {"from", from}, {"text", text}};
        out += "event: msg\ndata: ";
        out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        out += "\n\n";
      }
      return;
    case ChatMember::Wire::Binary:
      proto::encode_msgs(from, ts_ms, texts, proto::kMsgBatchVersion - 1, out);
      return;
    case ChatMember::Wire::BinaryBatches:
      proto::encode_msgs(from, ts_ms, texts, proto::kMsgBatchVersion, out);
      return;
  }
}

}  // namespace

std::string ChatMember::name() const {
  MutexLock lock(mutex_);
  return name_;
}

void ChatMember::set_name(std::string name) {
  MutexLock lock(mutex_);
  name_ = std::move(name);
}

void ChatMember::kick(const std::string& reason) {
  MutexLock lock(mutex_);
  if (gone_) return;
  kick_reason_ = reason;
  outbox_->abort();
  ::shutdown(fd_, SHUT_RDWR);  // wakes the session's reader and the writer
}

std::string ChatMember::kick_reason() const {
  MutexLock lock(mutex_);
  // The outbox's writer cuts off a client that takes nothing, without the hub.
  return kick_reason_.empty() ? outbox_->failure() : kick_reason_;
}

void ChatMember::mark_gone() {
  MutexLock lock(mutex_);
  gone_ = true;
}

ChatHub::ChatHub(Console& console, TransferLog& log, ChatHubOptions options)
    : console_(console), log_(log), options_(options) {}

std::string ChatHub::unique_name(const std::string& wanted, const ChatMember* self) const {
  // "server" is the operator's voice: nobody else may speak under it (nor under a name
  // that looks like it; check_nick refuses those before they get here).
  std::vector<std::string> present = {"server"};
  for (const auto& m : members_) {
    if (m.get() != self) present.push_back(m->name());
  }
  proto::NickChoice choice = proto::choose_nick(wanted, present);
  if (choice.name.empty()) throw proto::ProtocolError(proto::ErrorCode::BadRequest, choice.refused);
  return std::move(choice.name);
}

ChatMembership::~ChatMembership() {
  hub.leave(member, reason);
  member->outbox().close(drain);
  member->mark_gone();
}

std::string ChatHub::full_message() const {
  return "the chat room is full (" + std::to_string(options_.max_members) +
         " members, --max-chat); try again later";
}

std::optional<std::string> ChatHub::join(const std::shared_ptr<ChatMember>& member, const std::string& wanted,
                                         const std::function<void(const std::string&)>& before_visible) {
  std::string name;
  {
    MutexLock lock(mutex_);
    // Listeners may not take every slot: a transfer must always find one.
    if (options_.max_members != 0 && members_.size() >= options_.max_members) return std::nullopt;
    name = unique_name(wanted, nullptr);
    member->set_name(name);
    member->outbox().set_stall_limit(options_.stall_limit);
    if (before_visible) before_visible(name);
    members_.push_back(member);
  }
  console_.print("* " + printable(name) + " joined the chat from " + member->peer());
  log_.write(chat_join_event(std::chrono::system_clock::now(), member->peer(), name));
  announce(name + " joined", member.get());
  return name;
}

void ChatHub::leave(const std::shared_ptr<ChatMember>& member, const std::string& given_reason) {
  // A kicked member's session may notice first and leave without knowing why.
  const std::string reason = given_reason.empty() ? member->kick_reason() : given_reason;
  {
    MutexLock lock(mutex_);
    auto it = std::find(members_.begin(), members_.end(), member);
    if (it == members_.end()) return;
    members_.erase(it);
  }
  const std::string name = member->name();
  const std::string what = reason.empty() ? name + " left" : name + " was disconnected: " + reason;
  console_.print("* " + printable(what));
  log_.write(chat_leave_event(std::chrono::system_clock::now(), member->peer(), name, reason));
  announce(what);
}

std::string ChatHub::rename(const std::shared_ptr<ChatMember>& member, const std::string& wanted) {
  std::string old_name;
  std::string name;
  {
    MutexLock lock(mutex_);
    old_name = member->name();
    if (wanted == old_name) return old_name;
    name = unique_name(wanted, member.get());
    member->set_name(name);
    member->outbox().set_stall_limit(options_.stall_limit);
  }
  console_.print("* " + printable(old_name) + " is now " + printable(name));
  announce(old_name + " is now " + name, member.get());
  return name;
}

std::vector<std::string> ChatHub::names() const {
  std::vector<std::string> out;
  {
    MutexLock lock(mutex_);
    for (const auto& m : members_) out.push_back(m->name());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ChatHub::names_line() const {
  std::string line;
  for (const auto& n : names()) line += (line.empty() ? "" : ", ") + n;
  return line;
}

void ChatHub::say(const std::string& from, const std::string& text, const ChatMember* origin) {
  say(from, std::span(&text, 1), origin);
}

void ChatHub::say(const std::string& from, std::span<const std::string> texts, const ChatMember* origin) {
  if (!console_.quiet()) {
    const std::string speaker = "<" + printable(from).append("> ");
    for (const auto& text : texts) console_.print(speaker + printable(text));
  }
  if (options_.log_messages) {
    for (const auto& text : texts) log_.write(chat_event(std::chrono::system_clock::now(), from, text));
  }
  deliver(from, texts, origin);
}

std::shared_ptr<ChatMember> ChatHub::member_with_key(const std::string& key) const {
  if (key.empty()) return nullptr;
  MutexLock lock(mutex_);
  for (const auto& m : members_) {
    if (m->key() == key) return m;
  }
  return nullptr;
}

void ChatHub::announce(const std::string& text, const ChatMember* except) {
  deliver("", std::span(&text, 1), except);
}

bool ChatHub::tell(const std::string& name, const std::string& text) {
  std::vector<std::shared_ptr<ChatMember>> to;
  {
    MutexLock lock(mutex_);
    for (const auto& m : members_) {
      if (m->name() == name) to.push_back(m);
    }
  }
  const int64_t ts = unix_ms(std::chrono::system_clock::now());
  for (const auto& m : to) {
    std::string bytes;
    encode_for(bytes, m->wire(), "", ts, std::span(&text, 1));
    m->outbox().try_push(std::make_shared<const std::string>(std::move(bytes)));
  }
  return !to.empty();
}

void ChatHub::deliver(const std::string& from, std::span<const std::string> texts, const ChatMember* except) {
  std::vector<std::shared_ptr<ChatMember>> snapshot;
  {
    MutexLock lock(mutex_);
    snapshot = members_;
  }
  // The hub's lock is not held from here on. A reading client whose queue is full makes
  // this sender wait for it (so nobody loses a line); one that is not reading does not:
  // its queue takes the message past its capacity until its writer or its limit cuts it off.
  const int64_t ts = unix_ms(std::chrono::system_clock::now());
  Outbox::Shared encoded[ChatMember::kWires];
  auto bytes_for = [&](ChatMember::Wire wire) -> const Outbox::Shared& {
    Outbox::Shared& slot = encoded[static_cast<size_t>(wire)];
    if (!slot) {
      std::string bytes;
      encode_for(bytes, wire, from, ts, texts);
      slot = std::make_shared<const std::string>(std::move(bytes));
    }
    return slot;
  };
  std::vector<std::shared_ptr<ChatMember>> behind;
  std::vector<std::shared_ptr<ChatMember>> stuck;
  // Everyone with room first, so nobody waits for the one who is behind.
  for (const auto& m : snapshot) {
    if (m.get() == except) continue;
    const Outbox::Push r = m->outbox().try_push(bytes_for(m->wire()));
    if (r == Outbox::Push::Wait) behind.push_back(m);
    if (r == Outbox::Push::Full) stuck.push_back(m);
  }
  for (const auto& m : behind) {
    if (m->outbox().push_paced(bytes_for(m->wire())) == Outbox::Push::Full) stuck.push_back(m);
  }
  for (const auto& m : stuck) {
    const std::string why =
        "not reading (more than " + std::to_string(Outbox::kBehindFactor) + " times its queue behind)";
    m->kick(why);
    leave(m, why);
  }
}

}  // namespace ftx::server
