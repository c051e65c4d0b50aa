// SPDX-License-Identifier: MIT
// Shared client options.
#include "cli/client_options.h"

#include <cstdio>
#include <cstdlib>

#include "client/trust.h"
#include "net/tls.h"
#include "util/text.h"

namespace ftx::cli {

void add_tls_options(cxxopts::Options& options) {
  // clang-format off
  options.add_options()
      ("plain", "talk in clear to a server without TLS (ftx serve --no-tls); never chosen by itself")
      ("pin", "the server's key, as ftx serve printed it (default: $FTX_PIN; without either, the key "
              "met first is remembered in $XDG_CONFIG_HOME/ftx/known_hosts, ~/.config by default, and "
              "checked from then on)",
       cxxopts::value<std::string>(), "sha256:KEY");
  // clang-format on
}

std::optional<std::string> tls_from(const cxxopts::ParseResult& args, const std::string& command,
                                    client::TlsOptions& out) {
  out.plain = args.count("plain") > 0;
  if (args.count("pin")) {
    out.pin = args["pin"].as<std::string>();
  } else if (const char* env = std::getenv("FTX_PIN"); env && *env) {
    out.pin = env;
  }
  if (out.pin && !net::looks_like_fingerprint(*out.pin)) {
    return "--pin (or FTX_PIN) must be a key as ftx serve prints it: sha256: and 43 characters";
  }
  if (out.pin && out.plain) return "--pin checks a TLS key, and --plain has none: choose one";
  out.known_hosts = client::default_known_hosts();
  out.notice = [command](const std::string& text) {
    std::fprintf(stderr, "ftx %s: %s\n", command.c_str(), printable(text).c_str());
  };
  return std::nullopt;
}

void warn_token_in_clear(const std::string& command, const client::TlsOptions& tls,
                         const std::string& token) {
  if (tls.plain && !token.empty()) {
    std::fprintf(stderr,
                 "ftx %s: warning: --plain sends the token in clear, readable by anyone on the network\n",
                 command.c_str());
  }
}

}  // namespace ftx::cli
