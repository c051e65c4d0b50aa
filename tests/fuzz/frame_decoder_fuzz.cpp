// SPDX-License-Identifier: MIT
// libFuzzer target: decode_frame over hostile bytes, decode(encode(frame)) == frame, and the
// in-place MSG decoder agrees with decode_frame.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <vector>

#include "proto/codec.h"
#include "proto/limits.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "frame_decoder_fuzz: %s\n", what);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ftx::proto;
  std::span<const uint8_t> input(data, size);
  // Consume frames the way a session does: one after another while they decode.
  while (true) {
    const DecodeResult r = decode_frame(input);
    // The chat receiver's in-place MSG decoder accepts exactly the MSG frames decode_frame does.
    MsgView view;
    const size_t in_place = decode_msg_in_place(input, view);
    const Msg* msg = r.status == DecodeStatus::Ok ? std::get_if<Msg>(&r.frame) : nullptr;
    if ((in_place != 0) != (msg != nullptr)) fail("decode_msg_in_place disagrees with decode_frame");
    if (msg && (in_place != r.consumed || view.sender != msg->sender || view.ts_ms != msg->ts_ms ||
                view.text != msg->text)) {
      fail("decode_msg_in_place read another MSG than decode_frame");
    }
    if (r.status != DecodeStatus::Ok) {
      if (r.status == DecodeStatus::Error && r.detail.empty()) fail("Error without a detail");
      break;
    }
    if (r.consumed < kHeaderSize || r.consumed > input.size()) fail("consumed out of range");
    if (r.consumed - kHeaderSize > kMaxPayload) fail("accepted a payload over kMaxPayload");

    // Round trip: what the decoder accepted, the encoder writes back as the same frame.
    const std::vector<uint8_t> bytes = encode_frame(r.frame);
    if (bytes.size() != r.consumed) fail("re-encoded frame has a different size");
    const DecodeResult again = decode_frame(bytes);
    if (again.status != DecodeStatus::Ok) fail("re-encoded frame does not decode");
    if (again.consumed != bytes.size()) fail("re-encoded frame decodes with a different size");
    if (!(again.frame == r.frame)) fail("decode(encode(frame)) != frame");
    if (frame_type(again.frame) != static_cast<FrameType>(bytes[0])) fail("frame type byte");

    input = input.subspan(r.consumed);
  }
  return 0;
}
