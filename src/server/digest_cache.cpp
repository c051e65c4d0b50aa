// SPDX-License-Identifier: MIT
// The digest cache.
#include "server/digest_cache.h"

namespace ftx::server {

std::optional<std::string> DigestCache::find(const FileIdentity& id, DigestAlgo algo) const {
  MutexLock lock(mutex_);
  const auto it = entries_.find({id, algo});
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void DigestCache::remember(const FileIdentity& id, DigestAlgo algo, std::string digest) {
  if (max_entries_ == 0) return;
  MutexLock lock(mutex_);
  const Key key{id, algo};
  const auto [it, added] = entries_.insert_or_assign(key, std::move(digest));
  if (!added) return;
  order_.push_back(key);
  while (order_.size() > max_entries_) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
}

size_t DigestCache::size() const {
  MutexLock lock(mutex_);
  return entries_.size();
}

}  // namespace ftx::server
