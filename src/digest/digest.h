// SPDX-License-Identifier: MIT
// Streaming file digests: XXH3-128 and SHA-256.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>

#include "digest/algo.h"

namespace ftx::digest {

/// Incremental hasher for one algorithm. Not thread-safe; one per stream.
class Hasher {
 public:
  explicit Hasher(DigestAlgo algo);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update(std::span<const uint8_t> data);
  /// Raw digest bytes (canonical big-endian for XXH3-128, as xxh128sum prints it). The
  /// hasher is reset afterwards.
  std::string finish();
  DigestAlgo algo() const { return algo_; }

 private:
  struct State;
  DigestAlgo algo_;
  std::unique_ptr<State> state_;
};

/// "xxh128" or "sha256".
std::string_view algo_name(DigestAlgo algo);

/// Parses "xxh128" / "sha256".
std::optional<DigestAlgo> parse_algo(std::string_view name);

/// Lower-case hex of raw bytes.
std::string to_hex(std::string_view raw);

/// Raw bytes of lower- or upper-case hex; empty for text that is not hex of even length.
std::string from_hex(std::string_view hex);

/// "xxh128:3f2a..." — the form logs and text mode use.
std::string labelled(DigestAlgo algo, std::string_view raw);

/// Hashes the first `size` bytes of a file, read with pread, into hasher. Throws
/// std::system_error, or std::runtime_error when the file is shorter than size. Returns
/// false (having stopped early) when stop is requested.
bool feed_file(Hasher& hasher, int fd, uint64_t size, std::stop_token stop = {});

/// The digest of the first `size` bytes of a file, read with pread. Throws
/// std::system_error, or std::runtime_error when the file is shorter than size. Stops early
/// (returning an empty string) when stop is requested.
std::string digest_file(int fd, DigestAlgo algo, uint64_t size, std::stop_token stop = {});

}  // namespace ftx::digest
