// SPDX-License-Identifier: MIT
// Frame encoder and decoder: pure functions over bytes, no I/O.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "proto/frames.h"

namespace ftx::proto {

/// Appends the encoded frame (header and payload) to out.
void encode_frame(const Frame& frame, std::vector<uint8_t>& out);

/// The encoded frame as a new buffer.
std::vector<uint8_t> encode_frame(const Frame& frame);

enum class DecodeStatus { NeedMore, Ok, Error };

struct DecodeResult {
  DecodeStatus status = DecodeStatus::NeedMore;
  size_t consumed = 0;                      ///< bytes of input used by the frame (Ok only)
  Frame frame;                              ///< valid when status == Ok
  ErrorCode error = ErrorCode::BadRequest;  ///< valid when status == Error
  std::string detail;                       ///< why, when status == Error
};

/// Decodes one frame from the front of input. Never throws on bad input and never reads
/// past a limit: a header announcing more than kMaxPayload is an error at once, without
/// waiting for the payload.
DecodeResult decode_frame(std::span<const uint8_t> input);

}  // namespace ftx::proto
