// SPDX-License-Identifier: MIT
// A binary client in the send role: files, directories and streams into the inbox.
#pragma once

#include <stop_token>

#include "proto/frames.h"
#include "server/batch_committer.h"
#include "server/connection.h"
#include "server/eager_batch.h"
#include "wire/channel.h"

namespace ftx::server {

/// Serves FILE_BEGINs until BYE or a stop request. A refused file is answered with ERROR
/// and the connection goes on; a failure that leaves the stream out of step throws.
class FileReceiver {
 public:
  FileReceiver(Connection& conn, wire::Channel& channel) : conn_(conn), channel_(channel), batch_(conn.ctx) {}

  void serve(std::stop_token stop);

 private:
  /// FILE_BEGIN, (HAVE and FILE_END,) READY (the offset a resume starts from), the data (raw, or chunked for
  /// a stream), FILE_END, SAVED.
  void receive_file(const proto::FileBegin& begin);
  /// An eager FILE_BEGIN: data and FILE_END follow at once; the verdict joins the batch.
  void receive_eager(const proto::FileBegin& begin);
  void make_directory(const proto::FileBegin& begin);
  /// A version 3 client: a file already there is answered UNCHANGED instead of saved again.
  bool knows_unchanged() const;
  /// When the file at the name matches the announced size and mtime (and its digest is
  /// known): HAVE, and the sender's FILE_END with its digest. True when the digests matched (answered
  /// UNCHANGED, logged); false when the upload goes on as usual (no offer, or a different file).
  bool offer_existing(IncomingFile& file, const proto::FileBegin& begin);
  /// Between frames: sends the verdicts of a committed batch, and hands the batch being
  /// filled to the committer once it is large enough or the sender pauses.
  void pass_on_batches();
  /// Every eager file answered, in order: before any other answer, and at the end.
  void settle_batches();
  /// A committed batch's answers in one write, and its files in the connection's count.
  void send(const EagerBatch::Verdicts& verdicts);
  /// Gives the committer the batch being filled; the next one is created in the next lane.
  void hand_over_batch();
  /// FILE_END must follow the data; its digest decides. Returns the error to answer, if any.
  std::optional<proto::Error> check_file_end(IncomingFile& file);
  /// True when the sender has more bytes on their way now (it has not paused).
  bool input_waiting();

  Connection& conn_;
  wire::Channel& channel_;
  EagerBatch batch_;                         ///< being filled by this thread
  Inbox::Lane lane_ = Inbox::Lane::Partial;  ///< where batch_'s files are created
  BatchCommitter committer_;                 // after batch_: destroyed (joined) first
};

}  // namespace ftx::server
