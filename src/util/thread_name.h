// SPDX-License-Identifier: MIT
// Names for ftx's threads, so `top -H`, /proc/PID/task/*/comm and bench/run's wait profile
// can tell a session from the disk writer.
#pragma once

#include <string_view>

namespace ftx {

/// Names the calling thread (the kernel keeps 15 bytes; longer names are cut). Best effort:
/// a failure changes nothing else.
void name_this_thread(std::string_view name);

}  // namespace ftx
