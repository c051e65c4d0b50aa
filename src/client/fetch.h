// SPDX-License-Identifier: MIT
// `ftx get` and `ftx ls`: files from a server's shelf (ftx serve --share), verified end to
// end, written atomically, resumed after a broken connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "client/link.h"
#include "net/address.h"
#include "proto/errors.h"
#include "proto/frames.h"

namespace ftx::client {

struct FetchOptions {
  net::HostPort server;
  std::vector<std::string> names;  ///< as on the server
  std::filesystem::path out_dir = ".";
  bool to_stdout = false;  ///< -o -: one name, its bytes to stdout
  bool replace = false;    ///< --overwrite replace: a different local file is replaced
  std::string client_name;
  std::string token;
  TlsOptions tls;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds io_timeout{60000};
  int retries = 3;
};

enum class FetchStatus {
  Fetched,     ///< written and verified
  Unchanged,   ///< the local file already had this content
  Refused,     ///< the server answered ERROR, or sent what was not asked for, or failed the digest
  LocalError,  ///< the local file could not be written, or a different one is in the way
  NotFetched,  ///< the connection failed before or during this file
};

struct FetchOutcome {
  std::string name;  ///< as asked
  std::string path;  ///< where it was written locally ("-" for stdout)
  uint64_t bytes = 0;
  uint64_t resumed_from = 0;
  std::string digest;  ///< "ALGO:HEX" as verified
  double seconds = 0;
  FetchStatus status = FetchStatus::NotFetched;
  std::optional<proto::ErrorCode> code;
  std::string error;
};

class FetchObserver {
 public:
  virtual ~FetchObserver() = default;
  virtual void file_started(const std::string& /*name*/, uint64_t /*size*/) {}
  virtual void file_resumed(uint64_t /*offset*/) {}
  virtual void file_progress(uint64_t /*done*/) {}
  virtual void file_done(const FetchOutcome& /*outcome*/) {}
  virtual void retrying(const std::string& /*why*/, int /*attempt*/, int /*of*/,
                        std::chrono::milliseconds /*delay*/) {}
  /// The job ends without a connection (FetchReport::connection_error, the key warning
  /// included): said before the names it left unfetched are reported.
  virtual void connection_failed(const std::string& /*why*/) {}
};

struct FetchReport : ConnectionOutcome {
  std::vector<FetchOutcome> files;
};

/// Fetches every name in order. Never throws for network or file problems: they are in
/// the report.
FetchReport fetch_files(const FetchOptions& options, FetchObserver& observer);

/// The entries of a shelf directory ("" for the top) or one file. Throws ConnectionLost
/// (with the server's code when it refused: not_found, not_shared...), or
/// proto::ProtocolError when the server sent what was not asked for. takes_uploads, when
/// given, says whether uploads land on the shelf (ftx serve --share, not --share=PATH).
std::vector<proto::FileEntry> list_files(const FetchOptions& options, const std::string& path,
                                         bool* takes_uploads = nullptr);

/// The name of the partial a fetch of a file with this raw digest writes beside `leaf`:
/// hidden, and tied to the content, so a resume never mixes two versions. Pure.
std::string partial_name(const std::string& leaf, const std::string& raw_digest);

}  // namespace ftx::client
