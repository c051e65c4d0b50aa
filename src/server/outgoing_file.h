// SPDX-License-Identifier: MIT
// One file leaving the shelf for a client, whichever protocol carries it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/stream.h"
#include "server/session_context.h"
#include "server/shelf.h"

namespace ftx::server {

/// Opens a shelf file, sends it with sendfile(2) (the page cache serves many receivers of
/// one file with one read from disk) and writes exactly one `get` line in the log.
class OutgoingFile {
 public:
  /// Opens `name` on the shelf. Throws proto::ProtocolError (not_shared without --share,
  /// not_found, name_refused...), logged.
  OutgoingFile(const SessionContext& ctx, std::string peer, std::string client, std::string_view name);
  /// A file that was not sent whole is logged as failed.
  ~OutgoingFile();
  OutgoingFile(const OutgoingFile&) = delete;
  OutgoingFile& operator=(const OutgoingFile&) = delete;

  /// What is sent: name, size, mode, mtime and the digest of the whole file.
  const ShelfEntry& entry() const { return file_->entry; }

  /// Sends bytes [offset, size) to the stream, then logs the fetch. Throws what the stream
  /// throws (the failure is logged first).
  void send(net::Stream& stream, uint64_t offset = 0);

 private:
  void log(std::optional<proto::ErrorCode> error, const std::string& message);

  const SessionContext& ctx_;
  FileRecord record_;
  std::optional<Shelf::OpenFile> file_;
  std::chrono::steady_clock::time_point started_;
  bool logged_ = false;
};

}  // namespace ftx::server
