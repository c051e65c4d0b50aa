// SPDX-License-Identifier: MIT
// How the results of send and chat become output and exit codes. Pure logic.
#pragma once

#include <string>

#include "client/chat.h"
#include "client/sender.h"

namespace ftx::cli {

/// One line of `ftx send --json`.
std::string format_outcome_json(const client::FileOutcome& outcome);

/// What a job came to, for its closing summary.
struct SendTally {
  size_t saved = 0;        ///< files saved
  size_t unchanged = 0;    ///< files already on the server
  size_t failed = 0;       ///< refused, unreadable or not sent
  size_t directories = 0;  ///< directories made (or already there)
  uint64_t saved_bytes = 0;
  double seconds = 0;
  void add(const client::FileOutcome& outcome);
};

/// "saved N, unchanged M, failed K (in D directories, SIZE at RATE)", the line that ends
/// a tree's upload (failed ones are listed above it; no size and rate when nothing was saved).
std::string format_summary_line(const SendTally& tally);

/// 0 when every file was saved and verified (or was there unchanged); else, in this order of precedence: 3
/// when the connection failed (and the server did not refuse it with a code), 1 when the server refused the
/// connection or a file, or a file failed verification, 4 when a local file was unreadable or changed while
/// it was sent.
int send_exit_code(const client::SendReport& report);

/// 0 when the server confirmed every line; 3 when the connection failed or was lost before
/// it did; 1 when the server refused the client or a line was over the message limit.
int chat_exit_code(const client::ChatResult& result);

}  // namespace ftx::cli
