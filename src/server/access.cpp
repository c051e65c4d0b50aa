// SPDX-License-Identifier: MIT
// Token check and failure throttling.
#include "server/access.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>

namespace ftx::server {

bool token_matches(std::string_view presented, std::string_view expected) {
  unsigned char a[EVP_MAX_MD_SIZE];
  unsigned char b[EVP_MAX_MD_SIZE];
  unsigned int alen = 0;
  unsigned int blen = 0;
  if (EVP_Digest(presented.data(), presented.size(), a, &alen, EVP_sha256(), nullptr) != 1 ||
      EVP_Digest(expected.data(), expected.size(), b, &blen, EVP_sha256(), nullptr) != 1) {
    return false;
  }
  return alen == blen && CRYPTO_memcmp(a, b, alen) == 0;
}

std::chrono::milliseconds AuthThrottle::failed(const std::string& address, Clock::time_point now) {
  MutexLock lock(mutex_);
  for (auto it = records_.begin(); it != records_.end();) {
    it = now - it->second.last > kMemory ? records_.erase(it) : std::next(it);
  }
  if (records_.size() >= kMaxAddresses && !records_.contains(address)) {
    records_.erase(std::min_element(records_.begin(), records_.end(), [](const auto& x, const auto& y) {
      return x.second.last < y.second.last;
    }));
  }
  Record& r = records_[address];
  r.failures += 1;
  r.last = now;
  if (r.failures <= kFreeFailures) return std::chrono::milliseconds(0);
  const int doublings = std::min(r.failures - kFreeFailures - 1, 16);
  return std::min(kMaxDelay, kFirstDelay * (1 << doublings));
}

void AuthThrottle::succeeded(const std::string& address) {
  MutexLock lock(mutex_);
  records_.erase(address);
}

std::string address_of(std::string_view peer) {
  if (!peer.empty() && peer.front() == '[') {
    const size_t close = peer.find(']');
    return std::string(peer.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  return std::string(peer.substr(0, peer.rfind(':')));
}

}  // namespace ftx::server
