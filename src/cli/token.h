// SPDX-License-Identifier: MIT
// Where a command finds the shared token: --token, else $FTX_TOKEN.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>

namespace ftx::cli {

/// The flag's value when given, else $FTX_TOKEN (which keeps the secret out of `ps`), else
/// empty.
inline std::string token_from(const std::optional<std::string>& flag) {
  if (flag) return *flag;
  const char* env = std::getenv("FTX_TOKEN");
  return env ? env : "";
}

}  // namespace ftx::cli
