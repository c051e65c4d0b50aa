// SPDX-License-Identifier: MIT
// One client connection on the server, on its own thread: binary protocol or text mode.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "wire/channel.h"
#include "proto/frames.h"
#include "server/file_buffer.h"
#include "server/incoming_file.h"
#include "server/session_context.h"

namespace ftx::server {

/// Serves one client. The socket belongs to the server; the session only shuts it down, so
/// the server can interrupt it at any time without racing a close.
class Session {
 public:
  Session(const SessionContext& ctx, int fd, std::string peer, std::atomic<bool>& in_transfer);

  /// Runs until the client leaves, misbehaves, times out or stop is requested. Never throws.
  void run(std::stop_token stop);

 private:
  struct Ending {
    std::optional<proto::ErrorCode> error;
    std::string message;
  };

  /// Binary protocol: HELLO, then files (send role) or chat (chat role).
  Ending run_binary(wire::Channel& channel, std::stop_token stop);
  /// run_binary, with its errors answered to the client as ERROR frames.
  Ending run_binary_answering(wire::Channel& channel, std::stop_token stop, bool& answered_error);
  void handshake(wire::Channel& channel, proto::Hello& hello, std::stop_token stop);
  /// This server's WELCOME, for a client known as name.
  proto::Welcome welcome_for(const std::string& name) const;
  void serve_files(wire::Channel& channel, std::stop_token stop);
  /// FILE_BEGIN, READY, the data (raw, or chunked for a stream), FILE_END, SAVED.
  void receive_file(wire::Channel& channel, const proto::FileBegin& begin);
  /// An eager FILE_BEGIN: data and FILE_END follow at once; the verdict joins the batch.
  void receive_eager(wire::Channel& channel, const proto::FileBegin& begin);
  void make_directory(wire::Channel& channel, const proto::FileBegin& begin);
  /// Makes every batched file durable with one sync, publishes them, and sends their
  /// verdicts in order.
  void flush_batch(wire::Channel& channel);
  /// The connection failed: batched files nobody confirmed are dropped (the sender resends).
  void drop_batch();
  void serve_chat(wire::Channel& channel);

  /// A verdict waiting for the batch: a sealed file to publish, or an ERROR already decided.
  struct Batched {
    std::unique_ptr<IncomingFile> file;
    proto::Error refusal;
  };

  const SessionContext& ctx_;
  int fd_;
  std::string peer_;
  std::atomic<bool>& in_transfer_;
  std::string client_ = "-";
  uint64_t files_ = 0;
  uint64_t bytes_ = 0;
  FileBuffer buffer_;
  std::vector<Batched> batch_;
  uint64_t batch_bytes_ = 0;
};

/// The error text for a chat message over proto::kMaxMessage.
std::string message_too_large(size_t bytes);

/// Checks a presented token against --token; a failure waits as the throttle says (or
/// until stop) and throws ProtocolError(Unauthorized). Never logs the token.
void check_token(const SessionContext& ctx, const std::string& peer, std::string_view presented,
                 std::stop_token stop);

/// Marks a session as moving file bytes, so a shutdown gives it the grace period.
class TransferGuard {
 public:
  explicit TransferGuard(std::atomic<bool>& flag) : flag_(flag) { flag_ = true; }
  ~TransferGuard() { flag_ = false; }
  TransferGuard(const TransferGuard&) = delete;
  TransferGuard& operator=(const TransferGuard&) = delete;

 private:
  std::atomic<bool>& flag_;
};

}  // namespace ftx::server
