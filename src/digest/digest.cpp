// SPDX-License-Identifier: MIT
// XXH3-128 through libxxhash, SHA-256 through OpenSSL's EVP interface (SHA-NI when present).
#include "digest/digest.h"

#include <openssl/evp.h>
#include <unistd.h>
#include <xxhash.h>
#if defined(__x86_64__) && __has_include(<xxh_x86dispatch.h>)
// A libxxhash built with its x86 dispatcher (Debian's is) picks SSE2, AVX2 or AVX-512 at
// run time behind these names; the plain functions are built for SSE2 only, so hashing
// would otherwise cost a large share of a transfer's CPU (bench/README.md).
#include <xxh_x86dispatch.h>
#endif

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <vector>

#include "util/sys_error.h"

namespace ftx::digest {

struct Hasher::State {
  XXH3_state_t* xxh = nullptr;
  EVP_MD_CTX* sha = nullptr;
  ~State() {
    if (xxh) XXH3_freeState(xxh);
    if (sha) EVP_MD_CTX_free(sha);
  }
};

Hasher::Hasher(DigestAlgo algo) : algo_(algo), state_(std::make_unique<State>()) {
  if (algo_ == DigestAlgo::Xxh128) {
    state_->xxh = XXH3_createState();
    if (!state_->xxh) throw std::bad_alloc();
    XXH3_128bits_reset(state_->xxh);
  } else {
    state_->sha = EVP_MD_CTX_new();
    if (!state_->sha || EVP_DigestInit_ex(state_->sha, EVP_sha256(), nullptr) != 1) {
      throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
    }
  }
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(std::span<const uint8_t> data) {
  if (data.empty()) return;
  if (state_->xxh) {
    XXH3_128bits_update(state_->xxh, data.data(), data.size());
  } else {
    EVP_DigestUpdate(state_->sha, data.data(), data.size());
  }
}

std::string Hasher::finish() {
  if (state_->xxh) {
    XXH128_canonical_t canon;
    XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(state_->xxh));
    XXH3_128bits_reset(state_->xxh);
    return std::string(reinterpret_cast<const char*>(canon.digest), sizeof canon.digest);
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->sha, out, &len);
  EVP_DigestInit_ex(state_->sha, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string_view algo_name(DigestAlgo algo) { return algo == DigestAlgo::Sha256 ? "sha256" : "xxh128"; }

std::optional<DigestAlgo> parse_algo(std::string_view name) {
  if (name == "xxh128") return DigestAlgo::Xxh128;
  if (name == "sha256") return DigestAlgo::Sha256;
  return std::nullopt;
}

std::string to_hex(std::string_view raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (char ch : raw) {
    const auto c = static_cast<uint8_t>(ch);
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xF]);
  }
  return out;
}

std::string from_hex(std::string_view hex) {
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return {};
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = value(hex[i]);
    const int lo = value(hex[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

std::string labelled(DigestAlgo algo, std::string_view raw) {
  return std::string(algo_name(algo)) + ":" + to_hex(raw);
}

bool feed_file(Hasher& hasher, int fd, uint64_t size, std::stop_token stop) {
  if (size == 0) return !stop.stop_requested();
  // Small enough to stay in the core's cache between the read and the hash; not zero-filled,
  // since every byte used is read first.
  const size_t buf_size = static_cast<size_t>(std::min<uint64_t>(size, 256 << 10));
  const auto buf = std::make_unique_for_overwrite<uint8_t[]>(buf_size);
  uint64_t done = 0;
  while (done < size) {
    if (stop.stop_requested()) return false;
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf_size, size - done));
    const ssize_t n = ::pread(fd, buf.get(), want, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_sys("read");
    }
    if (n == 0) throw std::runtime_error("file ended early: it shrank while being read");
    hasher.update(std::span(buf.get(), static_cast<size_t>(n)));
    done += static_cast<uint64_t>(n);
  }
  return true;
}

std::string digest_file(int fd, DigestAlgo algo, uint64_t size, std::stop_token stop) {
  Hasher hasher(algo);
  if (!feed_file(hasher, fd, size, stop)) return {};
  return hasher.finish();
}

}  // namespace ftx::digest
