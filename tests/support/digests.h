// SPDX-License-Identifier: MIT
// Digests computed independently of ftx's streaming code: by xxh128sum/sha256sum when
// installed, else by the libraries' one-shot functions.
#pragma once

#include <openssl/evp.h>
#include <xxhash.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "temp_dir.h"

namespace ftx::testing {

inline std::string hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

/// "xxh128:HEX" or "sha256:HEX" of a file.
inline std::string independent_digest(const std::filesystem::path& path, const std::string& algo) {
  const std::string tool = algo == "sha256" ? "sha256sum" : "xxh128sum";
  const std::string cmd = "command -v " + tool + " >/dev/null 2>&1 && " + tool + " < '" + path.string() + "'";
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[256] = {};
    const size_t n = std::fread(buf, 1, sizeof buf - 1, p);
    const int status = ::pclose(p);
    if (status == 0 && n > 0) {
      std::string line(buf, n);
      return algo + ":" + line.substr(0, line.find(' '));
    }
  }
  const std::string data = read_file(path);
  if (algo == "sha256") {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    return "sha256:" + hex(md, len);
  }
  XXH128_canonical_t canon;
  XXH128_canonicalFromHash(&canon, XXH3_128bits(data.data(), data.size()));
  return "xxh128:" + hex(canon.digest, sizeof canon.digest);
}

}  // namespace ftx::testing
