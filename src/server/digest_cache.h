// SPDX-License-Identifier: MIT
// Digests of files already in the inbox, by the identity of the version hashed, so a file
// offered to a sender again (HAVE) is read at most once while it stays the same.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "digest/algo.h"
#include "server/file_identity.h"
#include "util/mutex.h"

namespace ftx::server {

/// Bounded, thread-safe; the oldest entry goes first when full.
class DigestCache {
 public:
  static constexpr size_t kMaxEntries = 65536;

  explicit DigestCache(size_t max_entries = kMaxEntries) : max_entries_(max_entries) {}

  /// What is known of this version: its raw digest, an empty string when it could not be
  /// hashed in time (not to be tried again), nullopt when nothing is known.
  std::optional<std::string> find(const FileIdentity& id, DigestAlgo algo) const;

  /// Remembers a raw digest (or "" for "too slow to hash").
  void remember(const FileIdentity& id, DigestAlgo algo, std::string digest);

  size_t size() const;

 private:
  using Key = std::pair<FileIdentity, DigestAlgo>;
  const size_t max_entries_;
  mutable Mutex mutex_;
  std::map<Key, std::string> entries_ GUARDED_BY(mutex_);
  std::deque<Key> order_ GUARDED_BY(mutex_);  ///< oldest first
};

}  // namespace ftx::server
