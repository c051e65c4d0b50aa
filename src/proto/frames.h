// SPDX-License-Identifier: MIT
// Frame types of the ftx binary protocol, version 1 (man/ftx-protocol.7 has the bytes).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <variant>

#include "digest/algo.h"
#include "proto/errors.h"

namespace ftx::proto {

/// First four payload bytes of HELLO.
inline constexpr std::array<uint8_t, 4> kMagic = {'F', 'T', 'X', 'P'};
inline constexpr uint16_t kProtocolVersion = 1;

/// Frame header: type (u8) then payload length (u32, big-endian).
inline constexpr size_t kHeaderSize = 5;

enum class FrameType : uint8_t {
  Hello = 0x01,
  Welcome = 0x02,
  Error = 0x03,
  Bye = 0x04,
  FileBegin = 0x10,
  Ready = 0x11,
  FileEnd = 0x12,
  Saved = 0x13,
  Msg = 0x20,
  Who = 0x21,
};

enum class Role : uint8_t { Send = 1, Chat = 2 };

/// Defined by the digest layer below; its values are wire values.
using DigestAlgo = ftx::DigestAlgo;

/// FILE_BEGIN flag: a stream of unknown size. After READY the data comes in chunks (u32
/// big-endian length, then that many bytes), ended by a chunk of length 0; size is 0.
inline constexpr uint32_t kFlagStream = 1u << 0;
/// FILE_BEGIN flag: a directory (size 0): created with its mode and mtime, answered at once
/// with SAVED (or ERROR); no READY, data or FILE_END.
inline constexpr uint32_t kFlagDirectory = 1u << 1;
/// FILE_BEGIN flag: the data and FILE_END follow without waiting for READY, so small files
/// pipeline. The server reads (and drops) the data even when it refuses the file, and
/// answers with SAVED or ERROR after FILE_END, in order. No resume.
inline constexpr uint32_t kFlagEager = 1u << 2;
/// Every flag this version knows; others are refused.
inline constexpr uint32_t kKnownFlags = kFlagStream | kFlagDirectory | kFlagEager;

struct Hello {
  uint16_t version = kProtocolVersion;
  Role role = Role::Send;
  std::string name;
  std::string token;  ///< empty when none
  bool operator==(const Hello&) const = default;
};

struct Welcome {
  uint16_t version = kProtocolVersion;
  DigestAlgo digest = DigestAlgo::Xxh128;
  uint32_t max_payload = 0;    ///< largest control payload the server accepts
  uint32_t max_message = 0;    ///< largest chat text
  uint64_t max_file_size = 0;  ///< 0: no limit
  std::string name;            ///< the client's name as the server knows it
  bool operator==(const Welcome&) const = default;
};

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string message;
  bool operator==(const Error&) const = default;
};

struct Bye {
  bool operator==(const Bye&) const = default;
};

struct FileBegin {
  std::string name;  ///< relative path, '/'-separated
  uint64_t size = 0;
  uint32_t mode = 0644;  ///< permission bits
  int64_t mtime_ns = 0;  ///< nanoseconds since the Unix epoch
  uint32_t flags = 0;
  std::string transfer_id;  ///< opaque id for resuming; empty when none
  bool operator==(const FileBegin&) const = default;
};

struct Ready {
  uint64_t offset = 0;  ///< the sender streams bytes [offset, size)
  bool operator==(const Ready&) const = default;
};

struct FileEnd {
  DigestAlgo algo = DigestAlgo::Xxh128;
  std::string digest;  ///< raw digest bytes (16 for xxh128, 32 for sha256)
  bool operator==(const FileEnd&) const = default;
};

struct Saved {
  std::string name;  ///< path as saved, relative to the server's directory
  uint64_t bytes = 0;
  DigestAlgo algo = DigestAlgo::Xxh128;
  std::string digest;  ///< raw digest bytes
  bool operator==(const Saved&) const = default;
};

/// Chat text. From the server, an empty sender marks a notice (joins, leaves, WHO answers).
struct Msg {
  std::string sender;  ///< empty from a client; set by the server when it relays
  int64_t ts_ms = 0;   ///< 0 from a client; set by the server when it relays
  std::string text;
  bool operator==(const Msg&) const = default;
};

/// A chat client asks who is connected; the server answers with a notice MSG.
struct Who {
  bool operator==(const Who&) const = default;
};

using Frame = std::variant<Hello, Welcome, Error, Bye, FileBegin, Ready, FileEnd, Saved, Msg, Who>;

/// Wire type of a frame.
FrameType frame_type(const Frame& frame);

/// "HELLO", "FILE_BEGIN", ...: for messages and logs.
std::string_view frame_type_name(FrameType type);

/// Raw digest length for an algorithm.
size_t digest_size(DigestAlgo algo);

}  // namespace ftx::proto
