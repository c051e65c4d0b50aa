// SPDX-License-Identifier: MIT
// One client connection on the server.
#include "server/session.h"

#include <sys/socket.h>

#include <system_error>

#include "digest/digest.h"
#include "net/socket.h"
#include "proto/codec.h"
#include "proto/limits.h"
#include "proto/names.h"
#include "util/text.h"
#include "util/units.h"

namespace ftx::server {
namespace {

using proto::ErrorCode;
using proto::ProtocolError;
using Clock = std::chrono::steady_clock;

constexpr size_t kBufferSize = 1 << 20;
constexpr std::chrono::milliseconds kDrainAfterError{1000};

// log_file() stamps the record: a file is logged once, even when the answer after the log
// line fails to send.
bool already_logged(const FileRecord& record) {
  return record.ts != std::chrono::system_clock::time_point{};
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Marks the session as moving file bytes, so a shutdown waits for it.
class TransferGuard {
 public:
  explicit TransferGuard(std::atomic<bool>& flag) : flag_(flag) { flag_ = true; }
  ~TransferGuard() { flag_ = false; }
  TransferGuard(const TransferGuard&) = delete;
  TransferGuard& operator=(const TransferGuard&) = delete;

 private:
  std::atomic<bool>& flag_;
};

}  // namespace

Session::Session(SessionContext ctx, int fd, std::string peer, std::atomic<bool>& in_transfer)
    : ctx_(ctx), fd_(fd), peer_(std::move(peer)), in_transfer_(in_transfer) {}

void Session::handshake(net::Channel& channel) {
  proto::Frame frame = channel.receive();
  auto* hello = std::get_if<proto::Hello>(&frame);
  if (!hello) {
    throw ProtocolError(ErrorCode::BadRequest,
                        std::string("expected HELLO, got ") +
                            std::string(proto::frame_type_name(proto::frame_type(frame))));
  }
  if (hello->version != proto::kProtocolVersion) {
    throw ProtocolError(ErrorCode::UnsupportedVersion,
                        "this server speaks protocol version " +
                            std::to_string(proto::kProtocolVersion) + ", the client " +
                            std::to_string(hello->version));
  }
  client_ = hello->name.empty() ? "anonymous" : hello->name;
  proto::Welcome welcome;
  welcome.digest = ctx_.config.hash;
  welcome.max_payload = proto::kMaxPayload;
  welcome.max_message = proto::kMaxMessage;
  welcome.max_file_size = ctx_.config.max_size;
  welcome.name = client_;
  channel.send(welcome);
  ctx_.console.print(peer_ + " is " + printable(client_));
}

void Session::log_file(FileRecord& record, Clock::time_point started) {
  record.ts = std::chrono::system_clock::now();
  record.seconds = seconds_since(started);
  ctx_.log.write(file_event(record));
  const std::string name = printable(record.name);
  if (record.error) {
    ctx_.console.print(peer_ + " " + name + ": " + std::string(proto::error_code_name(*record.error)) +
                       ": " + printable(record.error_message));
  } else {
    ctx_.console.print(peer_ + " saved " + printable(record.path) + " (" +
                       format_bytes(record.bytes) + ", " +
                       format_rate(record.bytes, record.seconds) + ")");
  }
}

void Session::refuse_file(net::Channel& channel, FileRecord& record, Clock::time_point started,
                          ErrorCode code, const std::string& message) {
  record.error = code;
  record.error_message = message;
  // Log before answering: when the sender hears the verdict, the log already has it.
  log_file(record, started);
  channel.send(proto::Error{code, message});
}

void Session::receive_file(net::Channel& channel, const proto::FileBegin& begin) {
  const auto started = Clock::now();
  FileRecord record;
  record.peer = peer_;
  record.client = client_;
  record.name = begin.name;
  TransferGuard busy(in_transfer_);

  // Refusals before READY leave the stream in step: the sender skips this file only.
  std::optional<PartialFile> partial;
  if (begin.flags & proto::kFlagStream) {
    refuse_file(channel, record, started, ErrorCode::BadRequest, "this server does not accept streams of unknown size");
  } else if (auto why = proto::check_name(begin.name)) {
    refuse_file(channel, record, started, ErrorCode::NameRefused, *why);
  } else if (ctx_.config.max_size != 0 && begin.size > ctx_.config.max_size) {
    refuse_file(channel, record, started, ErrorCode::TooLarge,
                "the file has " + std::to_string(begin.size) + " bytes; this server takes at most " +
                    std::to_string(ctx_.config.max_size));
  } else {
    try {
      partial.emplace(ctx_.inbox.begin(begin.size));
    } catch (const ProtocolError& e) {
      refuse_file(channel, record, started, e.code(), e.what());
    }
  }
  if (!partial) return;

  try {
    channel.send(proto::Ready{0});
    digest::Hasher hasher(ctx_.config.hash);
    uint64_t remaining = begin.size;
    while (remaining > 0) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(remaining, buffer_.size()));
      const size_t n = channel.read_raw(std::span(buffer_.data(), want));
      if (n == 0) {
        throw net::ConnectionClosed("connection closed after " +
                                    std::to_string(begin.size - remaining) + " of " +
                                    std::to_string(begin.size) + " bytes");
      }
      const std::span<const uint8_t> chunk(buffer_.data(), n);
      hasher.update(chunk);
      partial->write(chunk);
      remaining -= n;
    }
    record.bytes = begin.size;
    const std::string digest = hasher.finish();
    record.digest = digest::labelled(ctx_.config.hash, digest);

    proto::Frame frame = channel.receive();
    auto* end = std::get_if<proto::FileEnd>(&frame);
    if (!end) {
      throw ProtocolError(ErrorCode::BadRequest,
                          "expected FILE_END after " + std::to_string(begin.size) +
                              " bytes of file data, got " +
                              std::string(proto::frame_type_name(proto::frame_type(frame))) +
                              " (more bytes than declared?)");
    }
    if (end->algo != ctx_.config.hash || end->digest != digest) {
      // Remove the partial before answering: once the sender hears the verdict, nothing of
      // this file may remain. The stream is still in step, so only this file fails.
      partial.reset();
      refuse_file(channel, record, started, ErrorCode::Integrity,
                  "digest mismatch: the server computed " + record.digest + ", the sender " +
                      digest::labelled(end->algo, end->digest) + "; nothing was saved");
      return;
    }
    try {
      record.path = ctx_.inbox.commit(*partial, begin.name, ctx_.config.overwrite, begin.mode,
                                      begin.mtime_ns);
    } catch (const ProtocolError& e) {
      partial.reset();
      refuse_file(channel, record, started, e.code(), e.what());
      return;
    }
    ++files_;
    bytes_ += record.bytes;
    log_file(record, started);
    channel.send(proto::Saved{record.path, record.bytes, ctx_.config.hash, digest});
  } catch (const ProtocolError& e) {
    if (!already_logged(record)) {
      record.error = e.code();
      record.error_message = e.what();
      log_file(record, started);
    }
    throw;
  } catch (const net::ConnectionClosed& e) {
    if (!already_logged(record)) {
      record.error = ErrorCode::BadRequest;  // the client broke off its own upload
      record.error_message = e.what();
      log_file(record, started);
    }
    throw;
  } catch (const std::system_error& e) {
    if (!already_logged(record)) {
      record.error = e.code() == std::errc::timed_out ? ErrorCode::Timeout : ErrorCode::Internal;
      record.error_message = e.what();
      log_file(record, started);
    }
    throw;
  } catch (const std::exception& e) {
    if (!already_logged(record)) {
      record.error = ErrorCode::Internal;
      record.error_message = e.what();
      log_file(record, started);
    }
    throw;
  }
}

void Session::run(std::stop_token stop) {
  const auto started = Clock::now();
  ctx_.log.write(connect_event(std::chrono::system_clock::now(), peer_));
  ctx_.console.print(peer_ + " connected");
  std::optional<ErrorCode> error;
  std::string error_message;
  bool send_error = false;
  try {
    buffer_.resize(kBufferSize);
    net::set_io_timeout(fd_, ctx_.config.idle_timeout);
    net::Channel channel(fd_, peer_);
    try {
      handshake(channel);
      while (!stop.stop_requested()) {
        proto::Frame frame = channel.receive();
        if (auto* begin = std::get_if<proto::FileBegin>(&frame)) {
          receive_file(channel, *begin);
        } else if (std::holds_alternative<proto::Bye>(frame)) {
          channel.send(proto::Bye{});
          break;
        } else if (auto* msg = std::get_if<proto::Msg>(&frame)) {
          ctx_.console.print("<" + printable(client_) + "> " + printable(msg->text));
        } else {
          throw ProtocolError(ErrorCode::BadRequest,
                              std::string("unexpected ") +
                                  std::string(proto::frame_type_name(proto::frame_type(frame))) +
                                  " from a client");
        }
      }
    } catch (const ProtocolError& e) {
      error = e.code();
      error_message = e.what();
      send_error = true;
    }
    if (send_error) {
      // Best effort: the peer may already be gone.
      try {
        channel.send(proto::Error{*error, error_message});
      } catch (const std::exception&) {
      }
    }
  } catch (const net::ConnectionClosed&) {
    // A client leaving without BYE is ordinary.
  } catch (const std::system_error& e) {
    const bool timeout = e.code() == std::errc::timed_out;
    error = timeout ? ErrorCode::Timeout : ErrorCode::Internal;
    error_message = e.what();
    if (timeout) {
      const std::vector<uint8_t> frame =
          proto::encode_frame(proto::Error{ErrorCode::Timeout, "idle for too long"});
      ::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      send_error = true;
    }
  } catch (const std::exception& e) {
    error = ErrorCode::Internal;
    error_message = e.what();
  }
  if (send_error) {
    net::drain_and_shutdown(fd_, kDrainAfterError);
  } else {
    ::shutdown(fd_, SHUT_RDWR);
  }
  const double secs = seconds_since(started);
  ctx_.log.write(disconnect_event(std::chrono::system_clock::now(), peer_, client_, files_, bytes_,
                                  secs, error, error_message));
  std::string line = peer_ + " disconnected (" + std::to_string(files_) + " files, " +
                     format_bytes(bytes_) + ")";
  if (error) {
    line += ": " + std::string(proto::error_code_name(*error)) + ": " + printable(error_message);
  }
  ctx_.console.print(line);
}

}  // namespace ftx::server
