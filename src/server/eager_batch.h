// SPDX-License-Identifier: MIT
// Small files that arrived back to back, made durable together with one sync.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <vector>

#include "proto/frames.h"
#include "server/failure.h"
#include "server/incoming_file.h"
#include "server/session_context.h"

namespace ftx::server {

/// The verdicts of eager files, in the order they arrived: a sealed file waiting for the
/// batch's sync, or a refusal already decided. Answers go out only after the sync, in order.
class EagerBatch {
 public:
  // The batch is made durable when the sender pauses, or at these sizes.
  static constexpr size_t kMaxFiles = 1024;
  static constexpr uint64_t kMaxBytes = 64 << 20;

  explicit EagerBatch(const SessionContext& ctx) : ctx_(&ctx) {}
  /// A batch still holding files when the connection fails drops them (the sender resends).
  ~EagerBatch() { drop(); }
  EagerBatch(EagerBatch&& other) noexcept;
  EagerBatch& operator=(EagerBatch&& other) noexcept;
  EagerBatch(const EagerBatch&) = delete;
  EagerBatch& operator=(const EagerBatch&) = delete;

  void add(std::unique_ptr<IncomingFile> sealed);
  /// A file refused before it was sealed; `name` as the sender sent it.
  void add(const std::string& name, proto::Error refusal);

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  bool full() const { return entries_.size() >= kMaxFiles || bytes_ >= kMaxBytes; }

  /// What a committed batch answers, in the order its files arrived, and what it saved.
  struct Verdicts {
    std::vector<proto::Frame> answers;
    uint64_t files = 0;
    uint64_t bytes = 0;
    /// Names were published: the answers may go out only after a sync makes them durable.
    bool published = false;
  };

  /// commit() in steps, none touching a connection, so they may run on a thread of their
  /// own (BatchCommitter) while the session receives the next batch: sync() makes every
  /// sealed file's data durable (and whatever an earlier batch published: one sync can
  /// serve as that batch's second), publish() renames them and makes the verdicts, and a
  /// second sync makes the names durable before anyone hears of them.
  ///
  /// The sync: nullopt, or why it failed.
  std::optional<Failure> sync();
  /// After sync(): publishes the sealed files, or answers each with `sync_failed`; the
  /// batch is empty afterwards. When `stop` is requested (the session is gone), drops the
  /// files instead and returns no verdicts.
  Verdicts publish(const std::optional<Failure>& sync_failed, std::stop_token stop = {});
  /// All three steps. Throws when the second sync fails.
  Verdicts commit();

  /// Forgets every unconfirmed file; each is logged as interrupted.
  void drop();

 private:
  struct Entry {
    std::unique_ptr<IncomingFile> file;  ///< null for a refusal
    proto::Error refusal;                ///< already cut to what the sender budgets for its answer
  };

  const SessionContext* ctx_;
  std::vector<Entry> entries_;
  uint64_t bytes_ = 0;
};

}  // namespace ftx::server
