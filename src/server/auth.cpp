// SPDX-License-Identifier: MIT
// Token checks.
#include "server/auth.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "proto/errors.h"
#include "server/access.h"

namespace ftx::server {

void check_token(const SessionContext& ctx, const std::string& peer, std::string_view presented,
                 std::stop_token stop) {
  using Clock = std::chrono::steady_clock;
  if (ctx.config.token.empty()) return;
  const std::string address = address_of(peer);
  if (token_matches(presented, ctx.config.token)) {
    ctx.throttle.succeeded(address);
    return;
  }
  // Guessing gets slower the more an address guesses wrong.
  const auto until = Clock::now() + ctx.throttle.failed(address);
  while (Clock::now() < until && !stop.stop_requested()) {
    std::this_thread::sleep_for(
        std::min<Clock::duration>(std::chrono::milliseconds(100), until - Clock::now()));
  }
  throw proto::ProtocolError(
      proto::ErrorCode::Unauthorized,
      presented.empty() ? "this server needs a token: pass --token or set FTX_TOKEN" : "wrong token");
}

}  // namespace ftx::server
