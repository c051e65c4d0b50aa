// SPDX-License-Identifier: MIT
// Small files that arrived back to back, made durable together with one sync.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "proto/frames.h"
#include "server/incoming_file.h"
#include "server/session_context.h"
#include "wire/channel.h"

namespace ftx::server {

/// The verdicts of eager files, in the order they arrived: a sealed file waiting for the
/// batch's sync, or a refusal already decided. Answers go out only after the sync, in order.
class EagerBatch {
 public:
  // The batch is made durable when the sender pauses, or at these sizes.
  static constexpr size_t kMaxFiles = 1024;
  static constexpr uint64_t kMaxBytes = 64 << 20;

  explicit EagerBatch(const SessionContext& ctx) : ctx_(ctx) {}
  /// A batch still holding files when the connection fails drops them (the sender resends).
  ~EagerBatch() { drop(); }
  EagerBatch(const EagerBatch&) = delete;
  EagerBatch& operator=(const EagerBatch&) = delete;

  void add(std::unique_ptr<IncomingFile> sealed);
  void add(proto::Error refusal);

  bool empty() const { return entries_.empty(); }
  bool full() const { return entries_.size() >= kMaxFiles || bytes_ >= kMaxBytes; }

  struct Published {
    uint64_t files = 0;
    uint64_t bytes = 0;
  };
  /// Makes every sealed file's data durable with one sync, publishes them, syncs their
  /// names, then sends every verdict in one write. Returns what was saved.
  Published flush(wire::Channel& channel);

  /// Forgets every unconfirmed file; each is logged as interrupted.
  void drop();

 private:
  struct Entry {
    std::unique_ptr<IncomingFile> file;  ///< null for a refusal
    proto::Error refusal;
  };

  const SessionContext& ctx_;
  std::vector<Entry> entries_;
  uint64_t bytes_ = 0;
};

}  // namespace ftx::server
