// SPDX-License-Identifier: MIT
// Fetching from a server's shelf.
#include "client/fetch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "digest/digest.h"
#include "proto/names.h"
#include "util/clock.h"
#include "util/io.h"

namespace ftx::client {
namespace {

using proto::ErrorCode;

constexpr size_t kBufferSize = 1 << 20;

// A server that sends what was not asked for is not trusted with another byte: the
// connection ends and nothing more is fetched from it.
class HostileServer : public ConnectionLost {
 public:
  explicit HostileServer(const std::string& why) : ConnectionLost(why, ErrorCode::BadRequest) {}
};

ServerLink open_link(const FetchOptions& options) {
  try {
    // Fetching is the same from version 3 on: an older server is spoken to in its version.
    return ServerLink::open_newest(
        LinkOptions{options.server, options.connect_timeout, options.io_timeout, options.tls},
        proto::Hello{proto::kProtocolVersion, proto::Role::Fetch, options.client_name, options.token},
        proto::kFetchProtocolVersion);
  } catch (const UntrustedServer&) {
    throw;
  } catch (const ConnectionLost& e) {
    // A server from before version 3 refuses version 3, or does not know the fetch role.
    if (e.code() == ErrorCode::UnsupportedVersion ||
        (e.code() == ErrorCode::BadRequest &&
         std::string(e.what()).find("unknown role") != std::string::npos)) {
      throw ConnectionLost(std::string(e.what()) +
                               " (the server is older than ftx get: it needs protocol version 3; upgrade it)",
                           e.code());
    }
    throw;
  }
}

std::string base_of(const std::string& name) {
  std::string trimmed = name;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  return proto::base_name(trimmed);
}

std::string trimmed(std::string name) {
  while (!name.empty() && name.back() == '/') name.pop_back();
  return name;
}

mode_t current_umask() {
  const mode_t m = ::umask(022);
  ::umask(m);
  return m;
}

class Job {
 public:
  Job(const FetchOptions& options, FetchObserver& observer, ServerLink& link,
      std::set<std::string>& done_paths)
      : options_(options), observer_(observer), link_(link), done_paths_(done_paths) {}

  // Fetches a file, or a whole directory (its files, empty directories, modes and mtimes),
  // reporting each file to the observer and into outcomes; files a previous attempt (before
  // a reconnection) already reported are not fetched again.
  void fetch_any(const std::string& asked_raw, std::vector<FetchOutcome>& outcomes) {
    const std::string asked = trimmed(asked_raw);
    link_.send(proto::ListFiles{asked});
    std::vector<proto::FileEntry> entries;
    const auto refused = receive_list(asked, entries);
    const bool one_file = !refused && entries.size() == 1 && entries[0].name == asked &&
                          !(entries[0].flags & proto::kFlagDirectory);
    if (refused || one_file || options_.to_stdout) {
      report(fetch(asked_raw, refused, entries), outcomes);
      return;
    }
    const std::filesystem::path local = options_.out_dir / base_of(asked);
    fetch_tree(asked, local, entries, outcomes);
    // The directory's own mode and mtime are in its parent's list.
    const size_t slash = asked.rfind('/');
    const std::string parent = slash == std::string::npos ? "" : asked.substr(0, slash);
    link_.send(proto::ListFiles{parent});
    std::vector<proto::FileEntry> siblings;
    if (receive_list(parent, siblings)) return;
    for (const proto::FileEntry& e : siblings) {
      if (e.name == asked && (e.flags & proto::kFlagDirectory)) set_attributes(local, e);
    }
  }

 private:
  void report(FetchOutcome out, std::vector<FetchOutcome>& outcomes) {
    if (out.status == FetchStatus::Fetched || out.status == FetchStatus::Unchanged)
      done_paths_.insert(out.path);
    observer_.file_done(out);
    outcomes.push_back(std::move(out));
  }

  static void set_attributes(const std::filesystem::path& local, const proto::FileEntry& e) {
    ::fchmodat(AT_FDCWD, local.c_str(), e.mode & 0777 & ~current_umask(), 0);
    const timespec times[2] = {{0, UTIME_NOW}, timespec_from_ns(e.mtime_ns)};
    ::utimensat(AT_FDCWD, local.c_str(), times, AT_SYMLINK_NOFOLLOW);
  }

  // The entries of remote (a directory) into local, depth first.
  void fetch_tree(const std::string& remote, const std::filesystem::path& local,
                  const std::vector<proto::FileEntry>& entries, std::vector<FetchOutcome>& outcomes) {
    struct stat st {};
    if (::lstat(local.c_str(), &st) == 0 ? !S_ISDIR(st.st_mode) : ::mkdir(local.c_str(), 0700) < 0) {
      FetchOutcome out;
      out.name = remote;
      out.path = local.string();
      out.status = FetchStatus::LocalError;
      out.code = ErrorCode::Exists;
      out.error = "cannot make the directory " + local.string() + " (a file or link is in the way, or " +
                  std::strerror(errno) + ")";
      report(std::move(out), outcomes);
      return;
    }
    const std::string prefix = remote.empty() ? "" : remote + "/";
    for (const proto::FileEntry& e : entries) {
      const std::string leaf = e.name.substr(prefix.size());
      // A list holds the directory's own entries, never deeper ones.
      if (leaf.find('/') != std::string::npos)
        throw HostileServer("the server sent a name that was not asked for: '" + e.name + "'");
      if (e.flags & proto::kFlagDirectory) {
        link_.send(proto::ListFiles{e.name});
        std::vector<proto::FileEntry> children;
        if (auto refused = receive_list(e.name, children)) {
          FetchOutcome out;
          out.name = e.name;
          out.path = (local / leaf).string();
          out.status = FetchStatus::Refused;
          out.code = refused->code;
          out.error = refused->message;
          report(std::move(out), outcomes);
          continue;
        }
        fetch_tree(e.name, local / leaf, children, outcomes);
        set_attributes(local / leaf, e);
        continue;
      }
      if (done_paths_.contains((local / leaf).string())) continue;
      std::optional<proto::Error> none;
      report(fetch(e.name, none, {e}, local, leaf), outcomes);
    }
  }

  FetchOutcome fetch(const std::string& asked_raw, const std::optional<proto::Error>& refused,
                     const std::vector<proto::FileEntry>& entries,
                     const std::optional<std::filesystem::path>& local_dir = std::nullopt,
                     const std::string& local_leaf = {}) {
    const std::string asked = trimmed(asked_raw);
    FetchOutcome out;
    out.name = asked_raw;
    const auto started = std::chrono::steady_clock::now();
    auto done = [&](FetchStatus status, std::optional<ErrorCode> code, std::string error) {
      out.status = status;
      out.code = code;
      out.error = std::move(error);
      out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      return out;
    };
    if (refused) return done(FetchStatus::Refused, refused->code, refused->message);
    if (entries.size() != 1 || entries[0].name != asked || (entries[0].flags & proto::kFlagDirectory)) {
      return done(FetchStatus::Refused, ErrorCode::BadRequest,
                  "'" + asked + "' is a directory; -o - takes one file");
    }
    const proto::FileEntry& listed = entries[0];
    out.digest = digest::labelled(listed.algo, listed.digest);
    if (options_.to_stdout) return fetch_to_stdout(asked, listed, out, done);
    return fetch_to_dir(asked, listed, out, done, local_dir.value_or(options_.out_dir),
                        local_leaf.empty() ? base_of(asked) : local_leaf);
  }

  // The LIST_FILES answer; the server's ERROR when it refused.
  std::optional<proto::Error> receive_list(const std::string& asked, std::vector<proto::FileEntry>& entries) {
    while (true) {
      proto::Frame f = link_.receive();
      if (auto* e = std::get_if<proto::FileEntry>(&f)) {
        if (auto why = proto::check_offered_name(asked, e->name, /*directory_ok=*/true)) {
          throw HostileServer(*why + ": '" + e->name + "'");
        }
        if (!(e->flags & proto::kFlagDirectory) && e->digest.size() != proto::digest_size(e->algo)) {
          throw HostileServer("the server sent a digest of the wrong size");
        }
        entries.push_back(std::move(*e));
      } else if (std::holds_alternative<proto::ListEnd>(f)) {
        return std::nullopt;
      } else if (auto* err = std::get_if<proto::Error>(&f)) {
        return *err;
      } else {
        throw HostileServer("unexpected " + std::string(proto::frame_type_name(proto::frame_type(f))) +
                            " in a list of files");
      }
    }
  }

  // GET_FILE from offset: the server's FILE_ENTRY (checked), or its ERROR.
  std::variant<proto::FileEntry, proto::Error> request(const std::string& asked, uint64_t offset) {
    link_.send(proto::GetFile{asked, offset});
    proto::Frame f = link_.receive();
    if (auto* err = std::get_if<proto::Error>(&f)) return *err;
    auto* e = std::get_if<proto::FileEntry>(&f);
    if (!e) {
      throw HostileServer("unexpected " + std::string(proto::frame_type_name(proto::frame_type(f))) +
                          " in answer to GET_FILE");
    }
    if (auto why = proto::check_offered_name(asked, e->name, /*directory_ok=*/false)) {
      throw HostileServer(*why + ": '" + e->name + "'");
    }
    if ((e->flags & proto::kFlagDirectory) || e->digest.size() != proto::digest_size(e->algo) ||
        offset > e->size) {
      throw HostileServer("the server's answer to GET_FILE is malformed");
    }
    return *e;
  }

  // Reads exactly count raw bytes from the link into sink (which may fail: the rest is then
  // read and dropped, so the connection stays in step). Returns the sink's failure.
  template <typename Sink>
  std::optional<std::string> receive_bytes(uint64_t count, uint64_t done_before, digest::Hasher& hasher,
                                           Sink sink) {
    std::vector<uint8_t> buf(kBufferSize);
    std::optional<std::string> failed;
    uint64_t got = 0;
    while (got < count) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), count - got));
      size_t n = 0;
      try {
        n = link_.channel().read_raw(std::span(buf.data(), want));
      } catch (const std::exception& e) {
        throw ConnectionLost(e.what(), std::nullopt);
      }
      if (n == 0)
        throw ConnectionLost(link_.peer() + " closed the connection in the middle of a file", std::nullopt);
      const std::span<const uint8_t> data(buf.data(), n);
      hasher.update(data);
      if (!failed) {
        try {
          sink(data);
        } catch (const std::exception& e) {
          failed = e.what();
        }
      }
      got += n;
      observer_.file_progress(done_before + got);
    }
    return failed;
  }

  template <typename Done>
  FetchOutcome fetch_to_stdout(const std::string& asked, const proto::FileEntry& listed, FetchOutcome& out,
                               Done& done) {
    out.path = "-";
    auto answer = request(asked, 0);
    if (auto* err = std::get_if<proto::Error>(&answer))
      return done(FetchStatus::Refused, err->code, err->message);
    const proto::FileEntry entry = std::get<proto::FileEntry>(answer);
    (void)listed;
    observer_.file_started(asked, entry.size);
    digest::Hasher hasher(entry.algo);
    const auto failed = receive_bytes(entry.size, 0, hasher, [](std::span<const uint8_t> data) {
      write_all(STDOUT_FILENO, data, "standard output");
    });
    out.bytes = entry.size;
    out.digest = digest::labelled(entry.algo, entry.digest);
    if (failed) return done(FetchStatus::LocalError, std::nullopt, *failed);
    if (hasher.finish() != entry.digest) {
      return done(FetchStatus::Refused, ErrorCode::Integrity,
                  "digest mismatch: what was written to standard output is not the server's file");
    }
    link_.send(proto::Verified{asked, entry.algo, entry.digest});
    return done(FetchStatus::Fetched, std::nullopt, "");
  }

  template <typename Done>
  FetchOutcome fetch_to_dir(const std::string& asked, const proto::FileEntry& listed, FetchOutcome& out,
                            Done& done, const std::filesystem::path& local_dir, const std::string& leaf) {
    out.path = (local_dir / leaf).string();
    const net::UniqueFd dir(::open(local_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir)
      return done(FetchStatus::LocalError, std::nullopt,
                  "cannot open " + local_dir.string() + ": " + std::strerror(errno));
    // A local file of that name: the same content is left alone; another is replaced only
    // when asked to.
    struct stat st {};
    if (::fstatat(dir.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (!S_ISREG(st.st_mode)) {
        return done(FetchStatus::LocalError, ErrorCode::Exists,
                    out.path + " exists and is not a regular file");
      }
      const net::UniqueFd existing(::openat(dir.get(), leaf.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (existing && static_cast<uint64_t>(st.st_size) == listed.size &&
          digest::digest_file(existing.get(), listed.algo, listed.size) == listed.digest) {
        out.bytes = listed.size;
        return done(FetchStatus::Unchanged, std::nullopt, "");
      }
      if (!options_.replace) {
        return done(FetchStatus::LocalError, ErrorCode::Exists,
                    out.path + " exists with other content; --overwrite replace replaces it");
      }
    }
    for (int attempt = 0;; ++attempt) {
      const std::string part = partial_name(leaf, listed.digest);
      net::UniqueFd fd(::openat(dir.get(), part.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!fd)
        return done(FetchStatus::LocalError, std::nullopt,
                    "cannot create " + part + " in " + local_dir.string() + ": " + std::strerror(errno));
      struct stat pst {};
      uint64_t offset = ::fstat(fd.get(), &pst) == 0 ? static_cast<uint64_t>(pst.st_size) : 0;
      if (offset > listed.size) {
        if (::ftruncate(fd.get(), 0) < 0)
          return done(FetchStatus::LocalError, std::nullopt, std::strerror(errno));
        offset = 0;
      }
      std::variant<proto::FileEntry, proto::Error> answer;
      try {
        answer = request(asked, offset);
      } catch (const HostileServer&) {
        ::unlinkat(dir.get(), part.c_str(), 0);  // nothing of a liar's is kept
        throw;
      } catch (...) {
        if (offset == 0) ::unlinkat(dir.get(), part.c_str(), 0);  // an empty partial helps no resume
        throw;
      }
      if (auto* err = std::get_if<proto::Error>(&answer)) {
        ::unlinkat(dir.get(), part.c_str(), 0);
        return done(FetchStatus::Refused, err->code, err->message);
      }
      const proto::FileEntry entry = std::get<proto::FileEntry>(answer);
      observer_.file_started(asked, entry.size);
      if (offset > 0) observer_.file_resumed(offset);
      digest::Hasher hasher(entry.algo);
      if (offset > 0 && !digest::feed_file(hasher, fd.get(), offset)) offset = 0;
      if (::lseek(fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0) {
        return done(FetchStatus::LocalError, std::nullopt, std::strerror(errno));
      }
      const int raw_fd = fd.get();
      const auto failed =
          receive_bytes(entry.size - offset, offset, hasher,
                        [&](std::span<const uint8_t> data) { write_all(raw_fd, data, out.path); });
      out.bytes = entry.size;
      out.resumed_from = offset;
      out.digest = digest::labelled(entry.algo, entry.digest);
      if (failed) {
        ::unlinkat(dir.get(), part.c_str(), 0);
        return done(FetchStatus::LocalError, std::nullopt, *failed);
      }
      if (hasher.finish() != entry.digest) {
        ::unlinkat(dir.get(), part.c_str(), 0);
        // A resumed prefix of another version, or a file that changed while it was sent:
        // once more from the start; twice is the server's fault.
        if (attempt == 0) continue;
        return done(FetchStatus::Refused, ErrorCode::Integrity,
                    "digest mismatch: the file did not arrive intact (or changed on the server while it was "
                    "sent); nothing was written");
      }
      // Verified: then, and only then, it gets its name.
      ::fchmod(fd.get(), entry.mode & 0777 & ~current_umask());
      const timespec times[2] = {{0, UTIME_NOW}, timespec_from_ns(entry.mtime_ns)};
      ::futimens(fd.get(), times);
      if (::fsync(fd.get()) < 0) {
        ::unlinkat(dir.get(), part.c_str(), 0);
        return done(FetchStatus::LocalError, std::nullopt, "fsync " + out.path + ": " + std::strerror(errno));
      }
      const unsigned flags = options_.replace ? 0 : RENAME_NOREPLACE;
      if (::renameat2(dir.get(), part.c_str(), dir.get(), leaf.c_str(), flags) < 0) {
        const int err = errno;
        ::unlinkat(dir.get(), part.c_str(), 0);
        if (err == EEXIST) {
          return done(FetchStatus::LocalError, ErrorCode::Exists,
                      out.path + " appeared while it was fetched");
        }
        return done(FetchStatus::LocalError, std::nullopt,
                    "rename to " + out.path + ": " + std::strerror(err));
      }
      ::fsync(dir.get());
      link_.send(proto::Verified{asked, entry.algo, entry.digest});  // the sharer's receipt
      return done(FetchStatus::Fetched, std::nullopt, "");
    }
  }

  const FetchOptions& options_;
  FetchObserver& observer_;
  ServerLink& link_;
  std::set<std::string>& done_paths_;  ///< local files fetched (or unchanged) by any attempt
};

}  // namespace

std::string partial_name(const std::string& leaf, const std::string& raw_digest) {
  return "." + leaf + "." + digest::to_hex(raw_digest).substr(0, 16) + ".ftx-part";
}

FetchReport fetch_files(const FetchOptions& options, FetchObserver& observer) {
  FetchReport report;
  std::set<std::string> done_paths;
  bool connected_once = false;
  size_t next = 0;
  while (next < options.names.size()) {
    try {
      ServerLink link = open_link(options);
      connected_once = true;
      Job job(options, observer, link, done_paths);
      for (; next < options.names.size(); ++next) job.fetch_any(options.names[next], report.files);
      link.say_goodbye();
    } catch (const ConnectionLost& e) {
      if (!retry_after(e, connected_once, options.retries, report,
                       [&](const std::string& why, int attempt, int of, std::chrono::milliseconds delay) {
                         observer.retrying(why, attempt, of, delay);
                       })) {
        break;
      }
    }
  }
  if (report.connection_failed) observer.connection_failed(report.connection_error);
  for (size_t i = next; i < options.names.size(); ++i) {
    FetchOutcome out;
    out.name = options.names[i];
    out.status = FetchStatus::NotFetched;
    out.code = report.connection_code;
    // The key warning is many lines, said once, before the names.
    out.error = report.untrusted ? "the server's key is not the one trusted (see the warning above)"
                                 : report.connection_error;
    observer.file_done(out);
    report.files.push_back(std::move(out));
  }
  return report;
}

std::vector<proto::FileEntry> list_files(const FetchOptions& options, const std::string& path,
                                         bool* takes_uploads) {
  ServerLink link = open_link(options);
  link.send(proto::ListFiles{path});
  std::vector<proto::FileEntry> entries;
  while (true) {
    proto::Frame f = link.receive();
    if (auto* e = std::get_if<proto::FileEntry>(&f)) {
      if (auto why = proto::check_offered_name(path, e->name, /*directory_ok=*/true)) {
        throw HostileServer(*why + ": '" + e->name + "'");
      }
      entries.push_back(std::move(*e));
    } else if (auto* end = std::get_if<proto::ListEnd>(&f)) {
      if (takes_uploads) *takes_uploads = (end->flags & proto::kListTakesUploads) != 0;
      break;
    } else if (auto* err = std::get_if<proto::Error>(&f)) {
      throw ConnectionLost(proto::describe(err->code, err->message), err->code);
    } else {
      throw HostileServer("unexpected " + std::string(proto::frame_type_name(proto::frame_type(f))) +
                          " in a list of files");
    }
  }
  link.say_goodbye();
  return entries;
}

}  // namespace ftx::client
