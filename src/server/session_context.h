// SPDX-License-Identifier: MIT
// What every session on the server shares.
#pragma once

#include "net/tls.h"
#include "server/access.h"
#include "server/chat_hub.h"
#include "server/config.h"
#include "server/console.h"
#include "server/inbox.h"
#include "server/shelf.h"
#include "server/transfer_log.h"

namespace ftx::server {

/// Owned by the Server; outlives every session.
struct SessionContext {
  const ServerConfig& config;
  Inbox& inbox;
  TransferLog& log;
  Console& console;
  ChatHub& hub;
  AuthThrottle& throttle;
  /// The server's TLS identity; null with --no-tls.
  const net::TlsServer* tls;
  /// What --share lets clients fetch; null without it.
  Shelf* shelf = nullptr;
};

}  // namespace ftx::server
