// SPDX-License-Identifier: MIT
// Text mode.
#include "server/text_session.h"

#include "ftx_version.h"
#include "net/socket.h"
#include "proto/codec.h"
#include "proto/limits.h"
#include "proto/names.h"
#include "server/auth.h"
#include "server/incoming_file.h"
#include "server/outgoing_file.h"
#include "util/clock.h"

namespace ftx::server {

using proto::ErrorCode;
using proto::ProtocolError;

namespace {
// How long a greeting may take to leave before a late binary client takes over the socket.
constexpr std::chrono::milliseconds kGreetingDrain{1000};
}  // namespace

void TextSession::reply(std::string line) {
  if (!conn_.replies.say(std::move(line))) {
    throw ProtocolError(ErrorCode::TooLarge, "not reading the server's answers");
  }
}

void TextSession::receive_file(const proto::text::SendFile& cmd) {
  TransferGuard busy(conn_.in_transfer);
  const int64_t now_ns = unix_ms(std::chrono::system_clock::now()) * 1000000;
  IncomingFile file(conn_.ctx, conn_.peer(), conn_.client, cmd.name, cmd.size, 0644, now_ns);
  // The same bytes as the file of that name already there: the OK line names it and no copy
  // is made (a different file follows --overwrite).
  file.detect_unchanged();
  // A refusal cannot be skipped past: the bytes are on their way and nothing says where
  // they end but the size we refused, so the connection ends with the answer.
  file.start();
  // The bytes of a file must keep coming, unlike chat lines.
  const auto idle = conn_.ctx.config.idle_timeout;
  conn_.stream.set_timeouts(idle, idle);
  file.receive([this](std::span<uint8_t> out) { return channel_.read_raw(out); }, conn_.buffer.get());
  // A chat member may then stay quiet for hours; an upload connection (nc without -N, which
  // keeps it open after OK) is closed after --idle-timeout like any silent client.
  conn_.stream.set_timeouts(conn_.in_room() ? std::chrono::milliseconds(0) : idle, idle);
  try {
    const std::string saved = file.commit();
    if (!file.unchanged()) {
      ++conn_.files;
      conn_.bytes += cmd.size;
    }
    reply(proto::text_ok_line(saved, cmd.size, file.labelled_digest()));
  } catch (const ProtocolError& e) {
    reply(proto::text_error_line(e.code(), e.what()));  // every byte was read: still in step
  }
}

void TextSession::send_file(const proto::text::GetFile& cmd) {
  if (conn_.in_room()) {
    // In the room, the outbox writes the stream: raw file bytes cannot go between its lines.
    reply(proto::text_error_line(ErrorCode::BadRequest,
                                 "this connection is in the chat room; fetch from a connection of its own: "
                                 "printf 'GET_FILE name\\n' | nc HOST PORT > name"));
    return;
  }
  TransferGuard busy(conn_.in_transfer);
  std::optional<OutgoingFile> file;
  try {
    file.emplace(conn_.ctx, conn_.peer(), conn_.client, cmd.name);
  } catch (const ProtocolError& e) {
    reply(proto::text_error_line(e.code(), e.what()));  // nothing was sent: still in step
    return;
  }
  const ShelfEntry& entry = file->entry();
  const auto idle = conn_.ctx.config.idle_timeout;
  conn_.stream.set_timeouts(idle, idle);
  reply(proto::text_ok_line(entry.name, entry.size, entry.digest));
  file->send(conn_.stream);
}

void TextSession::list_files(const proto::text::ListFiles& cmd) {
  const SessionContext& ctx = conn_.ctx;
  try {
    if (!ctx.shelf) {
      throw ProtocolError(ErrorCode::NotShared,
                          "this server shares no files (the operator can start it with ftx serve --share)");
    }
    const std::vector<ShelfEntry> entries = ctx.shelf->list(cmd.path);
    std::string out;
    for (const ShelfEntry& e : entries) {
      out += proto::text_list_line(e.directory, e.size, e.mtime_ns, e.digest, e.name);
    }
    out += proto::text_list_end(entries.size());
    reply(std::move(out));
  } catch (const ProtocolError& e) {
    reply(proto::text_error_line(e.code(), e.what()));
  } catch (const std::system_error& e) {
    reply(proto::text_error_line(ErrorCode::Internal, e.what()));
  }
}

void TextSession::authenticate(bool greet, std::stop_token stop) {
  if (greet) conn_.replies.say(proto::text_greeting(FTX_VERSION, "not signed in; send AUTH <token> first"));
  std::string line;
  const auto status = channel_.read_line(line, proto::kMaxTextLine);
  if (status == wire::Channel::LineStatus::Eof)
    throw net::ConnectionClosed(conn_.peer() + " closed the connection");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const std::string_view presented = status == wire::Channel::LineStatus::Line && line.starts_with("AUTH ")
                                         ? std::string_view(line).substr(5)
                                         : "";
  try {
    check_token(conn_.ctx, conn_.peer(), presented, stop);
  } catch (const ProtocolError& e) {
    throw ProtocolError(e.code(), std::string(e.what()) + "; the first line must be AUTH <token>");
  }
  conn_.replies.say("OK signed in\n");
}

void TextSession::join(bool greet) {
  if (conn_.in_room()) return;
  conn_.join_room(ChatMember::Wire::Text, conn_.client, [&](const std::string& given) {
    if (greet) conn_.replies.say(proto::text_greeting(FTX_VERSION, given));
  });
}

bool TextSession::run(bool greet, std::stop_token stop) {
  conn_.client = "text@" + conn_.peer();
  if (!conn_.ctx.config.token.empty()) {
    authenticate(greet, stop);
    greet = false;
  }
  if (greet) {
    // A client that says nothing is listening: it takes its place in the room at once.
    join(/*greet=*/true);
    const int first = channel_.peek_byte();
    if (first >= 0 && proto::starts_binary(static_cast<uint8_t>(first))) {
      conn_.leave_room(kGreetingDrain);  // the greeting goes out whole; the client skips it
      return true;
    }
  }
  serve_lines();
  // QUIT or the end of input: let the last answers leave (bounded: a client that does not
  // read is cut off).
  conn_.leave_room(conn_.ctx.config.chat_stall_limit);
  return false;
}

void TextSession::serve_lines() {
  const SessionContext& ctx = conn_.ctx;
  // A connection whose first line is an upload, a fetch or a listing is a file connection: it
  // never joins the room, so a full room never turns it away, and what follows its files is
  // refused as a command, never relayed (a wrong size must not post the rest of a file to
  // the room).
  bool files_only = false;
  bool first_line = !conn_.in_room();
  std::string line;
  while (true) {
    const auto status = channel_.read_line(line, proto::kMaxTextLine);
    if (status == wire::Channel::LineStatus::Eof) return;
    const proto::text::Command cmd = proto::parse_text_line(line);
    if (status == wire::Channel::LineStatus::TooLong) {
      const std::string too_long = "line longer than " + std::to_string(proto::kMaxTextLine) + " bytes";
      // An upload's line (or a near miss): its file's bytes follow, and must not be read as
      // lines, let alone said to the room.
      const auto* bad = std::get_if<proto::text::Invalid>(&cmd);
      if (std::holds_alternative<proto::text::SendFile>(cmd) || (bad && bad->upload)) {
        throw ProtocolError(ErrorCode::TooLarge, "a SEND_FILE " + too_long);
      }
      reply(proto::text_error_line(ErrorCode::TooLarge, too_long + "; skipped"));
      continue;
    }
    if (auto* bad = std::get_if<proto::text::Invalid>(&cmd)) {
      // Bytes of unknown length may follow a malformed upload: nothing after it can be
      // trusted, so it ends the connection.
      if (bad->upload) throw ProtocolError(bad->code, bad->message);
      reply(proto::text_error_line(bad->code, bad->message));
      continue;
    }
    if (auto* send = std::get_if<proto::text::SendFile>(&cmd)) {
      files_only = files_only || first_line;
      first_line = false;
      receive_file(*send);
      continue;
    }
    if (auto* get = std::get_if<proto::text::GetFile>(&cmd)) {
      files_only = files_only || first_line;
      first_line = false;
      send_file(*get);
      continue;
    }
    if (auto* list = std::get_if<proto::text::ListFiles>(&cmd)) {
      files_only = files_only || first_line;
      first_line = false;
      list_files(*list);
      continue;
    }
    if (std::holds_alternative<proto::text::Quit>(cmd)) return;
    if (std::holds_alternative<proto::text::Blank>(cmd)) continue;
    first_line = false;
    if (files_only) {
      reply(
          proto::text_error_line(ErrorCode::BadRequest,
                                 "this connection moves files (its first line was SEND_FILE, GET_FILE or "
                                 "LIST_FILES): only those and QUIT here; chat from a connection of its own"));
      continue;
    }
    // Speaking, asking who is here or taking a nick is taking part: it joins the room.
    join(/*greet=*/false);
    if (auto* chat = std::get_if<proto::text::Chat>(&cmd)) {
      if (chat->text.size() > proto::kMaxMessage) {
        reply(proto::text_error_line(ErrorCode::TooLarge, proto::message_too_large(chat->text.size())));
      } else {
        ctx.hub.say(conn_.member()->name(), chat->text, conn_.member().get());
      }
    } else if (auto* nick = std::get_if<proto::text::Nick>(&cmd)) {
      // A refused name is answered, and the client stays under the name it had.
      if (auto why = proto::check_nick(nick->name)) {
        reply(proto::text_error_line(ErrorCode::BadRequest, *why));
      } else {
        try {
          conn_.client = ctx.hub.rename(conn_.member(), nick->name);
          reply(proto::chat_line(unix_ms(std::chrono::system_clock::now()), "", "you are " + conn_.client) +
                "\n");
        } catch (const ProtocolError& e) {
          reply(proto::text_error_line(e.code(), e.what()));
        }
      }
    } else if (std::holds_alternative<proto::text::Who>(cmd)) {
      reply(proto::chat_line(unix_ms(std::chrono::system_clock::now()), "",
                             "connected: " + ctx.hub.names_line()) +
            "\n");
    }
  }
}

}  // namespace ftx::server
