// SPDX-License-Identifier: MIT
// Hard limits on every length that arrives from the network.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ftx::proto {

inline constexpr uint32_t kMaxMessage = 64 * 1024;           ///< chat text bytes
inline constexpr uint32_t kMaxPayload = kMaxMessage + 1024;  ///< any control frame payload
inline constexpr size_t kMaxPathBytes = 4096;                ///< FILE_BEGIN name
inline constexpr size_t kMaxComponentBytes = 255;            ///< one path component
inline constexpr size_t kMaxClientName = 64;                 ///< HELLO name
inline constexpr size_t kMaxToken = 1024;                    ///< HELLO token
inline constexpr size_t kMaxTransferId = 64;                 ///< FILE_BEGIN transfer id
inline constexpr size_t kMaxErrorMessage = 1024;             ///< ERROR message
inline constexpr size_t kMaxDigest = 64;                     ///< FILE_END / SAVED digest bytes
inline constexpr uint32_t kMaxChunk = 1 << 20;               ///< one chunk of a stream

}  // namespace ftx::proto
