// SPDX-License-Identifier: MIT
// Text mode: a client like nc chats in lines and uploads with SEND_FILE.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "wire/channel.h"
#include "proto/errors.h"
#include "proto/text.h"
#include "server/chat_hub.h"
#include "server/file_buffer.h"
#include "server/session_context.h"

namespace ftx::server {

class TextSession {
 public:
  struct Result {
    std::string name;
    uint64_t files = 0;
    uint64_t bytes = 0;
    std::optional<proto::ErrorCode> error;  ///< set when the session ended on an error it answered
    std::string message;
    /// The silent client's first bytes were a HELLO after all (it was slow, not a person):
    /// nothing was read, the binary protocol takes over.
    bool binary_after_all = false;
  };

  TextSession(const SessionContext& ctx, int fd, std::string peer, std::atomic<bool>& in_transfer,
              FileBuffer& buffer);

  /// Serves lines until QUIT, the end of the stream, or an error that leaves the stream out
  /// of step. greet: the client has said nothing yet, so tell it what it can do.
  Result run(wire::Channel& channel, bool greet, std::stop_token stop = {});

 private:
  /// Returns false when the connection cannot go on.
  bool receive_file(wire::Channel& channel, const proto::text::SendFile& cmd);
  /// With --token, the first line must be "AUTH <token>". Throws ProtocolError.
  void authenticate(wire::Channel& channel, bool greet, std::stop_token stop);
  void reply(const std::string& line);

  const SessionContext& ctx_;
  int fd_;
  std::string peer_;
  std::atomic<bool>& in_transfer_;
  FileBuffer& buffer_;
  std::shared_ptr<Outbox> outbox_;
  std::shared_ptr<ChatMember> member_;
  Result result_;
};

}  // namespace ftx::server
