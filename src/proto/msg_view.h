// SPDX-License-Identifier: MIT
// One chat message read in place: what the codec decodes and the text lines format.
#pragma once

#include <cstdint>
#include <string_view>

namespace ftx::proto {

/// A MSG frame's fields (or one text of a MSG_BATCH with its sender and time) where they lie
/// in the input: what a chat receiver needs of each of the thousands of messages a busy room
/// sends, without a Frame and its strings per line. Valid while the input is.
struct MsgView {
  std::string_view sender;
  int64_t ts_ms = 0;
  std::string_view text;
};

}  // namespace ftx::proto
