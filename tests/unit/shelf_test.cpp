// SPDX-License-Identifier: MIT
// The shelf: which paths a client may name, what is never served (.ftx, links, special
// files), and digests kept until the file changes.
#include "server/shelf.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "digest/digest.h"
#include "proto/errors.h"
#include "temp_dir.h"

namespace ftx::server {
namespace {

using proto::ErrorCode;
using proto::ProtocolError;
using testing::TempDir;

template <typename F>
std::optional<ErrorCode> refusal(F f) {
  try {
    f();
  } catch (const ProtocolError& e) {
    return e.code();
  }
  return std::nullopt;
}

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

std::string xxh(const std::string& text) {
  digest::Hasher h(DigestAlgo::Xxh128);
  h.update(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  return digest::labelled(DigestAlgo::Xxh128, h.finish());
}

TEST(ShelfPath, AcceptsRelativeNamesAndTheRootWhereADirectoryMayBeNamed) {
  EXPECT_EQ(check_shelf_path("a.txt", false), "a.txt");
  EXPECT_EQ(check_shelf_path("docs/a b.txt", false), "docs/a b.txt");
  EXPECT_EQ(check_shelf_path("docs/", true), "docs");
  EXPECT_EQ(check_shelf_path("", true), "");
  EXPECT_EQ(check_shelf_path(".", true), "");
  EXPECT_EQ(check_shelf_path("/", true), "");
  EXPECT_EQ(refusal([] { check_shelf_path("", false); }), ErrorCode::NameRefused);
}

TEST(ShelfPath, RefusesEscapesAndTheServersOwnDirectory) {
  for (const char* name : {"../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a\\b", "a\nb", "a\x1b[2Jb"}) {
    EXPECT_EQ(refusal([&] { check_shelf_path(name, true); }), ErrorCode::NameRefused) << name;
  }
  for (const char* name : {".ftx", ".ftx/key.pem", "inbox/.ftx/key.pem", ".ftx/"}) {
    EXPECT_EQ(refusal([&] { check_shelf_path(name, true); }), ErrorCode::NotShared) << name;
  }
}

class ShelfTest : public ::testing::Test {
 protected:
  ShelfTest() {
    std::filesystem::create_directories(tmp_ / "dir" / ".ftx");
    meta_.reset(::open((tmp_ / "dir" / ".ftx").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  std::unique_ptr<Shelf> shelf(bool inbox_root = true) {
    return std::make_unique<Shelf>(tmp_ / "dir", inbox_root, meta_.get(), DigestAlgo::Xxh128);
  }
  std::filesystem::path dir() const { return tmp_ / "dir"; }

  TempDir tmp_;
  net::UniqueFd meta_;
};

TEST_F(ShelfTest, OpensAFileWithItsDigest) {
  write(dir() / "a.txt", "hello");
  write(dir() / "sub" / "b.txt", "world");
  auto s = shelf();
  const auto a = s->open("a.txt");
  EXPECT_EQ(a.entry.name, "a.txt");
  EXPECT_EQ(a.entry.size, 5u);
  EXPECT_EQ(a.entry.digest, xxh("hello"));
  EXPECT_FALSE(a.entry.directory);
  EXPECT_EQ(s->open("sub/b.txt").entry.digest, xxh("world"));
}

TEST_F(ShelfTest, NeverServesLinksSpecialFilesOrTheServersDirectory) {
  write(tmp_ / "secret", "secret");
  write(dir() / ".ftx" / "key.pem", "key");
  std::filesystem::create_symlink(tmp_ / "secret", dir() / "link");
  std::filesystem::create_directory_symlink(tmp_.path(), dir() / "dirlink");
  ASSERT_EQ(::mkfifo((dir() / "fifo").c_str(), 0644), 0);
  std::filesystem::create_directories(dir() / "d");
  auto s = shelf();
  EXPECT_EQ(refusal([&] { s->open("link"); }), ErrorCode::NotShared);
  EXPECT_EQ(refusal([&] { s->open("dirlink/secret"); }), ErrorCode::NotShared);
  EXPECT_EQ(refusal([&] { s->list("dirlink"); }), ErrorCode::NotShared);
  EXPECT_EQ(refusal([&] { s->open("fifo"); }), ErrorCode::NotShared);
  EXPECT_EQ(refusal([&] { s->open(".ftx/key.pem"); }), ErrorCode::NotShared);
  EXPECT_EQ(refusal([&] { s->list(".ftx"); }), ErrorCode::NotShared);
  EXPECT_EQ(refusal([&] { s->open("nope"); }), ErrorCode::NotFound);
  EXPECT_EQ(refusal([&] { s->open("d"); }), ErrorCode::BadRequest);
  EXPECT_EQ(refusal([&] { s->open("../secret"); }), ErrorCode::NameRefused);
}

TEST_F(ShelfTest, ListsFilesAndDirectoriesButNotLinksSpecialFilesOrDotFtx) {
  write(dir() / "b.txt", "bb");
  write(dir() / "a.txt", "a");
  write(dir() / "sub" / "c.txt", "ccc");
  write(dir() / "sub" / ".ftx" / "x", "x");
  std::filesystem::create_symlink(dir() / "a.txt", dir() / "link");
  ASSERT_EQ(::mkfifo((dir() / "fifo").c_str(), 0644), 0);
  write(dir() / "bad\nname", "x");
  auto s = shelf();
  const auto root = s->list("");
  ASSERT_EQ(root.size(), 3u);
  EXPECT_EQ(root[0].name, "a.txt");
  EXPECT_EQ(root[0].digest, xxh("a"));
  EXPECT_EQ(root[1].name, "b.txt");
  EXPECT_EQ(root[1].size, 2u);
  EXPECT_EQ(root[2].name, "sub");
  EXPECT_TRUE(root[2].directory);
  EXPECT_EQ(root[2].digest, "");
  // Listed again (a file added meanwhile): the same descriptor is read from its start.
  write(dir() / "c.txt", "c");
  EXPECT_EQ(s->list("").size(), 4u);
  const auto sub = s->list("sub/");
  ASSERT_EQ(sub.size(), 1u);
  EXPECT_EQ(sub[0].name, "sub/c.txt");
  const auto one = s->list("sub/c.txt");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].digest, xxh("ccc"));
  EXPECT_EQ(refusal([&] { s->list("missing"); }), ErrorCode::NotFound);
}

TEST_F(ShelfTest, ADigestIsKeptUntilTheFileChangesAndAcrossRestarts) {
  write(dir() / "a.txt", "one");
  {
    auto s = shelf();
    EXPECT_EQ(s->open("a.txt").entry.digest, xxh("one"));
  }
  std::ifstream index(dir() / ".ftx" / "shelf-digests.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(index, line));
  EXPECT_NE(line.find(xxh("one")), std::string::npos);

  // A recorded digest is used while the identity matches: prove it with a false one.
  struct stat st {};
  ASSERT_EQ(::stat((dir() / "a.txt").c_str(), &st), 0);
  {
    auto s = shelf();
    s->committed("a.txt", identity_of(st), "xxh128:00000000000000000000000000000000");
  }
  auto s = shelf();  // reloaded from the file
  EXPECT_EQ(s->open("a.txt").entry.digest, "xxh128:00000000000000000000000000000000");
  // Changed (size and mtime): hashed again.
  write(dir() / "a.txt", "changed");
  EXPECT_EQ(s->open("a.txt").entry.digest, xxh("changed"));
}

TEST_F(ShelfTest, CommitsAreRecordedOnlyWhenTheShelfIsTheInbox) {
  write(dir() / "a.txt", "one");
  struct stat st {};
  ASSERT_EQ(::stat((dir() / "a.txt").c_str(), &st), 0);
  auto s = shelf(/*inbox_root=*/false);
  s->committed("a.txt", identity_of(st), "xxh128:00000000000000000000000000000000");
  EXPECT_EQ(s->open("a.txt").entry.digest, xxh("one"));
}

TEST_F(ShelfTest, TheInboxSaysWhatItPublished) {
  Inbox inbox(dir());
  PartialFile p = inbox.begin(3);
  const std::string text = "abc";
  p.write(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  inbox.commit(p, "x.txt", OverwritePolicy::Rename, 0644, 1'600'000'000'000'000'000);
  struct stat st {};
  ASSERT_EQ(::stat((dir() / "x.txt").c_str(), &st), 0);
  EXPECT_EQ(p.published_as(), identity_of(st));
}

}  // namespace
}  // namespace ftx::server
