// SPDX-License-Identifier: MIT
// Pins and known hosts.
#include "client/trust.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "net/unique_fd.h"
#include "util/io.h"
#include "util/sys_error.h"

namespace ftx::client {

std::filesystem::path default_known_hosts() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  std::filesystem::path base;
  if (xdg && *xdg == '/') {
    base = xdg;
  } else {
    const char* home = std::getenv("HOME");
    base = std::filesystem::path(home && *home ? home : "/") / ".config";
  }
  return base / "ftx" / "known_hosts";
}

KnownHosts KnownHosts::parse(std::string_view text) {
  KnownHosts out;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_no;
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos || line[start] == '#') continue;
    line.remove_prefix(start);
    const size_t space = line.find_first_of(" \t");
    if (space == std::string_view::npos) continue;
    std::string_view key = line.substr(space);
    key.remove_prefix(std::min(key.find_first_not_of(" \t"), key.size()));
    key = key.substr(0, key.find_first_of(" \t\r"));
    if (key.empty()) continue;
    out.entries.push_back({std::string(line.substr(0, space)), std::string(key), line_no});
  }
  return out;
}

const KnownHosts::Entry* KnownHosts::find(std::string_view host_port) const {
  const Entry* found = nullptr;
  for (const Entry& e : entries) {
    if (e.host_port == host_port) found = &e;
  }
  return found;
}

namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// known_hosts open for reading and appending, under an exclusive flock(2) held until the
/// descriptor closes: clients meeting the same server at once read and write it in turn,
/// so the host is remembered once, with the key of whichever came first.
net::UniqueFd open_locked(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) throw std::system_error(ec, "create " + path.parent_path().string());
  ::chmod(path.parent_path().c_str(), 0700);
  net::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd) throw_sys("open " + path.string());
  while (::flock(fd.get(), LOCK_EX) < 0) {
    if (errno != EINTR) throw_sys("lock " + path.string());
  }
  return fd;
}

std::string read_all(int fd, const std::filesystem::path& path) {
  std::string text;
  char buf[8192];
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("read " + path.string());
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
    at += n;
  }
}

/// What known_hosts says of the key; nullopt when the host is not in it.
std::optional<KeyCheck> check_known(const KnownHosts& known, const std::string& host_port,
                                    const std::string& fingerprint) {
  const KnownHosts::Entry* entry = known.find(host_port);
  if (!entry) return std::nullopt;
  KeyCheck check;
  check.expected = entry->fingerprint;
  check.line = entry->line;
  check.verdict = entry->fingerprint == fingerprint ? KeyCheck::Verdict::Known : KeyCheck::Verdict::Mismatch;
  return check;
}

}  // namespace

KeyCheck check_server_key(const std::string& host_port, const std::string& fingerprint,
                          const std::optional<std::string>& pin, const std::filesystem::path& known_hosts) {
  KeyCheck check;
  if (pin) {
    check.expected = *pin;
    check.verdict = *pin == fingerprint ? KeyCheck::Verdict::Pinned : KeyCheck::Verdict::Mismatch;
    return check;
  }
  net::UniqueFd fd;
  try {
    fd = open_locked(known_hosts);
  } catch (const std::system_error&) {
    // A file this user cannot write (a read-only home) still vouches for the hosts in it.
    if (auto known = check_known(KnownHosts::parse(read_text(known_hosts)), host_port, fingerprint)) {
      return *known;
    }
    throw;
  }
  if (auto known = check_known(KnownHosts::parse(read_all(fd.get(), known_hosts)), host_port, fingerprint)) {
    return *known;
  }
  write_all(fd.get(), host_port + " " + fingerprint + "\n", known_hosts.string());
  check.verdict = KeyCheck::Verdict::Remembered;
  return check;
}

std::string mismatch_warning(const std::string& host_port, const std::string& fingerprint,
                             const KeyCheck& check, const std::filesystem::path& known_hosts) {
  std::string out =
      "WARNING: THE KEY OF " + host_port +
      " HAS CHANGED OR IS NOT THE ONE PINNED.\n"
      "Someone could be intercepting this connection (a man in the middle), or the server's key\n"
      "was replaced. Nothing was sent.\n"
      "  expected: " +
      check.expected +
      "\n"
      "  offered:  " +
      fingerprint + "\n";
  if (check.line > 0) {
    out += "If you know the server's key changed, remove line " + std::to_string(check.line) + " of " +
           known_hosts.string() +
           " (ftx remembers the new key at the next connection), or pin it with --pin.";
  } else {
    out += "Check the fingerprint the server printed at start and pass that to --pin.";
  }
  return out;
}

}  // namespace ftx::client
