// SPDX-License-Identifier: MIT
// The receiving directory: partial files in a hidden area, committed by atomic rename.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "net/unique_fd.h"

namespace ftx::server {

/// What happens when a committed name is already taken.
enum class OverwritePolicy { Rename, Replace, Refuse };

std::optional<OverwritePolicy> parse_overwrite(std::string_view text);

class Inbox;

/// A file being received. Destroying it before commit removes it: a broken transfer
/// leaves nothing behind, visible or hidden.
class PartialFile {
 public:
  PartialFile(PartialFile&& other) noexcept;
  PartialFile& operator=(PartialFile&&) = delete;
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;
  ~PartialFile();

  /// Appends bytes. A full disk throws proto::ProtocolError(NoSpace); other failures
  /// std::system_error.
  void write(std::span<const uint8_t> data);

  uint64_t size() const { return written_; }

 private:
  friend class Inbox;
  PartialFile(int area_fd, net::UniqueFd fd, std::string name);

  int area_fd_;
  net::UniqueFd fd_;
  std::string name_;  ///< inside the partial area; empty once committed
  uint64_t written_ = 0;
};

/// Owns DIR and DIR/.ftx/partial. Every path operation is relative to a directory fd and
/// never follows a symlink, so a link planted in DIR cannot redirect a write.
class Inbox {
 public:
  /// Creates DIR (and its hidden area) if missing, and removes partial files a previous run
  /// left behind (it crashed mid-transfer). Throws std::system_error.
  explicit Inbox(const std::filesystem::path& dir);

  const std::filesystem::path& path() const { return path_; }

  /// DIR/.ftx, where the default transfer log lives.
  int meta_fd() const { return meta_fd_.get(); }

  /// Starts a partial file for `size` bytes; refuses with NoSpace when the filesystem
  /// cannot hold it.
  PartialFile begin(uint64_t size);

  /// Makes the partial visible as `name` (checked by proto::check_name) with the given
  /// permission bits (less the server's umask) and mtime: fsync, then an atomic rename that never replaces an
  /// existing file unless the policy says Replace. Returns the path as saved, relative to
  /// DIR. Throws proto::ProtocolError (Exists, NameRefused, NoSpace, Internal).
  std::string commit(PartialFile& partial, std::string_view name, OverwritePolicy policy,
                     uint32_t mode, int64_t mtime_ns);

 private:
  void remove_stale_partials();

  std::filesystem::path path_;
  net::UniqueFd dir_fd_;
  net::UniqueFd meta_fd_;
  net::UniqueFd area_fd_;
  mode_t umask_;
};

}  // namespace ftx::server
