// SPDX-License-Identifier: MIT
// Small files that arrived back to back, made durable together with one sync.
#pragma once

#include <cstdint>
#include <memory>
#include <stop_token>
#include <vector>

#include "proto/frames.h"
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
  };
  /// Makes every sealed file's data durable with one sync, publishes them and syncs their
  /// names; the batch is empty afterwards. Touches no connection, so it may run on a thread
  /// of its own (BatchCommitter) while the session receives the next batch. When `stop` is
  /// requested before publishing starts (the session is gone), drops the files instead and
  /// returns no verdicts.
  Verdicts commit(std::stop_token stop = {});

  /// Forgets every unconfirmed file; each is logged as interrupted.
  void drop();

 private:
  struct Entry {
    std::unique_ptr<IncomingFile> file;  ///< null for a refusal
    proto::Error refusal;  ///< already cut to what the sender budgets for its answer
  };

  const SessionContext* ctx_;
  std::vector<Entry> entries_;
  uint64_t bytes_ = 0;
};

}  // namespace ftx::server
