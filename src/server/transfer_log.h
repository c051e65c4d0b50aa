// SPDX-License-Identifier: MIT
// The JSON Lines transfer log: one object per event, one write(2) per line.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "net/unique_fd.h"
#include "proto/errors.h"
#include "util/mutex.h"

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
  /// The content was already at path: nothing was written (status "unchanged").
  bool unchanged = false;
  /// Bytes that did not cross the wire because the server had them (an unchanged file the
  /// sender never sent); left out of the rate like a resumed prefix.
  uint64_t not_sent = 0;
};

/// A `file` event object.
nlohmann::ordered_json file_event(const FileRecord& record);

/// A `get` event object: one file a client fetched from the shelf (the record's path unused;
/// bytes: the file's size; resumed_from: where this fetch started).
nlohmann::ordered_json get_event(const FileRecord& record);

/// A `connect` event object.
nlohmann::ordered_json connect_event(std::chrono::system_clock::time_point ts, const std::string& peer);

/// A `disconnect` event object; error is set when the connection ended on one.
nlohmann::ordered_json disconnect_event(std::chrono::system_clock::time_point ts, const std::string& peer,
                                        const std::string& client, uint64_t files, uint64_t bytes,
                                        double seconds, std::optional<proto::ErrorCode> error,
                                        const std::string& error_message);

/// A `refused` event: a connection --allow/--deny turned away before reading a byte.
nlohmann::ordered_json refused_event(std::chrono::system_clock::time_point ts, const std::string& peer,
                                     const std::string& reason);

/// A `chat_join` event.
nlohmann::ordered_json chat_join_event(std::chrono::system_clock::time_point ts, const std::string& peer,
                                       const std::string& client);

/// A `chat_leave` event; reason is set when the server cut the member off.
nlohmann::ordered_json chat_leave_event(std::chrono::system_clock::time_point ts, const std::string& peer,
                                        const std::string& client, const std::string& reason);

/// A `chat` event: one message (only with --log-messages).
nlohmann::ordered_json chat_event(std::chrono::system_clock::time_point ts, const std::string& client,
                                  const std::string& text);

/// One log line: compact JSON and '\n'. Invalid UTF-8 from peers is replaced, never thrown on.
std::string format_log_line(const nlohmann::ordered_json& event);

/// An append-only log file (or stdout). Each event is a single write(2) on an O_APPEND fd,
/// so lines from concurrent clients never interleave.
///
/// A line is whole in the file or not there at all. When the file cannot take a line (a
/// full disk), whatever part of it landed is cut off again and the line is kept in memory
/// (up to kMaxPendingBytes), to be written in order before the next one once the file takes
/// lines again; the trouble, and its end, are reported through the warning callback. A
/// little room is kept allocated past the end of the file, so events are still written for
/// a while after the disk fills up.
class TransferLog {
 public:
  /// Lines kept in memory while the file cannot take them; past this, new events are lost
  /// (and counted).
  static constexpr size_t kMaxPendingBytes = 1 << 20;

  /// "-" is stdout; otherwise the file is created (0644) if missing. Throws std::system_error.
  static TransferLog open(const std::string& path);
  /// DIR/.ftx/transfers.jsonl through the inbox's meta directory fd (duplicated: reopen()
  /// uses it later).
  static TransferLog open_at(int dir_fd, const std::string& name, const std::string& shown);
  /// Gives back the room kept past the end of the file.
  ~TransferLog();
  TransferLog(const TransferLog&) = delete;
  TransferLog& operator=(const TransferLog&) = delete;

  /// Where trouble is reported (the console's warnings). Set before any concurrent use.
  void on_warning(std::function<void(const std::string&)> warn) { warn_ = std::move(warn); }

  /// Appends one event, after any kept ones. A failure to log never stops a transfer:
  /// returns false when the line is kept in memory (or lost) instead.
  bool write(const nlohmann::ordered_json& event);

  /// Writes the kept lines if the file takes them now. Cheap when none are kept.
  void retry();

  /// Opens the file again by its name, for log rotation (SIGHUP): lines written before go
  /// to the old file, every later one to the new; kept lines go to the new one. Nothing for
  /// stdout. Throws std::system_error when the name cannot be opened (the old file stays).
  void reopen();

  /// Lines kept in memory, not yet in the file.
  size_t pending() const;

  const std::string& where() const { return where_; }

 private:
  TransferLog(net::UniqueFd fd, net::UniqueFd dir_fd, std::string name, std::string where);
  /// One line, whole or not at all.
  bool append(const std::string& line) REQUIRES(mutex_);
  /// Writes kept lines in order until one fails.
  bool flush_pending() REQUIRES(mutex_);
  /// Learns what kind of file fd_ is and keeps room past its end.
  void adopt() REQUIRES(mutex_);
  /// Keeps kReserve bytes allocated past the end when less than half of it is left.
  void reserve(bool force) REQUIRES(mutex_);
  void release_reserve() REQUIRES(mutex_);
  void warn(const std::string& text) const;

  mutable Mutex mutex_;
  net::UniqueFd fd_ GUARDED_BY(mutex_);
  net::UniqueFd dir_fd_;  ///< open_at's directory, for reopen(); empty otherwise
  std::string name_;      ///< the path, or the name in dir_fd_; empty for stdout
  std::string where_;
  std::function<void(const std::string&)> warn_;
  bool appending_file_ GUARDED_BY(mutex_) = false;  ///< a regular file opened O_APPEND
  uint64_t end_ GUARDED_BY(mutex_) = 0;             ///< where the file ends, as far as we know
  uint64_t reserved_to_ GUARDED_BY(mutex_) = 0;     ///< allocated up to here
  bool reserving_ GUARDED_BY(mutex_) = true;        ///< false where fallocate is not supported
  bool torn_ GUARDED_BY(mutex_) = false;            ///< a piece of a line could not be cut off
  int error_ GUARDED_BY(mutex_) = 0;                ///< errno of the last failed write
  std::deque<std::string> pending_ GUARDED_BY(mutex_);
  size_t pending_bytes_ GUARDED_BY(mutex_) = 0;
  uint64_t dropped_ GUARDED_BY(mutex_) = 0;
};

}  // namespace ftx::server
