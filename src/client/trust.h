// SPDX-License-Identifier: MIT
// Whom a client trusts: the key it was told to pin, or the key it met first (as ssh does).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ftx::client {

/// $XDG_CONFIG_HOME/ftx/known_hosts, or ~/.config/ftx/known_hosts.
std::filesystem::path default_known_hosts();

/// The remembered keys: one "HOST:PORT sha256:KEY" a line; '#' comments and blank lines
/// are kept as they are. Pure: parsed from text.
struct KnownHosts {
  struct Entry {
    std::string host_port;
    std::string fingerprint;
    size_t line = 0;  ///< 1-based, for "remove line N"
  };
  std::vector<Entry> entries;

  static KnownHosts parse(std::string_view text);
  /// The entry for host_port (the last one, if the file repeats it).
  const Entry* find(std::string_view host_port) const;
};

/// What a server's key means to this client.
struct KeyCheck {
  enum class Verdict {
    Pinned,      ///< equal to --pin
    Known,       ///< equal to the key remembered for this host:port
    Remembered,  ///< first meeting: now remembered
    Mismatch,    ///< not the pin, or not the key remembered: refuse before sending anything
  };
  Verdict verdict = Verdict::Mismatch;
  std::string expected;  ///< the pin or the remembered key, when there was one
  size_t line = 0;       ///< the known_hosts line of the remembered key
};

/// Checks fingerprint against pin when there is one, else against known_hosts (appending
/// host_port and the key when the host is new, creating the file and its directory with
/// private modes). Throws std::system_error when a new key cannot be remembered.
KeyCheck check_server_key(const std::string& host_port, const std::string& fingerprint,
                          const std::optional<std::string>& pin, const std::filesystem::path& known_hosts);

/// The warning a mismatch gets, in ssh's manner: both keys, and what to do.
std::string mismatch_warning(const std::string& host_port, const std::string& fingerprint,
                             const KeyCheck& check, const std::filesystem::path& known_hosts);

}  // namespace ftx::client
