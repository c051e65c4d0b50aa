// SPDX-License-Identifier: MIT
// Uploads from binary clients.
#include "server/file_receiver.h"

#include <algorithm>
#include <utility>

#include "digest/digest.h"
#include "net/socket.h"
#include "proto/codec.h"
#include "util/text.h"

namespace ftx::server {
namespace {

using proto::ErrorCode;
using proto::ProtocolError;

std::string unexpected(const proto::Frame& frame, const char* context) {
  return std::string("unexpected ") + std::string(proto::frame_type_name(proto::frame_type(frame))) + " " +
         context;
}

}  // namespace

bool FileReceiver::input_waiting() { return channel_.wait_readable(std::chrono::milliseconds(0)); }

std::optional<proto::Error> FileReceiver::check_file_end(IncomingFile& file) {
  proto::Frame frame = channel_.receive();
  auto* end = std::get_if<proto::FileEnd>(&frame);
  if (!end) {
    const std::string why =
        "expected FILE_END after " + std::to_string(file.size()) + " bytes of file data, got " +
        std::string(proto::frame_type_name(proto::frame_type(frame))) + " (more bytes than declared?)";
    file.fail(ErrorCode::BadRequest, why);
    throw ProtocolError(ErrorCode::BadRequest, why);
  }
  const DigestAlgo algo = conn_.ctx.config.hash;
  if (end->algo != algo || end->digest != file.digest()) {
    // The stream is still in step, so only this file fails.
    const std::string why = "digest mismatch: the server computed " + file.labelled_digest() +
                            ", the sender " + digest::labelled(end->algo, end->digest) +
                            "; nothing was saved";
    file.fail(ErrorCode::Integrity, why);
    return proto::Error{ErrorCode::Integrity, why};
  }
  return std::nullopt;
}

void FileReceiver::receive_file(const proto::FileBegin& begin) {
  TransferGuard busy(conn_.in_transfer);
  const bool stream = begin.flags & proto::kFlagStream;
  IncomingFile file(conn_.ctx, conn_.peer(), conn_.client, begin.name, begin.size, begin.mode,
                    begin.mtime_ns);
  if (knows_unchanged()) {
    file.detect_unchanged();
    if (!stream && offer_existing(file, begin)) return;
  }
  // Refusals before READY leave the stream in step: the sender skips this file only.
  uint64_t offset = 0;
  try {
    if (stream && begin.size != 0) throw ProtocolError(ErrorCode::BadRequest, "a stream announces size 0");
    // A stream cannot resume: its source cannot be read twice.
    offset = file.start(stream ? std::string_view() : std::string_view(begin.transfer_id));
  } catch (const ProtocolError& e) {
    channel_.send(proto::Error{e.code(), e.what()});
    return;
  }
  channel_.send(proto::Ready{offset});
  if (stream) {
    file.receive_chunked([this](std::span<uint8_t> out) { channel_.read_exact(out); }, conn_.buffer.get());
  } else {
    file.receive([this](std::span<uint8_t> out) { return channel_.read_raw(out); }, conn_.buffer.get());
  }
  if (auto error = check_file_end(file)) {
    channel_.send(*error);
    return;
  }
  std::string saved;
  try {
    saved = file.commit();
  } catch (const ProtocolError& e) {
    channel_.send(proto::Error{e.code(), e.what()});
    return;
  }
  if (file.unchanged()) {
    channel_.send(proto::Unchanged{saved, file.size(), conn_.ctx.config.hash, file.digest()});
    return;
  }
  ++conn_.files;
  conn_.bytes += file.size();
  channel_.send(proto::Saved{saved, file.size(), conn_.ctx.config.hash, file.digest()});
}

bool FileReceiver::knows_unchanged() const { return conn_.protocol_version >= proto::kUnchangedVersion; }

bool FileReceiver::offer_existing(IncomingFile& file, const proto::FileBegin& begin) {
  const auto existing = file.offer();
  if (!existing) return false;
  const DigestAlgo algo = conn_.ctx.config.hash;
  channel_.send(proto::Have{algo});
  proto::Frame frame = channel_.receive();
  auto* end = std::get_if<proto::FileEnd>(&frame);
  if (!end) throw ProtocolError(ErrorCode::BadRequest, unexpected(frame, "after HAVE (expected FILE_END)"));
  // A different file of the same name: its upload goes on from READY.
  if (end->algo != algo || end->digest != existing->digest) return false;
  // Still the same file there? (Remembered, so this costs a stat unless it changed.)
  const auto now = file.offer();
  if (!now || now->digest != existing->digest || now->path != existing->path) return false;
  const std::string path = file.keep_existing(*now);
  channel_.send(proto::Unchanged{path, begin.size, algo, now->digest});
  return true;
}

void FileReceiver::receive_eager(const proto::FileBegin& begin) {
  TransferGuard busy(conn_.in_transfer);
  if (begin.flags & (proto::kFlagStream | proto::kFlagDirectory)) {
    throw ProtocolError(ErrorCode::BadRequest, "an eager FILE_BEGIN is for a file of known size");
  }
  auto file = std::make_unique<IncomingFile>(conn_.ctx, conn_.peer(), conn_.client, begin.name, begin.size,
                                             begin.mode, begin.mtime_ns);
  if (knows_unchanged()) file->detect_unchanged();  // compared when the batch is published
  try {
    file->start({}, lane_);
  } catch (const ProtocolError& e) {
    // The refused file's bytes are read and dropped, so the stream stays in step.
    channel_.skip_raw(begin.size, conn_.buffer.get());
    proto::Frame frame = channel_.receive();
    if (!std::holds_alternative<proto::FileEnd>(frame)) {
      throw ProtocolError(ErrorCode::BadRequest, unexpected(frame, "after the data of an eager file"));
    }
    batch_.add(begin.name, proto::Error{e.code(), e.what()});
    return;
  }
  file->receive([this](std::span<uint8_t> out) { return channel_.read_raw(out); }, conn_.buffer.get());
  if (auto error = check_file_end(*file)) {
    batch_.add(begin.name, std::move(*error));
    return;
  }
  try {
    file->seal();
  } catch (const ProtocolError& e) {
    batch_.add(begin.name, proto::Error{e.code(), e.what()});
    return;
  }
  batch_.add(std::move(file));
}

namespace {
// A batch is handed to the committer at this size while the sender is still sending, so
// that committing it overlaps receiving the next; well under what a sender keeps in flight
// (a client's window of answers holds several hundred small files).
constexpr size_t kHandOverFiles = 128;
}  // namespace

void FileReceiver::send(const EagerBatch::Verdicts& verdicts) {
  if (verdicts.answers.empty()) return;
  for (const proto::Frame& answer : verdicts.answers) channel_.queue(answer);
  channel_.flush();  // one write
  conn_.files += verdicts.files;
  conn_.bytes += verdicts.bytes;
}

void FileReceiver::hand_over_batch() {
  committer_.hand_over(std::exchange(batch_, EagerBatch(conn_.ctx)));
  lane_ = Inbox::next_lane(lane_);
}

void FileReceiver::pass_on_batches() {
  while (true) {
    while (!committer_.idle() && committer_.committed()) send(committer_.collect());
    if (input_waiting()) {
      if (batch_.full()) {
        while (!committer_.can_take()) send(committer_.collect());
      } else if (!committer_.can_take() || batch_.size() < kHandOverFiles) {
        return;  // keep filling this batch while another waits for the committer, or it is small
      }
      hand_over_batch();
      return;
    }
    // The sender paused, perhaps for the answers it has not had: the batch goes to the
    // committer as it is, and this thread waits for whichever comes first, more input or
    // a committed batch to answer.
    if (!batch_.empty() && committer_.can_take()) hand_over_batch();
    if (committer_.idle()) return;
    if (committer_.committed_fd() < 0) continue;  // committed where it was handed over
    net::wait_either_readable(channel_.fd(), committer_.committed_fd());
  }
}

void FileReceiver::settle_batches() {
  if (!batch_.empty()) {
    while (!committer_.can_take()) send(committer_.collect());
    hand_over_batch();
  }
  while (!committer_.idle()) send(committer_.collect());
}

void FileReceiver::make_directory(const proto::FileBegin& begin) {
  if (begin.size != 0 || (begin.flags & ~proto::kFlagDirectory) != 0) {
    channel_.send(proto::Error{ErrorCode::BadRequest, "a directory has size 0 and no other flags"});
    return;
  }
  try {
    conn_.ctx.inbox.make_directory(begin.name, begin.mode, begin.mtime_ns);
  } catch (const ProtocolError& e) {
    conn_.ctx.console.print(conn_.peer() + " " + printable(begin.name) +
                            "/: " + printable(proto::describe(e.code(), e.what())));
    // A sender budgets a directory's answer as an eager file's.
    channel_.send(proto::eager_error({e.code(), e.what()}, begin.name.size(), conn_.ctx.config.hash));
    return;
  }
  digest::Hasher empty(conn_.ctx.config.hash);
  channel_.send(proto::Saved{begin.name, 0, conn_.ctx.config.hash, empty.finish()});
}

void FileReceiver::serve(std::stop_token stop) {
  while (!stop.stop_requested()) {
    // Small files arrive back to back; one sync covers a batch of them.
    pass_on_batches();
    // Files not yet answered hold a shutdown's grace period, as a file being received does.
    conn_.in_transfer = !committer_.idle() || !batch_.empty();
    proto::Frame frame = channel_.receive();
    if (auto* begin = std::get_if<proto::FileBegin>(&frame)) {
      if ((begin->flags & ~proto::kKnownFlags) != 0) {
        throw ProtocolError(ErrorCode::BadRequest, "FILE_BEGIN with flags this server does not know");
      }
      if (begin->flags & proto::kFlagEager) {
        receive_eager(*begin);
        continue;
      }
      settle_batches();  // verdicts go out in order
      if (begin->flags & proto::kFlagDirectory) {
        make_directory(*begin);
      } else {
        receive_file(*begin);
      }
    } else if (std::holds_alternative<proto::Bye>(frame)) {
      settle_batches();
      channel_.send(proto::Bye{});
      return;
    } else if (std::holds_alternative<proto::Msg>(frame)) {
      // Speaking takes a name in the room, which only a chat connection gets.
      throw ProtocolError(ErrorCode::BadRequest, "MSG on a send connection; chat with HELLO role chat");
    } else {
      throw ProtocolError(ErrorCode::BadRequest, unexpected(frame, "from a client"));
    }
  }
  settle_batches();
}

}  // namespace ftx::server
