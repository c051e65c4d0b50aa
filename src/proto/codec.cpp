// SPDX-License-Identifier: MIT
// Frame encoder and decoder. Integers are big-endian; strings are a u32 length then bytes.
#include "proto/codec.h"

#include <cstring>
#include <optional>
#include <type_traits>

#include "proto/limits.h"

namespace ftx::proto {
namespace {

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) { put_be(v, 2); }
  void u32(uint32_t v) { put_be(v, 4); }
  void u64(uint64_t v) { put_be(v, 8); }
  void i64(int64_t v) { put_be(static_cast<uint64_t>(v), 8); }
  void str(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void bytes(const uint8_t* p, size_t n) { out_.insert(out_.end(), p, p + n); }

 private:
  void put_be(uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t>& out_;
};

// Bounds-checked reader over one payload; every getter fails softly so the decoder can
// report a status instead of throwing.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  bool u8(uint8_t& v) { return get_be(v); }
  bool u16(uint16_t& v) { return get_be(v); }
  bool u32(uint32_t& v) { return get_be(v); }
  bool u64(uint64_t& v) { return get_be(v); }
  bool i64(int64_t& v) {
    uint64_t u = 0;
    if (!get_be(u)) return false;
    v = static_cast<int64_t>(u);
    return true;
  }
  bool str(std::string& s, size_t limit) {
    uint32_t n = 0;
    if (!u32(n) || n > limit || n > remaining()) return false;
    s.assign(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  bool bytes(uint8_t* p, size_t n) {
    if (n > remaining()) return false;
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  size_t remaining() const { return in_.size() - pos_; }

 private:
  template <typename T>
  bool get_be(T& v) {
    if (remaining() < sizeof(T)) return false;
    uint64_t acc = 0;
    for (size_t i = 0; i < sizeof(T); ++i) acc = (acc << 8) | in_[pos_ + i];
    pos_ += sizeof(T);
    v = static_cast<T>(acc);
    return true;
  }
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

void encode_payload(const Hello& f, Writer& w) {
  w.bytes(kMagic.data(), kMagic.size());
  w.u16(f.version);
  w.u8(static_cast<uint8_t>(f.role));
  w.str(f.name);
  w.str(f.token);
}
void encode_payload(const Welcome& f, Writer& w) {
  w.u16(f.version);
  w.u8(static_cast<uint8_t>(f.digest));
  w.u32(f.max_payload);
  w.u32(f.max_message);
  w.u64(f.max_file_size);
  w.str(f.name);
}
void encode_payload(const Error& f, Writer& w) {
  w.u16(static_cast<uint16_t>(f.code));
  w.str(f.message);
}
void encode_payload(const Bye&, Writer&) {}
void encode_payload(const FileBegin& f, Writer& w) {
  w.str(f.name);
  w.u64(f.size);
  w.u32(f.mode);
  w.i64(f.mtime_ns);
  w.u32(f.flags);
  w.str(f.transfer_id);
}
void encode_payload(const Ready& f, Writer& w) { w.u64(f.offset); }
void encode_payload(const FileEnd& f, Writer& w) {
  w.u8(static_cast<uint8_t>(f.algo));
  w.str(f.digest);
}
void encode_payload(const Saved& f, Writer& w) {
  w.str(f.name);
  w.u64(f.bytes);
  w.u8(static_cast<uint8_t>(f.algo));
  w.str(f.digest);
}
void encode_payload(const Who&, Writer&) {}
void encode_payload(const Msg& f, Writer& w) {
  w.str(f.sender);
  w.i64(f.ts_ms);
  w.str(f.text);
}

bool valid_algo(uint8_t v) {
  return v == static_cast<uint8_t>(DigestAlgo::Xxh128) || v == static_cast<uint8_t>(DigestAlgo::Sha256);
}

// Each parser returns nullopt (with a reason) when the payload is malformed.
using Parsed = std::optional<Frame>;

Parsed parse_hello(Reader& r, std::string& why) {
  std::array<uint8_t, 4> magic{};
  Hello f;
  uint8_t role = 0;
  if (!r.bytes(magic.data(), magic.size()) || magic != kMagic) {
    why = "HELLO without the ftx magic";
    return std::nullopt;
  }
  if (!r.u16(f.version) || !r.u8(role) || !r.str(f.name, kMaxClientName) || !r.str(f.token, kMaxToken)) {
    why = "malformed HELLO";
    return std::nullopt;
  }
  if (role != static_cast<uint8_t>(Role::Send) && role != static_cast<uint8_t>(Role::Chat)) {
    why = "HELLO with an unknown role";
    return std::nullopt;
  }
  f.role = static_cast<Role>(role);
  return f;
}

Parsed parse_welcome(Reader& r, std::string& why) {
  Welcome f;
  uint8_t algo = 0;
  if (!r.u16(f.version) || !r.u8(algo) || !valid_algo(algo) || !r.u32(f.max_payload) ||
      !r.u32(f.max_message) || !r.u64(f.max_file_size) || !r.str(f.name, kMaxClientName)) {
    why = "malformed WELCOME";
    return std::nullopt;
  }
  f.digest = static_cast<DigestAlgo>(algo);
  return f;
}

Parsed parse_error(Reader& r, std::string& why) {
  Error f;
  uint16_t code = 0;
  if (!r.u16(code) || !r.str(f.message, kMaxErrorMessage)) {
    why = "malformed ERROR";
    return std::nullopt;
  }
  // A newer peer's unknown code still reads as an error, not as garbage.
  f.code = error_code_from_wire(code).value_or(ErrorCode::Internal);
  return f;
}

Parsed parse_file_begin(Reader& r, std::string& why) {
  FileBegin f;
  if (!r.str(f.name, kMaxPathBytes) || !r.u64(f.size) || !r.u32(f.mode) || !r.i64(f.mtime_ns) ||
      !r.u32(f.flags) || !r.str(f.transfer_id, kMaxTransferId)) {
    why = "malformed FILE_BEGIN";
    return std::nullopt;
  }
  return f;
}

Parsed parse_ready(Reader& r, std::string& why) {
  Ready f;
  if (!r.u64(f.offset)) {
    why = "malformed READY";
    return std::nullopt;
  }
  return f;
}

Parsed parse_file_end(Reader& r, std::string& why) {
  FileEnd f;
  uint8_t algo = 0;
  if (!r.u8(algo) || !valid_algo(algo) || !r.str(f.digest, kMaxDigest)) {
    why = "malformed FILE_END";
    return std::nullopt;
  }
  f.algo = static_cast<DigestAlgo>(algo);
  return f;
}

Parsed parse_saved(Reader& r, std::string& why) {
  Saved f;
  uint8_t algo = 0;
  if (!r.str(f.name, kMaxPathBytes) || !r.u64(f.bytes) || !r.u8(algo) || !valid_algo(algo) ||
      !r.str(f.digest, kMaxDigest)) {
    why = "malformed SAVED";
    return std::nullopt;
  }
  f.algo = static_cast<DigestAlgo>(algo);
  return f;
}

Parsed parse_msg(Reader& r, std::string& why) {
  Msg f;
  // Text up to the frame limit decodes, so a receiver can refuse one message over
  // kMaxMessage and keep the connection.
  if (!r.str(f.sender, kMaxClientName) || !r.i64(f.ts_ms) || !r.str(f.text, kMaxPayload)) {
    why = "malformed MSG";
    return std::nullopt;
  }
  return f;
}

Parsed parse_payload(uint8_t type, Reader& r, std::string& why) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::Hello:
      return parse_hello(r, why);
    case FrameType::Welcome:
      return parse_welcome(r, why);
    case FrameType::Error:
      return parse_error(r, why);
    case FrameType::Bye:
      return Bye{};
    case FrameType::FileBegin:
      return parse_file_begin(r, why);
    case FrameType::Ready:
      return parse_ready(r, why);
    case FrameType::FileEnd:
      return parse_file_end(r, why);
    case FrameType::Saved:
      return parse_saved(r, why);
    case FrameType::Msg:
      return parse_msg(r, why);
    case FrameType::Who:
      return Who{};
  }
  why = "unknown frame type " + std::to_string(type);
  return std::nullopt;
}

bool known_type(uint8_t type) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::Hello:
    case FrameType::Welcome:
    case FrameType::Error:
    case FrameType::Bye:
    case FrameType::FileBegin:
    case FrameType::Ready:
    case FrameType::FileEnd:
    case FrameType::Saved:
    case FrameType::Msg:
    case FrameType::Who:
      return true;
  }
  return false;
}

}  // namespace

FrameType frame_type(const Frame& frame) {
  return std::visit(
      [](const auto& f) -> FrameType {
        using T = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<T, Hello>)
          return FrameType::Hello;
        else if constexpr (std::is_same_v<T, Welcome>)
          return FrameType::Welcome;
        else if constexpr (std::is_same_v<T, Error>)
          return FrameType::Error;
        else if constexpr (std::is_same_v<T, Bye>)
          return FrameType::Bye;
        else if constexpr (std::is_same_v<T, FileBegin>)
          return FrameType::FileBegin;
        else if constexpr (std::is_same_v<T, Ready>)
          return FrameType::Ready;
        else if constexpr (std::is_same_v<T, FileEnd>)
          return FrameType::FileEnd;
        else if constexpr (std::is_same_v<T, Saved>)
          return FrameType::Saved;
        else if constexpr (std::is_same_v<T, Msg>)
          return FrameType::Msg;
        else
          return FrameType::Who;
      },
      frame);
}

std::string_view frame_type_name(FrameType type) {
  switch (type) {
    case FrameType::Hello:
      return "HELLO";
    case FrameType::Welcome:
      return "WELCOME";
    case FrameType::Error:
      return "ERROR";
    case FrameType::Bye:
      return "BYE";
    case FrameType::FileBegin:
      return "FILE_BEGIN";
    case FrameType::Ready:
      return "READY";
    case FrameType::FileEnd:
      return "FILE_END";
    case FrameType::Saved:
      return "SAVED";
    case FrameType::Msg:
      return "MSG";
    case FrameType::Who:
      return "WHO";
  }
  return "UNKNOWN";
}

size_t digest_size(DigestAlgo algo) { return algo == DigestAlgo::Sha256 ? 32 : 16; }

void encode_frame(const Frame& frame, std::vector<uint8_t>& out) {
  const size_t start = out.size();
  Writer w(out);
  w.u8(static_cast<uint8_t>(frame_type(frame)));
  w.u32(0);  // length, patched below
  std::visit([&w](const auto& f) { encode_payload(f, w); }, frame);
  const uint32_t len = static_cast<uint32_t>(out.size() - start - kHeaderSize);
  for (int i = 0; i < 4; ++i) out[start + 1 + i] = static_cast<uint8_t>(len >> (8 * (3 - i)));
}

std::vector<uint8_t> encode_frame(const Frame& frame) {
  std::vector<uint8_t> out;
  encode_frame(frame, out);
  return out;
}

DecodeResult decode_frame(std::span<const uint8_t> input) {
  DecodeResult result;
  if (input.empty()) return result;
  const uint8_t type = input[0];
  // Judge the type before the length arrives, so a garbage first byte fails at once.
  if (!known_type(type)) {
    result.status = DecodeStatus::Error;
    result.detail = "unknown frame type " + std::to_string(type);
    return result;
  }
  if (input.size() < kHeaderSize) return result;
  const uint32_t len = (uint32_t{input[1]} << 24) | (uint32_t{input[2]} << 16) | (uint32_t{input[3]} << 8) |
                       uint32_t{input[4]};
  if (len > kMaxPayload) {
    result.status = DecodeStatus::Error;
    result.error = ErrorCode::TooLarge;
    result.detail = "frame payload of " + std::to_string(len) + " bytes exceeds the limit of " +
                    std::to_string(kMaxPayload);
    return result;
  }
  if (input.size() - kHeaderSize < len) return result;
  Reader r(input.subspan(kHeaderSize, len));
  std::string why;
  Parsed parsed = parse_payload(type, r, why);
  if (parsed && r.remaining() != 0) {
    parsed.reset();
    why = std::string(frame_type_name(static_cast<FrameType>(type))) + " with trailing bytes";
  }
  if (!parsed) {
    result.status = DecodeStatus::Error;
    result.detail = why;
    return result;
  }
  result.status = DecodeStatus::Ok;
  result.consumed = kHeaderSize + len;
  result.frame = std::move(*parsed);
  return result;
}

bool starts_binary(uint8_t first) {
  return first < 0x20 && decode_frame(std::span(&first, 1)).status != DecodeStatus::Error;
}

std::array<uint8_t, 4> encode_chunk_header(uint32_t length) {
  return {static_cast<uint8_t>(length >> 24), static_cast<uint8_t>(length >> 16),
          static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
}

uint32_t decode_chunk_header(std::span<const uint8_t, 4> header) {
  const uint32_t length = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
                          (uint32_t{header[2]} << 8) | uint32_t{header[3]};
  if (length > kMaxChunk) {
    throw ProtocolError(ErrorCode::BadRequest, "a stream chunk of " + std::to_string(length) +
                                                   " bytes is over the limit of " +
                                                   std::to_string(kMaxChunk));
  }
  return length;
}

}  // namespace ftx::proto
