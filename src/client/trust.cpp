// SPDX-License-Identifier: MIT
// Pins and known hosts.
#include "client/trust.h"

#include <fcntl.h>
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

void remember(const std::filesystem::path& path, const std::string& host_port,
              const std::string& fingerprint) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) throw std::system_error(ec, "create " + path.parent_path().string());
  ::chmod(path.parent_path().c_str(), 0700);
  net::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd) throw_sys("open " + path.string());
  write_all(fd.get(), host_port + " " + fingerprint + "\n", path.string());
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
  const KnownHosts known = KnownHosts::parse(read_text(known_hosts));
  if (const KnownHosts::Entry* entry = known.find(host_port)) {
    check.expected = entry->fingerprint;
    check.line = entry->line;
    check.verdict =
        entry->fingerprint == fingerprint ? KeyCheck::Verdict::Known : KeyCheck::Verdict::Mismatch;
    return check;
  }
  remember(known_hosts, host_port, fingerprint);
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
