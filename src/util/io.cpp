// SPDX-License-Identifier: MIT
// The write-everything loop.
#include "util/io.h"

#include <unistd.h>

#include <cerrno>

#include "util/sys_error.h"

namespace ftx {

void write_all(int fd, std::span<const uint8_t> data, const std::string& what) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_sys("write " + what);
    }
    // write(2) returns 0 for a non-empty buffer only when nothing more fits.
    if (n == 0) throw_sys("write " + what, ENOSPC);
    done += static_cast<size_t>(n);
  }
}

}  // namespace ftx
