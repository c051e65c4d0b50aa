// SPDX-License-Identifier: MIT
// What the server's answer to an upload means for the user, and the lines that say it.
#pragma once

#include <string>

#include "client/plan.h"
#include "client/sender.h"
#include "proto/frames.h"

namespace ftx::client {

/// The outcome of an item before it is sent: its local path, name and size.
FileOutcome outcome_for(const SendItem& item);

/// The server refused the item with e.
FileOutcome& refused(FileOutcome& out, const proto::Error& e);

/// A failed item's error for a person: "code: message" when the server gave a code, "not
/// sent: ..." when the connection failed first, else the message.
std::string explain(const FileOutcome& out);

/// The line `ftx send` prints for a file saved: it names the file as saved on the server,
/// after the local path when that differs ("saved photos/p1.jpg as p1.jpg (3 B, ...)").
std::string format_saved_line(const FileOutcome& outcome);

/// The line for a file whose content the server already had at that path (nothing was
/// written): "unchanged PATH, already on the server as NAME (SIZE, DIGEST)".
std::string format_unchanged_line(const FileOutcome& outcome);

/// The line for a file that failed: "PATH: code: message".
std::string format_failed_line(const FileOutcome& outcome);
/// "PATH: changed while it was sent: ..." for a file saved as it was read (its size or
/// mtime moved meanwhile).
std::string format_changed_line(const FileOutcome& outcome);

/// Judges the server's answer to a finished file or directory: SAVED with the size and the
/// digest the sender computed (raw_digest) is saved, UNCHANGED with them is unchanged; SAVED or UNCHANGED
/// with anything else is an integrity failure; ERROR is a refusal. Throws ConnectionLost for any other frame
/// (the conversation is out of step).
void judge_answer(FileOutcome& out, const proto::Frame& answer, DigestAlgo algo,
                  const std::string& raw_digest);

}  // namespace ftx::client
