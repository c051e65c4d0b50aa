// SPDX-License-Identifier: MIT
// Who this client says it is.
#include "client/identity.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include "proto/limits.h"
#include "util/text.h"

namespace ftx::client {

std::string default_client_name() {
  std::string user;
  if (const char* env = std::getenv("USER"); env && *env) {
    user = env;
  } else if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) {
    user = pw->pw_name;
  } else {
    user = "user";
  }
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
    std::snprintf(host, sizeof host, "localhost");
  std::string name = user + "@" + host;
  truncate_utf8(name, proto::kMaxClientName);
  return name;
}

}  // namespace ftx::client
