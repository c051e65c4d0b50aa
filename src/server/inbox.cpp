// SPDX-License-Identifier: MIT
// The receiving directory.
#include "server/inbox.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <dirent.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <random>

#include "proto/errors.h"
#include "proto/names.h"
#include "util/sys_error.h"

namespace ftx::server {
namespace {

using proto::ErrorCode;
using proto::ProtocolError;

constexpr const char* kMetaDir = ".ftx";
constexpr const char* kPartialDir = "partial";
constexpr int kMaxRenameAttempts = 10000;

bool is_space_error(int err) { return err == ENOSPC || err == EDQUOT; }

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

std::optional<OverwritePolicy> parse_overwrite(std::string_view text) {
  if (text == "rename") return OverwritePolicy::Rename;
  if (text == "replace") return OverwritePolicy::Replace;
  if (text == "refuse") return OverwritePolicy::Refuse;
  return std::nullopt;
}

PartialFile::PartialFile(int area_fd, net::UniqueFd fd, std::string name)
    : area_fd_(area_fd), fd_(std::move(fd)), name_(std::move(name)) {}

PartialFile::PartialFile(PartialFile&& other) noexcept
    : area_fd_(other.area_fd_),
      fd_(std::move(other.fd_)),
      name_(std::exchange(other.name_, std::string())),
      written_(other.written_) {}

PartialFile::~PartialFile() {
  if (!name_.empty()) ::unlinkat(area_fd_, name_.c_str(), 0);
}

void PartialFile::write(std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd_.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (is_space_error(errno)) {
        throw ProtocolError(ErrorCode::NoSpace, "the server's disk is full");
      }
      throw_sys("write partial file");
    }
    done += static_cast<size_t>(n);
  }
  written_ += data.size();
}

Inbox::Inbox(const std::filesystem::path& dir) : path_(dir) {
  if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) throw_sys("mkdir " + dir.string());
  dir_fd_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd_) throw_sys("open " + dir.string());
  meta_fd_.reset(open_dir_at(dir_fd_.get(), kMetaDir, true, (dir / kMetaDir).string()));
  area_fd_.reset(open_dir_at(meta_fd_.get(), kPartialDir, true,
                             (dir / kMetaDir / kPartialDir).string()));
  remove_stale_partials();
  // The process umask cannot be read without setting it; this runs before any session.
  umask_ = ::umask(022);
  ::umask(umask_);
}

void Inbox::remove_stale_partials() {
  // Without resume, a partial from an earlier run can never be completed.
  const int fd = ::openat(area_fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return;
  }
  while (const dirent* e = ::readdir(d)) {
    if (std::string_view(e->d_name).starts_with("p-")) ::unlinkat(area_fd_.get(), e->d_name, 0);
  }
  ::closedir(d);
}

PartialFile Inbox::begin(uint64_t size) {
  struct statvfs vfs {};
  if (::fstatvfs(area_fd_.get(), &vfs) == 0) {
    const unsigned long long avail =
        static_cast<unsigned long long>(vfs.f_bavail) * static_cast<unsigned long long>(vfs.f_frsize);
    if (size > avail) {
      throw ProtocolError(ErrorCode::NoSpace, "the server has only " + std::to_string(avail) +
                                                  " bytes free, the file needs " +
                                                  std::to_string(size));
    }
  }
  const std::string name = unique_partial_name();
  const int fd = ::openat(area_fd_.get(), name.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (is_space_error(errno)) throw ProtocolError(ErrorCode::NoSpace, "the server's disk is full");
    throw_sys("create partial file in " + (path_ / kMetaDir / kPartialDir).string());
  }
  return PartialFile(area_fd_.get(), net::UniqueFd(fd), name);
}

std::string Inbox::commit(PartialFile& partial, std::string_view name, OverwritePolicy policy,
                          uint32_t mode, int64_t mtime_ns) {
  if (auto why = proto::check_name(name)) throw ProtocolError(ErrorCode::NameRefused, *why);
  const int fd = partial.fd_.get();
  if (::fchmod(fd, mode & 0777 & ~umask_) < 0) throw_sys("fchmod partial file");
  timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_NOW;
  times[1].tv_sec = static_cast<time_t>(mtime_ns / 1000000000);
  times[1].tv_nsec = static_cast<long>(mtime_ns % 1000000000);
  if (times[1].tv_nsec < 0) {
    times[1].tv_nsec += 1000000000;
    times[1].tv_sec -= 1;
  }
  if (::futimens(fd, times) < 0) throw_sys("futimens partial file");
  // The data must be on disk before the name is: a crash then shows the old state or the
  // whole new file, never a named file with missing blocks.
  if (::fsync(fd) < 0) {
    if (is_space_error(errno)) throw ProtocolError(ErrorCode::NoSpace, "the server's disk is full");
    throw_sys("fsync partial file");
  }

  const std::vector<std::string> parts = proto::split_path(name);
  std::string prefix;
  net::UniqueFd parent;
  int parent_fd = dir_fd_.get();
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    prefix += parts[i];
    parent.reset(open_dir_at(parent_fd, parts[i], true, prefix));
    parent_fd = parent.get();
    prefix += "/";
  }

  const std::string& leaf = parts.back();
  std::string chosen = leaf;
  const char* from = partial.name_.c_str();
  int rc = 0;
  if (policy == OverwritePolicy::Replace) {
    rc = ::renameat(partial.area_fd_, from, parent_fd, chosen.c_str());
    if (rc < 0 && (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST)) {
      throw ProtocolError(ErrorCode::Exists, "'" + prefix + leaf + "' is a directory on the server");
    }
  } else {
    rc = rename_noreplace(partial.area_fd_, from, parent_fd, chosen.c_str());
    for (int n = 1; rc < 0 && errno == EEXIST && policy == OverwritePolicy::Rename; ++n) {
      if (n > kMaxRenameAttempts) break;
      chosen = proto::numbered_name(leaf, n);
      rc = rename_noreplace(partial.area_fd_, from, parent_fd, chosen.c_str());
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
  ::fsync(parent_fd);     // make the new name durable too
  return prefix + chosen;
}

}  // namespace ftx::server
