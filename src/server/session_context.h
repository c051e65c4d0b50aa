// SPDX-License-Identifier: MIT
// What every session on the server shares.
#pragma once

#include "server/access.h"
#include "server/chat_hub.h"
#include "server/config.h"
#include "server/console.h"
#include "server/inbox.h"
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
};

}  // namespace ftx::server
