// SPDX-License-Identifier: MIT
// Codec: every frame type round-trips; truncated, oversized and malformed input is a status.
#include "proto/codec.h"

#include <gtest/gtest.h>

#include "proto/limits.h"
#include "util/text.h"

namespace ftx::proto {
namespace {

std::vector<Frame> every_frame() {
  return {
      Hello{kProtocolVersion, Role::Chat, "alice@laptop", "s3cret"},
      Welcome{kProtocolVersion, DigestAlgo::Sha256, kMaxPayload, kMaxMessage, 1ull << 40, "alice (1)"},
      Error{ErrorCode::NameRefused, "'..' in path"},
      Bye{},
      FileBegin{"dir/report.pdf", 123456789012ull, 0755, -1234567890123456789, 0, "id-1"},
      Ready{42},
      FileEnd{DigestAlgo::Xxh128, std::string(16, '\x7f')},
      Saved{"dir/report (1).pdf", 99, DigestAlgo::Sha256, std::string(32, '\x01')},
      Have{DigestAlgo::Sha256},
      Unchanged{"dir/report.pdf", 99, DigestAlgo::Sha256, std::string(32, '\x03')},
      Msg{"bob", 1764000000000, "hello, world \xe2\x9c\x93"},
      Who{},
      MsgBatch{"carol", 1764000000001, {"one", "", std::string(300, 'x')}},
      MsgBatch{"", -3, {"a lone notice"}},
      Hello{kProtocolVersion, Role::Fetch, "bob", ""},
      ListFiles{"docs"},
      FileEntry{"docs/a b.txt", 0, 5, 0640, 1700000000123456789, DigestAlgo::Xxh128, std::string(16, '\x02')},
      FileEntry{"docs", kFlagDirectory, 0, 0755, -5, DigestAlgo::Xxh128, ""},
      ListEnd{7},
      Verified{"docs/a b.txt", DigestAlgo::Sha256, std::string(32, '\x03')},
      GetFile{"docs/a b.txt", 1ull << 33},
  };
}

TEST(Codec, EveryFrameTypeRoundTrips) {
  for (const Frame& f : every_frame()) {
    const std::vector<uint8_t> bytes = encode_frame(f);
    const DecodeResult r = decode_frame(bytes);
    ASSERT_EQ(r.status, DecodeStatus::Ok) << frame_type_name(frame_type(f)) << ": " << r.detail;
    EXPECT_EQ(r.consumed, bytes.size());
    EXPECT_EQ(r.frame, f) << frame_type_name(frame_type(f));
  }
}

// Version 3's frames: their type bytes and the version that has them.
TEST(Codec, HaveAndUnchangedAreVersionThree) {
  EXPECT_EQ(kUnchangedVersion, 3);
  EXPECT_EQ(encode_frame(Have{DigestAlgo::Xxh128})[0], 0x14);
  EXPECT_EQ(encode_frame(Unchanged{"a", 1, DigestAlgo::Xxh128, std::string(16, 'x')})[0], 0x15);
  EXPECT_EQ(frame_type_name(FrameType::Have), "HAVE");
  EXPECT_EQ(frame_type_name(FrameType::Unchanged), "UNCHANGED");
  // A byte below 0x20 that is a frame type opens a binary connection.
  EXPECT_TRUE(starts_binary(0x14));
  EXPECT_TRUE(starts_binary(0x15));
}

TEST(Codec, HeaderIsTypeThenBigEndianLength) {
  const auto bytes = encode_frame(Ready{0x0102030405060708ull});
  ASSERT_EQ(bytes.size(), kHeaderSize + 8);
  EXPECT_EQ(bytes[0], 0x11);
  EXPECT_EQ(bytes[1], 0);
  EXPECT_EQ(bytes[4], 8);
  EXPECT_EQ(bytes[5], 0x01);
  EXPECT_EQ(bytes[12], 0x08);
}

TEST(Codec, HelloStartsWithMagic) {
  const auto bytes = encode_frame(Hello{});
  ASSERT_GE(bytes.size(), kHeaderSize + 4);
  EXPECT_EQ(bytes[0], 0x01);
  EXPECT_EQ(std::string(bytes.begin() + 5, bytes.begin() + 9), "FTXP");
}

TEST(Codec, EveryTruncationNeedsMoreBytes) {
  for (const Frame& f : every_frame()) {
    const auto bytes = encode_frame(f);
    for (size_t n = 0; n < bytes.size(); ++n) {
      const DecodeResult r = decode_frame(std::span(bytes).first(n));
      EXPECT_EQ(r.status, DecodeStatus::NeedMore) << frame_type_name(frame_type(f)) << " cut at " << n;
    }
  }
}

TEST(Codec, TwoFramesDecodeOneAtATime) {
  auto bytes = encode_frame(Ready{1});
  encode_frame(Bye{}, bytes);
  const DecodeResult first = decode_frame(bytes);
  ASSERT_EQ(first.status, DecodeStatus::Ok);
  EXPECT_EQ(first.frame, Frame(Ready{1}));
  const DecodeResult second = decode_frame(std::span(bytes).subspan(first.consumed));
  ASSERT_EQ(second.status, DecodeStatus::Ok);
  EXPECT_EQ(second.frame, Frame(Bye{}));
}

// Version 4's frame.
TEST(Codec, MsgBatchIsVersionFour) {
  EXPECT_EQ(kProtocolVersion, 4);
  EXPECT_EQ(kMsgBatchVersion, 4);
  EXPECT_EQ(encode_frame(MsgBatch{"a", 1, {"x", "y"}})[0], 0x22);
  EXPECT_EQ(frame_type_name(FrameType::MsgBatch), "MSG_BATCH");
  // 0x22 is '"': a text client's first byte, not a binary frame.
  EXPECT_FALSE(starts_binary(0x22));
}

// A batch's texts fill its payload: one at least, and nothing after the last.
TEST(Codec, MsgBatchWithoutTextsOrWithAPartialOneIsMalformed) {
  auto empty = encode_frame(Msg{"bob", 1, ""});
  empty[0] = 0x22;
  empty.resize(empty.size() - 4);  // sender and time, no text at all
  empty[4] -= 4;
  const DecodeResult none = decode_frame(empty);
  EXPECT_EQ(none.status, DecodeStatus::Error);
  EXPECT_EQ(none.detail, "malformed MSG_BATCH");
  auto partial = encode_frame(MsgBatch{"bob", 1, {"hi"}});
  partial.push_back(0);  // a second text's length cut short
  partial[4] += 1;
  EXPECT_EQ(decode_frame(partial).status, DecodeStatus::Error);
  std::vector<MsgView> views;
  EXPECT_EQ(decode_msgs_in_place(empty, views), 0u);
  EXPECT_EQ(decode_msgs_in_place(partial, views), 0u);
  EXPECT_TRUE(views.empty());
}

// The chat receiver's path: MSG and MSG_BATCH frames read where they lie, one after another.
TEST(Codec, MsgsDecodeInPlace) {
  auto bytes = encode_frame(Msg{"bob", -1764000000000, "hello, world \xe2\x9c\x93"});
  const size_t first = bytes.size();
  encode_frame(MsgBatch{"carol", 5, {"", "two", "three"}}, bytes);
  std::vector<MsgView> views;
  ASSERT_EQ(decode_msgs_in_place(bytes, views), first);
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].sender, "bob");
  EXPECT_EQ(views[0].ts_ms, -1764000000000);
  EXPECT_EQ(views[0].text, "hello, world \xe2\x9c\x93");
  EXPECT_EQ(static_cast<const void*>(views[0].text.data()),
            static_cast<const void*>(bytes.data() + first - views[0].text.size()));
  ASSERT_EQ(decode_msgs_in_place(std::span(bytes).subspan(first), views), bytes.size() - first);
  ASSERT_EQ(views.size(), 4u);
  const char* texts[] = {"", "two", "three"};
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(views[i].sender, "carol");
    EXPECT_EQ(views[i].ts_ms, 5);
    EXPECT_EQ(views[i].text, texts[i - 1]);
  }
  EXPECT_EQ(static_cast<const void*>(views[3].text.data() + views[3].text.size()),
            static_cast<const void*>(bytes.data() + bytes.size()));
}

// Anything but a whole well-formed MSG or MSG_BATCH is left to decode_frame, and adds no view.
TEST(Codec, MsgsInPlaceDeclineWhatIsNotAWholeMsg) {
  std::vector<MsgView> views;
  for (const Frame& f : {Frame(Msg{"bob", 1, "hi"}), Frame(MsgBatch{"bob", 1, {"hi", "there"}})}) {
    const auto msg = encode_frame(f);
    for (size_t n = 0; n < msg.size(); ++n)
      EXPECT_EQ(decode_msgs_in_place(std::span(msg).first(n), views), 0u) << "cut at " << n;
    auto trailing = msg;
    trailing.push_back(0);
    trailing[4] += 1;  // the length now covers a byte after the text
    EXPECT_EQ(decode_msgs_in_place(trailing, views), 0u);
    EXPECT_EQ(decode_frame(trailing).status, DecodeStatus::Error);
  }
  EXPECT_EQ(decode_msgs_in_place(encode_frame(Bye{}), views), 0u);
  EXPECT_EQ(decode_msgs_in_place(encode_frame(Who{}), views), 0u);
  for (const Frame& f : {Frame(Msg{std::string(kMaxClientName + 1, 'n'), 1, "hi"}),
                         Frame(MsgBatch{std::string(kMaxClientName + 1, 'n'), 1, {"hi", "there"}})}) {
    const auto long_nick = encode_frame(f);
    EXPECT_EQ(decode_msgs_in_place(long_nick, views), 0u);
    EXPECT_EQ(decode_frame(long_nick).status, DecodeStatus::Error);
  }
  EXPECT_TRUE(views.empty());
}

// encode_msgs writes what encode_frame writes for the frames it stands for.
TEST(Codec, EncodeMsgsIsAMsgEachBeforeVersionFour) {
  const std::vector<std::string> texts = {"a", "", "ccc"};
  std::vector<uint8_t> expected;
  for (const auto& t : texts) encode_frame(Msg{"bob", 7, t}, expected);
  std::vector<uint8_t> got;
  encode_msgs("bob", 7, texts, 3, got);
  EXPECT_EQ(got, expected);
  std::string as_string;
  encode_msgs("bob", 7, texts, 3, as_string);
  EXPECT_EQ(as_string, std::string(expected.begin(), expected.end()));
}

TEST(Codec, EncodeMsgsBatchesFromVersionFourUpToThePayloadLimit) {
  std::vector<uint8_t> got;
  encode_msgs("bob", 7, std::vector<std::string>{"a", "", "ccc"}, 4, got);
  EXPECT_EQ(got, encode_frame(MsgBatch{"bob", 7, {"a", "", "ccc"}}));
  got.clear();
  encode_msgs("", 7, std::vector<std::string>{"alone"}, 4, got);
  EXPECT_EQ(got, encode_frame(Msg{"", 7, "alone"}));
  // Texts that fill more than one payload: full batches, in order, a lone last one as MSG.
  const std::vector<std::string> big(3, std::string(kMaxMessage / 2, 'x'));
  got.clear();
  encode_msgs("bob", 7, big, 4, got);
  const DecodeResult first = decode_frame(got);
  ASSERT_EQ(first.status, DecodeStatus::Ok);
  EXPECT_EQ(first.frame, Frame(MsgBatch{"bob", 7, {big[0], big[1]}}));
  const DecodeResult second = decode_frame(std::span(got).subspan(first.consumed));
  ASSERT_EQ(second.status, DecodeStatus::Ok);
  EXPECT_EQ(second.frame, Frame(Msg{"bob", 7, big[2]}));
  EXPECT_EQ(first.consumed + second.consumed, got.size());
  // Exactly at the limit the payload still takes one more text; a byte over, it does not.
  const size_t fixed = 4 + 3 + 8 + 4 + 1;  // sender, time, the text "a"
  for (const size_t extra : {size_t{0}, size_t{1}}) {
    const std::vector<std::string> edge = {"a", std::string(kMaxPayload - fixed - 4 + extra, 'y')};
    got.clear();
    encode_msgs("bob", 7, edge, 4, got);
    EXPECT_EQ(got[0], extra == 0 ? 0x22 : 0x20) << extra;
    EXPECT_EQ(decode_frame(got).status, DecodeStatus::Ok);
  }
}

TEST(Codec, OversizedLengthIsRefusedFromTheHeaderAlone) {
  const uint32_t len = kMaxPayload + 1;
  const std::vector<uint8_t> header = {0x20, static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
                                       static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
  const DecodeResult r = decode_frame(header);
  EXPECT_EQ(r.status, DecodeStatus::Error);
  EXPECT_EQ(r.error, ErrorCode::TooLarge);
}

TEST(Codec, MaximalLengthStillWaitsForPayload) {
  const uint32_t len = kMaxPayload;
  const std::vector<uint8_t> header = {0x20, static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
                                       static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
  EXPECT_EQ(decode_frame(header).status, DecodeStatus::NeedMore);
}

TEST(Codec, UnknownTypeIsAnErrorAtTheFirstByte) {
  for (uint8_t t : {0x00, 0x05, 0x0f, 0x1f, 0x23, 0x48, 0xff}) {
    const std::vector<uint8_t> one = {t};
    const DecodeResult r = decode_frame(one);
    EXPECT_EQ(r.status, DecodeStatus::Error) << int(t);
    EXPECT_EQ(r.error, ErrorCode::BadRequest);
  }
}

TEST(Codec, WrongMagicIsRefused) {
  auto bytes = encode_frame(Hello{});
  bytes[5] = 'X';
  const DecodeResult r = decode_frame(bytes);
  EXPECT_EQ(r.status, DecodeStatus::Error);
  EXPECT_NE(r.detail.find("magic"), std::string::npos);
}

TEST(Codec, TrailingBytesInsidePayloadAreRefused) {
  auto bytes = encode_frame(Ready{7});
  bytes.push_back(0);
  bytes[4] += 1;  // the length now covers the extra byte
  EXPECT_EQ(decode_frame(bytes).status, DecodeStatus::Error);
}

TEST(Codec, StringLongerThanPayloadIsRefused) {
  auto bytes = encode_frame(Error{ErrorCode::Busy, "busy"});
  bytes[7] = 0x7f;  // the message length's high bytes now claim far more than is there
  EXPECT_EQ(decode_frame(bytes).status, DecodeStatus::Error);
}

TEST(Codec, MessageOverTheChatLimitStillDecodesSoItCanBeRefusedAlone) {
  Msg m;
  m.text.assign(kMaxMessage + 1, 'a');
  EXPECT_EQ(decode_frame(encode_frame(m)).status, DecodeStatus::Ok);
  m.text.assign(kMaxPayload, 'a');  // the frame itself is now over its limit
  EXPECT_EQ(decode_frame(encode_frame(m)).status, DecodeStatus::Error);
}

TEST(Codec, NameOverLimitIsRefused) {
  FileBegin b;
  b.name.assign(kMaxPathBytes + 1, 'a');
  EXPECT_EQ(decode_frame(encode_frame(b)).status, DecodeStatus::Error);
}

TEST(Codec, UnknownRoleOrDigestIsRefused) {
  auto hello = encode_frame(Hello{});
  hello[11] = 9;  // role byte: after header(5), magic(4), version(2)
  EXPECT_EQ(decode_frame(hello).status, DecodeStatus::Error);
  auto end = encode_frame(FileEnd{DigestAlgo::Xxh128, std::string(16, 'a')});
  end[5] = 3;
  EXPECT_EQ(decode_frame(end).status, DecodeStatus::Error);
}

TEST(Codec, UnknownErrorCodeReadsAsInternal) {
  auto bytes = encode_frame(Error{ErrorCode::Busy, "x"});
  bytes[5] = 0x12;
  const DecodeResult r = decode_frame(bytes);
  ASSERT_EQ(r.status, DecodeStatus::Ok);
  EXPECT_EQ(std::get<Error>(r.frame).code, ErrorCode::Internal);
}

TEST(Codec, ErrorCodeNamesAreStable) {
  EXPECT_EQ(error_code_name(ErrorCode::BadRequest), "bad_request");
  EXPECT_EQ(error_code_name(ErrorCode::NoSpace), "no_space");
  EXPECT_EQ(error_code_name(ErrorCode::Integrity), "integrity");
  EXPECT_FALSE(error_code_from_wire(0).has_value());
  EXPECT_EQ(error_code_from_wire(12), ErrorCode::TlsRequired);  // protocol version 2
  EXPECT_EQ(error_code_name(ErrorCode::TlsRequired), "tls_required");
  EXPECT_EQ(error_code_from_wire(13), ErrorCode::NotFound);  // protocol version 3
  EXPECT_EQ(error_code_name(ErrorCode::NotFound), "not_found");
  EXPECT_EQ(error_code_from_wire(14), ErrorCode::NotShared);
  EXPECT_EQ(error_code_name(ErrorCode::NotShared), "not_shared");
  EXPECT_TRUE(is_wire_code(ErrorCode::NotShared));
  EXPECT_FALSE(error_code_from_wire(15).has_value());
  EXPECT_EQ(error_code_from_wire(7), ErrorCode::Busy);
}

// The log's own codes are never read from (or meant for) the wire.
TEST(Codec, LogOnlyCodes) {
  EXPECT_EQ(error_code_name(ErrorCode::Interrupted), "interrupted");
  EXPECT_EQ(error_code_name(ErrorCode::Reset), "reset");
  EXPECT_FALSE(is_wire_code(ErrorCode::Interrupted));
  EXPECT_FALSE(is_wire_code(ErrorCode::Reset));
  EXPECT_TRUE(is_wire_code(ErrorCode::TlsRequired));
  EXPECT_FALSE(error_code_from_wire(static_cast<uint16_t>(ErrorCode::Interrupted)).has_value());
  EXPECT_FALSE(error_code_from_wire(static_cast<uint16_t>(ErrorCode::Reset)).has_value());
}

// A sender budgets max_eager_answer per unanswered eager file: every answer must fit it.
TEST(Codec, AnswersToEagerFilesFitWhatTheSenderBudgets) {
  for (const DigestAlgo algo : {DigestAlgo::Xxh128, DigestAlgo::Sha256}) {
    for (const size_t name_bytes : {size_t{1}, size_t{12}, size_t{255}, kMaxPathBytes}) {
      const std::string name(name_bytes, 'n');
      // A numbered copy's path is a little longer than the name it was sent as (the
      // server numbers up to 10000).
      const std::string saved_as = name + " (10000)";
      const std::string digest(digest_size(algo), '\x01');
      const size_t budget = max_eager_answer(name_bytes, algo);
      EXPECT_LE(encode_frame(Saved{saved_as, ~0ull, algo, digest}).size(), budget);
      EXPECT_LE(encode_frame(Unchanged{saved_as, ~0ull, algo, digest}).size(), budget);
      const Error answer =
          eager_error({ErrorCode::NoSpace, std::string(kMaxErrorMessage, 'm')}, name_bytes, algo);
      EXPECT_LE(encode_frame(answer).size(), budget) << name_bytes;
      // A long name leaves room for more than a reader takes: the message stays within it.
      const Error longest =
          eager_error({ErrorCode::Exists, std::string(name_bytes + 100, 'x')}, name_bytes, algo);
      EXPECT_LE(longest.message.size(), kMaxErrorMessage) << name_bytes;
      const std::vector<uint8_t> wire = encode_frame(longest);
      EXPECT_EQ(decode_frame(wire).status, DecodeStatus::Ok) << name_bytes;
      // What is kept of the message is all the budget allows.
      EXPECT_EQ(encode_frame(answer).size(),
                std::min(budget,
                         encode_frame(Error{ErrorCode::NoSpace, std::string(kMaxErrorMessage, 'm')}).size()));
    }
  }
}

TEST(Codec, AnEagerErrorKeepsAShortMessageAndCutsALongOneAtACharacter) {
  const Error short_one{ErrorCode::Integrity, "a.txt: the data does not match its digest"};
  EXPECT_EQ(eager_error(short_one, 5, DigestAlgo::Xxh128), short_one);

  // Two-byte characters: the cut must not leave half of one before the "...".
  std::string long_message;
  while (long_message.size() < kMaxErrorMessage) long_message += "\xc3\xa9";
  const Error cut = eager_error({ErrorCode::NoSpace, long_message}, 5, DigestAlgo::Xxh128);
  EXPECT_EQ(cut.code, ErrorCode::NoSpace);
  ASSERT_TRUE(cut.message.ends_with("..."));
  const std::string kept = cut.message.substr(0, cut.message.size() - 3);
  ASSERT_FALSE(kept.empty());
  EXPECT_EQ(kept.size() % 2, 0u);
  EXPECT_TRUE(long_message.starts_with(kept));
  EXPECT_LE(encode_frame(cut).size(), max_eager_answer(5, DigestAlgo::Xxh128));
  // The cut message still decodes as an ERROR frame.
  const std::vector<uint8_t> wire = encode_frame(cut);
  const DecodeResult decoded = decode_frame(wire);
  ASSERT_EQ(decoded.status, DecodeStatus::Ok);
  EXPECT_EQ(std::get<Error>(decoded.frame), cut);
}

TEST(Codec, AnyErrorIsSentWithItsMessageCutToWhatAReaderTakes) {
  // A message quoting a long path ("'<path>' already exists on the server") used to make the
  // frame one that every reader refused, so the sender dropped the connection.
  std::string path;
  while (path.size() < 3 * kMaxErrorMessage) path += "d\xc3\xa9/";
  const Error sent{ErrorCode::Exists, "'" + path + "' already exists on the server"};
  const DecodeResult decoded = decode_frame(encode_frame(sent));
  ASSERT_EQ(decoded.status, DecodeStatus::Ok);
  const auto& got = std::get<Error>(decoded.frame);
  EXPECT_EQ(got.code, ErrorCode::Exists);
  EXPECT_LE(got.message.size(), kMaxErrorMessage);
  EXPECT_GE(got.message.size(), kMaxErrorMessage - 3);  // cut no shorter than needed
  ASSERT_TRUE(got.message.ends_with("..."));
  EXPECT_TRUE(sent.message.starts_with(got.message.substr(0, got.message.size() - 3)));
  EXPECT_TRUE(is_valid_utf8(got.message));

  // A message that fits is sent as it is, to the last byte.
  const Error fits{ErrorCode::NoSpace, std::string(kMaxErrorMessage, 'm')};
  EXPECT_EQ(std::get<Error>(decode_frame(encode_frame(fits)).frame), fits);
}

TEST(Codec, CutMessageHonoursRoomsShorterThanItsEllipsis) {
  for (size_t room = 0; room < 6; ++room) {
    std::string message = "abcdefgh";
    cut_message(message, room);
    EXPECT_EQ(message.size(), room) << room;
  }
  std::string short_one = "ok";
  cut_message(short_one, 2);
  EXPECT_EQ(short_one, "ok");
}

}  // namespace
}  // namespace ftx::proto
