// SPDX-License-Identifier: MIT
// The JSON Lines transfer log: one object per event, one write(2) per line.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "net/unique_fd.h"
#include "proto/errors.h"

namespace ftx::server {

/// What the log says about one file.
struct FileRecord {
  std::chrono::system_clock::time_point ts;
  std::string peer;
  std::string client;
  std::string name;  ///< as sent
  std::string path;  ///< as saved, relative to DIR; empty when not saved
  uint64_t bytes = 0;
  uint64_t resumed_from = 0;  ///< bytes a previous attempt had already delivered
  std::string digest;         ///< "ALGO:HEX"; empty when none
  double seconds = 0;
  std::optional<proto::ErrorCode> error;
  std::string error_message;
};

/// A `file` event object.
nlohmann::ordered_json file_event(const FileRecord& record);

/// A `connect` event object.
nlohmann::ordered_json connect_event(std::chrono::system_clock::time_point ts, const std::string& peer);

/// A `disconnect` event object; error is set when the connection ended on one.
nlohmann::ordered_json disconnect_event(std::chrono::system_clock::time_point ts, const std::string& peer,
                                        const std::string& client, uint64_t files, uint64_t bytes,
                                        double seconds, std::optional<proto::ErrorCode> error,
                                        const std::string& error_message);

/// One log line: compact JSON and '\n'. Invalid UTF-8 from peers is replaced, never thrown on.
std::string format_log_line(const nlohmann::ordered_json& event);

/// An append-only log file (or stdout). Each event is a single write(2) on an O_APPEND fd,
/// so lines from concurrent clients never interleave.
class TransferLog {
 public:
  /// "-" is stdout; otherwise the file is created (0644) if missing. Throws std::system_error.
  static TransferLog open(const std::string& path);
  /// DIR/.ftx/transfers.jsonl through the inbox's meta directory fd.
  static TransferLog open_at(int dir_fd, const std::string& name, const std::string& shown);

  /// Appends one event. A failure to log never stops a transfer: returns false instead.
  bool write(const nlohmann::ordered_json& event);

  const std::string& where() const { return where_; }

 private:
  TransferLog(net::UniqueFd fd, std::string where) : fd_(std::move(fd)), where_(std::move(where)) {}
  net::UniqueFd fd_;
  std::string where_;
};

}  // namespace ftx::server
