// SPDX-License-Identifier: MIT
// `ftx chat`: a chat client, interactive on a terminal or fed lines from a pipe.
#pragma once

#include <chrono>
#include <istream>
#include <optional>
#include <span>
#include <string>

#include "client/line_source.h"
#include "client/link.h"
#include "net/address.h"
#include "proto/codec.h"
#include "proto/errors.h"
#include "proto/frames.h"

namespace ftx::client {

struct ChatOptions {
  net::HostPort server;
  std::string name;   ///< asked for in HELLO; the server may add a suffix
  std::string token;  ///< the server's --token, when it has one
  TlsOptions tls;
  bool interactive = false;   ///< stdin is a terminal: commands, prompts
  bool show_notices = true;   ///< joins, leaves and status lines (off with --quiet)
  bool show_messages = true;  ///< what others say (off with --no-echo)
  std::chrono::milliseconds connect_timeout{10000};
  /// After the last line, how long to wait for the server to confirm it took them all; also
  /// how long a send may block on a server that stopped reading.
  std::chrono::milliseconds confirm_timeout{60000};
};

/// Where the chat shows things; called from two threads, so implementations lock.
class ChatDisplay {
 public:
  virtual ~ChatDisplay() = default;
  /// Messages, or notices (empty sender), from the server, in the order they arrived: all
  /// that arrived together, so a busy room costs one call per burst. The views are valid
  /// during the call.
  virtual void messages(std::span<const proto::MsgView> burst) = 0;
  /// A line about the client itself ("you are alice-2", "/send: saved ...").
  virtual void status(const std::string& line) = 0;
  /// Every message received so far has been shown, and the next read may wait (or the
  /// connection ended): the moment to flush what is buffered (once per burst, not per line).
  virtual void caught_up() {}
};

struct ChatResult {
  bool connected = false;
  bool confirmed = false;                   ///< the server answered BYE: every line sent was taken
  std::optional<proto::ErrorCode> refused;  ///< the server's error, when it sent one
  bool untrusted = false;                   ///< the server's key was not the one pinned or remembered
  std::string error;
  size_t lines_sent = 0;
  size_t lines_skipped = 0;  ///< over the message limit, not sent
  std::string name;          ///< the name the server gave
};

/// Joins the room, sends every line of input (interactive commands: /send, /who, /quit,
/// /help), prints what others say, and at the end of input says BYE and waits for the
/// server's BYE. Never throws for network problems.
ChatResult run_chat(const ChatOptions& options, LineSource& input, ChatDisplay& display);

}  // namespace ftx::client
