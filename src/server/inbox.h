// SPDX-License-Identifier: MIT
// The receiving directory: partial files in a hidden area, committed by atomic rename.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <semaphore>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "digest/algo.h"
#include "net/unique_fd.h"
#include "server/digest_cache.h"
#include "util/mutex.h"

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

/// A bound in bytes, or as a share of the filesystem holding DIR (worked out when the inbox
/// opens); both 0: no bound.
struct SizeBound {
  uint64_t bytes = 0;
  unsigned percent = 0;
};

/// "500M", "2G", "0" (no bound) or "25%" (of the filesystem holding DIR); nullopt when the
/// text is none of those.
std::optional<SizeBound> parse_size_bound(std::string_view text);

/// What resumable partials may hold, all together and per peer address (0: no bound). A new
/// resumable upload evicts the oldest partials nobody is writing until it fits within them,
/// counted at its announced size; an upload that finds too little free space evicts too. A
/// partial is never evicted for its own size, nor while a session writes it.
struct PartialLimits {
  SizeBound total_bytes{0, 25};
  size_t total_files = 256;
  SizeBound peer_bytes{0, 10};
  size_t peer_files = 16;
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

  /// What the file was when the inbox published it (a rename keeps the inode), so the
  /// shelf can know its digest without hashing it again; all 0 before.
  const FileIdentity& published_as() const { return published_as_; }

 private:
  friend class Inbox;
  PartialFile(Inbox* owner, int dir_fd, net::UniqueFd fd, std::string name, std::string id = {},
              uint64_t existing = 0);

  Inbox* owner_;
  int dir_fd_;  ///< the inbox's directory the file is in: the partial area or the batch lane
  net::UniqueFd fd_;
  std::string name_;  ///< inside dir_fd_; empty once committed or discarded
  std::string id_;    ///< resumable: the transfer id this session holds; empty otherwise
  uint64_t written_ = 0;
  uint64_t resumed_from_ = 0;
  uint64_t writeback_from_ = 0;  ///< bytes before this already handed to writeback
  FileIdentity published_as_;
};

/// Owns DIR, DIR/.ftx/partial and DIR/.ftx/batch. Every path operation is relative to a directory fd and
/// never follows a symlink, so a link planted in DIR cannot redirect a write.
class Inbox {
 public:
  /// Creates DIR (and its hidden area) if missing, removes plain partial files a previous
  /// run left behind, and resumable ones untouched for longer than partial_ttl. Throws
  /// std::system_error.
  /// Without fsync (--no-fsync), commits skip fsync and syncfs: a crash may then lose
  /// files the senders were told were saved.
  explicit Inbox(const std::filesystem::path& dir, std::chrono::seconds partial_ttl = std::chrono::hours(24),
                 bool fsync = true, PartialLimits limits = {});

  const std::filesystem::path& path() const { return path_; }

  /// DIR/.ftx, where the default transfer log lives.
  int meta_fd() const { return meta_fd_.get(); }

  /// Where a plain partial is created: the partial area, or DIR/.ftx/batch or batch2. A
  /// session's batches of small files take the three in turn (next_lane), so that creating
  /// one batch's files and renaming an earlier one out of its directory (BatchCommitter,
  /// on another thread, which may hold one batch while the next waits) do not take turns
  /// at one directory's lock: a third of the committer's time went to waiting for it.
  enum class Lane { Partial, Batch, Batch2 };
  static Lane next_lane(Lane lane) {
    return lane == Lane::Partial ? Lane::Batch : lane == Lane::Batch ? Lane::Batch2 : Lane::Partial;
  }

  /// Starts a partial file for `size` bytes, evicting abandoned resumable partials (oldest
  /// first) when the free space is short; refuses with NoSpace when the filesystem still
  /// cannot hold it.
  PartialFile begin(uint64_t size, Lane lane = Lane::Partial);

  /// Starts or resumes the partial for key: one whose recorded name, size and mtime match
  /// is reopened with its bytes (resumed_from() > 0); one that does not match is replaced.
  /// While another session holds the same id (for more than 3 s), a plain partial is
  /// returned instead. A new one counts against `owner` (the peer's address) and evicts
  /// abandoned partials to stay within the PartialLimits. Refuses with NoSpace like begin().
  PartialFile begin_resumable(const ResumeKey& key, const std::string& owner = "");

  /// The bytes a resumable partial for key holds (what begin_resumable would resume from),
  /// without taking it: 0 when there is none, or it copies another source.
  uint64_t resumable_bytes(const ResumeKey& key) const;

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
  /// With same_file_there, the partial is published unless the file already at `name` is
  /// this one: it is asked only when the name is taken (under Replace, before replacing
  /// it), and true leaves the partial where it is and returns nullopt. A new name costs no
  /// lookup of its own: the rename that never replaces is what finds the name taken.
  std::optional<std::string> publish(PartialFile& partial, std::string_view name, OverwritePolicy policy,
                                     bool synced, const std::function<bool()>& same_file_there = {});
  /// syncfs(2) of the filesystem holding DIR. Throws like commit().
  void sync();
  /// Tests stand in for syncfs(2) in sync(), to fail it or hold it at a chosen moment (no
  /// filesystem can be told to fail one on cue). Set before any session runs.
  void replace_sync_for_testing(std::function<void()> sync) { sync_for_testing_ = std::move(sync); }

  /// Creates directory `name` (and its parents) with the given mode and mtime; an existing
  /// directory is kept and gets them too. Throws proto::ProtocolError (NameRefused when a
  /// file is in the way, NoSpace, Internal).
  void make_directory(std::string_view name, uint32_t mode, int64_t mtime_ns);

  /// A file already at `name`, as an upload of the same name would find it.
  struct Existing {
    std::string path;    ///< relative to DIR, as publish() would return it
    std::string digest;  ///< raw
  };

  /// Why the file there is looked at: to offer it before the data (a FILE_BEGIN costs the
  /// client nothing), or to compare it with a file that arrived (the client paid with as
  /// many bytes as the read costs).
  enum class Look { Offer, Arrived };

  /// The regular file at `name` (no symlink followed) when it has `size` bytes (and, when
  /// given, mtime_ns) and its digest is known: remembered from its commit or an earlier
  /// look, or hashed now. Hashing is bounded: each version of a file once while it stays
  /// in the cache, each within kHashDeadline (a file that takes longer is remembered as
  /// such and never hashed again in this version), and for an Offer at most kHashesAtOnce
  /// files at once server-wide (past that: nullopt). nullopt when there is no such file or
  /// its digest is not known. Never throws for the file's sake.
  std::optional<Existing> existing(std::string_view name, uint64_t size, std::optional<int64_t> mtime_ns,
                                   DigestAlgo algo, Look look = Look::Offer);

  /// Remembers the digest of a file just committed (its PartialFile::published_as()), so
  /// it is offered without being read again; nothing when the identity is unknown.
  void remember_digest(const FileIdentity& committed, DigestAlgo algo, const std::string& digest);

  static constexpr std::ptrdiff_t kHashesAtOnce = 2;
  static constexpr std::chrono::seconds kHashDeadline{10};

  const DigestCache& digests() const { return digests_; }

 private:
  /// Opens the regular file at name for reading without following a symlink or creating
  /// anything; nullopt when there is none. path gets its relative path.
  std::optional<net::UniqueFd> open_existing(std::string_view name, std::string& path) const;
  friend class PartialFile;
  /// Removes plain partials (at start only) and resumable ones older than the TTL, with
  /// their records, skipping ids in use.
  void sweep_partials(bool at_start) REQUIRES(mutex_);
  void check_space(uint64_t needed) const;
  /// Opens (creating) the directories of parts[0..count) under DIR; returns the last one's
  /// fd (or DIR's, owned by nobody, when count is 0) and the path so far in prefix.
  int open_parents(const std::vector<std::string>& parts, size_t count, net::UniqueFd& holder,
                   std::string& prefix);
  /// A session lets go of a resumable partial that now holds `bytes`.
  void release(const std::string& id, uint64_t bytes);
  void remove_resumable(const std::string& id);
  void remove_resumable_locked(const std::string& id) REQUIRES(mutex_);
  /// Free bytes on DIR's filesystem (nullopt when unknown).
  std::optional<uint64_t> free_bytes() const;
  /// Evicts the oldest abandoned partial (of `owner` only, when given); false when none.
  bool evict_oldest(const std::string* owner) REQUIRES(mutex_);
  /// Evicts until a new partial of owner and size fits the PartialLimits (or nothing is
  /// left to evict).
  void evict_for(const std::string& owner, uint64_t size, const std::string& id) REQUIRES(mutex_);
  /// Evicts abandoned partials until `needed` bytes are free; throws NoSpace when they
  /// cannot be.
  void make_room(uint64_t needed);
  /// Evicts one abandoned partial for a write that found the disk full; false when none.
  bool evict_for_write();

  /// A resumable partial the inbox knows of: whose it is, what it holds (a partial being
  /// written counts at its announced size) and when a session last let go of it.
  struct Kept {
    std::string owner;
    uint64_t bytes = 0;
    std::chrono::system_clock::time_point touched;
  };

  std::filesystem::path path_;
  net::UniqueFd dir_fd_;
  net::UniqueFd meta_fd_;
  net::UniqueFd area_fd_;
  std::array<net::UniqueFd, 2> batch_fds_;  ///< DIR/.ftx/batch and batch2 (Lane::Batch, Batch2)
  mode_t umask_;
  std::chrono::seconds partial_ttl_;
  bool fsync_;
  std::function<void()> sync_for_testing_;  ///< no lock: set before any session, only read after
  PartialLimits limits_;
  uint64_t total_bytes_limit_ = 0;  ///< limits_, in bytes (0: none)
  uint64_t peer_bytes_limit_ = 0;
  Mutex mutex_;
  std::set<std::string> ids_in_use_ GUARDED_BY(mutex_);  ///< resumable partials a session is writing
  std::condition_variable released_;                     ///< an id left ids_in_use_
  std::map<std::string, Kept> kept_ GUARDED_BY(mutex_);  ///< every resumable partial, by id
  std::chrono::steady_clock::time_point last_sweep_ GUARDED_BY(mutex_);
  DigestCache digests_;
  std::counting_semaphore<kHashesAtOnce> hash_slots_{kHashesAtOnce};
};

}  // namespace ftx::server
