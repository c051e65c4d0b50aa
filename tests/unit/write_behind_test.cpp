// SPDX-License-Identifier: MIT
// Write-behind: every byte hashed and written in order, threaded or not; a failed write
// reaches the reader.
#include "server/write_behind.h"

#include <sys/resource.h>

#include <csignal>
#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace ftx::server {
namespace {

using testing::TempDir;

// Feeds content through a WriteBehind in pieces of varying size, as recv returns them.
void feed(WriteBehind& out, const std::string& content, std::mt19937& rng) {
  size_t at = 0;
  while (at < content.size()) {
    const auto slot = out.slot();
    const size_t n = std::min<size_t>({content.size() - at, slot.size(), 1 + rng() % slot.size()});
    std::memcpy(slot.data(), content.data() + at, n);
    out.submit(n);
    at += n;
  }
  out.finish();
}

// A fresh inbox, the bytes of one upload, and the partial file they go into.
struct Upload {
  Upload(size_t size, uint64_t seed)
      : content(testing::random_bytes(size, seed)), partial(inbox.begin(size)) {}
  TempDir tmp;
  Inbox inbox{tmp.path()};
  std::string content;
  PartialFile partial;
  digest::Hasher hasher{DigestAlgo::Sha256};
};

std::string sha256_of(const std::string& bytes) {
  digest::Hasher whole(DigestAlgo::Sha256);
  whole.update({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  return whole.finish();
}

class WriteBehindModes : public ::testing::TestWithParam<bool> {};

TEST_P(WriteBehindModes, HashesAndWritesEveryByteInOrder) {
  Upload up(5 << 20, 1);
  std::mt19937 rng(7);
  std::vector<uint8_t> buffer(64 << 10);
  {
    WriteBehind out(up.partial, up.hasher, buffer, GetParam());
    feed(out, up.content, rng);
  }
  EXPECT_EQ(up.hasher.finish(), sha256_of(up.content)) << "the hash did not see every byte in order";
  EXPECT_EQ(up.partial.size(), up.content.size());
  up.inbox.commit(up.partial, "f.bin", OverwritePolicy::Rename, 0644, 0);
  EXPECT_EQ(testing::read_file(up.tmp / "f.bin"), up.content);
}

INSTANTIATE_TEST_SUITE_P(ThreadedOrNot, WriteBehindModes, ::testing::Bool());

TEST(WriteBehind, AFailedWriteReachesTheReader) {
  Upload up(4 << 20, 2);
  std::mt19937 rng(11);
  std::vector<uint8_t> buffer(256 << 10);
  // A file size limit makes write(2) fail with EFBIG past 1 MiB, as a full disk would.
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 1 << 20;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  bool failed = false;
  try {
    WriteBehind out(up.partial, up.hasher, buffer, /*threaded=*/true);
    feed(out, up.content, rng);
  } catch (const std::system_error& e) {
    failed = e.code() == std::errc::file_too_large;
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_TRUE(failed) << "the writer's failure did not reach the reader";
  EXPECT_LE(up.partial.size(), 1u << 20);
}

TEST(WriteBehind, StoppingEarlyKeepsAPrefix) {
  Upload up(1 << 20, 3);
  std::vector<uint8_t> buffer(64 << 10);
  {
    WriteBehind out(up.partial, up.hasher, buffer, /*threaded=*/true);
    for (size_t at = 0; at < up.content.size() / 2;) {
      const auto slot = out.slot();
      std::memcpy(slot.data(), up.content.data() + at, slot.size());
      out.submit(slot.size());
      at += slot.size();
    }
    // Destroyed without finish(), as when the connection drops mid-file.
  }
  // Every slot but the ones still in the buffer was written: a slot is handed out only
  // once the writer has freed it, so at most the whole buffer was dropped.
  const size_t submitted = up.content.size() / 2;
  ASSERT_LE(up.partial.size(), submitted);
  EXPECT_GE(up.partial.size(), submitted - buffer.size());
  ASSERT_EQ(testing::partial_count(up.tmp.path()), 1u);
  const auto area = up.tmp / ".ftx" / "partial";
  const std::string kept = testing::read_file(std::filesystem::directory_iterator(area)->path());
  EXPECT_EQ(kept.size(), up.partial.size());
  EXPECT_GE(kept.size(), submitted - buffer.size()) << "the kept prefix lost written slots";
  EXPECT_TRUE(kept == up.content.substr(0, kept.size())) << "the kept bytes are not a prefix of the file";
}

}  // namespace
}  // namespace ftx::server
