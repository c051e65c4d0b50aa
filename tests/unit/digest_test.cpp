// SPDX-License-Identifier: MIT
// Digests against published vectors, and streaming equals one-shot.
#include "digest/digest.h"

#include <fcntl.h>
#include <xxhash.h>

#include <gtest/gtest.h>

#include "net/unique_fd.h"
#include "temp_dir.h"

namespace ftx::digest {
namespace {

using ftx::DigestAlgo;

std::string hex_of(DigestAlgo algo, std::string_view data) {
  Hasher h(algo);
  h.update(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  return to_hex(h.finish());
}

TEST(Digest, Sha256Vectors) {
  EXPECT_EQ(hex_of(DigestAlgo::Sha256, ""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_of(DigestAlgo::Sha256, "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, Xxh128MatchesXxh128sum) {
  // What `xxh128sum` prints for an empty input and for "abc".
  EXPECT_EQ(hex_of(DigestAlgo::Xxh128, ""), "99aa06d3014798d86001c324468d497f");
  EXPECT_EQ(hex_of(DigestAlgo::Xxh128, "abc"), "06b05ab6733a618578af5f94892f3950");
}

TEST(Digest, StreamingEqualsOneShot) {
  const std::string data = testing::random_bytes(3'000'017, 7);
  for (DigestAlgo algo : {DigestAlgo::Xxh128, DigestAlgo::Sha256}) {
    Hasher h(algo);
    for (size_t i = 0; i < data.size(); i += 65537) {
      const size_t n = std::min<size_t>(65537, data.size() - i);
      h.update(std::span(reinterpret_cast<const uint8_t*>(data.data() + i), n));
    }
    EXPECT_EQ(to_hex(h.finish()), hex_of(algo, data));
  }
  XXH128_canonical_t canon;
  XXH128_canonicalFromHash(&canon, XXH3_128bits(data.data(), data.size()));
  EXPECT_EQ(hex_of(DigestAlgo::Xxh128, data),
            to_hex(std::string_view(reinterpret_cast<const char*>(canon.digest), 16)));
}

TEST(Digest, FinishResets) {
  Hasher h(DigestAlgo::Sha256);
  h.update(std::span(reinterpret_cast<const uint8_t*>("abc"), 3));
  h.finish();
  EXPECT_EQ(to_hex(h.finish()), hex_of(DigestAlgo::Sha256, ""));
}

TEST(Digest, DigestFile) {
  testing::TempDir dir;
  const std::string data = testing::random_bytes(2'500'000, 3);
  testing::write_file(dir / "f", data);
  net::UniqueFd fd(::open((dir / "f").c_str(), O_RDONLY));
  ASSERT_TRUE(fd);
  EXPECT_EQ(to_hex(digest_file(fd.get(), DigestAlgo::Sha256, data.size())), hex_of(DigestAlgo::Sha256, data));
  // Only the announced prefix counts, so a file that grows while it is sent still verifies.
  EXPECT_EQ(to_hex(digest_file(fd.get(), DigestAlgo::Xxh128, 1000)),
            hex_of(DigestAlgo::Xxh128, std::string_view(data).substr(0, 1000)));
  EXPECT_THROW(digest_file(fd.get(), DigestAlgo::Xxh128, data.size() + 1), std::runtime_error);
}

TEST(Digest, DigestFileStopsWhenAsked) {
  testing::TempDir dir;
  testing::write_file(dir / "f", testing::random_bytes(4'000'000, 5));
  net::UniqueFd fd(::open((dir / "f").c_str(), O_RDONLY));
  std::stop_source stop;
  stop.request_stop();
  EXPECT_EQ(digest_file(fd.get(), DigestAlgo::Sha256, 4'000'000, stop.get_token()), "");
}

TEST(Digest, NamesAndLabels) {
  EXPECT_EQ(parse_algo("xxh128"), DigestAlgo::Xxh128);
  EXPECT_EQ(parse_algo("sha256"), DigestAlgo::Sha256);
  EXPECT_FALSE(parse_algo("md5").has_value());
  EXPECT_EQ(labelled(DigestAlgo::Sha256, "\x01\xff"), "sha256:01ff");
}

}  // namespace
}  // namespace ftx::digest
