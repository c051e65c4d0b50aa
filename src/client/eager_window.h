// SPDX-License-Identifier: MIT
// Small files pipelined over one connection: sent without waiting, answered in order.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "client/link.h"
#include "client/sender.h"
#include "proto/frames.h"

namespace ftx::client {

/// Items whose answers have not arrived. A small file goes out as FILE_BEGIN (eager), its
/// bytes and FILE_END in one write; a directory as its FILE_BEGIN. The window is bounded so
/// the answers always fit the socket buffers (Linux gives at least 128 KiB to receive by
/// default): a server blocked writing answers while this side is blocked writing data
/// would be a deadlock.
class EagerWindow {
 public:
  /// Files up to this size are sent eagerly; larger ones wait for READY and can resume.
  static constexpr uint64_t kMaxFileSize = 256 * 1024;

  /// done(index, outcome) is called for each answer, in order.
  using Done = std::function<void(size_t, FileOutcome)>;
  EagerWindow(ServerLink& link, DigestAlgo algo, SendObserver& observer, Done done)
      : link_(link), algo_(algo), observer_(observer), done_(std::move(done)) {}

  /// Reads fd (size bytes at most; a file that shrank is sent as read) and sends it.
  void send_file(size_t index, FileOutcome out, int fd, proto::FileBegin begin);
  void send_directory(size_t index, FileOutcome out, proto::FileBegin begin);

  /// When the window is full, waits for answers until it is half empty: refilling it one
  /// file per answer would make the server sync each file alone, since it syncs whenever
  /// this side pauses.
  void make_room();
  /// Waits for every answer.
  void collect_all();

 private:
  struct InFlight {
    size_t index;
    FileOutcome out;
    std::string raw_digest;
    std::chrono::steady_clock::time_point started;
  };

  bool full(unsigned divisor) const;
  void collect_one();
  void add(InFlight sent);

  ServerLink& link_;
  DigestAlgo algo_;
  SendObserver& observer_;
  Done done_;
  std::deque<InFlight> in_flight_;
  uint64_t bytes_ = 0;
  uint64_t answer_bytes_ = 0;
  std::vector<uint8_t> data_;  ///< reused: one file's bytes
  std::vector<uint8_t> wire_;  ///< reused: one file's single write
};

}  // namespace ftx::client
