// SPDX-License-Identifier: MIT
// The options every client command shares: how it secures the connection and whom it trusts.
#pragma once

#include <optional>
#include <string>

#include <cxxopts.hpp>

#include "client/link.h"

namespace ftx::cli {

/// --plain and --pin.
void add_tls_options(cxxopts::Options& options);

/// The user's choice from --plain, --pin (else $FTX_PIN) and the known-hosts file; a key met
/// for the first time is announced on stderr as "ftx COMMAND: new server ...". Returns why
/// the options are wrong, when they are.
std::optional<std::string> tls_from(const cxxopts::ParseResult& args, const std::string& command,
                                    client::TlsOptions& out);

/// The one-line warning for a token sent in clear because the user asked for --plain.
void warn_token_in_clear(const std::string& command, const client::TlsOptions& tls, const std::string& token);

}  // namespace ftx::cli
