// SPDX-License-Identifier: MIT
// The shelf: the directory `ftx serve --share` lets clients list and fetch, read safely
// (never .ftx, never a link followed, never outside it), with the files' digests.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "digest/algo.h"
#include "net/unique_fd.h"
#include "server/inbox.h"
#include "util/mutex.h"

namespace ftx::server {

/// The checked form of a path a client names on the shelf: '/'-separated components
/// without a trailing '/'; "" is the shelf's root (only where a directory may be named:
/// root_allowed). Throws proto::ProtocolError: not_shared for anything in a directory named
/// .ftx (at any depth: a shared directory may hold a server's DIR), name_refused
/// for '..', '.', an absolute path, a backslash, a control character or invalid UTF-8.
/// Pure.
std::string check_shelf_path(std::string_view requested, bool root_allowed);

/// One thing on the shelf.
struct ShelfEntry {
  std::string name;  ///< relative to the shelf's root
  bool directory = false;
  uint64_t size = 0;  ///< 0 for a directory
  uint32_t mode = 0;  ///< permission bits
  int64_t mtime_ns = 0;
  std::string digest;  ///< "ALGO:HEX"; empty for a directory
};

/// Digests of the shelf's files by name, each valid while the file keeps its identity (device,
/// inode, size, mtime, ctime). Kept in DIR/.ftx/shelf-digests.jsonl, so a restart does not hash
/// every file again. Thread-safe.
class DigestIndex {
 public:
  /// Loads what the file holds (entries of another algorithm are dropped). meta_fd: DIR/.ftx.
  DigestIndex(int meta_fd, DigestAlgo algo);

  /// The labelled digest recorded for name when the file still has that identity.
  std::optional<std::string> find(const std::string& name, const FileIdentity& id) const;

  /// Records (and appends to the file) a digest for name.
  void put(const std::string& name, const FileIdentity& id, const std::string& labelled);

  DigestAlgo algo() const { return algo_; }

 private:
  struct Known {
    FileIdentity id;
    std::string digest;
  };
  DigestAlgo algo_;
  net::UniqueFd file_;  ///< appended to; may be empty when the file cannot be opened
  mutable Mutex mutex_;
  std::map<std::string, Known> known_ GUARDED_BY(mutex_);
};

/// The shared directory. Every path is opened relative to the root's descriptor, one
/// component at a time, with O_NOFOLLOW: a link on the shelf is refused, never followed.
/// Files still arriving live in DIR/.ftx/partial or DIR/.ftx/batch and are never on it.
class Shelf {
 public:
  /// root: the shared directory; inbox_root: whether it is DIR itself (uploads land on the
  /// shelf, and the inbox tells it their digests); meta_fd: DIR/.ftx, for the index. Throws
  /// std::system_error when root cannot be opened.
  Shelf(const std::filesystem::path& root, bool inbox_root, int meta_fd, DigestAlgo algo);

  const std::filesystem::path& root() const { return root_; }
  /// True when the shelf is DIR (--share); false for another directory (--share=PATH).
  bool inbox_root() const { return inbox_root_; }

  /// A file ready to send: its descriptor (read from, never written) and what it is.
  struct OpenFile {
    net::UniqueFd fd;
    ShelfEntry entry;
  };

  /// Opens the file `name` and works out its digest. Throws proto::ProtocolError: not_found,
  /// not_shared (a link, .ftx, not a regular file, unreadable), name_refused, bad_request (a
  /// directory: list it instead).
  OpenFile open(std::string_view name);

  /// The entries of directory `path` ("": the root), sorted by name, or the one entry of a
  /// file. Links, special files and names no receiver would accept are left out. Throws
  /// like open().
  std::vector<ShelfEntry> list(std::string_view path);

  /// An upload committed as `name` (relative to DIR) with this identity and digest, by
  /// `client` (its HELLO name): recorded, so nobody hashes it again and its sharer can be told
  /// of each verified fetch. Does nothing when the shelf is not DIR.
  void committed(const std::string& name, const FileIdentity& id, const std::string& labelled,
                 const std::string& client = {});

  /// Who uploaded `name` with this labelled digest (since the server started), when known.
  std::optional<std::string> sharer(const std::string& name, const std::string& labelled) const;

 private:
  /// The labelled digest of an open file, from the index or hashed now (and recorded).
  std::string digest_of(const std::string& name, int fd, const struct stat& st);
  /// Opens the directory parts[0..count) under the root, refusing links.
  net::UniqueFd open_dir(const std::vector<std::string>& parts, size_t count, const std::string& shown) const;
  ShelfEntry entry_for(const std::string& name, int fd, const struct stat& st);

  std::filesystem::path root_;
  bool inbox_root_;
  net::UniqueFd root_fd_;
  DigestIndex index_;
  struct Shared {
    std::string client;
    std::string digest;
  };
  mutable Mutex mutex_;
  std::map<std::string, Shared> sharers_ GUARDED_BY(mutex_);
};

}  // namespace ftx::server
