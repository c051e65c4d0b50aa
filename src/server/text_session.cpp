// SPDX-License-Identifier: MIT
// Text mode.
#include "server/text_session.h"

#include <system_error>

#include "ftx_version.h"
#include "net/socket.h"
#include "proto/limits.h"
#include "proto/names.h"
#include "server/incoming_file.h"
#include "server/session.h"
#include "util/clock.h"
#include "util/text.h"

namespace ftx::server {

using proto::ErrorCode;
using proto::ProtocolError;

TextSession::TextSession(const SessionContext& ctx, int fd, std::string peer, std::atomic<bool>& in_transfer,
                         FileBuffer& buffer)
    : ctx_(ctx), fd_(fd), peer_(std::move(peer)), in_transfer_(in_transfer), buffer_(buffer) {}

void TextSession::reply(const std::string& line) {
  if (outbox_->push_reply(line) == Outbox::Push::Full) {
    throw ProtocolError(ErrorCode::TooLarge, "not reading the server's answers");
  }
}

bool TextSession::receive_file(net::Channel& channel, const proto::text::SendFile& cmd) {
  TransferGuard busy(in_transfer_);
  const int64_t now_ns = unix_ms(std::chrono::system_clock::now()) * 1000000;
  IncomingFile file(ctx_, peer_, result_.name, cmd.name, cmd.size, 0644, now_ns);
  try {
    file.start();
  } catch (const ProtocolError& e) {
    // The bytes are on their way and will not be read: the stream is out of step.
    reply(proto::text_error_line(e.code(), e.what()));
    result_.error = e.code();
    result_.message = e.what();
    return false;
  }
  // The bytes of a file must keep coming, unlike chat lines.
  net::set_io_timeout(fd_, ctx_.config.idle_timeout);
  try {
    file.receive([&channel](std::span<uint8_t> out) { return channel.read_raw(out); }, buffer_.get());
  } catch (const ProtocolError& e) {  // a full disk
    reply(proto::text_error_line(e.code(), e.what()));
    result_.error = e.code();
    result_.message = e.what();
    return false;
  }
  net::make_long_lived(fd_, ctx_.config.idle_timeout);
  try {
    const std::string saved = file.commit();
    ++result_.files;
    result_.bytes += cmd.size;
    reply(proto::text_ok_line(saved, cmd.size, file.labelled_digest()));
  } catch (const ProtocolError& e) {
    reply(proto::text_error_line(e.code(), e.what()));  // every byte was read: still in step
  }
  return true;
}

void TextSession::authenticate(net::Channel& channel, bool greet, std::stop_token stop) {
  auto say = [this](const std::string& line) {
    net::send_all(fd_, std::span(reinterpret_cast<const uint8_t*>(line.data()), line.size()), peer_);
  };
  if (greet) say(proto::text_greeting(FTX_VERSION, "not signed in; send AUTH <token> first"));
  std::string line;
  const auto status = channel.read_line(line, proto::kMaxTextLine);
  if (status == net::Channel::LineStatus::Eof) throw net::ConnectionClosed(peer_ + " closed the connection");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const std::string_view presented = status == net::Channel::LineStatus::Line && line.starts_with("AUTH ")
                                         ? std::string_view(line).substr(5)
                                         : "";
  try {
    check_token(ctx_, peer_, presented, stop);
  } catch (const ProtocolError& e) {
    say(proto::text_error_line(e.code(), std::string(e.what()) + "; the first line must be AUTH <token>"));
    throw;
  }
  say("OK signed in\n");
}

TextSession::Result TextSession::run(net::Channel& channel, bool greet, std::stop_token stop) {
  if (!ctx_.config.token.empty()) {
    try {
      authenticate(channel, greet, stop);
    } catch (const ProtocolError& e) {
      result_.name = "text@" + peer_;
      result_.error = e.code();
      result_.message = e.what();
      return result_;
    }
    greet = false;
  }
  outbox_ = std::make_shared<Outbox>(fd_, peer_, ctx_.config.chat_queue_bytes);
  member_ = std::make_shared<ChatMember>(fd_, peer_, ChatMember::Wire::Text, outbox_);
  ChatMembership membership(ctx_.hub, member_);
  result_.name = "text@" + peer_;
  // A text client joins the room when it listens (says nothing) or takes part (a line,
  // NICK, WHO); one that only uploads takes no place in it, so a full room never turns a
  // transfer away.
  bool joined = false;
  auto join = [&] {
    if (joined) return true;
    const auto given = ctx_.hub.join(member_, result_.name, [&](const std::string& name) {
      if (greet) outbox_->push_reply(proto::text_greeting(FTX_VERSION, name));
    });
    if (!given) {
      result_.error = ErrorCode::Busy;
      result_.message = ctx_.hub.full_message();
      outbox_->push_reply(proto::text_error_line(ErrorCode::Busy, result_.message));
      membership.drain = std::chrono::milliseconds(1000);
      return false;
    }
    result_.name = *given;
    joined = true;
    return true;
  };
  net::make_long_lived(fd_, ctx_.config.idle_timeout);
  if (greet && !join()) return result_;
  if (greet && channel.peek_byte() == static_cast<int>(proto::FrameType::Hello)) {
    result_.binary_after_all = true;
    membership.drain = std::chrono::milliseconds(1000);  // the greeting goes out whole; the client skips it
    return result_;
  }
  try {
    std::string line;
    bool going = true;
    while (going) {
      const auto status = channel.read_line(line, proto::kMaxTextLine);
      if (status == net::Channel::LineStatus::Eof) break;
      if (status == net::Channel::LineStatus::TooLong) {
        reply(proto::text_error_line(
            ErrorCode::TooLarge,
            "line longer than " + std::to_string(proto::kMaxTextLine) + " bytes; skipped"));
        continue;
      }
      const proto::text::Command cmd = proto::parse_text_line(line);
      const bool speaks = std::holds_alternative<proto::text::Chat>(cmd) ||
                          std::holds_alternative<proto::text::Nick>(cmd) ||
                          std::holds_alternative<proto::text::Who>(cmd);
      if (speaks && !join()) return result_;
      if (auto* chat = std::get_if<proto::text::Chat>(&cmd)) {
        if (chat->text.size() > proto::kMaxMessage) {
          reply(proto::text_error_line(ErrorCode::TooLarge, message_too_large(chat->text.size())));
        } else {
          ctx_.hub.say(member_->name(), chat->text, member_.get());
        }
      } else if (auto* send = std::get_if<proto::text::SendFile>(&cmd)) {
        going = receive_file(channel, *send);
      } else if (auto* nick = std::get_if<proto::text::Nick>(&cmd)) {
        if (auto why = proto::check_nick(nick->name)) {
          reply(proto::text_error_line(ErrorCode::BadRequest, *why));
        } else {
          result_.name = ctx_.hub.rename(member_, nick->name);
          reply(proto::chat_line(unix_ms(std::chrono::system_clock::now()), "", "you are " + result_.name) +
                "\n");
        }
      } else if (std::holds_alternative<proto::text::Who>(cmd)) {
        reply(proto::chat_line(unix_ms(std::chrono::system_clock::now()), "",
                               "connected: " + ctx_.hub.names_line()) +
              "\n");
      } else if (std::holds_alternative<proto::text::Quit>(cmd)) {
        going = false;
      } else if (auto* bad = std::get_if<proto::text::Invalid>(&cmd)) {
        reply(proto::text_error_line(bad->code, bad->message));
        if (line.starts_with("SEND_FILE")) {
          // Bytes of unknown length may follow: nothing after this can be trusted.
          result_.error = bad->code;
          result_.message = bad->message;
          going = false;
        }
      }
    }
  } catch (const ProtocolError& e) {
    result_.error = e.code();
    result_.message = e.what();
    membership.reason = e.what();
    return result_;
  } catch (const net::ConnectionClosed&) {
    throw;
  } catch (const std::exception& e) {
    // A stalled upload (timeout) or a failing disk: tell the client through its outbox,
    // which must then drain rather than be cut, or the line would be lost.
    const bool timeout = dynamic_cast<const std::system_error*>(&e) &&
                         static_cast<const std::system_error&>(e).code() == std::errc::timed_out;
    result_.error = timeout ? ErrorCode::Timeout : ErrorCode::Internal;
    result_.message = e.what();
    membership.reason = e.what();
    outbox_->push_reply(proto::text_error_line(*result_.error, e.what()));
    membership.drain = std::chrono::milliseconds(1000);
    return result_;
  }
  if (joined) result_.name = member_->name();
  // QUIT, the end of input, or an error line that ends the session: let the last answers
  // leave (bounded: a client that does not read is cut off).
  membership.drain = result_.error ? std::chrono::milliseconds(1000) : ctx_.config.chat_stall_limit;
  return result_;
}

}  // namespace ftx::server
