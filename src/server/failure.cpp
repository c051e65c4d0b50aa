// SPDX-License-Identifier: MIT
// Exceptions into protocol errors.
#include "server/failure.h"

#include <system_error>

#include "util/sys_error.h"

namespace ftx::server {

bool is_reset(const std::exception& e) {
  const auto* sys = dynamic_cast<const std::system_error*>(&e);
  return sys && (sys->code() == std::errc::connection_reset || sys->code() == std::errc::connection_aborted ||
                 sys->code() == std::errc::broken_pipe);
}

Failure failure_of(const std::exception& e) {
  if (const auto* protocol = dynamic_cast<const proto::ProtocolError*>(&e)) {
    return {protocol->code(), protocol->what()};
  }
  if (is_timeout(e)) return {proto::ErrorCode::Timeout, e.what()};
  if (is_reset(e)) return {proto::ErrorCode::Reset, e.what()};
  return {proto::ErrorCode::Internal, e.what()};
}

}  // namespace ftx::server
