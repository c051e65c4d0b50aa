// SPDX-License-Identifier: MIT
// The receiving directory.
#include "server/inbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <map>
#include <random>
#include <vector>

#include "digest/digest.h"
#include "proto/errors.h"
#include "proto/limits.h"
#include "proto/names.h"
#include "util/clock.h"
#include "util/io.h"
#include "util/sys_error.h"
#include "util/units.h"

namespace ftx::server {
namespace {

using proto::ErrorCode;
using proto::ProtocolError;

constexpr const char* kMetaDir = ".ftx";
constexpr const char* kPartialDir = "partial";
// The lanes of batches of small files besides the partial area (Inbox::Lane).
constexpr std::array<const char*, 2> kBatchDirs = {"batch", "batch2"};
constexpr int kMaxRenameAttempts = 10000;
constexpr std::chrono::seconds kWaitForInUse{3};
constexpr uint64_t kWritebackChunk = 8 << 20;

bool is_space_error(int err) { return err == ENOSPC || err == EDQUOT; }

// Plain partials start "p-"; resumable ones are "r-<id>" with their record "r-<id>.meta".
constexpr std::string_view kResumablePrefix = "r-";
constexpr std::string_view kRecordSuffix = ".meta";

std::string resumable_name(const std::string& id) { return std::string(kResumablePrefix) + id; }
std::string record_name(const std::string& id) { return resumable_name(id) + std::string(kRecordSuffix); }

// The record says whose the bytes are and which source they copy: the owner's address,
// size, mtime and name, one per line (the name last, so nothing in it can shift the
// fields). Version 1 records, from before owners were kept, have no owner line.
std::string format_record(const ResumeKey& key, const std::string& owner) {
  return "ftx-partial 2\n" + owner + "\n" + std::to_string(key.size) + "\n" + std::to_string(key.mtime_ns) +
         "\n" + key.name;
}

struct Record {
  std::string owner;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string name;
};

std::optional<Record> parse_record(const std::string& text) {
  std::vector<std::string> fields;
  size_t at = 0;
  const bool v2 = text.starts_with("ftx-partial 2\n");
  if (!v2 && !text.starts_with("ftx-partial 1\n")) return std::nullopt;
  // The fixed fields; the name is the rest, whatever it holds.
  const size_t fixed = v2 ? 4 : 3;
  while (fields.size() < fixed) {
    const size_t nl = text.find('\n', at);
    if (nl == std::string::npos) return std::nullopt;
    fields.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  Record r;
  r.name = text.substr(at);
  if (v2) r.owner = fields[1];
  try {
    r.size = std::stoull(fields[fixed - 2]);
    r.mtime_ns = std::stoll(fields[fixed - 1]);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return r;
}

bool same_source(const std::optional<Record>& r, const ResumeKey& key) {
  return r && r->size == key.size && r->mtime_ns == key.mtime_ns && r->name == key.name;
}

// A share of the filesystem holding fd, in bytes.
uint64_t resolve(const SizeBound& bound, int fd) {
  if (bound.percent == 0) return bound.bytes;
  struct statvfs vfs {};
  if (::fstatvfs(fd, &vfs) != 0) return 0;
  const auto size = static_cast<unsigned long long>(vfs.f_blocks) * vfs.f_frsize;
  return static_cast<uint64_t>(size / 100 * bound.percent);
}

std::optional<std::string> read_small_file(int dir_fd, const std::string& name) {
  net::UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string text(8192, '\0');
  const ssize_t n = ::read(fd.get(), text.data(), text.size());
  if (n < 0) return std::nullopt;
  text.resize(static_cast<size_t>(n));
  return text;
}

// Every byte, or the client's no_space for a full disk (anything else is the server's
// failure, with its errno).
void write_or_refuse(int fd, std::span<const uint8_t> data, const std::string& what) {
  try {
    write_all(fd, data, what);
  } catch (const std::system_error& e) {
    if (is_space_error(e.code().value()))
      throw ProtocolError(ErrorCode::NoSpace, "the server's disk is full");
    throw;
  }
}

void write_small_file(int dir_fd, const std::string& name, const std::string& text) {
  net::UniqueFd fd(
      ::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) {
    if (is_space_error(errno)) throw ProtocolError(ErrorCode::NoSpace, "the server's disk is full");
    throw_sys("create partial record " + name);
  }
  write_or_refuse(fd.get(), std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
                  "partial record " + name);
}

// Names in the partial area, read through a directory fd.
std::vector<std::string> list_dir(int dir_fd) {
  std::vector<std::string> names;
  const int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return names;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return names;
  }
  while (const dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);
  return names;
}

// Opens (creating if missing) a directory relative to parent, refusing symlinks.
int open_dir_at(int parent, const std::string& name, bool create, const std::string& shown) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int fd = ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) return fd;
    if (errno == ENOTDIR || errno == ELOOP) {
      throw ProtocolError(ErrorCode::NameRefused,
                          "'" + shown + "' exists on the server and is not a directory");
    }
    if (errno != ENOENT || !create) throw_sys("open directory " + shown);
    if (::mkdirat(parent, name.c_str(), 0755) < 0) {
      if (errno == EEXIST) continue;
      if (is_space_error(errno)) throw ProtocolError(ErrorCode::NoSpace, "no space to create " + shown);
      throw_sys("mkdir " + shown);
    }
    ::fsync(parent);  // the new directory's name must survive a crash like the file's
  }
  throw_sys("open directory " + shown, ELOOP);
}

std::string unique_partial_name() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device{}();
  char buf[64];
  std::snprintf(buf, sizeof buf, "p-%d-%llx-%llu", static_cast<int>(::getpid()),
                static_cast<unsigned long long>(salt & 0xffffffff),
                static_cast<unsigned long long>(counter.fetch_add(1)));
  return buf;
}

// renameat2(RENAME_NOREPLACE), or link+unlink where the filesystem lacks it; both fail
// with EEXIST instead of replacing.
int rename_noreplace(int from_dir, const char* from, int to_dir, const char* to) {
  if (::renameat2(from_dir, from, to_dir, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  if (::linkat(from_dir, from, to_dir, to, 0) < 0) return -1;
  ::unlinkat(from_dir, from, 0);
  return 0;
}

}  // namespace

std::optional<SizeBound> parse_size_bound(std::string_view text) {
  if (text.ends_with('%')) {
    const auto percent = parse_count(text.substr(0, text.size() - 1));
    if (!percent || *percent < 1 || *percent > 100) return std::nullopt;
    return SizeBound{0, static_cast<unsigned>(*percent)};
  }
  const auto bytes = parse_size(text);
  if (!bytes) return std::nullopt;
  return SizeBound{*bytes, 0};
}

std::optional<OverwritePolicy> parse_overwrite(std::string_view text) {
  if (text == "rename") return OverwritePolicy::Rename;
  if (text == "replace") return OverwritePolicy::Replace;
  if (text == "refuse") return OverwritePolicy::Refuse;
  return std::nullopt;
}

std::optional<std::string> check_transfer_id(std::string_view id) {
  if (id.empty() || id.size() > proto::kMaxTransferId) return "a transfer id has 1 to 64 characters";
  for (const char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return "a transfer id is lower-case hex";
  }
  return std::nullopt;
}

PartialFile::PartialFile(Inbox* owner, int dir_fd, net::UniqueFd fd, std::string name, std::string id,
                         uint64_t existing)
    : owner_(owner),
      dir_fd_(dir_fd),
      fd_(std::move(fd)),
      name_(std::move(name)),
      id_(std::move(id)),
      written_(existing),
      resumed_from_(existing),
      writeback_from_(existing) {}

PartialFile::PartialFile(PartialFile&& other) noexcept
    : owner_(other.owner_),
      dir_fd_(other.dir_fd_),
      fd_(std::move(other.fd_)),
      name_(std::exchange(other.name_, std::string())),
      id_(std::exchange(other.id_, std::string())),
      written_(other.written_),
      resumed_from_(other.resumed_from_),
      writeback_from_(other.writeback_from_),
      published_as_(other.published_as_) {}

PartialFile::~PartialFile() {
  // A resumable partial outlives its session: the sender's next attempt continues it.
  if (!name_.empty() && id_.empty()) ::unlinkat(dir_fd_, name_.c_str(), 0);
  if (!id_.empty()) owner_->release(id_, written_);
}

void PartialFile::discard() {
  if (name_.empty()) return;
  if (id_.empty()) {
    ::unlinkat(dir_fd_, name_.c_str(), 0);
  } else {
    owner_->remove_resumable(id_);
  }
  name_.clear();
}

void PartialFile::write(std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd_.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (is_space_error(errno)) {
        // Uploads abandoned for a resume that may never come give way to this one.
        if (owner_->evict_for_write()) continue;
        throw ProtocolError(ErrorCode::NoSpace, "the server's disk is full");
      }
      throw_sys("write partial file");
    }
    done += static_cast<size_t>(n);
  }
  written_ += data.size();
  // Start writing a large file to disk while it arrives, so the fsync at commit finds
  // little left to do instead of the whole file; with --no-fsync too, so dirty pages stay
  // bounded instead of piling up until the kernel throttles every writer (bench/README.md).
  if (written_ - writeback_from_ >= kWritebackChunk) {
    ::sync_file_range(fd_.get(), static_cast<off_t>(writeback_from_),
                      static_cast<off_t>(written_ - writeback_from_), SYNC_FILE_RANGE_WRITE);
    writeback_from_ = written_;
  }
}

Inbox::Inbox(const std::filesystem::path& dir, std::chrono::seconds partial_ttl, bool fsync,
             PartialLimits limits)
    : path_(dir), partial_ttl_(partial_ttl), fsync_(fsync), limits_(limits) {
  if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) throw_sys("mkdir " + dir.string());
  dir_fd_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd_) throw_sys("open " + dir.string());
  meta_fd_.reset(open_dir_at(dir_fd_.get(), kMetaDir, true, (dir / kMetaDir).string()));
  area_fd_.reset(open_dir_at(meta_fd_.get(), kPartialDir, true, (dir / kMetaDir / kPartialDir).string()));
  for (size_t i = 0; i < kBatchDirs.size(); ++i) {
    batch_fds_[i].reset(
        open_dir_at(meta_fd_.get(), kBatchDirs[i], true, (dir / kMetaDir / kBatchDirs[i]).string()));
  }
  total_bytes_limit_ = resolve(limits_.total_bytes, area_fd_.get());
  peer_bytes_limit_ = resolve(limits_.peer_bytes, area_fd_.get());
  {
    MutexLock lock(mutex_);  // nothing else runs yet; the analysis wants it held all the same
    sweep_partials(/*at_start=*/true);
  }
  // The process umask cannot be read without setting it; this runs before any session.
  umask_ = ::umask(022);
  ::umask(umask_);
}

void Inbox::sweep_partials(bool at_start) {
  const auto now = std::chrono::system_clock::now();
  // What is on disk is the truth (after a restart it is all there is): kept_ is built anew.
  std::map<std::string, Kept> found;
  if (at_start) {
    for (const net::UniqueFd& lane : batch_fds_) {
      for (const std::string& name : list_dir(lane.get())) {
        if (name.starts_with("p-")) ::unlinkat(lane.get(), name.c_str(), 0);
      }
    }
  }
  for (const std::string& name : list_dir(area_fd_.get())) {
    if (name.starts_with("p-")) {
      // A plain partial is only ever written by a live session of this process.
      if (at_start) ::unlinkat(area_fd_.get(), name.c_str(), 0);
      continue;
    }
    if (!name.starts_with(kResumablePrefix)) continue;
    std::string id = name.substr(kResumablePrefix.size());
    const bool is_record = id.ends_with(kRecordSuffix);
    if (is_record) id.resize(id.size() - kRecordSuffix.size());
    if (ids_in_use_.contains(id)) continue;
    struct stat st {};
    // A record goes with its data file: judge both by the data file's age.
    const std::string data = resumable_name(id);
    if (::fstatat(area_fd_.get(), data.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) ::unlinkat(area_fd_.get(), name.c_str(), 0);  // an orphan record
      continue;
    }
    if (is_record) continue;
    const auto modified = std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec) +
                                                                std::chrono::nanoseconds(st.st_mtim.tv_nsec));
    if (now - modified > partial_ttl_) {
      remove_resumable_locked(id);
      continue;
    }
    const auto record = parse_record(read_small_file(area_fd_.get(), record_name(id)).value_or(""));
    found[id] = Kept{record ? record->owner : "", static_cast<uint64_t>(st.st_size), modified};
  }
  // Partials being written keep what their sessions said of them.
  for (const std::string& id : ids_in_use_) {
    if (auto it = kept_.find(id); it != kept_.end()) found[id] = it->second;
  }
  kept_ = std::move(found);
  last_sweep_ = std::chrono::steady_clock::now();
}

void Inbox::remove_resumable_locked(const std::string& id) {
  ::unlinkat(area_fd_.get(), resumable_name(id).c_str(), 0);
  ::unlinkat(area_fd_.get(), record_name(id).c_str(), 0);
  kept_.erase(id);
}

void Inbox::remove_resumable(const std::string& id) {
  MutexLock lock(mutex_);
  remove_resumable_locked(id);
}

void Inbox::release(const std::string& id, uint64_t bytes) {
  {
    MutexLock lock(mutex_);
    ids_in_use_.erase(id);
    if (auto it = kept_.find(id); it != kept_.end()) {
      it->second.bytes = bytes;
      it->second.touched = std::chrono::system_clock::now();
    }
  }
  released_.notify_all();
}

bool Inbox::evict_oldest(const std::string* owner) {
  auto oldest = kept_.end();
  for (auto it = kept_.begin(); it != kept_.end(); ++it) {
    if (ids_in_use_.contains(it->first) || (owner && it->second.owner != *owner)) continue;
    if (oldest == kept_.end() || it->second.touched < oldest->second.touched) oldest = it;
  }
  if (oldest == kept_.end()) return false;
  remove_resumable_locked(std::string(oldest->first));
  return true;
}

void Inbox::evict_for(const std::string& owner, uint64_t size, const std::string& id) {
  // Whether the partials (of owner only, when given), with a new one of `size`, pass the
  // bounds; the partial `id` itself does not count (it is the one being replaced).
  auto over = [&](const std::string* only, uint64_t bytes_limit, size_t files_limit) REQUIRES(mutex_) {
    uint64_t bytes = size;
    size_t files = 1;
    for (const auto& [other, kept] : kept_) {
      if (other == id || (only && kept.owner != *only)) continue;
      bytes += kept.bytes;
      ++files;
    }
    // Over the byte bound by itself, the new one stays over it whatever gives way: then only
    // the count is judged (a size announced past every bound takes nobody's partials).
    const bool bytes_over = bytes_limit != 0 && bytes > bytes_limit && size <= bytes_limit;
    return bytes_over || (files_limit != 0 && files > files_limit);
  };
  while (over(&owner, peer_bytes_limit_, limits_.peer_files) && evict_oldest(&owner)) {
  }
  while (over(nullptr, total_bytes_limit_, limits_.total_files) && evict_oldest(nullptr)) {
  }
}

std::optional<uint64_t> Inbox::free_bytes() const {
  struct statvfs vfs {};
  if (::fstatvfs(area_fd_.get(), &vfs) != 0) return std::nullopt;
  return static_cast<uint64_t>(static_cast<unsigned long long>(vfs.f_bavail) *
                               static_cast<unsigned long long>(vfs.f_frsize));
}

void Inbox::check_space(uint64_t needed) const {
  const auto avail = free_bytes();
  if (avail && needed > *avail) {
    throw ProtocolError(ErrorCode::NoSpace, "the server has only " + std::to_string(*avail) +
                                                " bytes free, the file needs " + std::to_string(needed));
  }
}

void Inbox::make_room(uint64_t needed) {
  if (const auto avail = free_bytes(); avail && needed > *avail) {
    // Only when evicting can make room: an upload that cannot fit anyway (a size announced
    // past the disk) takes nobody's kept partials with it.
    uint64_t evictable = 0;
    {
      MutexLock lock(mutex_);
      for (const auto& [id, kept] : kept_) {
        if (!ids_in_use_.contains(id)) evictable += kept.bytes;
      }
    }
    if (needed - *avail > evictable) check_space(needed);  // throws NoSpace
  }
  while (true) {
    const auto avail = free_bytes();
    if (!avail || needed <= *avail) return;
    MutexLock lock(mutex_);
    // Uploads abandoned for a resume that may never come give way to a new one.
    if (!evict_oldest(nullptr)) break;
  }
  check_space(needed);
}

bool Inbox::evict_for_write() {
  MutexLock lock(mutex_);
  return evict_oldest(nullptr);
}

PartialFile Inbox::begin_resumable(const ResumeKey& key, const std::string& owner) {
  {
    MutexLock lock(mutex_);
    // Sweeping now and then keeps abandoned partials from piling up on a long-lived server.
    if (std::chrono::steady_clock::now() - last_sweep_ >
        std::min<std::chrono::steady_clock::duration>(partial_ttl_, std::chrono::minutes(10))) {
      sweep_partials(/*at_start=*/false);
    }
    // A sender that reconnects after a break may be faster than the server at noticing
    // the old connection died: give the old session a moment to let go of the partial.
    // Still in use after that, it is the same upload running twice at once (two
    // processes, one source): the second one cannot share the bytes, so it goes the plain way.
    lock.wait_until(released_, std::chrono::steady_clock::now() + kWaitForInUse,
                    [&]() REQUIRES(mutex_) { return !ids_in_use_.contains(key.id); });
    if (!ids_in_use_.insert(key.id).second) {
      lock.unlock();
      return begin(key.size);
    }
  }
  try {
    const std::string data = resumable_name(key.id);
    if (same_source(parse_record(read_small_file(area_fd_.get(), record_name(key.id)).value_or("")), key)) {
      net::UniqueFd fd(::openat(area_fd_.get(), data.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
      struct stat st {};
      if (fd && ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) &&
          static_cast<uint64_t>(st.st_size) <= key.size) {
        const auto have = static_cast<uint64_t>(st.st_size);
        {
          MutexLock lock(mutex_);
          Kept& kept = kept_[key.id];
          if (kept.owner.empty()) kept.owner = owner;
          kept.bytes = key.size;  // while written, it counts at its full size
          kept.touched = std::chrono::system_clock::now();
        }
        make_room(key.size - have);
        if (::lseek(fd.get(), 0, SEEK_END) < 0) throw_sys("seek partial file");
        return PartialFile(this, area_fd_.get(), std::move(fd), data, key.id, have);
      }
    }
    // Nothing to resume, or bytes of another source: start over, within the bounds.
    {
      MutexLock lock(mutex_);
      remove_resumable_locked(key.id);
      evict_for(owner, key.size, key.id);
      kept_[key.id] = Kept{owner, key.size, std::chrono::system_clock::now()};
    }
    make_room(key.size);
    write_small_file(area_fd_.get(), record_name(key.id), format_record(key, owner));
    const int fd =
        ::openat(area_fd_.get(), data.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (is_space_error(errno)) throw ProtocolError(ErrorCode::NoSpace, "the server's disk is full");
      throw_sys("create partial file in " + (path_ / kMetaDir / kPartialDir).string());
    }
    return PartialFile(this, area_fd_.get(), net::UniqueFd(fd), data, key.id, 0);
  } catch (...) {
    remove_resumable(key.id);
    release(key.id, 0);
    throw;
  }
}

uint64_t Inbox::resumable_bytes(const ResumeKey& key) const {
  if (check_transfer_id(key.id)) return 0;
  if (!same_source(parse_record(read_small_file(area_fd_.get(), record_name(key.id)).value_or("")), key))
    return 0;
  struct stat st {};
  if (::fstatat(area_fd_.get(), resumable_name(key.id).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
      !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) > key.size) {
    return 0;
  }
  return static_cast<uint64_t>(st.st_size);
}

PartialFile Inbox::begin(uint64_t size, Lane lane) {
  make_room(size);
  const std::string name = unique_partial_name();
  const auto index = static_cast<size_t>(lane);
  const int dir = index == 0 ? area_fd_.get() : batch_fds_[index - 1].get();
  const int fd = ::openat(dir, name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (is_space_error(errno)) throw ProtocolError(ErrorCode::NoSpace, "the server's disk is full");
    throw_sys("create partial file in " +
              (path_ / kMetaDir / (index == 0 ? kPartialDir : kBatchDirs[index - 1])).string());
  }
  return PartialFile(this, dir, net::UniqueFd(fd), name);
}

std::string Inbox::commit(PartialFile& partial, std::string_view name, OverwritePolicy policy, uint32_t mode,
                          int64_t mtime_ns) {
  seal(partial, mode, mtime_ns);
  return *publish(partial, name, policy, /*synced=*/false);
}

void Inbox::seal(PartialFile& partial, uint32_t mode, int64_t mtime_ns) {
  const int fd = partial.fd_.get();
  // Permission bits only: setuid, setgid and sticky bits from a client are never applied.
  if (::fchmod(fd, mode & 0777 & ~umask_) < 0) throw_sys("fchmod partial file");
  const timespec times[2] = {{0, UTIME_NOW}, timespec_from_ns(mtime_ns)};
  if (::futimens(fd, times) < 0) throw_sys("futimens partial file");
}

void Inbox::sync() {
  if (!fsync_) return;
  if (sync_for_testing_) return sync_for_testing_();
  if (::syncfs(dir_fd_.get()) < 0) {
    if (is_space_error(errno)) throw ProtocolError(ErrorCode::NoSpace, "the server's disk is full");
    throw_sys("syncfs " + path_.string());
  }
}

int Inbox::open_parents(const std::vector<std::string>& parts, size_t count, net::UniqueFd& holder,
                        std::string& prefix) {
  int parent_fd = dir_fd_.get();
  for (size_t i = 0; i < count; ++i) {
    prefix += parts[i];
    holder.reset(open_dir_at(parent_fd, parts[i], true, prefix));
    parent_fd = holder.get();
    prefix += "/";
  }
  return parent_fd;
}

std::optional<std::string> Inbox::publish(PartialFile& partial, std::string_view name, OverwritePolicy policy,
                                          bool synced, const std::function<bool()>& same_file_there) {
  if (auto why = proto::check_name(name)) throw ProtocolError(ErrorCode::NameRefused, *why);
  // The data must be on disk before the name is: a crash then shows the old state or the
  // whole new file, never a named file with missing blocks. (synced: sync() did it.)
  const bool fsync = fsync_ && !synced;
  if (fsync && ::fsync(partial.fd_.get()) < 0) {
    if (is_space_error(errno)) throw ProtocolError(ErrorCode::NoSpace, "the server's disk is full");
    throw_sys("fsync partial file");
  }

  const std::vector<std::string> parts = proto::split_path(name);
  std::string prefix;
  net::UniqueFd parent;
  const int parent_fd = open_parents(parts, parts.size() - 1, parent, prefix);

  const std::string& leaf = parts.back();
  std::string chosen = leaf;
  const int area = partial.dir_fd_;
  const char* from = partial.name_.c_str();
  int rc = 0;
  if (policy == OverwritePolicy::Replace) {
    if (struct stat st{}; same_file_there &&
                          ::fstatat(parent_fd, chosen.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                          same_file_there()) {
      return std::nullopt;
    }
    rc = ::renameat(area, from, parent_fd, chosen.c_str());
    if (rc < 0 && (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST)) {
      throw ProtocolError(ErrorCode::Exists, "'" + prefix + leaf + "' is a directory on the server");
    }
  } else {
    rc = rename_noreplace(area, from, parent_fd, chosen.c_str());
    if (rc < 0 && errno == EEXIST && same_file_there) {
      if (same_file_there()) return std::nullopt;
      errno = EEXIST;  // the look may have set it
    }
    for (int n = 1; rc < 0 && errno == EEXIST && policy == OverwritePolicy::Rename; ++n) {
      if (n > kMaxRenameAttempts) break;
      chosen = proto::numbered_name(leaf, n);
      rc = rename_noreplace(area, from, parent_fd, chosen.c_str());
    }
    if (rc < 0 && errno == EEXIST) {
      throw ProtocolError(ErrorCode::Exists, "'" + prefix + leaf + "' already exists on the server");
    }
  }
  if (rc < 0) {
    if (errno == ENAMETOOLONG) throw ProtocolError(ErrorCode::NameRefused, "name too long");
    if (is_space_error(errno)) throw ProtocolError(ErrorCode::NoSpace, "the server's disk is full");
    throw_sys("rename into " + (path_ / (prefix + chosen)).string());
  }
  partial.name_.clear();  // committed: the destructor must not remove it
  // Under its final name: the rename changed its ctime.
  if (struct stat st{}; ::fstatat(parent_fd, chosen.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    partial.published_as_ = identity_of(st);
  }
  if (partial.resumable()) {
    ::unlinkat(area, record_name(partial.id_).c_str(), 0);
    MutexLock lock(mutex_);
    kept_.erase(partial.id_);
  }
  if (fsync) ::fsync(parent_fd);  // make the new name durable too
  return prefix + chosen;
}

void Inbox::make_directory(std::string_view name, uint32_t mode, int64_t mtime_ns) {
  if (auto why = proto::check_name(name)) throw ProtocolError(ErrorCode::NameRefused, *why);
  const std::vector<std::string> parts = proto::split_path(name);
  std::string prefix;
  net::UniqueFd dir;
  open_parents(parts, parts.size(), dir, prefix);
  if (::fchmod(dir.get(), mode & 0777 & ~umask_) < 0) throw_sys("fchmod " + prefix);
  const timespec times[2] = {{0, UTIME_NOW}, timespec_from_ns(mtime_ns)};
  if (::futimens(dir.get(), times) < 0) throw_sys("futimens " + prefix);
}

namespace {

// The digest of the first size bytes of fd, or nullopt when that takes past deadline.
std::optional<std::string> hash_until(int fd, uint64_t size, DigestAlgo algo,
                                      std::chrono::steady_clock::time_point deadline) {
  digest::Hasher hasher(algo);
  std::vector<uint8_t> buf(1 << 20);
  for (uint64_t at = 0; at < size;) {
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    const ssize_t n = ::pread(fd, buf.data(), static_cast<size_t>(std::min<uint64_t>(buf.size(), size - at)),
                              static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;  // shrank or unreadable: not the file asked about
    hasher.update(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
    at += static_cast<uint64_t>(n);
  }
  return hasher.finish();
}

}  // namespace

std::optional<net::UniqueFd> Inbox::open_existing(std::string_view name, std::string& path) const {
  if (proto::check_name(name)) return std::nullopt;
  const std::vector<std::string> parts = proto::split_path(name);
  net::UniqueFd holder;
  int parent = dir_fd_.get();
  path.clear();
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    holder.reset(::openat(parent, parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!holder) return std::nullopt;
    parent = holder.get();
    path += parts[i] + "/";
  }
  path += parts.back();
  struct stat st {};
  // Judged before opening, so a FIFO or device is never opened.
  if (::fstatat(parent, parts.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
    return std::nullopt;
  }
  net::UniqueFd fd(::openat(parent, parts.back().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return std::nullopt;
  return fd;
}

std::optional<Inbox::Existing> Inbox::existing(std::string_view name, uint64_t size,
                                               std::optional<int64_t> mtime_ns, DigestAlgo algo, Look look) {
  Existing found;
  auto fd = open_existing(name, found.path);
  if (!fd) return std::nullopt;
  struct stat st {};
  if (::fstat(fd->get(), &st) < 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  const FileIdentity id = identity_of(st);
  if (id.size != size || (mtime_ns && id.mtime_ns != *mtime_ns)) return std::nullopt;
  if (auto known = digests_.find(id, algo)) {
    if (known->empty()) return std::nullopt;  // too slow to hash before: not again
    found.digest = std::move(*known);
    return found;
  }
  // Reading a file for an offer costs the disk and a core for a FILE_BEGIN of a few bytes:
  // a few at a time, each once per version.
  const bool offer = look == Look::Offer;
  if (offer && !hash_slots_.try_acquire()) return std::nullopt;
  std::optional<std::string> digest;
  try {
    digest = hash_until(fd->get(), size, algo, std::chrono::steady_clock::now() + kHashDeadline);
  } catch (const std::exception&) {
  }
  if (offer) hash_slots_.release();
  struct stat after {};
  if (::fstat(fd->get(), &after) < 0 || identity_of(after) != id) return std::nullopt;  // changed meanwhile
  digests_.remember(id, algo, digest.value_or(""));
  if (!digest) return std::nullopt;
  found.digest = std::move(*digest);
  return found;
}

void Inbox::remember_digest(const FileIdentity& committed, DigestAlgo algo, const std::string& digest) {
  // Taken under the final name by publish(): opening the file again to learn it cost six
  // system calls for every small file of a batch.
  if (committed.ino != 0) digests_.remember(committed, algo, digest);
}

}  // namespace ftx::server
