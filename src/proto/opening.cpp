// SPDX-License-Identifier: MIT
// First-byte classification.
#include "proto/opening.h"

#include "proto/codec.h"

namespace ftx::proto {

Language classify_opening(std::span<const uint8_t> first) {
  if (first.empty()) return Language::Text;
  if (first[0] == kTlsHandshake) return Language::Tls;
  return starts_binary(first[0]) ? Language::Binary : Language::Text;
}

}  // namespace ftx::proto
