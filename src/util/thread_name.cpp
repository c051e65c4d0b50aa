// SPDX-License-Identifier: MIT
#include "util/thread_name.h"

#include <pthread.h>

#include <algorithm>
#include <array>

namespace ftx {

void name_this_thread(std::string_view name) {
  std::array<char, 16> buf{};  // TASK_COMM_LEN, with its terminating NUL
  const size_t n = std::min(name.size(), buf.size() - 1);
  std::copy_n(name.data(), n, buf.data());
  (void)pthread_setname_np(pthread_self(), buf.data());
}

}  // namespace ftx
