// SPDX-License-Identifier: MIT
// One upload on its way into the inbox.
#include "server/incoming_file.h"

#include <exception>

#include "net/socket.h"
#include "proto/names.h"
#include "util/text.h"
#include "util/units.h"

namespace ftx::server {

using proto::ErrorCode;
using proto::ProtocolError;

IncomingFile::IncomingFile(const SessionContext& ctx, std::string peer, std::string client,
                           std::string name, uint64_t size, uint32_t mode, int64_t mtime_ns)
    : ctx_(ctx), size_(size), mode_(mode), mtime_ns_(mtime_ns), started_(std::chrono::steady_clock::now()) {
  record_.peer = std::move(peer);
  record_.client = std::move(client);
  record_.name = std::move(name);
}

IncomingFile::~IncomingFile() {
  if (logged_) return;
  partial_.reset();
  record_.error = ErrorCode::BadRequest;
  record_.error_message = std::uncaught_exceptions() > 0 ? "transfer interrupted" : "transfer abandoned";
  log();
}

void IncomingFile::start() {
  std::optional<ProtocolError> refusal;
  if (auto why = proto::check_name(record_.name)) {
    refusal.emplace(ErrorCode::NameRefused, *why);
  } else if (ctx_.config.max_size != 0 && size_ > ctx_.config.max_size) {
    refusal.emplace(ErrorCode::TooLarge, "the file has " + std::to_string(size_) +
                                             " bytes; this server takes at most " +
                                             std::to_string(ctx_.config.max_size));
  } else {
    try {
      partial_.emplace(ctx_.inbox.begin(size_));
    } catch (const ProtocolError& e) {
      refusal.emplace(e);
    }
  }
  if (refusal) {
    fail(refusal->code(), refusal->what());
    throw *refusal;
  }
}

void IncomingFile::receive(const std::function<size_t(std::span<uint8_t>)>& read,
                           std::span<uint8_t> buffer) {
  try {
    digest::Hasher hasher(ctx_.config.hash);
    uint64_t remaining = size_;
    while (remaining > 0) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(remaining, buffer.size()));
      const size_t n = read(buffer.first(want));
      if (n == 0) {
        throw net::ConnectionClosed("connection closed after " + std::to_string(size_ - remaining) +
                                    " of " + std::to_string(size_) + " bytes");
      }
      const std::span<const uint8_t> chunk(buffer.data(), n);
      hasher.update(chunk);
      partial_->write(chunk);
      remaining -= n;
    }
    digest_ = hasher.finish();
    record_.bytes = size_;
    record_.digest = labelled_digest();
  } catch (const ProtocolError& e) {
    fail(e.code(), e.what());
    throw;
  } catch (const net::ConnectionClosed& e) {
    fail(ErrorCode::BadRequest, e.what());  // the client broke off its own upload
    throw;
  } catch (const std::system_error& e) {
    fail(e.code() == std::errc::timed_out ? ErrorCode::Timeout : ErrorCode::Internal, e.what());
    throw;
  }
}

std::string IncomingFile::labelled_digest() const { return digest::labelled(ctx_.config.hash, digest_); }

std::string IncomingFile::commit() {
  try {
    record_.path = ctx_.inbox.commit(*partial_, record_.name, ctx_.config.overwrite, mode_, mtime_ns_);
  } catch (const ProtocolError& e) {
    fail(e.code(), e.what());
    throw;
  } catch (const std::exception& e) {
    fail(ErrorCode::Internal, e.what());
    throw ProtocolError(ErrorCode::Internal, e.what());
  }
  partial_.reset();
  log();
  return record_.path;
}

void IncomingFile::fail(ErrorCode code, const std::string& message) {
  partial_.reset();  // nothing of a failed file may remain once its sender hears the verdict
  if (logged_) return;
  record_.error = code;
  record_.error_message = message;
  log();
}

void IncomingFile::log() {
  logged_ = true;
  record_.ts = std::chrono::system_clock::now();
  record_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  ctx_.log.write(file_event(record_));
  const std::string who = record_.peer + " ";
  if (record_.error) {
    ctx_.console.print(who + printable(record_.name) + ": " +
                       std::string(proto::error_code_name(*record_.error)) + ": " +
                       printable(record_.error_message));
  } else {
    ctx_.console.print(who + "saved " + printable(record_.path) + " (" + format_bytes(record_.bytes) +
                       ", " + format_rate(record_.bytes, record_.seconds) + ")");
  }
}

}  // namespace ftx::server
