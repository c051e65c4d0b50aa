// SPDX-License-Identifier: MIT
// `ftx send`: uploads files, trees and stdin over one connection and verifies each end to
// end, resuming and retrying after a broken connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/link.h"
#include "net/address.h"
#include "proto/errors.h"

namespace ftx::client {

struct SendOptions {
  net::HostPort server;
  std::vector<std::string> paths;      ///< files, directories, or "-" for stdin
  std::optional<std::string> as_name;  ///< name for a single path on the server
  std::string client_name;             ///< sent in HELLO; part of every transfer id
  std::string token;                   ///< the server's --token, when it has one
  TlsOptions tls;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds io_timeout{60000};
  /// Reconnections after the connection fails mid-job; each resumes where it stopped.
  int retries = 3;
  bool follow_symlinks = false;
};

enum class FileStatus {
  Saved,       ///< saved and verified
  Unchanged,   ///< the same content was already on the server there (saved_as): nothing written
  Refused,     ///< the server answered ERROR for this file
  Unreadable,  ///< the local file could not be read or is not a regular file
  NotSent,     ///< the connection failed before or during this file
};

struct FileOutcome {
  std::string path;      ///< local path
  std::string name;      ///< name sent
  std::string saved_as;  ///< name on the server
  bool directory = false;
  bool in_tree = false;  ///< found inside a directory given on the command line
  uint64_t bytes = 0;
  uint64_t resumed_from = 0;  ///< bytes the server already had from a broken attempt
  std::string digest;         ///< "ALGO:HEX" computed locally
  double seconds = 0;
  FileStatus status = FileStatus::NotSent;
  std::optional<proto::ErrorCode> code;  ///< the server's error code, when it gave one
  std::string error;                     ///< what went wrong, without the code (see explain())
  /// Its size or modification time moved while it was sent: saved, the server has it as
  /// it was read (a file that grew: its first `bytes`); refused, it failed its digest.
  bool changed = false;
};

/// Hooks for what the user sees; the default does nothing.
class SendObserver {
 public:
  virtual ~SendObserver() = default;
  virtual void warning(const std::string& /*text*/) {}
  virtual void job_started(size_t /*files*/, uint64_t /*bytes*/) {}
  virtual void file_started(const std::string& /*name*/, uint64_t /*size*/) {}
  /// The current file's upload (re)starts at `offset`: the server already has the bytes
  /// before it (a resume), so they were not sent now.
  virtual void file_resumed(uint64_t /*offset*/) {}
  /// `done` bytes of the current file are sent, the resumed offset included.
  virtual void file_progress(uint64_t /*done*/) {}
  virtual void file_done(const FileOutcome& /*outcome*/) {}
  virtual void retrying(const std::string& /*why*/, int /*attempt*/, int /*of*/,
                        std::chrono::milliseconds /*delay*/) {}
  /// The job ends without a connection (SendReport::connection_error, the key warning
  /// included): said before the files it left unsent are reported.
  virtual void connection_failed(const std::string& /*why*/) {}
};

struct SendReport : ConnectionOutcome {
  std::vector<FileOutcome> files;
};

/// Sends every path in order. Never throws for network or file problems: they are in the
/// report.
SendReport send_files(const SendOptions& options, SendObserver& observer);

/// The id a resumable upload is known by on the server: XXH3-128 hex of the client name,
/// the source's absolute path and the name sent, so two senders of one name never share
/// a partial. Pure.
std::string transfer_id(const std::string& client_name, const std::string& absolute_path,
                        const std::string& name);

}  // namespace ftx::client
