// SPDX-License-Identifier: MIT
// Writes the frame_decoder_fuzz seed corpus: one encoded frame of every type, a session-
// like sequence, and a few malformed inputs. Usage: gen_frame_seeds DIR
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "proto/codec.h"

namespace {

using Bytes = std::vector<uint8_t>;

bool write(const std::string& dir, const std::string& name, const Bytes& bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ftx::proto;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const std::string xxh(16, '\xab');
  const std::string sha(32, '\x5c');

  const std::vector<std::pair<std::string, Frame>> frames = {
      {"hello_send", Hello{kProtocolVersion, Role::Send, "alice", ""}},
      {"hello_chat_token", Hello{kProtocolVersion, Role::Chat, "bob", "s3cret"}},
      {"welcome", Welcome{kProtocolVersion, DigestAlgo::Xxh128, 66560, 65536, 1u << 30, "alice"}},
      {"error", Error{ErrorCode::NameRefused, "'..' in path"}},
      {"bye", Bye{}},
      {"file_begin", FileBegin{"dir/r\xc3\xa9sum\xc3\xa9.txt", 12345, 0644, 1700000000123456789, 0, ""}},
      {"file_begin_resume", FileBegin{"big.iso", 1ull << 40, 0600, -1, kFlagStream, "tid-0001"}},
      {"ready", Ready{4096}},
      {"file_end", FileEnd{DigestAlgo::Sha256, sha}},
      {"saved", Saved{"a (1).txt", 12345, DigestAlgo::Xxh128, xxh}},
      {"have", Have{DigestAlgo::Xxh128}},
      {"unchanged", Unchanged{"dir/a.txt", 12345, DigestAlgo::Sha256, sha}},
      {"msg_client", Msg{"", 0, "hello, world"}},
      {"msg_relayed", Msg{"carol", 1700000000123, "\xf0\x9f\x91\x8b hi"}},
      {"who", Who{}},
      {"msg_batch", MsgBatch{"carol", 1700000000123, {"one", "", "three \xe2\x9c\x93"}}},
  };
  bool ok = true;
  Bytes session;
  for (const auto& [name, frame] : frames) {
    const Bytes bytes = encode_frame(frame);
    ok &= write(dir, name, bytes);
    if (name == "hello_send" || name == "file_begin" || name == "file_end" || name == "bye") {
      session.insert(session.end(), bytes.begin(), bytes.end());
    }
  }
  ok &= write(dir, "session", session);

  // Malformed: unknown type, a header over the limit, a truncated frame, trailing bytes,
  // a HELLO without the magic, an unknown error code.
  ok &= write(dir, "bad_unknown_type", Bytes{0x7f, 0, 0, 0, 0});
  ok &= write(dir, "bad_too_large", Bytes{0x20, 0x7f, 0xff, 0xff, 0xff});
  Bytes truncated = encode_frame(Msg{"", 0, "cut short"});
  truncated.resize(truncated.size() - 3);
  ok &= write(dir, "bad_truncated", truncated);
  ok &= write(dir, "bad_trailing", Bytes{0x11, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0x10, 0, 0xee});
  ok &= write(dir, "bad_hello_magic", Bytes{0x01, 0, 0, 0, 4, 'H', 'T', 'T', 'P'});
  ok &= write(dir, "error_unknown_code", Bytes{0x03, 0, 0, 0, 7, 0x12, 0x34, 0, 0, 0, 1, 'x'});
  Bytes no_texts = encode_frame(Msg{"dave", 1, ""});
  no_texts[0] = static_cast<uint8_t>(FrameType::MsgBatch);
  no_texts.resize(no_texts.size() - 4);
  no_texts[4] = static_cast<uint8_t>(no_texts[4] - 4);
  ok &= write(dir, "bad_msg_batch_no_texts", no_texts);
  if (!ok) {
    std::fprintf(stderr, "gen_frame_seeds: cannot write into %s\n", dir.c_str());
    return 1;
  }
  return 0;
}
