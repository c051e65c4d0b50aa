// SPDX-License-Identifier: MIT
// JSON Lines transfer log.
#include "server/transfer_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "util/clock.h"
#include "util/sys_error.h"
#include "util/units.h"

namespace ftx::server {
namespace {

nlohmann::ordered_json error_object(proto::ErrorCode code, const std::string& message) {
  return {{"code", proto::error_code_name(code)}, {"message", message}};
}

}  // namespace

nlohmann::ordered_json file_event(const FileRecord& r) {
  nlohmann::ordered_json j = {
      {"ts", rfc3339_utc(r.ts)},
      {"event", "file"},
      {"peer", r.peer},
      {"client", r.client},
      {"name", r.name},
      {"path", r.path},
      {"bytes", r.bytes},
      {"resumed_from", r.resumed_from},
      {"digest", r.digest},
      {"duration_ms", static_cast<int64_t>(std::llround(r.seconds * 1000.0))},
      // The rate of what crossed the wire this time.
      {"mbps", mbps_field(r.bytes, r.resumed_from + r.not_sent, r.seconds)},
      {"status", r.error       ? "error"
                 : r.unchanged ? "unchanged"
                               : "ok"},
  };
  if (r.error) j["error"] = error_object(*r.error, r.error_message);
  return j;
}

nlohmann::ordered_json get_event(const FileRecord& r) {
  nlohmann::ordered_json j = {
      {"ts", rfc3339_utc(r.ts)},
      {"event", "get"},
      {"peer", r.peer},
      {"client", r.client},
      {"name", r.name},
      {"bytes", r.bytes},
      {"resumed_from", r.resumed_from},
      {"digest", r.digest},
      {"duration_ms", static_cast<int64_t>(std::llround(r.seconds * 1000.0))},
      {"mbps", mbps_field(r.bytes, r.resumed_from, r.seconds)},
      {"status", r.error ? "error" : "ok"},
  };
  if (r.error) j["error"] = error_object(*r.error, r.error_message);
  return j;
}

nlohmann::ordered_json connect_event(std::chrono::system_clock::time_point ts, const std::string& peer) {
  return {{"ts", rfc3339_utc(ts)}, {"event", "connect"}, {"peer", peer}};
}

nlohmann::ordered_json disconnect_event(std::chrono::system_clock::time_point ts, const std::string& peer,
                                        const std::string& client, uint64_t files, uint64_t bytes,
                                        double seconds, std::optional<proto::ErrorCode> error,
                                        const std::string& error_message) {
  nlohmann::ordered_json j = {
      {"ts", rfc3339_utc(ts)},
      {"event", "disconnect"},
      {"peer", peer},
      {"client", client},
      {"files", files},
      {"bytes", bytes},
      {"duration_ms", static_cast<int64_t>(std::llround(seconds * 1000.0))},
  };
  if (error) j["error"] = error_object(*error, error_message);
  return j;
}

nlohmann::ordered_json refused_event(std::chrono::system_clock::time_point ts, const std::string& peer,
                                     const std::string& reason) {
  return {{"ts", rfc3339_utc(ts)}, {"event", "refused"}, {"peer", peer}, {"reason", reason}};
}

nlohmann::ordered_json chat_join_event(std::chrono::system_clock::time_point ts, const std::string& peer,
                                       const std::string& client) {
  return {{"ts", rfc3339_utc(ts)}, {"event", "chat_join"}, {"peer", peer}, {"client", client}};
}

nlohmann::ordered_json chat_leave_event(std::chrono::system_clock::time_point ts, const std::string& peer,
                                        const std::string& client, const std::string& reason) {
  nlohmann::ordered_json j = {
      {"ts", rfc3339_utc(ts)}, {"event", "chat_leave"}, {"peer", peer}, {"client", client}};
  if (!reason.empty()) j["reason"] = reason;
  return j;
}

nlohmann::ordered_json chat_event(std::chrono::system_clock::time_point ts, const std::string& client,
                                  const std::string& text) {
  return {{"ts", rfc3339_utc(ts)}, {"event", "chat"}, {"client", client}, {"text", text}};
}

std::string format_log_line(const nlohmann::ordered_json& event) {
  return event.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

namespace {

// Room kept allocated past the end of the log: about two hundred events.
constexpr uint64_t kReserve = 64 << 10;

int open_log_file(int dir_fd, const std::string& name) {
  if (dir_fd >= 0) {
    return ::openat(dir_fd, name.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  }
  return ::open(name.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

}  // namespace

TransferLog::TransferLog(net::UniqueFd fd, net::UniqueFd dir_fd, std::string name, std::string where)
    : fd_(std::move(fd)), dir_fd_(std::move(dir_fd)), name_(std::move(name)), where_(std::move(where)) {
  adopt();
}

TransferLog::~TransferLog() {
  MutexLock lock(mutex_);
  release_reserve();
}

TransferLog TransferLog::open(const std::string& path) {
  if (path == "-") {
    const int fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) throw_sys("dup stdout for the log");
    return TransferLog(net::UniqueFd(fd), net::UniqueFd(), "", "stdout");
  }
  const int fd = open_log_file(-1, path);
  if (fd < 0) throw_sys("open log " + path);
  return TransferLog(net::UniqueFd(fd), net::UniqueFd(), path, path);
}

TransferLog TransferLog::open_at(int dir_fd, const std::string& name, const std::string& shown) {
  const int fd = open_log_file(dir_fd, name);
  if (fd < 0) throw_sys("open log " + shown);
  net::UniqueFd dir(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
  if (!dir) throw_sys("dup the directory of " + shown);
  return TransferLog(net::UniqueFd(fd), std::move(dir), name, shown);
}

void TransferLog::adopt() {
  struct stat st {};
  const int flags = ::fcntl(fd_.get(), F_GETFL);
  appending_file_ = ::fstat(fd_.get(), &st) == 0 && S_ISREG(st.st_mode) && flags >= 0 && (flags & O_APPEND);
  end_ = appending_file_ ? static_cast<uint64_t>(st.st_size) : 0;
  reserved_to_ = end_;
  torn_ = false;
  reserving_ = true;
  reserve(true);
}

void TransferLog::reserve(bool force) {
  if (!appending_file_ || !reserving_ || (!force && end_ + kReserve / 2 < reserved_to_)) return;
  // Learn the true end first: someone else (logrotate's copytruncate) may have changed it.
  struct stat st {};
  if (::fstat(fd_.get(), &st) == 0) end_ = static_cast<uint64_t>(st.st_size);
  if (::fallocate(fd_.get(), FALLOC_FL_KEEP_SIZE, static_cast<off_t>(end_), static_cast<off_t>(kReserve)) ==
      0) {
    reserved_to_ = end_ + kReserve;
  } else {
    reserved_to_ = end_;  // a full disk: tried again at the next line
    if (errno == EOPNOTSUPP || errno == ENOSYS) reserving_ = false;  // never here: stop asking
  }
}

void TransferLog::release_reserve() {
  if (!appending_file_ || reserved_to_ <= end_) return;
  struct stat st {};
  // Cutting at the end frees what fallocate kept past it.
  if (::fstat(fd_.get(), &st) == 0) ::ftruncate(fd_.get(), st.st_size);
  reserved_to_ = 0;
}

void TransferLog::warn(const std::string& text) const {
  if (warn_) warn_(text);
}

bool TransferLog::append(const std::string& line) {
  if (!appending_file_) {
    // A pipe or a terminal takes a blocking write whole; only a short write needs another
    // call for the rest.
    size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(fd_.get(), line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = n < 0 ? errno : EIO;
        return false;
      }
      done += static_cast<size_t>(n);
    }
    return true;
  }
  // A piece of a line that could not be cut off is ended here, so the next line at least
  // stands on its own.
  const std::string text = torn_ ? "\n" + line : line;
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd_.get(), text.data() + done, text.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      error_ = n < 0 ? errno : EIO;
      break;
    }
  }
  if (done == text.size()) {
    torn_ = false;
    end_ += text.size();
    reserve(false);
    return true;
  }
  if (done > 0) {
    // The disk took only part of the line: cut it off, so the next line does not follow a
    // piece of this one.
    struct stat st {};
    const off_t start = ::fstat(fd_.get(), &st) == 0 ? st.st_size - static_cast<off_t>(done) : -1;
    if (start >= 0 && ::ftruncate(fd_.get(), start) == 0) {
      end_ = static_cast<uint64_t>(start);
    } else {
      torn_ = true;
    }
  }
  return false;
}

bool TransferLog::flush_pending() {
  const size_t kept = pending_.size();
  while (!pending_.empty()) {
    if (!append(pending_.front())) return false;
    pending_bytes_ -= pending_.front().size();
    pending_.pop_front();
  }
  if (kept > 0 || dropped_ > 0) {
    std::string text =
        "the log " + where_ + " takes events again; " + std::to_string(kept) + " kept in memory written";
    if (dropped_ > 0) text += ", " + std::to_string(dropped_) + " lost";
    warn(text);
    dropped_ = 0;
  }
  return true;
}

bool TransferLog::write(const nlohmann::ordered_json& event) {
  std::string line = format_log_line(event);
  MutexLock lock(mutex_);
  if (pending_.empty() && dropped_ == 0) {
    if (append(line)) return true;
    warn("cannot write the log " + where_ + ": " + std::strerror(error_) +
         "; keeping events in memory until it takes them again");
  } else if (flush_pending() && append(line)) {
    return true;
  }
  if (pending_bytes_ + line.size() > kMaxPendingBytes) {
    if (dropped_++ == 0) {
      warn("the log " + where_ + " still takes nothing and " + std::to_string(pending_.size()) +
           " events wait in memory; further events are lost until it does");
    }
    return false;
  }
  pending_bytes_ += line.size();
  pending_.push_back(std::move(line));
  return false;
}

void TransferLog::retry() {
  MutexLock lock(mutex_);
  if (!pending_.empty() || dropped_ > 0) flush_pending();
}

void TransferLog::reopen() {
  if (name_.empty()) return;  // stdout
  net::UniqueFd fresh(open_log_file(dir_fd_ ? dir_fd_.get() : -1, name_));
  if (!fresh) throw_sys("reopen log " + where_);
  MutexLock lock(mutex_);
  release_reserve();
  fd_ = std::move(fresh);
  adopt();
  if (!pending_.empty() || dropped_ > 0) flush_pending();
}

size_t TransferLog::pending() const {
  MutexLock lock(mutex_);
  return pending_.size();
}

}  // namespace ftx::server
