// SPDX-License-Identifier: MIT
// First-byte classification, and the HTTP request line that needs more than one byte.
#include "proto/opening.h"

#include <string_view>

#include "proto/codec.h"

namespace ftx::proto {
namespace {

constexpr std::string_view kVersion = "HTTP/1.";
constexpr size_t kMaxMethod = 16;

enum class LineState { Partial, Whole, No };

// Walks "METHOD SP target SP HTTP/1.D [CR] LF" as far as bytes go.
LineState request_line_state(std::span<const uint8_t> b) {
  size_t i = 0;
  while (i < b.size() && b[i] >= 'A' && b[i] <= 'Z') ++i;
  if (i > kMaxMethod) return LineState::No;
  if (i == b.size()) return LineState::Partial;
  if (i == 0 || b[i] != ' ') return LineState::No;
  ++i;
  const size_t target = i;
  while (i < b.size() && b[i] > ' ' && b[i] != 0x7F) ++i;
  if (i == b.size()) return i - target < kMaxRequestLine ? LineState::Partial : LineState::No;
  if (i == target || b[i] != ' ') return LineState::No;
  ++i;
  for (char c : kVersion) {
    if (i == b.size()) return LineState::Partial;
    if (b[i] != static_cast<uint8_t>(c)) return LineState::No;
    ++i;
  }
  if (i == b.size()) return LineState::Partial;
  if (b[i] < '0' || b[i] > '9') return LineState::No;
  ++i;
  if (i < b.size() && b[i] == '\r') ++i;
  if (i == b.size()) return LineState::Partial;
  return b[i] == '\n' ? LineState::Whole : LineState::No;
}

}  // namespace

Language classify_opening(std::span<const uint8_t> first) {
  if (first.empty()) return Language::Text;
  if (first[0] == kTlsHandshake) return Language::Tls;
  if (starts_binary(first[0])) return Language::Binary;
  return is_request_line(first) ? Language::Http : Language::Text;
}

bool may_be_request_line(std::span<const uint8_t> bytes) {
  return request_line_state(bytes) == LineState::Partial;
}

bool is_request_line(std::span<const uint8_t> bytes) { return request_line_state(bytes) == LineState::Whole; }

}  // namespace ftx::proto
