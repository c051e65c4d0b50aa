// SPDX-License-Identifier: MIT
// One version of one file on disk, for telling whether a digest recorded for it still holds.
#pragma once

#include <sys/stat.h>

#include <compare>
#include <cstdint>

#include "util/clock.h"

namespace ftx::server {

/// Any write changes ctime (which no one can set back); a new file has a new inode. A rename
/// changes ctime too, so a committed file's identity is taken under its final name.
struct FileIdentity {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  auto operator<=>(const FileIdentity&) const = default;
};

inline FileIdentity identity_of(const struct stat& st) {
  return FileIdentity{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                      static_cast<uint64_t>(st.st_size), ns_from_timespec(st.st_mtim),
                      ns_from_timespec(st.st_ctim)};
}

}  // namespace ftx::server
