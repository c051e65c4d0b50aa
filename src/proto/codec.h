// SPDX-License-Identifier: MIT
// Frame encoder and decoder: pure functions over bytes, no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/frames.h"
#include "proto/limits.h"
#include "proto/msg_view.h"

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

/// Decodes the MSG or MSG_BATCH frame at the front of input in place (their layouts, the
/// same checks as decode_frame), appending its one or more messages to out: the frame's
/// size when a whole well-formed one is there, else 0 and out as it was (another type, not
/// all there yet, or malformed: decode_frame says which). A size, not an optional: this
/// runs for every frame a receiver shows, and a returned optional goes through memory.
size_t decode_msgs_in_place(std::span<const uint8_t> input, std::vector<MsgView>& out);

/// Appends the frames that carry texts of one sender, in order, to a peer of protocol
/// `version`: before version 4 a MSG each; from 4 on, MSG_BATCH frames as full as
/// kMaxPayload allows (a lone text as MSG, which is exactly as long). The same bytes as
/// encode_frame() of those frames, without building them.
void encode_msgs(std::string_view sender, int64_t ts_ms, std::span<const std::string> texts, uint16_t version,
                 std::vector<uint8_t>& out);
void encode_msgs(std::string_view sender, int64_t ts_ms, std::span<const std::string> texts, uint16_t version,
                 std::string& out);

/// The most bytes the answer to an eager file with a name of `name_bytes` takes on the wire
/// (SAVED, UNCHANGED or ERROR) on a connection hashing with `algo`: what a sender keeps room
/// for per unanswered file, so the answers it has not read yet always fit the socket
/// buffers (see eager_error). 64 bytes cover SAVED's other fields and a numbered copy's
/// suffix, with room to spare for an ERROR's message.
inline size_t max_eager_answer(size_t name_bytes, DigestAlgo algo) {
  return 64 + name_bytes + digest_size(algo);
}

/// Cuts message to at most room bytes, at a character boundary, ending in "..." when it was
/// longer. Every ERROR frame is encoded with its message cut to kMaxErrorMessage this way.
void cut_message(std::string& message, size_t room);

/// The ERROR answering such an eager file (or a directory, which a sender budgets the same
/// way), its message cut short (at a character boundary, ending in "...") where the frame
/// would exceed max_eager_answer or the message kMaxErrorMessage. The full message is for
/// the server's log.
Error eager_error(Error error, size_t name_bytes, DigestAlgo algo);

/// True when a connection's first byte opens a binary frame: the one test for "this client
/// speaks frames". HELLO is the only right one, but other non-printable frame types are
/// answered as protocol errors too; printable first bytes (MSG and WHO happen to be ' ' and
/// '!') belong to people typing at nc.
bool starts_binary(uint8_t first);

/// The 4-byte header of a stream chunk of `length` bytes (big-endian; 0 ends the stream).
std::array<uint8_t, 4> encode_chunk_header(uint32_t length);

/// The length a chunk header announces. Throws ProtocolError(BadRequest) past kMaxChunk.
uint32_t decode_chunk_header(std::span<const uint8_t, 4> header);

}  // namespace ftx::proto
