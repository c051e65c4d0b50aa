// SPDX-License-Identifier: MIT
// Exceptions into protocol errors.
#include "server/failure.h"

#include "util/sys_error.h"

namespace ftx::server {

Failure failure_of(const std::exception& e) {
  if (const auto* protocol = dynamic_cast<const proto::ProtocolError*>(&e)) {
    return {protocol->code(), protocol->what()};
  }
  return {is_timeout(e) ? proto::ErrorCode::Timeout : proto::ErrorCode::Internal, e.what()};
}

}  // namespace ftx::server
