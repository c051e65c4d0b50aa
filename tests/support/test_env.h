// SPDX-License-Identifier: MIT
// What the machine running the tests allows: how much slower than plain this build runs
// (sanitizers), and whether a skip is acceptable here (never as root in CI).
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

namespace ftx::testing {

/// The one factor every in-test time bound is multiplied by: $FTX_TEST_TIME_FACTOR when set
/// (./quickstart sets it for its ASan and TSan runs), else what this build's sanitizer
/// usually costs, so that `meson test -C build-asan` by hand gets it too.
inline double time_factor() {
  static const double factor = [] {
    if (const char* text = std::getenv("FTX_TEST_TIME_FACTOR"); text && *text) {
      char* end = nullptr;
      const double f = std::strtod(text, &end);
      if (end != text && *end == '\0' && f >= 1.0) return f;
    }
#if defined(__SANITIZE_THREAD__)
    return 4.0;
#elif defined(__SANITIZE_ADDRESS__)
    return 3.0;
#else
    return 1.0;
#endif
  }();
  return factor;
}

/// A time bound of a test (a deadline, a "within N s" check), stretched by time_factor().
/// Only bounds: a duration the server is configured with stays as it is.
template <class Rep, class Period>
std::chrono::milliseconds scaled(std::chrono::duration<Rep, Period> bound) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(bound * time_factor());
}

/// CI=true as root: a test that skips for want of a privilege would hide a failure there,
/// so it must fail instead (the machine was meant to run it).
inline bool must_not_skip() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true" && ::geteuid() == 0;
}

}  // namespace ftx::testing
