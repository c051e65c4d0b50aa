// SPDX-License-Identifier: MIT
// A temporary directory removed with everything in it when the test ends.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace ftx::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ftx-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint64_t v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  for (; i < n; ++i) out[i] = static_cast<char>(rng());
  return out;
}

inline void write_file(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Regular files under dir, relative, sorted; the server's hidden .ftx area excluded.
inline std::vector<std::string> visible_files(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (auto it = std::filesystem::recursive_directory_iterator(dir);
       it != std::filesystem::recursive_directory_iterator(); ++it) {
    const auto rel = std::filesystem::relative(it->path(), dir).string();
    if (rel == ".ftx") {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_directory()) out.push_back(rel);
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Files in the server's partial area and its batch lanes (DIR/.ftx/partial, batch and batch2).
inline size_t partial_count(const std::filesystem::path& dir) {
  size_t n = 0;
  for (const char* area : {"partial", "batch", "batch2"}) {
    const auto path = dir / ".ftx" / area;
    if (!std::filesystem::exists(path)) continue;
    n += static_cast<size_t>(
        std::distance(std::filesystem::directory_iterator(path), std::filesystem::directory_iterator()));
  }
  return n;
}

}  // namespace ftx::testing
