// SPDX-License-Identifier: MIT
// One upload on its way into the inbox.
#include "server/incoming_file.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "net/socket.h"
#include "proto/codec.h"
#include "proto/limits.h"
#include "proto/names.h"
#include "server/failure.h"
#include "server/write_behind.h"
#include "util/text.h"
#include "util/units.h"

namespace ftx::server {

using proto::ErrorCode;
using proto::ProtocolError;

namespace {
// Below this a write-behind thread costs about what it saves.
constexpr uint64_t kWriteBehindFrom = 8 << 20;

// File data must keep coming at this rate at least, judged over each --idle-timeout
// window of waiting for it: every byte resets the socket's own timeout, so without a floor
// a peer sending a byte now and then would hold its transfer (and its slot) for ever.
constexpr uint64_t kFloorBytesPerSecond = 1024;

// Watches one upload's data against the floor. Only the time spent waiting for the peer
// counts: a slow disk or hash of ours is not the peer's fault.
class RateFloor {
 public:
  RateFloor(std::chrono::milliseconds window, std::optional<uint64_t> remaining) : window_(window) {
    rearm(remaining);
  }

  // Before each read from the peer.
  void reading() { read_started_ = std::chrono::steady_clock::now(); }

  // After it: n bytes arrived (remaining: what is still to come, when known). Throws a
  // timeout when a window of waiting moved less than it had to.
  void moved(size_t n, std::optional<uint64_t> remaining) {
    bytes_ += n;
    waited_ += std::chrono::steady_clock::now() - read_started_;
    if (waited_ < window_) return;
    if (bytes_ < needed_) {
      throw std::system_error(
          std::make_error_code(std::errc::timed_out),
          "file data arrived too slowly: " + std::to_string(bytes_) + " bytes in " +
              std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(waited_).count()) +
              " ms, under the floor of " + std::to_string(kFloorBytesPerSecond) + " bytes/s");
    }
    rearm(remaining);
  }

 private:
  void rearm(std::optional<uint64_t> remaining) {
    bytes_ = 0;
    waited_ = {};
    // A file's last window needs only what is left of it.
    needed_ = kFloorBytesPerSecond * static_cast<uint64_t>(window_.count()) / 1000;
    if (remaining) needed_ = std::min(needed_, *remaining);
  }

  std::chrono::milliseconds window_;
  std::chrono::steady_clock::time_point read_started_;
  std::chrono::steady_clock::duration waited_{};
  uint64_t bytes_ = 0;
  uint64_t needed_ = 0;
};

}  // namespace

IncomingFile::IncomingFile(const SessionContext& ctx, std::string peer, std::string client, std::string name,
                           uint64_t size, uint32_t mode, int64_t mtime_ns)
    : ctx_(ctx), size_(size), mode_(mode), mtime_ns_(mtime_ns), started_(std::chrono::steady_clock::now()) {
  record_.peer = std::move(peer);
  record_.client = std::move(client);
  record_.name = std::move(name);
}

IncomingFile::~IncomingFile() {
  if (logged_) return;
  interrupted(ErrorCode::Interrupted,
              std::uncaught_exceptions() > 0 ? "transfer interrupted" : "transfer abandoned");
}

uint64_t IncomingFile::start(std::string_view transfer_id, Inbox::Lane lane) {
  std::optional<ProtocolError> refusal;
  std::optional<std::string> bad_id;
  if (!transfer_id.empty()) bad_id = check_transfer_id(transfer_id);
  if (auto why = proto::check_name(record_.name)) {
    refusal.emplace(ErrorCode::NameRefused, *why);
  } else if (ctx_.config.max_size != 0 && size_ > ctx_.config.max_size) {
    refusal.emplace(ErrorCode::TooLarge, "the file has " + std::to_string(size_) +
                                             " bytes; this server takes at most " +
                                             std::to_string(ctx_.config.max_size));
  } else if (bad_id) {
    refusal.emplace(ErrorCode::BadRequest, *bad_id);
  } else {
    try {
      if (transfer_id.empty()) {
        partial_.emplace(ctx_.inbox.begin(size_, lane));
      } else {
        partial_.emplace(ctx_.inbox.begin_resumable(
            ResumeKey{std::string(transfer_id), record_.name, size_, mtime_ns_}, address_of(record_.peer)));
      }
    } catch (const ProtocolError& e) {
      refusal.emplace(e);
    }
  }
  if (refusal) {
    fail(refusal->code(), refusal->what());
    throw *refusal;
  }
  record_.resumed_from = partial_->resumed_from();
  return record_.resumed_from;
}

void IncomingFile::receive(const std::function<size_t(std::span<uint8_t>)>& read, std::span<uint8_t> buffer) {
  try {
    digest::Hasher hasher(ctx_.config.hash);
    // The final digest covers the whole file, so the sender can check the prefix it did
    // not send this time.
    try {
      digest::feed_file(hasher, partial_->fd(), partial_->resumed_from());
    } catch (const std::exception& e) {
      // Said so the sender does not take it for its own file.
      throw std::runtime_error(std::string("reading the kept partial to resume it: ") + e.what());
    }
    uint64_t remaining = size_ - partial_->resumed_from();
    WriteBehind out(*partial_, hasher, buffer, remaining >= kWriteBehindFrom);
    RateFloor floor(ctx_.config.idle_timeout, remaining);
    while (remaining > 0) {
      const auto slot = out.slot();
      floor.reading();
      const size_t n = read(slot.first(static_cast<size_t>(std::min<uint64_t>(remaining, slot.size()))));
      if (n == 0) {
        throw net::ConnectionClosed("connection closed after " + std::to_string(size_ - remaining) + " of " +
                                    std::to_string(size_) + " bytes");
      }
      out.submit(n);
      remaining -= n;
      floor.moved(n, remaining);
    }
    out.finish();
    digest_ = hasher.finish();
    record_.bytes = size_;
    record_.digest = labelled_digest();
  } catch (...) {
    stopped_receiving(/*resumable=*/true);
  }
}

void IncomingFile::receive_chunked(const std::function<void(std::span<uint8_t>)>& read_exact,
                                   std::span<uint8_t> buffer) {
  try {
    digest::Hasher hasher(ctx_.config.hash);
    // A stream's size is unknown until its end and it is most often large (an archive, a
    // disk image), so it is written behind; a small one pays one thread start.
    WriteBehind out(*partial_, hasher, buffer, /*threaded=*/true);
    // Chunks are as large as the sender's reads (64 KiB from a pipe): they are packed into
    // whole slots, so the writer is handed a slot at a time, not a chunk at a time.
    std::span<uint8_t> slot;
    size_t used = 0;
    uint64_t total = 0;
    RateFloor floor(ctx_.config.idle_timeout, std::nullopt);
    while (true) {
      std::array<uint8_t, 4> header;
      floor.reading();
      read_exact(header);
      floor.moved(0, std::nullopt);
      const uint32_t length = proto::decode_chunk_header(header);
      if (length == 0) break;
      total += length;
      if (ctx_.config.max_size != 0 && total > ctx_.config.max_size) {
        throw ProtocolError(ErrorCode::TooLarge, "the stream passed " + std::to_string(ctx_.config.max_size) +
                                                     " bytes, the most this server takes");
      }
      for (uint32_t left = length; left > 0;) {
        if (used == slot.size()) {
          out.submit(used);
          slot = out.slot();
          used = 0;
        }
        const auto part = slot.subspan(used, std::min<size_t>(left, slot.size() - used));
        floor.reading();
        read_exact(part);
        used += part.size();
        left -= static_cast<uint32_t>(part.size());
        floor.moved(part.size(), std::nullopt);
      }
    }
    out.submit(used);
    out.finish();
    size_ = total;
    digest_ = hasher.finish();
    record_.bytes = size_;
    record_.digest = labelled_digest();
  } catch (...) {
    stopped_receiving(/*resumable=*/false);  // a stream cannot be read twice
  }
}

void IncomingFile::stopped_receiving(bool resumable) {
  try {
    throw;
  } catch (const ProtocolError& e) {
    fail(e.code(), e.what());
    throw;
  } catch (const net::ConnectionClosed& e) {
    // The client broke off its own upload.
    resumable ? interrupted(ErrorCode::Interrupted, e.what()) : fail(ErrorCode::Interrupted, e.what());
    throw;
  } catch (const std::system_error& e) {
    // A dropped connection (reset, timed out) keeps the bytes for a resume; a failure of
    // ours (the disk) does not.
    const bool timed_out = e.code() == std::errc::timed_out;
    const bool dropped = timed_out || is_reset(e);
    const ErrorCode code = timed_out ? ErrorCode::Timeout
                           : dropped ? ErrorCode::Interrupted
                                     : ErrorCode::Internal;
    resumable&& dropped ? interrupted(code, e.what()) : fail(code, e.what());
    throw;
  } catch (const std::exception& e) {
    fail(ErrorCode::Internal, e.what());  // a resumed partial that shrank under us
    throw;
  }
}

std::string IncomingFile::labelled_digest() const { return digest::labelled(ctx_.config.hash, digest_); }

template <typename Step>
auto IncomingFile::committing(Step step) {
  try {
    return step();
  } catch (const ProtocolError& e) {
    fail(e.code(), e.what());
    throw;
  } catch (const std::exception& e) {
    fail(ErrorCode::Internal, e.what());
    throw ProtocolError(ErrorCode::Internal, e.what());
  }
}

std::optional<Inbox::Existing> IncomingFile::offer() const {
  if (proto::check_name(record_.name)) return std::nullopt;
  if (ctx_.config.max_size != 0 && size_ > ctx_.config.max_size) return std::nullopt;
  return ctx_.inbox.existing(record_.name, size_, mtime_ns_ != 0 ? std::optional(mtime_ns_) : std::nullopt,
                             ctx_.config.hash);
}

std::string IncomingFile::keep_existing(const Inbox::Existing& existing) {
  digest_ = existing.digest;
  record_.bytes = size_;
  record_.not_sent = size_;
  record_.digest = labelled_digest();
  record_.path = existing.path;
  record_.unchanged = true;
  log();
  return record_.path;
}

std::string IncomingFile::commit() {
  committing([this] { ctx_.inbox.seal(*partial_, mode_, mtime_ns_); });
  return publish(/*synced=*/false);
}

void IncomingFile::seal() {
  committing([this] { ctx_.inbox.seal(*partial_, mode_, mtime_ns_); });
  partial_->close();
}

std::string IncomingFile::publish(bool synced) {
  // Compared after arrival: the bytes are here already, so hashing the file of the same
  // size there costs no more than receiving did.
  std::optional<Inbox::Existing> there;
  const auto same_file_there = [this, &there] {
    there = ctx_.inbox.existing(record_.name, size_, std::nullopt, ctx_.config.hash, Inbox::Look::Arrived);
    return there && there->digest == digest_;
  };
  const auto kept_there = [this, &there] {
    partial_->discard();
    partial_.reset();
    record_.path = there->path;
    record_.unchanged = true;
    log();
    return record_.path;
  };
  // Before an fsync of its own (a large file's), looked at first; in a batch, whose data is
  // durable already, only when the rename finds the name taken.
  if (detect_unchanged_ && !synced && same_file_there()) return kept_there();
  std::optional<std::string> path = committing([&] {
    return ctx_.inbox.publish(*partial_, record_.name, ctx_.config.overwrite, synced,
                              detect_unchanged_ && synced ? std::function<bool()>(same_file_there) : nullptr);
  });
  if (!path) return kept_there();
  record_.path = std::move(*path);
  if (ctx_.shelf)
    ctx_.shelf->committed(record_.path, partial_->published_as(), record_.digest, record_.client);
  // A later sender of the same file is offered it without the file being read again.
  ctx_.inbox.remember_digest(partial_->published_as(), ctx_.config.hash, digest_);
  partial_.reset();
  log();
  return record_.path;
}

void IncomingFile::fail(ErrorCode code, const std::string& message) {
  // Nothing of a failed file may remain once its sender hears the verdict.
  if (partial_) partial_->discard();
  partial_.reset();
  log_failure(code, message);
}

void IncomingFile::interrupted(ErrorCode code, const std::string& message) {
  // A resumable partial stays for the sender's next attempt; the log says what it holds
  // (a plain one goes with the connection: nothing is kept).
  const uint64_t kept = partial_ && partial_->resumable() ? partial_->size() : 0;
  partial_.reset();
  if (!logged_) record_.bytes = kept;
  log_failure(code, message);
}

void IncomingFile::log_failure(ErrorCode code, const std::string& message) {
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
  if (ctx_.console.quiet()) return;  // a line per small file is worth not building for nobody
  const std::string who = record_.peer + " ";
  if (record_.error) {
    ctx_.console.print(who + printable(record_.name) + ": " +
                       std::string(proto::error_code_name(*record_.error)) + ": " +
                       printable(record_.error_message));
  } else if (record_.unchanged) {
    ctx_.console.print(who + "unchanged " + printable(record_.path) + " (" + format_bytes(record_.bytes) +
                       ", already there; nothing written)");
  } else {
    std::string line = who + "saved " + printable(record_.path) + " (" + format_bytes(record_.bytes) + ", " +
                       format_rate(record_.bytes - record_.resumed_from, record_.seconds);
    if (record_.resumed_from > 0) line += ", resumed after " + format_bytes(record_.resumed_from);
    ctx_.console.print(line + ")");
  }
}

}  // namespace ftx::server
