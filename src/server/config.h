// SPDX-License-Identifier: MIT
// What `ftx serve` is told: every knob of the server in one place.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "net/cidr.h"
#include "proto/frames.h"
#include "server/inbox.h"

namespace ftx::server {

struct ServerConfig {
  std::optional<std::string> host;  ///< nullopt: dual-stack "::", else 0.0.0.0
  uint16_t port = 9000;             ///< 0 picks an ephemeral port (tests)
  std::filesystem::path dir = "ftx-inbox";
  std::string log_path;  ///< empty: DIR/.ftx/transfers.jsonl; "-": stdout
  int max_clients = 64;
  /// Chat members of every kind at once (silent text sockets are listeners too); 0: max_clients
  /// less a quarter of it, at least 1 (chat_limit()), so a transfer always finds a slot.
  int max_chat = 0;
  /// Connections from one address at once (--max-per-address); 0: no limit.
  int max_per_address = 16;
  uint64_t max_size = 0;  ///< 0: no limit
  OverwritePolicy overwrite = OverwritePolicy::Rename;
  std::chrono::milliseconds idle_timeout{60000};
  /// How long a TLS client being refused (busy) may take over its handshake; not an option.
  std::chrono::milliseconds refuse_handshake{2000};
  proto::DigestAlgo hash = proto::DigestAlgo::Xxh128;
  bool quiet = false;
  /// Bytes that may wait for one chat client before it counts as not reading.
  size_t chat_queue_bytes = 1 << 20;
  /// How long a chat client may take no byte of what waits for it before it is cut off.
  std::chrono::milliseconds chat_stall_limit{5000};
  /// Log chat messages' text (--log-chat); joins and leaves are always logged.
  bool log_chat = false;
  /// Shared secret every client must present (HELLO token, or AUTH line in text mode);
  /// empty: none.
  std::string token;
  /// --allow / --deny, checked on accept before any byte is read.
  net::AccessRules access;
  /// fsync every file (and syncfs every batch) before saying SAVED; --no-fsync turns it off.
  bool fsync = true;
  /// Resumable partials untouched this long are removed.
  std::chrono::seconds partial_ttl{std::chrono::hours(24)};
  /// What resumable partials may hold, all together and per peer address.
  PartialLimits partial_limits;
  /// TLS on the same port (--no-tls: off). The key (empty: DIR/.ftx/key.pem, made on the
  /// first start) and, with --cert, a CA-signed certificate for it.
  bool tls = true;
  std::filesystem::path key_path;
  std::optional<std::filesystem::path> cert_path;
  /// Refuse plain connections, each in its own language (--require-tls).
  bool require_tls = false;
  /// The newest protocol version spoken (WELCOME's, and the highest HELLO accepted); not an
  /// option: tests set an older one to play an older server.
  uint16_t protocol_version = proto::kProtocolVersion;
  /// --share: clients may list and fetch files. share_dir empty: DIR itself (the room's
  /// shelf); else that directory, read-only (--share=PATH).
  bool share = false;
  std::filesystem::path share_dir;
  /// How long transfers in flight may finish after a stop request.
  std::chrono::milliseconds grace{5000};
};

/// The chat members allowed at once: --max-chat, or by default --max-clients less a quarter.
inline int chat_limit(const ServerConfig& config) {
  if (config.max_chat > 0) return config.max_chat;
  return std::max(1, config.max_clients - config.max_clients / 4);
}

}  // namespace ftx::server
