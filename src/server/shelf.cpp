// SPDX-License-Identifier: MIT
// The shelf: what --share lets clients list and fetch.
#include "server/shelf.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <nlohmann/json.hpp>

#include "digest/digest.h"
#include "proto/errors.h"
#include "proto/names.h"
#include "util/io.h"
#include "util/sys_error.h"
#include "util/text.h"

namespace ftx::server {
namespace {

using proto::ErrorCode;
using proto::ProtocolError;

constexpr const char* kIndexFile = "shelf-digests.jsonl";
constexpr std::string_view kMetaDir = ".ftx";

// The refusal for an openat that failed on the shelf.
[[noreturn]] void refuse_open(int err, const std::string& shown) {
  if (err == ENOENT) throw ProtocolError(ErrorCode::NotFound, "'" + shown + "' is not on the shelf");
  if (err == ELOOP)
    throw ProtocolError(ErrorCode::NotShared, "'" + shown + "' is a link; links are not shared");
  if (err == ENOTDIR) throw ProtocolError(ErrorCode::NotFound, "'" + shown + "' is not on the shelf");
  if (err == EACCES || err == EPERM) {
    throw ProtocolError(ErrorCode::NotShared, "'" + shown + "' is not readable by the server");
  }
  if (err == ENAMETOOLONG) throw ProtocolError(ErrorCode::NameRefused, "name too long");
  throw_sys("open " + shown, err);
}

}  // namespace

std::string check_shelf_path(std::string_view requested, bool root_allowed) {
  std::string_view path = requested;
  // "docs/" names the directory docs; "", "." and "/" the root, where a directory may be named.
  if (path == "." || path == "/") path = "";
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) {
    if (root_allowed) return "";
    throw ProtocolError(ErrorCode::NameRefused, "empty name");
  }
  // Any .ftx, not only DIR's: --share=PATH may hold a server's directory further down.
  for (const std::string& part : proto::split_path(path)) {
    if (part == kMetaDir)
      throw ProtocolError(ErrorCode::NotShared, "'.ftx' is a server's own; it is never shared");
  }
  if (auto why = proto::check_name(path)) throw ProtocolError(ErrorCode::NameRefused, *why);
  return std::string(path);
}

DigestIndex::DigestIndex(int meta_fd, DigestAlgo algo) : algo_(algo) {
  const std::string prefix = std::string(digest::algo_name(algo)) + ":";
  net::UniqueFd in(::openat(meta_fd, kIndexFile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  std::map<std::string, Known> loaded;
  size_t lines = 0;
  if (in) {
    std::string text;
    char buf[65536];
    while (true) {
      const ssize_t n = ::read(in.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    size_t at = 0;
    while (at < text.size()) {
      size_t nl = text.find('\n', at);
      if (nl == std::string::npos) nl = text.size();
      const auto j = nlohmann::json::parse(text.begin() + static_cast<std::ptrdiff_t>(at),
                                           text.begin() + static_cast<std::ptrdiff_t>(nl), nullptr, false);
      at = nl + 1;
      ++lines;
      // A torn or foreign line is skipped: the worst it costs is hashing a file again.
      if (!j.is_object() || !j.contains("name") || !j["name"].is_string() || !j.contains("digest") ||
          !j["digest"].is_string()) {
        continue;
      }
      const std::string digest = j["digest"].get<std::string>();
      if (!digest.starts_with(prefix)) continue;
      Known k;
      k.id.dev = j.value("dev", uint64_t{0});
      k.id.ino = j.value("ino", uint64_t{0});
      k.id.size = j.value("size", uint64_t{0});
      k.id.mtime_ns = j.value("mtime_ns", int64_t{0});
      k.id.ctime_ns = j.value("ctime_ns", int64_t{0});
      k.digest = digest;
      loaded[j["name"].get<std::string>()] = std::move(k);
    }
  }
  // Rewritten when most of it is stale, so it never grows without bound.
  const bool compact = lines > 2 * loaded.size() + 64;
  const int flags = O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | (compact ? O_TRUNC : 0);
  file_.reset(::openat(meta_fd, kIndexFile, flags, 0600));
  MutexLock lock(mutex_);
  known_ = std::move(loaded);
  if (compact && file_) {
    std::string text;
    for (const auto& [name, k] : known_) {
      nlohmann::ordered_json j = {
          {"name", name},    {"size", k.id.size}, {"mtime_ns", k.id.mtime_ns}, {"ctime_ns", k.id.ctime_ns},
          {"dev", k.id.dev}, {"ino", k.id.ino},   {"digest", k.digest}};
      text += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    try {
      write_all(file_.get(), text, kIndexFile);
    } catch (const std::system_error&) {
      file_.reset();  // the index is a cache: without its file, files are hashed again after a restart
    }
  }
}

std::optional<std::string> DigestIndex::find(const std::string& name, const FileIdentity& id) const {
  MutexLock lock(mutex_);
  const auto it = known_.find(name);
  if (it == known_.end() || !(it->second.id == id)) return std::nullopt;
  return it->second.digest;
}

void DigestIndex::put(const std::string& name, const FileIdentity& id, const std::string& labelled) {
  const nlohmann::ordered_json j = {
      {"name", name},  {"size", id.size}, {"mtime_ns", id.mtime_ns}, {"ctime_ns", id.ctime_ns},
      {"dev", id.dev}, {"ino", id.ino},   {"digest", labelled}};
  const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  MutexLock lock(mutex_);
  auto& known = known_[name];
  if (known.id == id && known.digest == labelled) return;
  known = Known{id, labelled};
  if (!file_) return;
  try {
    write_all(file_.get(), line, kIndexFile);  // O_APPEND, one write: lines never interleave
  } catch (const std::system_error&) {
    file_.reset();
  }
}

Shelf::Shelf(const std::filesystem::path& root, bool inbox_root, int meta_fd, DigestAlgo algo)
    : root_(root), inbox_root_(inbox_root), index_(meta_fd, algo) {
  root_fd_.reset(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd_) throw_sys("open shared directory " + root.string());
}

net::UniqueFd Shelf::open_dir(const std::vector<std::string>& parts, size_t count,
                              const std::string& shown) const {
  net::UniqueFd dir(::dup(root_fd_.get()));
  if (!dir) throw_sys("dup");
  for (size_t i = 0; i < count; ++i) {
    net::UniqueFd next(
        ::openat(dir.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) {
      const int err = errno;
      // O_DIRECTORY with O_NOFOLLOW says ENOTDIR for a link: tell the two apart.
      struct stat st {};
      if (err == ENOTDIR && ::fstatat(dir.get(), parts[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode)) {
        refuse_open(ELOOP, shown);
      }
      refuse_open(err, shown);
    }
    dir = std::move(next);
  }
  return dir;
}

std::string Shelf::digest_of(const std::string& name, int fd, const struct stat& st) {
  const FileIdentity id = identity_of(st);
  if (auto known = index_.find(name, id)) return *known;
  const std::string raw = digest::digest_file(fd, index_.algo(), static_cast<uint64_t>(st.st_size));
  const std::string labelled = digest::labelled(index_.algo(), raw);
  // A file that changed while it was hashed gets no entry: the next request hashes it again,
  // and a receiver of this one finds the mismatch.
  struct stat after {};
  if (::fstat(fd, &after) == 0 && identity_of(after) == id) index_.put(name, id, labelled);
  return labelled;
}

ShelfEntry Shelf::entry_for(const std::string& name, int fd, const struct stat& st) {
  ShelfEntry e;
  e.name = name;
  e.directory = S_ISDIR(st.st_mode);
  e.mode = static_cast<uint32_t>(st.st_mode & 0777);
  e.mtime_ns = identity_of(st).mtime_ns;
  if (!e.directory) {
    e.size = static_cast<uint64_t>(st.st_size);
    e.digest = digest_of(name, fd, st);
  }
  return e;
}

Shelf::OpenFile Shelf::open(std::string_view requested) {
  const std::string name = check_shelf_path(requested, /*root_allowed=*/false);
  const std::vector<std::string> parts = proto::split_path(name);
  const net::UniqueFd dir = open_dir(parts, parts.size() - 1, name);
  // O_NONBLOCK: a fifo planted on the shelf must not hang the session in open().
  net::UniqueFd fd(::openat(dir.get(), parts.back().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) refuse_open(errno, name);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) throw_sys("fstat " + name);
  if (S_ISDIR(st.st_mode)) {
    throw ProtocolError(ErrorCode::BadRequest, "'" + name + "' is a directory; list it to see its files");
  }
  if (!S_ISREG(st.st_mode)) throw ProtocolError(ErrorCode::NotShared, "'" + name + "' is not a regular file");
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags >= 0) ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  ShelfEntry entry = entry_for(name, fd.get(), st);
  return OpenFile{std::move(fd), std::move(entry)};
}

std::vector<ShelfEntry> Shelf::list(std::string_view requested) {
  const std::string path = check_shelf_path(requested, /*root_allowed=*/true);
  const std::vector<std::string> parts = path.empty() ? std::vector<std::string>{} : proto::split_path(path);
  const std::string shown = path.empty() ? "/" : path;
  std::vector<ShelfEntry> out;
  net::UniqueFd dir;
  if (parts.empty()) {
    dir = open_dir(parts, 0, shown);
  } else {
    const net::UniqueFd parent = open_dir(parts, parts.size() - 1, shown);
    net::UniqueFd fd(
        ::openat(parent.get(), parts.back().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd) refuse_open(errno, shown);
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0) throw_sys("fstat " + shown);
    if (S_ISREG(st.st_mode)) {
      out.push_back(entry_for(path, fd.get(), st));
      return out;
    }
    if (!S_ISDIR(st.st_mode))
      throw ProtocolError(ErrorCode::NotShared, "'" + shown + "' is not a regular file");
    dir = std::move(fd);
  }
  // Read the names first, then look at each: the directory stream is closed before any
  // file is hashed.
  std::vector<std::string> names;
  {
    DIR* d = ::fdopendir(::dup(dir.get()));
    if (!d) throw_sys("read directory " + shown);
    // A dup shares its offset with the root's descriptor, which an earlier list left at the end.
    ::rewinddir(d);
    while (const dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  const std::string prefix = path.empty() ? "" : path + "/";
  for (const std::string& leaf : names) {
    if (leaf == "." || leaf == "..") continue;
    if (leaf == kMetaDir) continue;
    if (proto::check_name(leaf)) continue;  // a name no receiver would take (control characters...)
    struct stat st {};
    if (::fstatat(dir.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (S_ISDIR(st.st_mode)) {
      out.push_back(entry_for(prefix + leaf, -1, st));
      continue;
    }
    if (!S_ISREG(st.st_mode)) continue;  // links, fifos, sockets, devices
    net::UniqueFd fd(::openat(dir.get(), leaf.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd || ::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode)) continue;  // gone, or unreadable
    out.push_back(entry_for(prefix + leaf, fd.get(), st));
  }
  return out;
}

void Shelf::committed(const std::string& name, const FileIdentity& id, const std::string& labelled,
                      const std::string& client) {
  if (!inbox_root_ || id.ino == 0) return;
  index_.put(name, id, labelled);
  if (client.empty()) return;
  MutexLock lock(mutex_);
  sharers_[name] = Shared{client, labelled};
}

std::optional<std::string> Shelf::sharer(const std::string& name, const std::string& labelled) const {
  MutexLock lock(mutex_);
  const auto it = sharers_.find(name);
  if (it == sharers_.end() || it->second.digest != labelled) return std::nullopt;
  return it->second.client;
}

}  // namespace ftx::server
