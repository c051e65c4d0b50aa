// SPDX-License-Identifier: MIT
// Writing every byte to a file descriptor: the one loop for files, logs and the console.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ftx {

/// Writes every byte to fd, retrying EINTR and short writes. Throws std::system_error
/// naming `what` with the errno of the failed write (ENOSPC for a write that made no
/// progress on a full disk).
void write_all(int fd, std::span<const uint8_t> data, const std::string& what);

/// write_all for text.
inline void write_all(int fd, std::string_view text, const std::string& what) {
  write_all(fd, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), what);
}

}  // namespace ftx
