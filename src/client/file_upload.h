// SPDX-License-Identifier: MIT
// Uploads that wait for READY: large files (resumable, hashed as they are sent) and stdin.
#pragma once

#include <string>

#include "client/link.h"
#include "client/sender.h"
#include "proto/frames.h"

namespace ftx::client {

/// The file being sent could not be read (not merely cut short): the connection cannot go
/// on mid-file, though nothing is wrong with it. The file is reported unreadable and the job
/// goes on over a new connection, which is not counted as a retry.
class SourceUnreadable : public ConnectionLost {
 public:
  explicit SourceUnreadable(const std::string& what) : ConnectionLost(what, std::nullopt) {}
};

/// FILE_BEGIN with a transfer id; from a version 3 server maybe HAVE (it has a file of that
/// name, size and mtime), answered with FILE_END of the local digest, then UNCHANGED (the
/// outcome: nothing sent) or READY; READY (the offset a broken attempt's partial ends at: the
/// rest is all that is sent), the bytes, each chunk hashed as it is sent (the kept prefix
/// read and hashed first), FILE_END, SAVED. A file written to meanwhile is hashed again, so
/// a part already sent that was rewritten fails the server's check. If the kept prefix
/// proves wrong (integrity), the file goes once more from 0. Throws ConnectionLost.
FileOutcome send_resumable(ServerLink& link, SendObserver& observer, const std::string& client_name,
                           FileOutcome out, int fd, proto::FileBegin begin);

/// Standard input in chunks, hashed as it goes, into out (bytes count as they leave). It
/// cannot be read twice, so a broken connection ends it for good: ConnectionLost.
void send_stdin(ServerLink& link, SendObserver& observer, FileOutcome& out, const std::string& name);

}  // namespace ftx::client
