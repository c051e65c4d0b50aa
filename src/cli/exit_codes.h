// SPDX-License-Identifier: MIT
// Exit codes of every subcommand, as the man page documents them.
#pragma once

namespace ftx::cli {

inline constexpr int kExitOk = 0;
/// send: the server refused a file or the connection, or a file failed verification.
/// serve: the directory or the log could not be opened.
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
/// send: could not connect, or the connection was lost. serve: could not listen.
inline constexpr int kExitNetwork = 3;
/// send: a local file could not be read.
inline constexpr int kExitLocalFile = 4;
/// send, chat: the server's key is not the one pinned or remembered; nothing was sent.
inline constexpr int kExitUntrusted = 5;

}  // namespace ftx::cli
