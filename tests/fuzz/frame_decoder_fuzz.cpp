// SPDX-License-Identifier: MIT
// libFuzzer target: decode_frame over hostile bytes, decode(encode(frame)) == frame, the
// in-place MSG and MSG_BATCH decoder agrees with decode_frame, and encode_msgs writes what it
// reads.
#include <algorithm>
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
    // The chat receiver's in-place decoder accepts exactly the MSG and MSG_BATCH frames
    // decode_frame does, and reads the same messages.
    std::vector<MsgView> views;
    const size_t in_place = decode_msgs_in_place(input, views);
    const Msg* msg = r.status == DecodeStatus::Ok ? std::get_if<Msg>(&r.frame) : nullptr;
    const MsgBatch* batch = r.status == DecodeStatus::Ok ? std::get_if<MsgBatch>(&r.frame) : nullptr;
    if ((in_place != 0) != (msg != nullptr || batch != nullptr))
      fail("decode_msgs_in_place disagrees with decode_frame");
    if (in_place == 0 && !views.empty()) fail("decode_msgs_in_place declined but added views");
    if (msg && (in_place != r.consumed || views.size() != 1 || views[0].sender != msg->sender ||
                views[0].ts_ms != msg->ts_ms || views[0].text != msg->text)) {
      fail("decode_msgs_in_place read another MSG than decode_frame");
    }
    if (batch) {
      if (in_place != r.consumed || views.size() != batch->texts.size()) fail("another MSG_BATCH");
      for (size_t i = 0; i < views.size(); ++i) {
        if (views[i].sender != batch->sender || views[i].ts_ms != batch->ts_ms ||
            views[i].text != batch->texts[i])
          fail("decode_msgs_in_place read another MSG_BATCH than decode_frame");
      }
      // encode_msgs writes the same bytes for the same texts.
      std::vector<uint8_t> again;
      encode_msgs(batch->sender, batch->ts_ms, batch->texts, kMsgBatchVersion, again);
      if (batch->texts.size() > 1 &&
          !std::equal(again.begin(), again.end(), input.begin(), input.begin() + r.consumed))
        fail("encode_msgs wrote another MSG_BATCH");
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
