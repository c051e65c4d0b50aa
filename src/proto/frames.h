// SPDX-License-Identifier: MIT
// Frame types of the ftx binary protocol (man/ftx-protocol.7 has the bytes).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "digest/algo.h"
#include "proto/errors.h"
#include "proto/limits.h"

namespace ftx::proto {

/// First four payload bytes of HELLO.
inline constexpr std::array<uint8_t, 4> kMagic = {'F', 'T', 'X', 'P'};
/// Version 2: TLS on the same port, error code tls_required. Version 3: HAVE and UNCHANGED,
/// so a file already on the server is not sent again; files flow both ways (role Fetch:
/// LIST_FILES, FILE_ENTRY, LIST_END, GET_FILE; error codes not_found and not_shared). A server
/// speaks to older clients too (they never get what later versions added); see
/// man/ftx-protocol.7. Version 4: MSG_BATCH, several chat texts of one sender in a frame.
inline constexpr uint16_t kProtocolVersion = 4;
/// The first version with HAVE and UNCHANGED.
inline constexpr uint16_t kUnchangedVersion = 3;
/// The first version that may fetch from the shelf (Role::Fetch).
inline constexpr uint16_t kFetchProtocolVersion = 3;
/// The first version that sends and receives MSG_BATCH.
inline constexpr uint16_t kMsgBatchVersion = 4;
inline constexpr uint16_t kOldestProtocolVersion = 1;

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
  Have = 0x14,
  Unchanged = 0x15,
  Msg = 0x20,
  Who = 0x21,
  MsgBatch = 0x22,
  ListFiles = 0x30,
  FileEntry = 0x31,
  ListEnd = 0x32,
  GetFile = 0x33,
  Verified = 0x34,
};

/// Fetch (protocol version 3): the client lists and downloads from the server's shelf.
enum class Role : uint8_t { Send = 1, Chat = 2, Fetch = 3 };

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
  static constexpr FrameType kType = FrameType::Hello;
  static constexpr std::string_view kName = "HELLO";
  /// The payload, field by field: the codec encodes and decodes by walking this list.
  template <typename Self, typename Wire>
  static void layout(Self& f, Wire& w) {
    w.magic();
    w.num(f.version);
    w.role(f.role);
    w.str(f.name, kMaxClientName);
    w.str(f.token, kMaxToken);
  }
  uint16_t version = kProtocolVersion;
  Role role = Role::Send;
  std::string name;
  std::string token;  ///< empty when none
  bool operator==(const Hello&) const = default;
};

struct Welcome {
  static constexpr FrameType kType = FrameType::Welcome;
  static constexpr std::string_view kName = "WELCOME";
  /// The payload, field by field: the codec encodes and decodes by walking this list.
  template <typename Self, typename Wire>
  static void layout(Self& f, Wire& w) {
    w.num(f.version);
    w.algo(f.digest);
    w.num(f.max_payload);
    w.num(f.max_message);
    w.num(f.max_file_size);
    w.str(f.name, kMaxClientName);
  }
  uint16_t version = kProtocolVersion;
  DigestAlgo digest = DigestAlgo::Xxh128;
  uint32_t max_payload = 0;    ///< largest control payload the server accepts
  uint32_t max_message = 0;    ///< largest chat text
  uint64_t max_file_size = 0;  ///< 0: no limit
  std::string name;            ///< the client's name as the server knows it
  bool operator==(const Welcome&) const = default;
};

struct Error {
  static constexpr FrameType kType = FrameType::Error;
  static constexpr std::string_view kName = "ERROR";
  /// The payload, field by field: the codec encodes and decodes by walking this list.
  template <typename Self, typename Wire>
  static void layout(Self& f, Wire& w) {
    w.error_code(f.code);
    w.message(f.message, kMaxErrorMessage);  // a longer message is sent cut, ending in "..."
  }
  ErrorCode code = ErrorCode::Internal;
  std::string message;
  bool operator==(const Error&) const = default;
};

struct Bye {
  static constexpr FrameType kType = FrameType::Bye;
  static constexpr std::string_view kName = "BYE";
  template <typename Self, typename Wire>
  static void layout(Self&, Wire&) {}
  bool operator==(const Bye&) const = default;
};

struct FileBegin {
  static constexpr FrameType kType = FrameType::FileBegin;
  static constexpr std::string_view kName = "FILE_BEGIN";
  /// The payload, field by field: the codec encodes and decodes by walking this list.
  template <typename Self, typename Wire>
  static void layout(Self& f, Wire& w) {
    w.str(f.name, kMaxPathBytes);
    w.num(f.size);
    w.num(f.mode);
    w.num(f.mtime_ns);
    w.num(f.flags);
    w.str(f.transfer_id, kMaxTransferId);
  }
  std::string name;  ///< relative path, '/'-separated
  uint64_t size = 0;
  uint32_t mode = 0644;  ///< permission bits
  int64_t mtime_ns = 0;  ///< nanoseconds since the Unix epoch
  uint32_t flags = 0;
  std::string transfer_id;  ///< opaque id for resuming; empty when none
  bool operator==(const FileBegin&) const = default;
};

struct Ready {
  static constexpr FrameType kType = FrameType::Ready;
  static constexpr std::string_view kName = "READY";
  /// The payload, field by field: the codec encodes and decodes by walking this list.
  template <typename Self, typename Wire>
  static void layout(Self& f, Wire& w) {
    w.num(f.offset);
  }
  uint64_t offset = 0;  ///< the sender streams bytes [offset, size)
  bool operator==(const Ready&) const = default;
};

struct FileEnd {
  static constexpr FrameType kType = FrameType::FileEnd;
  static constexpr std::string_view kName = "FILE_END";
  /// The payload, field by field: the codec encodes and decodes by walking this list.
  template <typename Self, typename Wire>
  static void layout(Self& f, Wire& w) {
    w.algo(f.algo);
    w.str(f.digest, kMaxDigest);
  }
  DigestAlgo algo = DigestAlgo::Xxh128;
  std::string digest;  ///< raw digest bytes (16 for xxh128, 32 for sha256)
  bool operator==(const FileEnd&) const = default;
};

struct Saved {
  static constexpr FrameType kType = FrameType::Saved;
  static constexpr std::string_view kName = "SAVED";
  /// The payload, field by field: the codec encodes and decodes by walking this list.
  template <typename Self, typename Wire>
  static void layout(Self& f, Wire& w) {
    w.str(f.name, kMaxPathBytes);
    w.num(f.bytes);
    w.algo(f.algo);
    w.str(f.digest, kMaxDigest);
  }
  std::string name;  ///< path as saved, relative to the server's directory
  uint64_t bytes = 0;
  DigestAlgo algo = DigestAlgo::Xxh128;
  std::string digest;  ///< raw digest bytes
  bool operator==(const Saved&) const = default;
};

/// Version 3, instead of READY: a file of the FILE_BEGIN's name, size (and mtime) is already
/// there, and the server knows its digest. The sender answers FILE_END with the digest of
/// its own file (in this algorithm); the server answers UNCHANGED when they are equal, READY
/// otherwise (the upload goes on). The server's digest is not sent: a client learns only
/// whether its own file is the one there.
struct Have {
  static constexpr FrameType kType = FrameType::Have;
  static constexpr std::string_view kName = "HAVE";
  /// The payload, field by field: the codec encodes and decodes by walking this list.
  template <typename Self, typename Wire>
  static void layout(Self& f, Wire& w) {
    w.algo(f.algo);
  }
  DigestAlgo algo = DigestAlgo::Xxh128;  ///< the server's (WELCOME's)
  bool operator==(const Have&) const = default;
};

/// Version 3, instead of SAVED: the file's content is already on the server under name, so
/// nothing was written (what arrived of it was dropped). Fields as SAVED's.
struct Unchanged {
  static constexpr FrameType kType = FrameType::Unchanged;
  static constexpr std::string_view kName = "UNCHANGED";
  /// The payload, field by field: the codec encodes and decodes by walking this list.
  template <typename Self, typename Wire>
  static void layout(Self& f, Wire& w) {
    w.str(f.name, kMaxPathBytes);
    w.num(f.bytes);
    w.algo(f.algo);
    w.str(f.digest, kMaxDigest);
  }
  std::string name;  ///< the path on the server, relative to its directory
  uint64_t bytes = 0;
  DigestAlgo algo = DigestAlgo::Xxh128;
  std::string digest;  ///< raw digest bytes
  bool operator==(const Unchanged&) const = default;
};

/// Chat text. From the server, an empty sender marks a notice (joins, leaves, WHO answers).
struct Msg {
  static constexpr FrameType kType = FrameType::Msg;
  static constexpr std::string_view kName = "MSG";
  /// The payload, field by field: the codec encodes and decodes by walking this list.
  template <typename Self, typename Wire>
  static void layout(Self& f, Wire& w) {
    w.str(f.sender, kMaxClientName);
    w.num(f.ts_ms);
    // Text up to the frame limit decodes, so a receiver can refuse one message over
    // kMaxMessage and keep the connection.
    w.str(f.text, kMaxPayload);
  }
  std::string sender;  ///< empty from a client; set by the server when it relays
  int64_t ts_ms = 0;   ///< 0 from a client; set by the server when it relays
  std::string text;
  bool operator==(const Msg&) const = default;
};

/// Several chat texts of one sender (protocol version 4): a MSG each, at 4 bytes of framing
/// a text instead of 21 plus the sender's name, which is most of a busy room's bytes. Its
/// texts fill the rest of the payload; there is at least one.
struct MsgBatch {
  static constexpr FrameType kType = FrameType::MsgBatch;
  static constexpr std::string_view kName = "MSG_BATCH";
  /// The payload, field by field: the codec encodes and decodes by walking this list.
  template <typename Self, typename Wire>
  static void layout(Self& f, Wire& w) {
    w.str(f.sender, kMaxClientName);
    w.num(f.ts_ms);
    // Each text up to the frame limit decodes, as in MSG.
    w.texts(f.texts, kMaxPayload);
  }
  std::string sender;  ///< as in MSG
  int64_t ts_ms = 0;   ///< as in MSG
  std::vector<std::string> texts;
  bool operator==(const MsgBatch&) const = default;
};

/// A chat client asks who is connected; the server answers with a notice MSG.
struct Who {
  static constexpr FrameType kType = FrameType::Who;
  static constexpr std::string_view kName = "WHO";
  template <typename Self, typename Wire>
  static void layout(Self&, Wire&) {}
  bool operator==(const Who&) const = default;
};

/// Fetch role: list a shelf directory ("": its top) or one file. Answered with a FILE_ENTRY
/// per entry then LIST_END, or ERROR (not_found, not_shared, name_refused).
struct ListFiles {
  static constexpr FrameType kType = FrameType::ListFiles;
  static constexpr std::string_view kName = "LIST_FILES";
  template <typename Self, typename Wire>
  static void layout(Self& f, Wire& w) {
    w.str(f.path, kMaxPathBytes);
  }
  std::string path;
  bool operator==(const ListFiles&) const = default;
};

/// One thing on the shelf: in a LIST_FILES answer, and ahead of the bytes GET_FILE sends.
struct FileEntry {
  static constexpr FrameType kType = FrameType::FileEntry;
  static constexpr std::string_view kName = "FILE_ENTRY";
  template <typename Self, typename Wire>
  static void layout(Self& f, Wire& w) {
    w.str(f.name, kMaxPathBytes);
    w.num(f.flags);
    w.num(f.size);
    w.num(f.mode);
    w.num(f.mtime_ns);
    w.algo(f.algo);
    w.str(f.digest, kMaxDigest);
  }
  std::string name;    ///< relative to the shelf's top, '/'-separated
  uint32_t flags = 0;  ///< kFlagDirectory for a directory
  uint64_t size = 0;
  uint32_t mode = 0644;
  int64_t mtime_ns = 0;
  DigestAlgo algo = DigestAlgo::Xxh128;
  std::string digest;  ///< raw digest bytes of the whole file; empty for a directory
  bool operator==(const FileEntry&) const = default;
};

/// The end of a LIST_FILES answer.
/// LIST_END flag: the shelf is the server's upload directory (ftx serve --share), so what is
/// sent to it appears on the shelf; without it the shelf is another directory, read-only.
inline constexpr uint32_t kListTakesUploads = 1u << 0;

struct ListEnd {
  static constexpr FrameType kType = FrameType::ListEnd;
  static constexpr std::string_view kName = "LIST_END";
  template <typename Self, typename Wire>
  static void layout(Self& f, Wire& w) {
    w.num(f.count);
    w.num(f.flags);
  }
  uint64_t count = 0;  ///< FILE_ENTRY frames before it
  uint32_t flags = 0;  ///< kListTakesUploads
  bool operator==(const ListEnd&) const = default;
};

/// Fetch role: send file `name` from byte `offset`. Answered with its FILE_ENTRY (size and
/// digest of the whole file) then exactly size - offset raw bytes; or ERROR, after which
/// the connection goes on.
struct GetFile {
  static constexpr FrameType kType = FrameType::GetFile;
  static constexpr std::string_view kName = "GET_FILE";
  template <typename Self, typename Wire>
  static void layout(Self& f, Wire& w) {
    w.str(f.name, kMaxPathBytes);
    w.num(f.offset);
  }
  std::string name;
  uint64_t offset = 0;  ///< bytes the client already holds (a resume)
  bool operator==(const GetFile&) const = default;
};

/// Fetch role: the client checked a file it fetched against the digest and it matched. No
/// answer; the server tells whoever shared the file from the chat room (a receipt).
struct Verified {
  static constexpr FrameType kType = FrameType::Verified;
  static constexpr std::string_view kName = "VERIFIED";
  template <typename Self, typename Wire>
  static void layout(Self& f, Wire& w) {
    w.str(f.name, kMaxPathBytes);
    w.algo(f.algo);
    w.str(f.digest, kMaxDigest);
  }
  std::string name;
  DigestAlgo algo = DigestAlgo::Xxh128;
  std::string digest;  ///< raw bytes, as the client computed them
  bool operator==(const Verified&) const = default;
};

/// Every frame of the protocol. Adding one: its FrameType value, a struct with kType, kName
/// and layout(), and its place in this list; the codec is generated from these.
using Frame = std::variant<Hello, Welcome, Error, Bye, FileBegin, Ready, FileEnd, Saved, Have, Unchanged, Msg,
                           Who, MsgBatch, ListFiles, FileEntry, ListEnd, GetFile, Verified>;

/// Wire type of a frame.
FrameType frame_type(const Frame& frame);

/// "HELLO", "FILE_BEGIN", ...: for messages and logs.
std::string_view frame_type_name(FrameType type);

/// Raw digest length for an algorithm.
size_t digest_size(DigestAlgo algo);

}  // namespace ftx::proto
