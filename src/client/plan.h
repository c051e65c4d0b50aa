// SPDX-License-Identifier: MIT
// What `ftx send` will send: the paths given, with directories walked into their trees.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ftx::client {

struct SendItem {
  enum class Kind { File, Directory, Stream };
  Kind kind = Kind::File;
  std::string path;  ///< local path ("-" for stdin)
  std::string name;  ///< '/'-separated name on the server
  uint64_t size = 0;
  uint32_t mode = 0644;  ///< permission and special bits as found; the server keeps 0777
  int64_t mtime_ns = 0;
  bool in_tree = false;  ///< found by walking a directory given on the command line
  std::string error;     ///< set when the path cannot be sent (unreadable, not a file)
};

struct SendPlan {
  std::vector<SendItem> items;
  std::vector<std::string> warnings;  ///< skipped symlinks and special files
};

struct PlanOptions {
  std::optional<std::string> as_name;  ///< the single path's name on the server
  bool follow_symlinks = false;        ///< inside trees; links given as arguments are always followed
};

/// Stats every path; a directory becomes its files (sorted by name) and its directories,
/// each directory after everything in it, so its mtime is set last. Empty directories are
/// kept. Symbolic links inside a tree are skipped with a warning unless followed (a link
/// back to an enclosing directory is skipped even then), special files always.
SendPlan plan_send(const std::vector<std::string>& paths, const PlanOptions& options);

}  // namespace ftx::client
