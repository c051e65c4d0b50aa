// SPDX-License-Identifier: MIT
// Sending a file over a stream (a socketpair, no network): the bytes asked for, in order,
// each shown to the tap before it is sent; a file that ends early or cannot be read is a
// FileReadError that says which.
#include "net/stream.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "net/unique_fd.h"
#include "temp_dir.h"

namespace ftx::net {
namespace {

using testing::TempDir;

// A stream over one end of a socketpair; the other end is read to its end on a thread.
class StreamPair : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    ours_.reset(fds[0]);
    theirs_.reset(fds[1]);
    reader_ = std::thread([this] {
      char buf[65536];
      ssize_t n;
      while ((n = ::read(theirs_.get(), buf, sizeof buf)) > 0) received_.append(buf, static_cast<size_t>(n));
    });
  }
  // Everything the other end read, once the stream's end is closed.
  const std::string& received() {
    ::shutdown(ours_.get(), SHUT_WR);
    reader_.join();
    return received_;
  }
  void TearDown() override {
    if (reader_.joinable()) received();
  }
  UniqueFd open_file(const std::string& content) {
    testing::write_file(tmp_ / "f.bin", content);
    return UniqueFd(::open((tmp_ / "f.bin").c_str(), O_RDONLY | O_CLOEXEC));
  }

  TempDir tmp_;
  UniqueFd ours_;
  UniqueFd theirs_;
  std::thread reader_;
  std::string received_;
};

TEST_F(StreamPair, SendFileReadSendsAndShowsExactlyTheRangeAskedFor) {
  const std::string content = testing::random_bytes(3u << 20, 1);
  const UniqueFd file = open_file(content);
  SocketStream stream(ours_.get(), "peer");
  std::string seen;
  uint64_t last_progress = 0;
  const uint64_t offset = 1000;
  const uint64_t count = content.size() - offset - 7;
  stream.send_file_read(
      file.get(), offset, count, [&](uint64_t done) { last_progress = done; },
      [&](std::span<const uint8_t> chunk) {
        seen.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
      });
  const std::string expected = content.substr(offset, count);
  EXPECT_EQ(last_progress, count);
  EXPECT_TRUE(seen == expected) << "the tap saw " << seen.size() << " bytes";
  EXPECT_TRUE(received() == expected) << "the peer got " << received_.size() << " bytes";
}

TEST_F(StreamPair, SendfileSendsTheRangeAskedFor) {
  const std::string content = testing::random_bytes(1u << 20, 2);
  const UniqueFd file = open_file(content);
  SocketStream stream(ours_.get(), "peer");
  stream.send_file(file.get(), 5, content.size() - 5, {});
  EXPECT_TRUE(received() == content.substr(5));
}

TEST_F(StreamPair, AFileThatEndsEarlyIsAFileReadErrorWithoutAnErrno) {
  const UniqueFd file = open_file(testing::random_bytes(100000, 3));
  SocketStream stream(ours_.get(), "peer");
  for (const bool read_path : {true, false}) {
    try {
      if (read_path) {
        stream.send_file_read(file.get(), 0, 200000, {}, {});
      } else {
        stream.send_file(file.get(), 0, 200000, {});
      }
      ADD_FAILURE() << "no error for a file shorter than the count";
    } catch (const FileReadError& e) {
      EXPECT_EQ(e.error(), 0);
      EXPECT_STREQ(e.what(), "file ended early: it shrank while being sent");
    }
  }
}

TEST_F(StreamPair, AFileThatCannotBeReadIsAFileReadErrorWithItsErrno) {
  const UniqueFd dir(::open(tmp_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  SocketStream stream(ours_.get(), "peer");
  try {
    stream.send_file_read(dir.get(), 0, 10, {}, {});
    ADD_FAILURE() << "no error reading a directory";
  } catch (const FileReadError& e) {
    EXPECT_EQ(e.error(), EISDIR);
  }
}

}  // namespace
}  // namespace ftx::net
