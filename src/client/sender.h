// SPDX-License-Identifier: MIT
// `ftx send`: uploads files over one connection and verifies each end to end.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/address.h"
#include "proto/errors.h"

namespace ftx::client {

struct SendOptions {
  net::HostPort server;
  std::vector<std::string> paths;
  std::optional<std::string> as_name;  ///< name for a single file on the server
  std::string client_name;             ///< sent in HELLO
  std::string token;                   ///< the server's --token, when it has one
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds io_timeout{60000};
};

enum class FileStatus {
  Saved,       ///< saved and verified
  Refused,     ///< the server answered ERROR for this file
  Unreadable,  ///< the local file could not be read or is not a regular file
  NotSent,     ///< the connection failed before or during this file
};

struct FileOutcome {
  std::string path;       ///< local path as given
  std::string name;       ///< name sent
  std::string saved_as;   ///< name on the server
  uint64_t bytes = 0;
  std::string digest;     ///< "ALGO:HEX" computed locally
  double seconds = 0;
  FileStatus status = FileStatus::NotSent;
  std::optional<proto::ErrorCode> code;  ///< the server's error code, when it gave one
  std::string error;
};

/// Hooks for what the user sees; the default does nothing.
class SendObserver {
 public:
  virtual ~SendObserver() = default;
  virtual void file_started(const std::string& /*name*/, uint64_t /*size*/) {}
  virtual void file_progress(uint64_t /*done*/) {}
  virtual void file_done(const FileOutcome& /*outcome*/) {}
};

struct SendReport {
  std::vector<FileOutcome> files;
  bool connection_failed = false;
  std::optional<proto::ErrorCode> connection_code;  ///< when the server refused the connection
  std::string connection_error;
};

/// Sends every path in order. Never throws for network or file problems: they are in the
/// report.
SendReport send_files(const SendOptions& options, SendObserver& observer);

}  // namespace ftx::client
