// SPDX-License-Identifier: MIT
// The buffer file data passes through, allocated when the first file arrives.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

namespace ftx::server {

/// One per session: a connection that only chats, or stays idle, never pays for it.
class FileBuffer {
 public:
  static constexpr size_t kSize = 1 << 20;

  std::span<uint8_t> get() {
    if (!bytes_) bytes_ = std::make_unique_for_overwrite<uint8_t[]>(kSize);
    return {bytes_.get(), kSize};
  }

 private:
  std::unique_ptr<uint8_t[]> bytes_;
};

}  // namespace ftx::server
