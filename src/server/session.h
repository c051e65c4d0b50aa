// SPDX-License-Identifier: MIT
// One client connection on the server, from HELLO to BYE, on its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "net/channel.h"
#include "proto/frames.h"
#include "server/config.h"
#include "server/console.h"
#include "server/inbox.h"
#include "server/transfer_log.h"

namespace ftx::server {

/// What every session shares; owned by the Server and outliving every session.
struct SessionContext {
  const ServerConfig& config;
  Inbox& inbox;
  TransferLog& log;
  Console& console;
};

/// Serves one binary-protocol client. The socket belongs to the server; the session only
/// shuts it down, so the server can interrupt it at any time without racing a close.
class Session {
 public:
  Session(SessionContext ctx, int fd, std::string peer, std::atomic<bool>& in_transfer);

  /// Runs until the client leaves, misbehaves, times out or stop is requested. Never throws.
  void run(std::stop_token stop);

 private:
  void handshake(net::Channel& channel);
  void receive_file(net::Channel& channel, const proto::FileBegin& begin);
  /// Refuses one file: logs it, then answers ERROR; the connection stays usable.
  void refuse_file(net::Channel& channel, FileRecord& record,
                   std::chrono::steady_clock::time_point started, proto::ErrorCode code,
                   const std::string& message);
  void log_file(FileRecord& record, std::chrono::steady_clock::time_point started);

  SessionContext ctx_;
  int fd_;
  std::string peer_;
  std::atomic<bool>& in_transfer_;
  std::string client_ = "-";
  uint64_t files_ = 0;
  uint64_t bytes_ = 0;
  std::vector<uint8_t> buffer_;  ///< file data buffer, allocated once per session
};

}  // namespace ftx::server
