// SPDX-License-Identifier: MIT
// JSON Lines transfer log.
#include "server/transfer_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>

#include "util/clock.h"
#include "util/sys_error.h"
#include "util/units.h"

namespace ftx::server {
namespace {

nlohmann::ordered_json error_object(proto::ErrorCode code, const std::string& message) {
  return {{"code", proto::error_code_name(code)}, {"message", message}};
}

double round_to(double v, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
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
      {"mbps", round_to(megabytes_per_second(r.bytes - std::min(r.bytes, r.resumed_from), r.seconds), 2)},
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

std::string format_log_line(const nlohmann::ordered_json& event) {
  return event.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

TransferLog TransferLog::open(const std::string& path) {
  if (path == "-") {
    const int fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) throw_sys("dup stdout for the log");
    return TransferLog(net::UniqueFd(fd), "stdout");
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw_sys("open log " + path);
  return TransferLog(net::UniqueFd(fd), path);
}

TransferLog TransferLog::open_at(int dir_fd, const std::string& name, const std::string& shown) {
  const int fd = ::openat(dir_fd, name.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) throw_sys("open log " + shown);
  return TransferLog(net::UniqueFd(fd), shown);
}

bool TransferLog::write(const nlohmann::ordered_json& event) {
  const std::string line = format_log_line(event);
  // One write call per line: with O_APPEND the kernel places each line whole. Only a
  // short write (a full disk, a pipe) needs a second call for the rest.
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_.get(), line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace ftx::server
