// SPDX-License-Identifier: MIT
// One client connection on the server, on its own thread: find its language, serve it,
// answer what went wrong, log the end.
#pragma once

#include <atomic>
#include <stop_token>
#include <string>

#include "server/session_context.h"

namespace ftx::server {

/// Serves one client. The socket belongs to the server; the session only shuts it down, so
/// the server can interrupt it at any time without racing a close.
class Session {
 public:
  Session(const SessionContext& ctx, int fd, std::string peer, std::atomic<bool>& in_transfer)
      : ctx_(ctx), fd_(fd), peer_(std::move(peer)), in_transfer_(in_transfer) {}

  /// Runs until the client leaves, misbehaves, times out or stop is requested. Never throws.
  void run(std::stop_token stop);

 private:
  const SessionContext& ctx_;
  int fd_;
  std::string peer_;
  std::atomic<bool>& in_transfer_;
};

}  // namespace ftx::server
