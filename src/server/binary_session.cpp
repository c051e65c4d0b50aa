// SPDX-License-Identifier: MIT
// Binary clients: the handshake and the chat role (files: file_receiver.cpp).
#include "server/binary_session.h"

#include <vector>

#include "digest/digest.h"
#include "proto/codec.h"
#include "proto/limits.h"
#include "proto/names.h"
#include "server/auth.h"
#include "server/file_receiver.h"
#include "server/outgoing_file.h"
#include "util/clock.h"
#include "util/text.h"

namespace ftx::server {
namespace {

using proto::ErrorCode;
using proto::ProtocolError;

// A relayed batch is queued whole for every member, and a member whose queue cannot take
// it waits (and may be cut off as stuck). Kept below the queue's size (1 MiB by default)
// even on the text and event wires, where a line gains its stamp and nick (or an SSE event
// and JSON, where a nick's quotes and backslashes double) and a control byte becomes four
// (or six): 32 KiB of text and 2048 lines encode to at most about 290 KiB as text lines and
// 570 KiB as events. Each batch costs a send and a wake-up per member, so a busy room wants
// them large: a sender's 64 KiB write of short lines is one batch, not four.
constexpr size_t kRelayBatchMessages = 2048;
constexpr size_t kRelayBatchBytes = 32 << 10;

std::string encode(const proto::Frame& frame) {
  const auto bytes = proto::encode_frame(frame);
  return std::string(bytes.begin(), bytes.end());
}

std::string unexpected(const proto::Frame& frame, const char* context) {
  return std::string("unexpected ") + std::string(proto::frame_type_name(proto::frame_type(frame))) + " " +
         context;
}

proto::Hello handshake(Connection& conn, wire::Channel& channel, std::stop_token stop) {
  proto::Frame frame = channel.receive();
  auto* hello = std::get_if<proto::Hello>(&frame);
  if (!hello) throw ProtocolError(ErrorCode::BadRequest, unexpected(frame, "before HELLO"));
  const uint16_t newest = conn.ctx.config.protocol_version;
  if (hello->version < proto::kOldestProtocolVersion || hello->version > newest) {
    throw ProtocolError(ErrorCode::UnsupportedVersion, "this server speaks protocol versions " +
                                                           std::to_string(proto::kOldestProtocolVersion) +
                                                           " to " + std::to_string(newest) + ", the client " +
                                                           std::to_string(hello->version));
  }
  check_token(conn.ctx, conn.peer(), hello->token, stop);
  if (!hello->name.empty()) {
    // A chat member's name is shown to the room, so it must not pass for another's; a
    // sender's only reaches the log.
    const auto why = hello->role == proto::Role::Chat ? proto::check_nick(hello->name)
                                                      : proto::check_client_name(hello->name);
    if (why) throw ProtocolError(ErrorCode::BadRequest, "HELLO name refused: " + *why);
  }
  conn.client = hello->name.empty() ? "anonymous" : hello->name;
  conn.protocol_version = hello->version;
  return std::move(*hello);
}

void serve_chat(Connection& conn, wire::Channel& channel) {
  const SessionContext& ctx = conn.ctx;
  // WELCOME carries the name the hub gives; it is queued before the member becomes visible,
  // so it reaches the client ahead of every relayed message.
  const bool batches = conn.protocol_version >= proto::kMsgBatchVersion;
  const ChatMember::Wire wire = batches ? ChatMember::Wire::BinaryBatches : ChatMember::Wire::Binary;
  ChatMember& member = conn.join_room(wire, conn.client, [&](const std::string& given) {
    conn.replies.say(encode(welcome_for(ctx, given)));
  });
  // MSGs that arrived together are relayed together: one lock per member per batch, not
  // per message. A batch goes out before the session waits for more, and before any other
  // frame is handled.
  std::vector<std::string> said;
  size_t said_bytes = 0;
  auto relay = [&] {
    if (said.empty()) return;
    ctx.hub.say(member.name(), said, &member);
    said.clear();
    said_bytes = 0;
  };
  // One text of a MSG or of a MSG_BATCH: refused alone when it is too long.
  auto take = [&](std::string& text) {
    if (text.size() > proto::kMaxMessage) {
      conn.replies.say(encode(proto::Error{ErrorCode::TooLarge, proto::message_too_large(text.size())}));
      return;
    }
    if (said_bytes + text.size() > kRelayBatchBytes || said.size() == kRelayBatchMessages) relay();
    said_bytes += text.size();
    said.push_back(std::move(text));
  };
  try {
    while (true) {
      std::optional<proto::Frame> next = channel.try_receive();
      if (!next) {
        relay();
        next = channel.receive();
      }
      proto::Frame& frame = *next;
      if (auto* msg = std::get_if<proto::Msg>(&frame)) {
        take(msg->text);
        continue;
      }
      if (auto* batch = std::get_if<proto::MsgBatch>(&frame); batch && batches) {
        for (auto& text : batch->texts) take(text);
        continue;
      }
      relay();
      if (std::holds_alternative<proto::Who>(frame)) {
        const proto::Msg who{"", unix_ms(std::chrono::system_clock::now()),
                             "connected: " + ctx.hub.names_line()};
        if (!conn.replies.say(encode(who))) {
          throw ProtocolError(ErrorCode::TooLarge, "not reading the server's answers");
        }
      } else if (std::holds_alternative<proto::Bye>(frame)) {
        // Every MSG before BYE has been relayed: BYE tells the client all its lines arrived.
        conn.replies.say(encode(proto::Bye{}));
        conn.leave_room(ctx.config.chat_stall_limit);
        return;
      } else {
        throw ProtocolError(ErrorCode::BadRequest, unexpected(frame, "on a chat connection"));
      }
    }
  } catch (...) {
    relay();  // the messages that arrived whole before whatever went wrong
    throw;
  }
}

proto::FileEntry entry_frame(const ShelfEntry& e, DigestAlgo algo) {
  proto::FileEntry f;
  f.name = e.name;
  f.flags = e.directory ? proto::kFlagDirectory : 0;
  f.size = e.size;
  f.mode = e.mode;
  f.mtime_ns = e.mtime_ns;
  f.algo = algo;
  // The shelf keeps digests labelled ("xxh128:HEX"); the wire carries the raw bytes.
  const size_t colon = e.digest.find(':');
  if (colon != std::string::npos) f.digest = digest::from_hex(std::string_view(e.digest).substr(colon + 1));
  return f;
}

// The fetch role (protocol version 3): LIST_FILES and GET_FILE until BYE. A refused request
// is answered with ERROR and the connection goes on.
void serve_fetch(Connection& conn, wire::Channel& channel) {
  const SessionContext& ctx = conn.ctx;
  const DigestAlgo algo = ctx.config.hash;
  while (true) {
    proto::Frame frame = channel.receive();
    if (auto* list = std::get_if<proto::ListFiles>(&frame)) {
      try {
        if (!ctx.shelf) {
          throw ProtocolError(
              ErrorCode::NotShared,
              "this server shares no files (the operator can start it with ftx serve --share)");
        }
        const std::vector<ShelfEntry> entries = ctx.shelf->list(list->path);
        for (const ShelfEntry& e : entries) channel.queue(entry_frame(e, algo));
        channel.queue(proto::ListEnd{entries.size(), ctx.shelf->inbox_root() ? proto::kListTakesUploads : 0});
        channel.flush();
      } catch (const ProtocolError& e) {
        channel.send(proto::Error{e.code(), e.what()});
      }
    } else if (auto* get = std::get_if<proto::GetFile>(&frame)) {
      TransferGuard busy(conn.in_transfer);
      std::optional<OutgoingFile> file;
      try {
        file.emplace(ctx, conn.peer(), conn.client, get->name);
        if (get->offset > file->entry().size) {
          throw ProtocolError(ErrorCode::BadRequest, "offset past the end of the file");
        }
      } catch (const ProtocolError& e) {
        channel.send(proto::Error{e.code(), e.what()});
        continue;
      }
      channel.send(entry_frame(file->entry(), algo));
      file->send(conn.stream, get->offset);
    } else if (auto* verified = std::get_if<proto::Verified>(&frame)) {
      // A receipt for whoever shared the file, when its digest is the one they uploaded.
      const std::string labelled = digest::labelled(verified->algo, verified->digest);
      if (ctx.shelf) {
        if (auto who = ctx.shelf->sharer(verified->name, labelled)) {
          ctx.hub.tell(*who, conn.client + " fetched " + verified->name + ", verified");
        }
      }
    } else if (std::holds_alternative<proto::Bye>(frame)) {
      channel.send(proto::Bye{});
      return;
    } else {
      throw ProtocolError(ErrorCode::BadRequest, unexpected(frame, "on a fetch connection"));
    }
  }
}

}  // namespace

proto::Welcome welcome_for(const SessionContext& ctx, const std::string& name) {
  proto::Welcome w;
  w.version = ctx.config.protocol_version;
  w.digest = ctx.config.hash;
  w.max_payload = proto::kMaxPayload;
  w.max_message = proto::kMaxMessage;
  w.max_file_size = ctx.config.max_size;
  w.name = name;
  return w;
}

void serve_binary(Connection& conn, wire::Channel& channel, std::stop_token stop) {
  const proto::Hello hello = handshake(conn, channel, stop);
  if (hello.role == proto::Role::Chat) {
    serve_chat(conn, channel);
    return;
  }
  if (hello.role == proto::Role::Fetch && hello.version < proto::kFetchProtocolVersion) {
    throw ProtocolError(ErrorCode::BadRequest, "the fetch role needs protocol version 3");
  }
  channel.send(welcome_for(conn.ctx, conn.client));
  conn.ctx.console.print(conn.peer() + " is " + printable(conn.client));
  if (hello.role == proto::Role::Fetch) {
    serve_fetch(conn, channel);
    return;
  }
  FileReceiver(conn, channel).serve(stop);
}

}  // namespace ftx::server
