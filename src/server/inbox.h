// SPDX-License-Identifier: MIT
// The receiving directory: partial files in a hidden area, committed by atomic rename.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/unique_fd.h"

namespace ftx::server {

/// What happens when a committed name is already taken.
enum class OverwritePolicy { Rename, Replace, Refuse };

std::optional<OverwritePolicy> parse_overwrite(std::string_view text);

class Inbox;

/// What a resumable upload is known by: the sender's id for it and the source it copies.
/// A partial is resumed only when all of it matches.
struct ResumeKey {
  std::string id;  ///< sender-derived, [0-9a-f]{1,64} (check_transfer_id)
  std::string name;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

/// Why a transfer id is unusable, or nullopt when it is fine.
std::optional<std::string> check_transfer_id(std::string_view id);

/// A file being received. Destroying a plain one before commit removes it: a broken
/// transfer leaves nothing behind. A resumable one stays in the hidden area for the next
/// attempt of the same upload, unless discard() was called.
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

  /// Open for reading too, so a resumed prefix can be hashed.
  int fd() const { return fd_.get(); }

  /// Bytes already there when the upload started: a resumed prefix.
  uint64_t resumed_from() const { return resumed_from_; }

  bool resumable() const { return !id_.empty(); }

  /// Closes the descriptor of a sealed file waiting for its batch's sync, so a batch of
  /// many files does not hold a descriptor for each.
  void close() { fd_.reset(); }

  /// Removes the file now, resumable or not: its bytes must not be reused.
  void discard();

 private:
  friend class Inbox;
  PartialFile(Inbox* owner, net::UniqueFd fd, std::string name, std::string id = {}, uint64_t existing = 0);

  Inbox* owner_;
  net::UniqueFd fd_;
  std::string name_;  ///< inside the partial area; empty once committed or discarded
  std::string id_;    ///< resumable: the transfer id this session holds; empty otherwise
  uint64_t written_ = 0;
  uint64_t resumed_from_ = 0;
  uint64_t writeback_from_ = 0;  ///< bytes before this already handed to writeback
};

/// Owns DIR and DIR/.ftx/partial. Every path operation is relative to a directory fd and
/// never follows a symlink, so a link planted in DIR cannot redirect a write.
class Inbox {
 public:
  /// Creates DIR (and its hidden area) if missing, removes plain partial files a previous
  /// run left behind, and resumable ones untouched for longer than partial_ttl. Throws
  /// std::system_error.
  /// Without fsync (--no-fsync), commits skip fsync and syncfs: a crash may then lose
  /// files the senders were told were saved.
  explicit Inbox(const std::filesystem::path& dir, std::chrono::seconds partial_ttl = std::chrono::hours(24),
                 bool fsync = true);

  const std::filesystem::path& path() const { return path_; }

  /// DIR/.ftx, where the default transfer log lives.
  int meta_fd() const { return meta_fd_.get(); }

  /// Starts a partial file for `size` bytes; refuses with NoSpace when the filesystem
  /// cannot hold it.
  PartialFile begin(uint64_t size);

  /// Starts or resumes the partial for key: one whose recorded name, size and mtime match
  /// is reopened with its bytes (resumed_from() > 0); one that does not match is replaced.
  /// While another session holds the same id (for more than 3 s), a plain partial is
  /// returned instead. Refuses
  /// with NoSpace like begin().
  PartialFile begin_resumable(const ResumeKey& key);

  /// Makes the partial visible as `name` (checked by proto::check_name) with the given
  /// permission bits (less the server's umask) and mtime: fsync, then an atomic rename that never replaces an
  /// existing file unless the policy says Replace. Returns the path as saved, relative to
  /// DIR. Throws proto::ProtocolError (Exists, NameRefused, NoSpace, Internal).
  std::string commit(PartialFile& partial, std::string_view name, OverwritePolicy policy, uint32_t mode,
                     int64_t mtime_ns);

  /// commit() in steps, for many small files made durable together: seal sets mode and
  /// mtime; after sync() (every sealed file's data on disk) publish renames without an
  /// fsync of its own; a second sync() makes the new names durable before anyone hears of
  /// them. Errors as commit().
  void seal(PartialFile& partial, uint32_t mode, int64_t mtime_ns);
  std::string publish(PartialFile& partial, std::string_view name, OverwritePolicy policy, bool synced);
  /// syncfs(2) of the filesystem holding DIR. Throws like commit().
  void sync();

  /// Creates directory `name` (and its parents) with the given mode and mtime; an existing
  /// directory is kept and gets them too. Throws proto::ProtocolError (NameRefused when a
  /// file is in the way, NoSpace, Internal).
  void make_directory(std::string_view name, uint32_t mode, int64_t mtime_ns);

 private:
  friend class PartialFile;
  /// Removes plain partials (at start only) and resumable ones older than the TTL, with
  /// their records, skipping ids in use.
  void sweep_partials(bool at_start);
  void check_space(uint64_t needed) const;
  /// Opens (creating) the directories of parts[0..count) under DIR; returns the last one's
  /// fd (or DIR's, owned by nobody, when count is 0) and the path so far in prefix.
  int open_parents(const std::vector<std::string>& parts, size_t count, net::UniqueFd& holder,
                   std::string& prefix);
  void release(const std::string& id);
  void remove_resumable(const std::string& id);

  std::filesystem::path path_;
  net::UniqueFd dir_fd_;
  net::UniqueFd meta_fd_;
  net::UniqueFd area_fd_;
  mode_t umask_;
  std::chrono::seconds partial_ttl_;
  bool fsync_;
  std::mutex mutex_;                  ///< guards the two below
  std::set<std::string> ids_in_use_;  ///< resumable partials a session is writing
  std::condition_variable released_;  ///< an id left ids_in_use_
  std::chrono::steady_clock::time_point last_sweep_;
};

}  // namespace ftx::server
