// SPDX-License-Identifier: MIT
// One file leaving the shelf.
#include "server/outgoing_file.h"

#include "proto/errors.h"
#include "util/text.h"
#include "util/units.h"

namespace ftx::server {

using proto::ErrorCode;
using proto::ProtocolError;

OutgoingFile::OutgoingFile(const SessionContext& ctx, std::string peer, std::string client,
                           std::string_view name)
    : ctx_(ctx), started_(std::chrono::steady_clock::now()) {
  record_.peer = std::move(peer);
  record_.client = std::move(client);
  record_.name = std::string(name);
  try {
    if (!ctx_.shelf) {
      throw ProtocolError(ErrorCode::NotShared,
                          "this server shares no files (the operator can start it with ftx serve --share)");
    }
    file_.emplace(ctx_.shelf->open(name));
  } catch (const ProtocolError& e) {
    log(e.code(), e.what());
    throw;
  } catch (const std::exception& e) {
    log(ErrorCode::Internal, e.what());
    throw ProtocolError(ErrorCode::Internal, e.what());
  }
  record_.name = file_->entry.name;
  record_.digest = file_->entry.digest;
}

OutgoingFile::~OutgoingFile() {
  if (!logged_) log(ErrorCode::Interrupted, "the file was not sent");
}

void OutgoingFile::send(net::Stream& stream, uint64_t offset) {
  const uint64_t size = file_->entry.size;
  record_.resumed_from = offset;
  try {
    if (offset < size) stream.send_file(file_->fd.get(), offset, size - offset, [](uint64_t) {});
  } catch (const std::system_error& e) {
    log(e.code() == std::errc::timed_out ? ErrorCode::Timeout : ErrorCode::Interrupted, e.what());
    throw;
  } catch (const std::exception& e) {
    // The file shrank under us: the client's digest check would fail anyway.
    log(ErrorCode::Internal, e.what());
    throw;
  }
  record_.bytes = size;
  log(std::nullopt, "");
}

void OutgoingFile::log(std::optional<ErrorCode> error, const std::string& message) {
  logged_ = true;
  record_.ts = std::chrono::system_clock::now();
  record_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  record_.error = error;
  record_.error_message = message;
  ctx_.log.write(get_event(record_));
  const std::string who = record_.peer + " ";
  if (error) {
    ctx_.console.print(who + "get " + printable(record_.name) + ": " +
                       std::string(proto::error_code_name(*error)) + ": " + printable(message));
  } else {
    std::string line = who + "fetched " + printable(record_.name) + " (" + format_bytes(record_.bytes) +
                       ", " + format_rate(record_.bytes - record_.resumed_from, record_.seconds);
    if (record_.resumed_from > 0) line += ", resumed after " + format_bytes(record_.resumed_from);
    ctx_.console.print(line + ")");
  }
}

}  // namespace ftx::server
