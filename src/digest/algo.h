// SPDX-License-Identifier: MIT
// The digest algorithms files are verified with. The values are also their wire values in
// protocol version 1: never renumber.
#pragma once

#include <cstdint>

namespace ftx {

enum class DigestAlgo : uint8_t { Xxh128 = 1, Sha256 = 2 };

}  // namespace ftx
