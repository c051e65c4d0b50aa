// SPDX-License-Identifier: MIT
// One client connection on the server.
#include "server/session.h"

#include <poll.h>
#include <sys/socket.h>

#include <system_error>
#include <thread>

#include "digest/digest.h"
#include "net/socket.h"
#include "proto/codec.h"
#include "proto/limits.h"
#include "proto/names.h"
#include "proto/text.h"
#include "server/incoming_file.h"
#include "server/text_session.h"
#include "util/clock.h"
#include "util/text.h"
#include "util/units.h"

namespace ftx::server {
namespace {

using proto::ErrorCode;
using proto::ProtocolError;
using Clock = std::chrono::steady_clock;

// A batch of eager files is made durable when the sender pauses, or at these sizes.
constexpr size_t kBatchFiles = 1024;
constexpr uint64_t kBatchBytes = 64 << 20;
// A relayed batch is queued whole for every member, and a member whose queue cannot take
// it waits (and may be cut off as stuck). Kept far below the queue's size even on the text
// wire, where a line gains its stamp and nick and a control byte becomes four: 32 KiB of
// text and 512 lines encode to under 200 KiB.
constexpr size_t kRelayBatchMessages = 512;
constexpr size_t kRelayBatchBytes = 32 << 10;
constexpr std::chrono::milliseconds kDrainAfterError{1000};
// Binary clients speak first; a connection silent this long is a person at nc.
constexpr std::chrono::milliseconds kTextGreetingPause{300};

// A protocol error the session has already sent to the client through its outbox.
class AnsweredError : public ProtocolError {
 public:
  using ProtocolError::ProtocolError;
};

// A binary client's first byte is a frame type. HELLO is the only right one, but other
// non-printable frame types are answered as protocol errors too; printable first bytes
// (MSG and WHO happen to be ' ' and '!') belong to people typing at nc.
bool starts_binary(uint8_t first) {
  return first < 0x20 && proto::decode_frame(std::span(&first, 1)).status != proto::DecodeStatus::Error;
}

}  // namespace

std::string message_too_large(size_t bytes) {
  return "a message of " + std::to_string(bytes) + " bytes is over the limit of " +
         std::to_string(proto::kMaxMessage) + "; it was not sent";
}

namespace {

bool is_timeout(const std::exception& e) {
  const auto* sys = dynamic_cast<const std::system_error*>(&e);
  return sys && sys->code() == std::errc::timed_out;
}

std::string encode(const proto::Frame& frame) {
  const auto bytes = proto::encode_frame(frame);
  return std::string(bytes.begin(), bytes.end());
}

std::string unexpected(const proto::Frame& frame, const char* context) {
  return std::string("unexpected ") + std::string(proto::frame_type_name(proto::frame_type(frame))) + " " +
         context;
}

}  // namespace

Session::Session(const SessionContext& ctx, int fd, std::string peer, std::atomic<bool>& in_transfer)
    : ctx_(ctx), fd_(fd), peer_(std::move(peer)), in_transfer_(in_transfer) {}

void check_token(const SessionContext& ctx, const std::string& peer, std::string_view presented,
                 std::stop_token stop) {
  if (ctx.config.token.empty()) return;
  const std::string address = address_of(peer);
  if (token_matches(presented, ctx.config.token)) {
    ctx.throttle.succeeded(address);
    return;
  }
  // Guessing gets slower the more an address guesses wrong.
  const auto delay = ctx.throttle.failed(address);
  const auto until = Clock::now() + delay;
  while (Clock::now() < until && !stop.stop_requested()) {
    std::this_thread::sleep_for(
        std::min<Clock::duration>(std::chrono::milliseconds(100), until - Clock::now()));
  }
  throw ProtocolError(
      ErrorCode::Unauthorized,
      presented.empty() ? "this server needs a token: pass --token or set FTX_TOKEN" : "wrong token");
}

proto::Welcome Session::welcome_for(const std::string& name) const {
  proto::Welcome w;
  w.digest = ctx_.config.hash;
  w.max_payload = proto::kMaxPayload;
  w.max_message = proto::kMaxMessage;
  w.max_file_size = ctx_.config.max_size;
  w.name = name;
  return w;
}

void Session::handshake(net::Channel& channel, proto::Hello& hello, std::stop_token stop) {
  proto::Frame frame = channel.receive();
  auto* got = std::get_if<proto::Hello>(&frame);
  if (!got) throw ProtocolError(ErrorCode::BadRequest, unexpected(frame, "before HELLO"));
  if (got->version != proto::kProtocolVersion) {
    throw ProtocolError(ErrorCode::UnsupportedVersion, "this server speaks protocol version " +
                                                           std::to_string(proto::kProtocolVersion) +
                                                           ", the client " + std::to_string(got->version));
  }
  check_token(ctx_, peer_, got->token, stop);
  if (!got->name.empty()) {
    if (auto why = proto::check_nick(got->name))
      throw ProtocolError(ErrorCode::BadRequest, "HELLO name refused: " + *why);
  }
  hello = std::move(*got);
  client_ = hello.name.empty() ? "anonymous" : hello.name;
}

namespace {

void read_exact(net::Channel& channel, std::span<uint8_t> out) {
  for (size_t done = 0; done < out.size();) {
    const size_t n = channel.read_raw(out.subspan(done));
    if (n == 0) throw net::ConnectionClosed("connection closed in the middle of a stream");
    done += n;
  }
}

// The bytes of a refused eager file: read and dropped, so the stream stays in step.
void skip_raw(net::Channel& channel, uint64_t size, std::span<uint8_t> buffer) {
  while (size > 0) {
    const size_t n =
        channel.read_raw(buffer.first(static_cast<size_t>(std::min<uint64_t>(size, buffer.size()))));
    if (n == 0) throw net::ConnectionClosed("connection closed in the middle of a file");
    size -= n;
  }
}

bool input_waiting(net::Channel& channel) {
  if (channel.buffered() > 0) return true;
  pollfd pfd{channel.fd(), POLLIN, 0};
  return ::poll(&pfd, 1, 0) > 0;
}

// FILE_END must follow the data; its digest decides. Returns the error to answer, if any.
std::optional<proto::Error> check_file_end(net::Channel& channel, IncomingFile& file,
                                           proto::DigestAlgo algo) {
  proto::Frame frame = channel.receive();
  auto* end = std::get_if<proto::FileEnd>(&frame);
  if (!end) {
    const std::string why =
        "expected FILE_END after " + std::to_string(file.size()) + " bytes of file data, got " +
        std::string(proto::frame_type_name(proto::frame_type(frame))) + " (more bytes than declared?)";
    file.fail(ErrorCode::BadRequest, why);
    throw ProtocolError(ErrorCode::BadRequest, why);
  }
  if (end->algo != algo || end->digest != file.digest()) {
    // The stream is still in step, so only this file fails.
    const std::string why = "digest mismatch: the server computed " + file.labelled_digest() +
                            ", the sender " + digest::labelled(end->algo, end->digest) +
                            "; nothing was saved";
    file.fail(ErrorCode::Integrity, why);
    return proto::Error{ErrorCode::Integrity, why};
  }
  return std::nullopt;
}

}  // namespace

void Session::receive_file(net::Channel& channel, const proto::FileBegin& begin) {
  TransferGuard busy(in_transfer_);
  const bool stream = begin.flags & proto::kFlagStream;
  IncomingFile file(ctx_, peer_, client_, begin.name, begin.size, begin.mode, begin.mtime_ns);
  // Refusals before READY leave the stream in step: the sender skips this file only.
  uint64_t offset = 0;
  try {
    if (stream && begin.size != 0) throw ProtocolError(ErrorCode::BadRequest, "a stream announces size 0");
    // A stream cannot resume: its source cannot be read twice.
    offset = file.start(stream ? std::string_view() : std::string_view(begin.transfer_id));
  } catch (const ProtocolError& e) {
    channel.send(proto::Error{e.code(), e.what()});
    return;
  }
  channel.send(proto::Ready{offset});
  if (stream) {
    file.receive_chunked([&channel](std::span<uint8_t> out) { read_exact(channel, out); }, buffer_.get());
  } else {
    file.receive([&channel](std::span<uint8_t> out) { return channel.read_raw(out); }, buffer_.get());
  }
  if (auto error = check_file_end(channel, file, ctx_.config.hash)) {
    channel.send(*error);
    return;
  }
  std::string saved;
  try {
    saved = file.commit();
  } catch (const ProtocolError& e) {
    channel.send(proto::Error{e.code(), e.what()});
    return;
  }
  ++files_;
  bytes_ += file.size();
  channel.send(proto::Saved{saved, file.size(), ctx_.config.hash, file.digest()});
}

void Session::receive_eager(net::Channel& channel, const proto::FileBegin& begin) {
  TransferGuard busy(in_transfer_);
  if (begin.flags & (proto::kFlagStream | proto::kFlagDirectory)) {
    throw ProtocolError(ErrorCode::BadRequest, "an eager FILE_BEGIN is for a file of known size");
  }
  auto file = std::make_unique<IncomingFile>(ctx_, peer_, client_, begin.name, begin.size, begin.mode,
                                             begin.mtime_ns);
  try {
    file->start();
  } catch (const ProtocolError& e) {
    skip_raw(channel, begin.size, buffer_.get());
    proto::Frame frame = channel.receive();
    if (!std::holds_alternative<proto::FileEnd>(frame)) {
      throw ProtocolError(ErrorCode::BadRequest, unexpected(frame, "after the data of an eager file"));
    }
    batch_.push_back({nullptr, proto::Error{e.code(), e.what()}});
    return;
  }
  file->receive([&channel](std::span<uint8_t> out) { return channel.read_raw(out); }, buffer_.get());
  if (auto error = check_file_end(channel, *file, ctx_.config.hash)) {
    batch_.push_back({nullptr, *error});
    return;
  }
  try {
    file->seal();
  } catch (const ProtocolError& e) {
    batch_.push_back({nullptr, proto::Error{e.code(), e.what()}});
    return;
  }
  batch_bytes_ += begin.size;
  batch_.push_back({std::move(file), {}});
}

void Session::flush_batch(net::Channel& channel) {
  if (batch_.empty()) return;
  std::optional<proto::Error> sync_failed;
  try {
    ctx_.inbox.sync();  // every sealed file's data, before any of their names
  } catch (const ProtocolError& e) {
    sync_failed = proto::Error{e.code(), e.what()};
  } catch (const std::exception& e) {
    sync_failed = proto::Error{ErrorCode::Internal, e.what()};
  }
  // Every answer is queued and goes out in one write, after the names are durable.
  bool published = false;
  for (Batched& entry : batch_) {
    if (!entry.file) {
      channel.queue(entry.refusal);
      continue;
    }
    if (sync_failed) {
      entry.file->fail(sync_failed->code, sync_failed->message);
      channel.queue(*sync_failed);
      continue;
    }
    try {
      const std::string saved = entry.file->publish(/*synced=*/true);
      published = true;
      ++files_;
      bytes_ += entry.file->size();
      channel.queue(proto::Saved{saved, entry.file->size(), ctx_.config.hash, entry.file->digest()});
    } catch (const ProtocolError& e) {
      channel.queue(proto::Error{e.code(), e.what()});
    }
  }
  batch_.clear();
  batch_bytes_ = 0;
  if (published) ctx_.inbox.sync();  // the new names, before the sender hears of them
  channel.flush();
}

void Session::drop_batch() {
  for (Batched& entry : batch_) {
    if (entry.file)
      entry.file->fail(ErrorCode::BadRequest, "the connection ended before the file was confirmed");
  }
  batch_.clear();
  batch_bytes_ = 0;
}

void Session::make_directory(net::Channel& channel, const proto::FileBegin& begin) {
  if (begin.size != 0 || (begin.flags & ~proto::kFlagDirectory) != 0) {
    channel.send(proto::Error{ErrorCode::BadRequest, "a directory has size 0 and no other flags"});
    return;
  }
  try {
    ctx_.inbox.make_directory(begin.name, begin.mode, begin.mtime_ns);
  } catch (const ProtocolError& e) {
    ctx_.console.print(peer_ + " " + printable(begin.name) +
                       "/: " + std::string(proto::error_code_name(e.code())) + ": " + printable(e.what()));
    channel.send(proto::Error{e.code(), e.what()});
    return;
  }
  digest::Hasher empty(ctx_.config.hash);
  channel.send(proto::Saved{begin.name, 0, ctx_.config.hash, empty.finish()});
}

void Session::serve_files(net::Channel& channel, std::stop_token stop) {
  try {
    while (!stop.stop_requested()) {
      // Small files arrive back to back; one sync covers them once the sender pauses.
      if (!batch_.empty() &&
          (batch_.size() >= kBatchFiles || batch_bytes_ >= kBatchBytes || !input_waiting(channel))) {
        flush_batch(channel);
      }
      proto::Frame frame = channel.receive();
      if (auto* begin = std::get_if<proto::FileBegin>(&frame)) {
        if ((begin->flags & ~proto::kKnownFlags) != 0) {
          throw ProtocolError(ErrorCode::BadRequest, "FILE_BEGIN with flags this server does not know");
        }
        if (begin->flags & proto::kFlagEager) {
          receive_eager(channel, *begin);
          continue;
        }
        flush_batch(channel);  // verdicts go out in order
        if (begin->flags & proto::kFlagDirectory) {
          make_directory(channel, *begin);
        } else {
          receive_file(channel, *begin);
        }
      } else if (std::holds_alternative<proto::Bye>(frame)) {
        flush_batch(channel);
        channel.send(proto::Bye{});
        return;
      } else if (std::holds_alternative<proto::Msg>(frame)) {
        // Speaking takes a name in the room, which only a chat connection gets.
        throw ProtocolError(ErrorCode::BadRequest, "MSG on a send connection; chat with HELLO role chat");
      } else {
        throw ProtocolError(ErrorCode::BadRequest, unexpected(frame, "from a client"));
      }
    }
    flush_batch(channel);
  } catch (...) {
    drop_batch();
    throw;
  }
}

void Session::serve_chat(net::Channel& channel) {
  auto outbox = std::make_shared<Outbox>(fd_, peer_, ctx_.config.chat_queue_bytes);
  auto member = std::make_shared<ChatMember>(fd_, peer_, ChatMember::Wire::Binary, outbox);
  // WELCOME carries the name the hub gives; it is queued before the member becomes visible,
  // so it reaches the client ahead of every relayed message.
  const auto name = ctx_.hub.join(member, client_, [this, &outbox](const std::string& given) {
    outbox->push_reply(encode(welcome_for(given)));
  });
  if (!name) {  // the room is full: the answer goes through the outbox, which owns the socket now
    const std::string why = ctx_.hub.full_message();
    outbox->push_reply(encode(proto::Error{ErrorCode::Busy, why}));
    outbox->close(kDrainAfterError);
    throw AnsweredError(ErrorCode::Busy, why);
  }
  ChatMembership membership(ctx_.hub, member);
  client_ = *name;
  net::make_long_lived(fd_, ctx_.config.idle_timeout);
  // MSGs that arrived together are relayed together: one lock per member per batch, not
  // per message. A batch goes out before the session waits for more, and before any other
  // frame is handled.
  std::vector<std::string> said;
  size_t said_bytes = 0;
  auto relay = [&] {
    if (said.empty()) return;
    ctx_.hub.say(member->name(), said, member.get());
    said.clear();
    said_bytes = 0;
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
        if (msg->text.size() > proto::kMaxMessage) {
          outbox->push_reply(encode(proto::Error{ErrorCode::TooLarge, message_too_large(msg->text.size())}));
        } else {
          if (said_bytes + msg->text.size() > kRelayBatchBytes || said.size() == kRelayBatchMessages) relay();
          said_bytes += msg->text.size();
          said.push_back(std::move(msg->text));
        }
        continue;
      }
      relay();
      if (std::holds_alternative<proto::Who>(frame)) {
        if (outbox->push_reply(encode(proto::Msg{"", unix_ms(std::chrono::system_clock::now()),
                                                 "connected: " + ctx_.hub.names_line()})) ==
            Outbox::Push::Full) {
          throw ProtocolError(ErrorCode::TooLarge, "not reading the server's answers");
        }
      } else if (std::holds_alternative<proto::Bye>(frame)) {
        // Every MSG before BYE has been relayed: BYE tells the client all its lines arrived.
        outbox->push_reply(encode(proto::Bye{}));
        membership.drain = ctx_.config.chat_stall_limit;
        break;
      } else {
        throw ProtocolError(ErrorCode::BadRequest, unexpected(frame, "on a chat connection"));
      }
    }
  } catch (const ProtocolError& e) {
    relay();  // the messages that arrived whole before the bad frame
    outbox->push_reply(encode(proto::Error{e.code(), e.what()}));
    membership.reason = std::string(proto::error_code_name(e.code())) + ": " + e.what();
    membership.drain = std::chrono::milliseconds(1000);
    throw AnsweredError(e.code(), e.what());
  } catch (const net::ConnectionClosed&) {
    throw;
  } catch (const std::exception& e) {
    // A frame that stalled past --idle-timeout, or a failure of ours: the answer goes
    // through the outbox, which drains it before the socket closes.
    const ErrorCode code = is_timeout(e) ? ErrorCode::Timeout : ErrorCode::Internal;
    outbox->push_reply(encode(proto::Error{code, e.what()}));
    membership.reason = std::string(proto::error_code_name(code)) + ": " + e.what();
    membership.drain = std::chrono::milliseconds(1000);
    throw AnsweredError(code, e.what());
  }
}

Session::Ending Session::run_binary(net::Channel& channel, std::stop_token stop) {
  proto::Hello hello;
  handshake(channel, hello, stop);
  if (hello.role == proto::Role::Chat) {
    serve_chat(channel);
    return {};
  }
  channel.send(welcome_for(client_));
  ctx_.console.print(peer_ + " is " + printable(client_));
  serve_files(channel, stop);
  return {};
}

Session::Ending Session::run_binary_answering(net::Channel& channel, std::stop_token stop,
                                              bool& answered_error) {
  try {
    return run_binary(channel, stop);
  } catch (const AnsweredError& e) {
    answered_error = true;  // the chat outbox already said it
    return {e.code(), e.what()};
  } catch (const ProtocolError& e) {
    try {
      channel.send(proto::Error{e.code(), e.what()});
    } catch (const std::exception&) {
    }
    answered_error = true;
    return {e.code(), e.what()};
  } catch (const net::ConnectionClosed&) {
    throw;
  } catch (const std::exception& e) {
    // The server failed (disk, permissions...): say so before closing, so the client
    // reports the server's reason instead of a bare disconnect.
    const ErrorCode code = is_timeout(e) ? ErrorCode::Timeout : ErrorCode::Internal;
    const auto frame = proto::encode_frame(proto::Error{code, e.what()});
    ::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    answered_error = true;
    return {code, e.what()};
  }
}

void Session::run(std::stop_token stop) {
  const auto started = Clock::now();
  ctx_.log.write(connect_event(std::chrono::system_clock::now(), peer_));
  ctx_.console.print(peer_ + " connected");
  Ending ending;
  bool answered_error = false;
  try {
    net::set_io_timeout(fd_, ctx_.config.idle_timeout);
    net::Channel channel(fd_, peer_);
    channel.set_frame_timeout(ctx_.config.idle_timeout);
    const bool spoke = channel.wait_readable(kTextGreetingPause);
    const int first = spoke ? channel.peek_byte() : -2;
    if (first == -1) {
      // Connected and left without a word.
    } else if (first >= 0 && starts_binary(static_cast<uint8_t>(first))) {
      ending = run_binary_answering(channel, stop, answered_error);
    } else {
      TextSession text(ctx_, fd_, peer_, in_transfer_, buffer_);
      const TextSession::Result r = text.run(channel, /*greet=*/first == -2, stop);
      if (r.binary_after_all) {
        net::set_io_timeout(fd_, ctx_.config.idle_timeout);
        ending = run_binary_answering(channel, stop, answered_error);
      } else {
        files_ = r.files;
        bytes_ = r.bytes;
        client_ = r.name;
        ending = {r.error, r.message};
        answered_error = r.error.has_value();
      }
    }
  } catch (const net::ConnectionClosed&) {
    // A client leaving without BYE is ordinary.
  } catch (const std::exception& e) {
    // Reached from text mode (a stalled SEND_FILE, a failing disk) or before the first
    // byte: answer in text, which is what such a client reads.
    ending = {is_timeout(e) ? ErrorCode::Timeout : ErrorCode::Internal, e.what()};
    const std::string line = proto::text_error_line(*ending.error, e.what());
    ::send(fd_, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    answered_error = true;
  }
  if (answered_error) {
    net::drain_and_shutdown(fd_, kDrainAfterError);
  } else {
    ::shutdown(fd_, SHUT_RDWR);
  }
  const double secs = std::chrono::duration<double>(Clock::now() - started).count();
  ctx_.log.write(disconnect_event(std::chrono::system_clock::now(), peer_, client_, files_, bytes_, secs,
                                  ending.error, ending.message));
  std::string line =
      peer_ + " disconnected (" + std::to_string(files_) + " files, " + format_bytes(bytes_) + ")";
  if (ending.error) {
    line += ": " + std::string(proto::error_code_name(*ending.error)) + ": " + printable(ending.message);
  }
  ctx_.console.print(line);
}

}  // namespace ftx::server
