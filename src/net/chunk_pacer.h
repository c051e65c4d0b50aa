// SPDX-License-Identifier: MIT
// How much of a file to write per call, so a progress callback comes about every 50 ms
// whatever the link's speed: large chunks on a fast link, small ones on a slow one.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace ftx::net {

/// What a file sender lets wait unsent in the socket (see limit_unsent).
inline constexpr int kUnsentLimit = 256 * 1024;

class ChunkPacer {
 public:
  static constexpr uint64_t kMin = 16 * 1024;
  ChunkPacer(uint64_t first, uint64_t max) : max_(max), next_(std::clamp(first, std::min(kMin, max), max)) {}
  uint64_t next() const { return next_; }
  /// A write of `bytes` took `took`: the next chunk aims at kTarget.
  void took(uint64_t bytes, std::chrono::steady_clock::duration took) {
    static constexpr auto kTarget = std::chrono::milliseconds(50);
    if (took < kTarget / 2 && bytes >= next_) {
      next_ = std::min(max_, next_ * 2);
    } else if (took > kTarget) {
      next_ = std::max(std::min(kMin, max_), next_ / 2);
    }
  }

 private:
  uint64_t max_;
  uint64_t next_;
};

}  // namespace ftx::net
