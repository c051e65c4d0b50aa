// SPDX-License-Identifier: MIT
// One upload on its way into the inbox, whichever protocol carries it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "digest/digest.h"
#include "proto/errors.h"
#include "server/session_context.h"

namespace ftx::server {

/// The steps every upload takes: checks, partial file, hashing as bytes arrive, commit, and
/// exactly one `file` line in the log (written before the client hears the verdict).
class IncomingFile {
 public:
  IncomingFile(const SessionContext& ctx, std::string peer, std::string client, std::string name,
               uint64_t size, uint32_t mode = 0644, int64_t mtime_ns = 0);
  /// A file that never reached a verdict is logged as failed with what stopped it.
  ~IncomingFile();
  IncomingFile(const IncomingFile&) = delete;
  IncomingFile& operator=(const IncomingFile&) = delete;

  /// Checks name and size and creates the partial, or with a transfer id resumes the one a
  /// broken attempt left (same id, name, size and mtime). Returns the offset the sender
  /// starts from. Throws proto::ProtocolError (name_refused, too_large, no_space,
  /// bad_request for a malformed id); the refusal is logged.
  /// A plain partial is created in `lane` (see Inbox::Lane).
  uint64_t start(std::string_view transfer_id = {}, Inbox::Lane lane = Inbox::Lane::Partial);

  /// Reads the rest of the file, size - offset bytes, through read (which returns 0 when
  /// the peer closed), hashing and writing them; a resumed prefix is hashed from the disk.
  /// Throws on a closed connection, a full disk or a timeout; an interrupted resumable
  /// upload keeps its partial for the next attempt.
  void receive(const std::function<size_t(std::span<uint8_t>)>& read, std::span<uint8_t> buffer);

  /// A stream of unknown size: chunks (u32 big-endian length, bytes) through read_exact
  /// until a chunk of length 0; --max-size and the disk are checked as the bytes come.
  /// Throws like receive().
  void receive_chunked(const std::function<void(std::span<uint8_t>)>& read_exact, std::span<uint8_t> buffer);

  /// Version 3 and text mode: content equal to the file already at the name is not saved
  /// again (publish() and commit() keep that file and log the upload as unchanged).
  void detect_unchanged() { detect_unchanged_ = true; }

  /// The file at the name, when it has the announced size and mtime (and its digest is known
  /// or can be had within the inbox's bounds): what the sender may be offered instead of
  /// sending. nullopt for a name or size start() would refuse. Logs nothing.
  std::optional<Inbox::Existing> offer() const;

  /// The sender's digest matched the offer: the upload ends as unchanged, logged; returns
  /// the path on the server.
  std::string keep_existing(const Inbox::Existing& existing);

  /// True once the upload ended as unchanged (publish()'s path is the existing file's).
  bool unchanged() const { return record_.unchanged; }

  /// Raw digest of the bytes received.
  const std::string& digest() const { return digest_; }
  /// "ALGO:HEX" of the bytes received.
  std::string labelled_digest() const;

  /// Commits the file and logs it; returns the path as saved (with detect_unchanged(), the
  /// path of an equal file already there, and nothing is written). Throws proto::ProtocolError
  /// (exists, name_refused, no_space), logged.
  std::string commit();

  /// commit() in two steps, for a batch made durable by Inbox::sync() (see Inbox::seal).
  /// seal() closes the file's descriptor.
  void seal();
  std::string publish(bool synced);

  /// Drops the partial (resumable or not) and logs the failure.
  void fail(proto::ErrorCode code, const std::string& message);

  /// Logs the failure; a resumable partial stays for the sender's next attempt, and the
  /// log's `bytes` is what it holds (0 when nothing is kept).
  void interrupted(proto::ErrorCode code, const std::string& message);

  /// The name as the sender sent it.
  const std::string& name() const { return record_.name; }

  /// The file's size: as announced, or for a stream as received.
  uint64_t size() const { return size_; }

 private:
  void log();
  /// Logs the failure, unless the file was logged already.
  void log_failure(proto::ErrorCode code, const std::string& message);
  /// Called in a catch block while receiving: logs why the data stopped, keeping a
  /// resumable partial when the connection (not the server) failed, and rethrows.
  [[noreturn]] void stopped_receiving(bool resumable);
  /// Runs step, turning its failures into a logged failure (and a ProtocolError).
  template <typename Step>
  auto committing(Step step);

  const SessionContext& ctx_;
  FileRecord record_;
  uint64_t size_;
  uint32_t mode_;
  int64_t mtime_ns_;
  std::chrono::steady_clock::time_point started_;
  std::optional<PartialFile> partial_;
  std::string digest_;
  bool logged_ = false;
  bool detect_unchanged_ = false;
};

}  // namespace ftx::server
