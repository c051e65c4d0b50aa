// SPDX-License-Identifier: MIT
// Frame encoder and decoder. Integers are big-endian; strings are a u32 length then bytes.
#include "proto/codec.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>
#include <type_traits>
#include <utility>

#include "proto/limits.h"
#include "util/text.h"

namespace ftx::proto {
namespace {

// Walks a frame's layout() to append its payload, to a byte vector or (the chat hub's
// shared relays) a string.
template <typename Out>
class BasicWriter {
 public:
  explicit BasicWriter(Out& out) : out_(out) {}
  template <typename T>
  void num(T v) {
    static_assert(std::is_integral_v<T>);
    const auto u = static_cast<std::make_unsigned_t<T>>(v);
    for (int i = sizeof(T) - 1; i >= 0; --i)
      out_.push_back(static_cast<typename Out::value_type>(u >> (8 * i)));
  }
  void str(std::string_view s, size_t /*limit*/ = 0) {
    num(static_cast<uint32_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void texts(const std::vector<std::string>& texts, size_t limit) {
    for (const auto& t : texts) str(t, limit);
  }
  // An ERROR's message, cut to what every reader takes: the one place a long path in a
  // message ("'<path>' already exists") cannot make the frame undecodable.
  void message(std::string_view s, size_t limit) {
    if (s.size() <= limit) return str(s);
    std::string cut(s);
    cut_message(cut, limit);
    str(cut);
  }
  void magic() { out_.insert(out_.end(), kMagic.begin(), kMagic.end()); }
  void role(Role r) { num(static_cast<uint8_t>(r)); }
  void algo(DigestAlgo a) { num(static_cast<uint8_t>(a)); }
  void error_code(ErrorCode c) { num(static_cast<uint16_t>(c)); }

  // A frame's header with its length still 0, then patch_length() once the payload is in.
  size_t begin_frame(FrameType type) {
    const size_t start = out_.size();
    num(static_cast<uint8_t>(type));
    num(uint32_t{0});
    return start;
  }
  void patch_length(size_t start) {
    const auto len = static_cast<uint32_t>(out_.size() - start - kHeaderSize);
    for (int i = 0; i < 4; ++i)
      out_[start + 1 + i] = static_cast<typename Out::value_type>(len >> (8 * (3 - i)));
  }

 private:
  Out& out_;
};

// One load and a byte swap (a chat receiver decodes millions of frames a second).
template <typename U>
U load_big_endian(const uint8_t* p) {
  static_assert(std::is_unsigned_v<U>);
  U v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::little) {
    if constexpr (sizeof(U) == 2) v = __builtin_bswap16(v);
    if constexpr (sizeof(U) == 4) v = __builtin_bswap32(v);
    if constexpr (sizeof(U) == 8) v = __builtin_bswap64(v);
  }
  return v;
}

// Walks a frame's layout() to fill it from one payload. Every read is bounds-checked and
// fails softly: the first failure is remembered, later reads do nothing, and the decoder
// reports a status instead of throwing. Explains, when asked, why the first one failed; the
// chat receiver's in-place decoder does not ask (decode_frame explains the same frame).
template <bool kExplains>
class BasicReader {
 public:
  BasicReader(std::span<const uint8_t> in, std::string_view frame) : in_(in), frame_(frame) {}
  template <typename T>
  void num(T& v) {
    static_assert(std::is_integral_v<T>);
    if (!take(sizeof(T))) return;
    v = static_cast<T>(load_big_endian<std::make_unsigned_t<T>>(in_.data() + pos_ - sizeof(T)));
  }
  void str(std::string& s, size_t limit) {
    uint32_t n = 0;
    num(n);
    if (!ok() || n > limit || !take(n)) return fail();
    s.assign(reinterpret_cast<const char*>(in_.data() + pos_ - n), n);
  }
  // The same field left where it lies in the input (MsgView).
  void str(std::string_view& s, size_t limit) {
    uint32_t n = 0;
    num(n);
    if (!ok() || n > limit || !take(n)) return fail();
    s = std::string_view(reinterpret_cast<const char*>(in_.data() + pos_ - n), n);
  }
  void message(std::string& s, size_t limit) { str(s, limit); }
  // The rest of the payload, as at least one string.
  void texts(std::vector<std::string>& texts, size_t limit) {
    if (remaining() == 0) return fail();
    while (ok() && remaining() > 0) str(texts.emplace_back(), limit);
  }
  void magic() {
    if (!take(kMagic.size()) ||
        std::memcmp(in_.data() + pos_ - kMagic.size(), kMagic.data(), kMagic.size()) != 0) {
      fail(std::string(frame_) + " without the ftx magic");
    }
  }
  void role(Role& r) {
    uint8_t v = 0;
    num(v);
    if (!ok()) return;
    if (v != static_cast<uint8_t>(Role::Send) && v != static_cast<uint8_t>(Role::Chat) &&
        v != static_cast<uint8_t>(Role::Fetch)) {
      return fail(std::string(frame_) + " with an unknown role");
    }
    r = static_cast<Role>(v);
  }
  void algo(DigestAlgo& a) {
    uint8_t v = 0;
    num(v);
    if (!ok()) return;
    if (v != static_cast<uint8_t>(DigestAlgo::Xxh128) && v != static_cast<uint8_t>(DigestAlgo::Sha256)) {
      return fail();
    }
    a = static_cast<DigestAlgo>(v);
  }
  void error_code(ErrorCode& c) {
    uint16_t v = 0;
    num(v);
    // A newer peer's unknown code still reads as an error, not as garbage.
    if (ok()) c = error_code_from_wire(v).value_or(ErrorCode::Internal);
  }

  bool ok() const { return !failed_; }
  const std::string& why() const requires kExplains { return why_; }
  size_t remaining() const { return in_.size() - pos_; }

 private:
  bool take(size_t n) {
    if (!ok()) return false;
    if (n > remaining()) {
      fail();
      return false;
    }
    pos_ += n;
    return true;
  }
  void fail(std::string why = {}) {
    if (failed_) return;
    failed_ = true;
    if constexpr (kExplains) why_ = why.empty() ? "malformed " + std::string(frame_) : std::move(why);
  }

  struct NoExplanation {};
  std::span<const uint8_t> in_;
  std::string_view frame_;
  size_t pos_ = 0;
  bool failed_ = false;
  [[no_unique_address]] std::conditional_t<kExplains, std::string, NoExplanation> why_;
};
using Reader = BasicReader<true>;

uint32_t big_endian_u32(const uint8_t* p) { return load_big_endian<uint32_t>(p); }

// The length field of a frame header (input holds at least kHeaderSize bytes).
uint32_t payload_length(std::span<const uint8_t> input) { return big_endian_u32(input.data() + 1); }

template <size_t I>
using Alternative = std::variant_alternative_t<I, Frame>;
constexpr auto kAlternatives = std::make_index_sequence<std::variant_size_v<Frame>>();

template <size_t... I>
constexpr std::string_view name_of(FrameType type, std::index_sequence<I...>) {
  std::string_view name;
  (void)((Alternative<I>::kType == type ? (name = Alternative<I>::kName, true) : false) || ...);
  return name;
}

bool known_type(uint8_t type) { return !name_of(static_cast<FrameType>(type), kAlternatives).empty(); }

template <typename T>
Frame parse_as(std::span<const uint8_t> payload, std::string& why) {
  T frame;
  Reader r(payload, T::kName);
  T::layout(frame, r);
  if (r.ok() && r.remaining() != 0) {
    why = std::string(T::kName) + " with trailing bytes";
  } else {
    why = r.why();
  }
  return frame;
}

// Decodes the payload of a frame of a known type; why is empty when it is well formed.
template <size_t... I>
Frame parse_payload(uint8_t type, std::span<const uint8_t> payload, std::string& why,
                    std::index_sequence<I...>) {
  Frame out;
  (void)((static_cast<uint8_t>(Alternative<I>::kType) == type
              ? (out = parse_as<Alternative<I>>(payload, why), true)
              : false) ||
         ...);
  return out;
}

}  // namespace

FrameType frame_type(const Frame& frame) {
  return std::visit([](const auto& f) { return std::decay_t<decltype(f)>::kType; }, frame);
}

std::string_view frame_type_name(FrameType type) {
  const std::string_view name = name_of(type, kAlternatives);
  return name.empty() ? "UNKNOWN" : name;
}

size_t digest_size(DigestAlgo algo) { return algo == DigestAlgo::Sha256 ? 32 : 16; }

void encode_frame(const Frame& frame, std::vector<uint8_t>& out) {
  BasicWriter w(out);
  const size_t start = w.begin_frame(frame_type(frame));
  std::visit([&w](const auto& f) { std::decay_t<decltype(f)>::layout(f, w); }, frame);
  w.patch_length(start);
}

namespace {

// The frames of Msg::layout and MsgBatch::layout, written from the texts where they lie:
// a relay to a busy room builds no frame struct and no copy of a text.
template <typename Out>
void append_msgs(std::string_view sender, int64_t ts_ms, std::span<const std::string> texts, uint16_t version,
                 Out& out) {
  constexpr size_t kPerText = sizeof(uint32_t);
  const size_t fixed = kPerText + sender.size() + sizeof(ts_ms);
  BasicWriter w(out);
  size_t i = 0;
  while (i < texts.size()) {
    // As many texts as fit in one payload; a lone one (or any before version 4) is a MSG,
    // which is exactly as long.
    size_t n = 1;
    if (version >= kMsgBatchVersion) {
      size_t payload = fixed + kPerText + texts[i].size();
      while (i + n < texts.size() && payload + kPerText + texts[i + n].size() <= kMaxPayload) {
        payload += kPerText + texts[i + n].size();
        ++n;
      }
    }
    const size_t start = w.begin_frame(n == 1 ? FrameType::Msg : FrameType::MsgBatch);
    w.str(sender);
    w.num(ts_ms);
    for (size_t k = i; k < i + n; ++k) w.str(texts[k]);
    w.patch_length(start);
    i += n;
  }
}

}  // namespace

void encode_msgs(std::string_view sender, int64_t ts_ms, std::span<const std::string> texts, uint16_t version,
                 std::vector<uint8_t>& out) {
  append_msgs(sender, ts_ms, texts, version, out);
}

void encode_msgs(std::string_view sender, int64_t ts_ms, std::span<const std::string> texts, uint16_t version,
                 std::string& out) {
  append_msgs(sender, ts_ms, texts, version, out);
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
  const uint32_t len = payload_length(input);
  if (len > kMaxPayload) {
    result.status = DecodeStatus::Error;
    result.error = ErrorCode::TooLarge;
    result.detail = "frame payload of " + std::to_string(len) + " bytes exceeds the limit of " +
                    std::to_string(kMaxPayload);
    return result;
  }
  if (input.size() - kHeaderSize < len) return result;
  std::string why;
  Frame frame = parse_payload(type, input.subspan(kHeaderSize, len), why, kAlternatives);
  if (!why.empty()) {
    result.status = DecodeStatus::Error;
    result.detail = std::move(why);
    return result;
  }
  result.status = DecodeStatus::Ok;
  result.consumed = kHeaderSize + len;
  result.frame = std::move(frame);
  return result;
}

size_t decode_msgs_in_place(std::span<const uint8_t> input, std::vector<MsgView>& out) {
  if (input.size() < kHeaderSize) return 0;
  const bool single = input[0] == static_cast<uint8_t>(FrameType::Msg);
  if (!single && input[0] != static_cast<uint8_t>(FrameType::MsgBatch)) return 0;
  const uint32_t len = payload_length(input);
  if (len > kMaxPayload || input.size() - kHeaderSize < len) return 0;
  const size_t before = out.size();
  // Decoded straight into its place in out: a copy of each view from a local costs a
  // stalled load per message in a room that delivers millions a second.
  MsgView& first = out.emplace_back();
  BasicReader<false> r(input.subspan(kHeaderSize, len), single ? Msg::kName : MsgBatch::kName);
  if (single) {
    Msg::layout(first, r);
  } else {
    // MsgBatch::layout, with each text left in place under the batch's sender and time.
    r.str(first.sender, kMaxClientName);
    r.num(first.ts_ms);
    r.str(first.text, kMaxPayload);
    while (r.ok() && r.remaining() > 0) {
      MsgView& next = out.emplace_back();
      next.sender = out[before].sender;
      next.ts_ms = out[before].ts_ms;
      r.str(next.text, kMaxPayload);
    }
  }
  if (!r.ok() || r.remaining() != 0) {
    out.resize(before);
    return 0;
  }
  return kHeaderSize + len;
}

void cut_message(std::string& message, size_t room) {
  constexpr std::string_view kCut = "...";
  if (message.size() <= room) return;
  // Never half of a UTF-8 sequence before the "...".
  truncate_utf8(message, room - std::min(room, kCut.size()));
  message += kCut.substr(0, room - message.size());
}

Error eager_error(Error error, size_t name_bytes, DigestAlgo algo) {
  // Header (type, length), code, the message's length.
  constexpr size_t kFixed = 1 + 4 + 2 + 4;
  // Within what a reader takes for a message, too (a long name leaves more room than that).
  cut_message(error.message, std::min(max_eager_answer(name_bytes, algo) - kFixed, size_t{kMaxErrorMessage}));
  return error;
}

bool starts_binary(uint8_t first) {
  return first < 0x20 && decode_frame(std::span(&first, 1)).status != DecodeStatus::Error;
}

std::array<uint8_t, 4> encode_chunk_header(uint32_t length) {
  return {static_cast<uint8_t>(length >> 24), static_cast<uint8_t>(length >> 16),
          static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
}

uint32_t decode_chunk_header(std::span<const uint8_t, 4> header) {
  const uint32_t length = big_endian_u32(header.data());
  if (length > kMaxChunk) {
    throw ProtocolError(ErrorCode::BadRequest, "a stream chunk of " + std::to_string(length) +
                                                   " bytes is over the limit of " +
                                                   std::to_string(kMaxChunk));
  }
  return length;
}

}  // namespace ftx::proto
