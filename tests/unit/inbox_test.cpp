// SPDX-License-Identifier: MIT
// The inbox: atomic commit, overwrite policies, no symlink followed, nothing half-written.
#include "server/inbox.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "digest/digest.h"
#include "digests.h"
#include "proto/errors.h"
#include "temp_dir.h"

namespace ftx::server {
namespace {

using proto::ErrorCode;
using proto::ProtocolError;
using testing::TempDir;

std::string put(Inbox& inbox, const std::string& name, const std::string& content,
                OverwritePolicy policy = OverwritePolicy::Rename, uint32_t mode = 0644,
                int64_t mtime_ns = 1'600'000'000'000'000'000) {
  PartialFile p = inbox.begin(content.size());
  p.write(std::span(reinterpret_cast<const uint8_t*>(content.data()), content.size()));
  return inbox.commit(p, name, policy, mode, mtime_ns);
}

ErrorCode refusal(Inbox& inbox, const std::string& name, OverwritePolicy policy = OverwritePolicy::Rename) {
  try {
    put(inbox, name, "x", policy);
  } catch (const ProtocolError& e) {
    return e.code();
  }
  ADD_FAILURE() << "not refused: " << name;
  return ErrorCode::Internal;
}

TEST(Inbox, CreatesDirectoryAndHiddenArea) {
  TempDir tmp;
  Inbox inbox(tmp / "in");
  EXPECT_TRUE(std::filesystem::is_directory(tmp / "in" / ".ftx" / "partial"));
}

TEST(Inbox, CommitKeepsContentModeAndMtime) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  EXPECT_EQ(put(inbox, "sub/dir/a.txt", "hello", OverwritePolicy::Rename, 04755, 1'500'000'000'123'456'789),
            "sub/dir/a.txt");
  EXPECT_EQ(testing::read_file(tmp / "sub/dir/a.txt"), "hello");
  struct stat st {};
  ASSERT_EQ(::stat((tmp / "sub/dir/a.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);  // setuid never applied
  EXPECT_EQ(st.st_mtim.tv_sec, 1'500'000'000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123'456'789);
  EXPECT_EQ(testing::partial_count(tmp.path()), 0u);
}

TEST(Inbox, RenamePolicyNumbersTakenNames) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  EXPECT_EQ(put(inbox, "a.txt", "1"), "a.txt");
  EXPECT_EQ(put(inbox, "a.txt", "2"), "a (1).txt");
  EXPECT_EQ(put(inbox, "a.txt", "3"), "a (2).txt");
  EXPECT_EQ(testing::read_file(tmp / "a.txt"), "1");
  EXPECT_EQ(testing::read_file(tmp / "a (2).txt"), "3");
}

TEST(Inbox, ReplacePolicyReplaces) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  put(inbox, "a.txt", "old");
  EXPECT_EQ(put(inbox, "a.txt", "new", OverwritePolicy::Replace), "a.txt");
  EXPECT_EQ(testing::read_file(tmp / "a.txt"), "new");
  EXPECT_EQ(testing::visible_files(tmp.path()), std::vector<std::string>{"a.txt"});
}

TEST(Inbox, RefusePolicyRefusesAndKeepsOld) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  put(inbox, "a.txt", "old");
  EXPECT_EQ(refusal(inbox, "a.txt", OverwritePolicy::Refuse), ErrorCode::Exists);
  EXPECT_EQ(testing::read_file(tmp / "a.txt"), "old");
  EXPECT_EQ(testing::partial_count(tmp.path()), 0u);
}

TEST(Inbox, ExistingDirectoryIsNeverReplaced) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  std::filesystem::create_directory(tmp / "d");
  EXPECT_EQ(put(inbox, "d", "x"), "d (1)");
  EXPECT_EQ(refusal(inbox, "d", OverwritePolicy::Replace), ErrorCode::Exists);
  EXPECT_TRUE(std::filesystem::is_directory(tmp / "d"));
}

TEST(Inbox, FileWhereDirectoryIsNeededIsRefused) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  put(inbox, "f", "x");
  EXPECT_EQ(refusal(inbox, "f/inner.txt"), ErrorCode::NameRefused);
}

TEST(Inbox, SymlinkedDirectoryIsNeverFollowed) {
  TempDir tmp;
  TempDir outside;
  Inbox inbox(tmp / "in");
  std::filesystem::create_directory_symlink(outside.path(), tmp / "in" / "link");
  EXPECT_EQ(refusal(inbox, "link/x.txt"), ErrorCode::NameRefused);
  EXPECT_TRUE(std::filesystem::is_empty(outside.path()));
}

TEST(Inbox, SymlinkedFileIsNotWrittenThrough) {
  TempDir tmp;
  TempDir outside;
  testing::write_file(outside / "target", "precious");
  Inbox inbox(tmp / "in");
  std::filesystem::create_symlink(outside / "target", tmp / "in" / "x.txt");
  EXPECT_EQ(put(inbox, "x.txt", "attack"), "x (1).txt");
  EXPECT_EQ(put(inbox, "x.txt", "attack", OverwritePolicy::Replace), "x.txt");
  EXPECT_EQ(testing::read_file(outside / "target"), "precious");
  EXPECT_FALSE(std::filesystem::is_symlink(tmp / "in" / "x.txt"));
}

TEST(Inbox, RefusedNamesWriteNothing) {
  TempDir tmp;
  Inbox inbox(tmp / "in");
  for (const char* name : {"../x", "/abs", ".ftx/evil", "a//b"}) {
    EXPECT_EQ(refusal(inbox, name), ErrorCode::NameRefused) << name;
  }
  EXPECT_TRUE(testing::visible_files(tmp / "in").empty());
  EXPECT_EQ(testing::partial_count(tmp / "in"), 0u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(tmp.path()), {}), 1);
}

TEST(Inbox, AbandonedPartialLeavesNothing) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  {
    PartialFile p = inbox.begin(10);
    p.write(std::span(reinterpret_cast<const uint8_t*>("12345"), 5));
    EXPECT_EQ(testing::partial_count(tmp.path()), 1u);
  }
  EXPECT_EQ(testing::partial_count(tmp.path()), 0u);
  EXPECT_TRUE(testing::visible_files(tmp.path()).empty());
}

TEST(Inbox, MoreThanTheDiskHoldsIsNoSpace) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  try {
    inbox.begin(1ull << 62);
    FAIL() << "a 4 EiB file was accepted";
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.code(), ErrorCode::NoSpace);
  }
}

void write(PartialFile& p, const std::string& content) {
  p.write(std::span(reinterpret_cast<const uint8_t*>(content.data()), content.size()));
}

size_t entries(const std::filesystem::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

const ResumeKey kKey{"0123456789abcdef0123456789abcdef", "big.bin", 10, 1'600'000'000'000'000'000};

TEST(Inbox, AnInterruptedResumablePartialIsResumedWithItsBytes) {
  TempDir tmp;
  {
    Inbox inbox(tmp.path());
    PartialFile p = inbox.begin_resumable(kKey);
    EXPECT_EQ(p.resumed_from(), 0u);
    write(p, "01234");
  }                             // the session ends without commit: the bytes stay, hidden
  Inbox restarted(tmp.path());  // a new server on the same DIR keeps them too
  PartialFile p = restarted.begin_resumable(kKey);
  EXPECT_EQ(p.resumed_from(), 5u);
  write(p, "56789");
  EXPECT_EQ(restarted.commit(p, "big.bin", OverwritePolicy::Rename, 0644, kKey.mtime_ns), "big.bin");
  EXPECT_EQ(testing::read_file(tmp / "big.bin"), "0123456789");
  EXPECT_EQ(entries(tmp / ".ftx" / "partial"), 0u);  // the record went with the commit
}

TEST(Inbox, APartialOfAnotherSourceIsStartedOver) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  { write(*std::make_unique<PartialFile>(inbox.begin_resumable(kKey)), "01234"); }
  for (ResumeKey changed : {ResumeKey{kKey.id, kKey.name, 11, kKey.mtime_ns},
                            ResumeKey{kKey.id, kKey.name, kKey.size, kKey.mtime_ns + 1},
                            ResumeKey{kKey.id, "other.bin", kKey.size, kKey.mtime_ns}}) {
    PartialFile p = inbox.begin_resumable(changed);
    EXPECT_EQ(p.resumed_from(), 0u) << changed.size << " " << changed.mtime_ns << " " << changed.name;
    write(p, "ab");
  }
}

TEST(Inbox, ADiscardedPartialIsGoneAndAnIdInUseGetsAPlainPartial) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  PartialFile first = inbox.begin_resumable(kKey);
  write(first, "01234");
  PartialFile second = inbox.begin_resumable(kKey);  // the same upload running twice
  EXPECT_FALSE(second.resumable());
  first.discard();
  EXPECT_EQ(entries(tmp / ".ftx" / "partial"), 1u);  // only the plain one
}

TEST(Inbox, ExpiredPartialsAreRemovedAtStart) {
  TempDir tmp;
  {
    Inbox inbox(tmp.path());
    write(*std::make_unique<PartialFile>(inbox.begin_resumable(kKey)), "01234");
  }
  const auto partial = tmp / ".ftx" / "partial" / ("r-" + kKey.id);
  ASSERT_TRUE(std::filesystem::exists(partial));
  { Inbox kept(tmp.path(), std::chrono::hours(1)); }
  EXPECT_TRUE(std::filesystem::exists(partial));
  std::filesystem::last_write_time(partial,
                                   std::filesystem::file_time_type::clock::now() - std::chrono::hours(2));
  { Inbox expired(tmp.path(), std::chrono::hours(1)); }
  EXPECT_EQ(entries(tmp / ".ftx" / "partial"), 0u);
}

TEST(Inbox, TransferIdsAreLowerCaseHex) {
  EXPECT_FALSE(check_transfer_id("0123abcd").has_value());
  for (const std::string& bad :
       std::vector<std::string>{"", "ABCD", "../x", "r-1", std::string(65, 'a'), std::string("a\0b", 3)}) {
    EXPECT_TRUE(check_transfer_id(bad).has_value()) << bad;
  }
}

TEST(Inbox, BatchedCommitPublishesAfterOneSync) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  std::vector<PartialFile> batch;
  for (int i = 0; i < 3; ++i) {
    batch.push_back(inbox.begin(1));
    write(batch.back(), std::to_string(i));
    inbox.seal(batch.back(), 0640, kKey.mtime_ns);
    batch.back().close();
  }
  inbox.sync();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(inbox.publish(batch[i], "f" + std::to_string(i), OverwritePolicy::Rename, true),
              "f" + std::to_string(i));
    EXPECT_EQ(testing::read_file(tmp / ("f" + std::to_string(i))), std::to_string(i));
  }
}

TEST(Inbox, TheBatchLanesHoldPartialsAsThePartialAreaDoes) {
  for (const auto& [which, dir] :
       {std::pair{Inbox::Lane::Batch, "batch"}, std::pair{Inbox::Lane::Batch2, "batch2"}}) {
    TempDir tmp;
    const auto lane = tmp / ".ftx" / dir;
    {
      Inbox inbox(tmp.path());
      PartialFile kept = inbox.begin(3, which);
      write(kept, "abc");
      EXPECT_EQ(entries(lane), 1u) << dir;
      EXPECT_EQ(entries(tmp / ".ftx" / "partial"), 0u);
      inbox.seal(kept, 0644, kKey.mtime_ns);
      kept.close();
      inbox.sync();
      EXPECT_EQ(inbox.publish(kept, "a.txt", OverwritePolicy::Rename, true), "a.txt");
      EXPECT_EQ(testing::read_file(tmp / "a.txt"), "abc");
      EXPECT_EQ(entries(lane), 0u) << dir;
      {
        PartialFile dropped = inbox.begin(1, which);
        write(dropped, "x");
        EXPECT_EQ(testing::partial_count(tmp.path()), 1u);
      }
      EXPECT_EQ(entries(lane), 0u) << "a dropped partial stayed in " << dir;
      PartialFile failed = inbox.begin(1, which);
      write(failed, "y");
      failed.discard();
      EXPECT_EQ(entries(lane), 0u) << "a discarded partial stayed in " << dir;
    }
    // One a crash left behind goes at the next start, as in the partial area.
    testing::write_file(lane / "p-left-by-a-crash", "x");
    Inbox again(tmp.path());
    EXPECT_EQ(entries(lane), 0u) << dir;
    EXPECT_EQ(testing::visible_files(tmp.path()), std::vector<std::string>{"a.txt"});
  }
  EXPECT_EQ(Inbox::next_lane(Inbox::Lane::Partial), Inbox::Lane::Batch);
  EXPECT_EQ(Inbox::next_lane(Inbox::Lane::Batch), Inbox::Lane::Batch2);
  EXPECT_EQ(Inbox::next_lane(Inbox::Lane::Batch2), Inbox::Lane::Partial);
}

TEST(Inbox, PublishAsksWhetherTheSameFileIsThereOnlyWhenTheNameIsTaken) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  put(inbox, "taken", "old");
  auto sealed = [&inbox](const std::string& content) {
    PartialFile p = inbox.begin(content.size());
    write(p, content);
    inbox.seal(p, 0644, kKey.mtime_ns);
    return p;
  };
  int asked = 0;
  auto answer = [&asked](bool same) {
    return [&asked, same] {
      ++asked;
      return same;
    };
  };
  inbox.sync();
  PartialFile fresh = sealed("new");
  EXPECT_EQ(inbox.publish(fresh, "free", OverwritePolicy::Rename, true, answer(true)), "free");
  EXPECT_EQ(asked, 0);  // a free name is not looked at

  PartialFile same = sealed("old");
  EXPECT_EQ(inbox.publish(same, "taken", OverwritePolicy::Rename, true, answer(true)), std::nullopt);
  EXPECT_EQ(asked, 1);
  same.discard();
  EXPECT_EQ(testing::read_file(tmp / "taken"), "old");

  PartialFile other = sealed("other");
  EXPECT_EQ(inbox.publish(other, "taken", OverwritePolicy::Rename, true, answer(false)), "taken (1)");
  EXPECT_EQ(asked, 2);

  // Told "the same", Replace replaces nothing (other bytes here, so a replacement would show).
  PartialFile same_replace = sealed("OLD");
  EXPECT_EQ(inbox.publish(same_replace, "taken", OverwritePolicy::Replace, true, answer(true)), std::nullopt);
  EXPECT_EQ(asked, 3);
  EXPECT_EQ(testing::read_file(tmp / "taken"), "old");
  same_replace.discard();
  PartialFile replacing = sealed("replaced");
  EXPECT_EQ(inbox.publish(replacing, "taken", OverwritePolicy::Replace, true, answer(false)), "taken");
  EXPECT_EQ(testing::read_file(tmp / "taken"), "replaced");
  PartialFile new_replace = sealed("x");
  EXPECT_EQ(inbox.publish(new_replace, "free2", OverwritePolicy::Replace, true, answer(true)), "free2");
  EXPECT_EQ(asked, 4);

  PartialFile refused = sealed("different");
  try {
    inbox.publish(refused, "taken", OverwritePolicy::Refuse, true, answer(false));
    ADD_FAILURE() << "a different file replaced one under Refuse";
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.code(), ErrorCode::Exists);
  }
  EXPECT_EQ(asked, 5);
  // The same file under Refuse is no error: nothing to publish.
  PartialFile same_refuse = sealed("replaced");
  EXPECT_EQ(inbox.publish(same_refuse, "taken", OverwritePolicy::Refuse, true, answer(true)), std::nullopt);
  same_refuse.discard();
  // A look that leaves errno changed does not stop the numbered names.
  PartialFile after_look = sealed("another");
  EXPECT_EQ(inbox.publish(after_look, "taken", OverwritePolicy::Rename, true,
                          [] {
                            errno = ENOENT;
                            return false;
                          }),
            "taken (2)");
}

TEST(Inbox, DirectoriesGetModeAndMtimeAndAFileInTheWayIsRefused) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  inbox.make_directory("a/b", 02750, 1'500'000'000'000'000'000);
  struct stat st {};
  ASSERT_EQ(::stat((tmp / "a" / "b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'500'000'000);
  put(inbox, "file", "x");
  try {
    inbox.make_directory("file/sub", 0755, 0);
    ADD_FAILURE() << "a directory was made through a file";
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.code(), ErrorCode::NameRefused);
  }
}

TEST(Inbox, WithoutFsyncCommitsTheSameWay) {
  TempDir tmp;
  Inbox inbox(tmp.path(), std::chrono::hours(24), /*fsync=*/false);
  EXPECT_EQ(put(inbox, "a/b.txt", "no fsync"), "a/b.txt");
  PartialFile p = inbox.begin(2);
  write(p, "ok");
  inbox.seal(p, 0644, 0);
  inbox.sync();
  EXPECT_EQ(inbox.publish(p, "c.txt", OverwritePolicy::Rename, true), "c.txt");
  EXPECT_EQ(testing::read_file(tmp / "a/b.txt"), "no fsync");
  EXPECT_EQ(testing::read_file(tmp / "c.txt"), "ok");
}

TEST(Inbox, ALargeFileIsCommittedWholeAfterEarlyWriteback) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  const std::string chunk(3 << 20, 'w');
  PartialFile p = inbox.begin(30 << 20);
  for (int i = 0; i < 10; ++i) write(p, chunk);  // passes the writeback threshold three times
  EXPECT_EQ(inbox.commit(p, "big", OverwritePolicy::Rename, 0644, 0), "big");
  EXPECT_EQ(std::filesystem::file_size(tmp / "big"), 30u << 20);
}

TEST(Inbox, ParseOverwrite) {
  EXPECT_EQ(parse_overwrite("rename"), OverwritePolicy::Rename);
  EXPECT_EQ(parse_overwrite("replace"), OverwritePolicy::Replace);
  EXPECT_EQ(parse_overwrite("refuse"), OverwritePolicy::Refuse);
  EXPECT_FALSE(parse_overwrite("skip").has_value());
}

ResumeKey key_of(const std::string& id) { return ResumeKey{id, "f" + id + ".bin", 10, 1}; }

bool kept(const TempDir& tmp, const std::string& id) {
  return std::filesystem::exists(tmp / ".ftx" / "partial" / ("r-" + id));
}

// One partial per owner: a partial being written is never evicted; once its session lets
// go, the oldest abandoned ones give way to a new one. Owners survive a restart (in the
// partial's record).
TEST(Inbox, PartialsPerOwnerAreBoundedOldestFirstNeverWhileWritten) {
  TempDir tmp;
  const PartialLimits one_each{{0, 0}, 0, {0, 0}, 1};
  {
    Inbox inbox(tmp.path(), std::chrono::hours(24), true, one_each);
    {
      PartialFile first = inbox.begin_resumable(key_of("a1"), "10.0.0.1");
      write(first, "01");
      {
        PartialFile second = inbox.begin_resumable(key_of("a2"), "10.0.0.1");
        write(second, "ab");
        EXPECT_TRUE(kept(tmp, "a1")) << "evicted while being written";
      }
      PartialFile other = inbox.begin_resumable(key_of("b1"), "10.0.0.2");  // another owner: no effect
      write(other, "xy");
      EXPECT_TRUE(kept(tmp, "a1"));
      EXPECT_TRUE(kept(tmp, "a2"));
    }
    PartialFile third = inbox.begin_resumable(key_of("a3"), "10.0.0.1");
    write(third, "zz");
    EXPECT_FALSE(kept(tmp, "a1"));
    EXPECT_FALSE(kept(tmp, "a2"));
    EXPECT_TRUE(kept(tmp, "a3"));
    EXPECT_TRUE(kept(tmp, "b1"));
  }
  Inbox restarted(tmp.path(), std::chrono::hours(24), true, one_each);
  PartialFile fourth = restarted.begin_resumable(key_of("a4"), "10.0.0.1");
  EXPECT_FALSE(kept(tmp, "a3")) << "the owner was forgotten across the restart";
  EXPECT_TRUE(kept(tmp, "b1"));
}

// Kept partials give way to an upload that finds too little free space only when that makes
// room: one announced past the disk is refused without taking anybody's partial with it
// (a single hostile FILE_BEGIN used to delete every user's resumable uploads).
TEST(Inbox, AnUploadThatCannotFitEvictsNoKeptPartial) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  {
    PartialFile p = inbox.begin_resumable(key_of("victim"), "10.0.0.1");
    write(p, "01234");
  }
  ASSERT_TRUE(kept(tmp, "victim"));
  for (const uint64_t impossible : {~0ull, 1ull << 62}) {
    try {
      inbox.begin(impossible);
      ADD_FAILURE() << impossible << " bytes were accepted";
    } catch (const ProtocolError& e) {
      EXPECT_EQ(e.code(), ErrorCode::NoSpace);
    }
    try {
      inbox.begin_resumable(ResumeKey{"0123456789abcdef", "huge.bin", impossible, 1}, "10.0.0.66");
      ADD_FAILURE() << impossible << " bytes were accepted";
    } catch (const ProtocolError& e) {
      EXPECT_EQ(e.code(), ErrorCode::NoSpace);
    }
  }
  EXPECT_TRUE(kept(tmp, "victim")) << "a refused upload took another's partial";
  PartialFile again = inbox.begin_resumable(key_of("victim"), "10.0.0.1");
  EXPECT_EQ(again.resumed_from(), 5u);
}

// ---------------------------------------------------------------------------------------
// Files already there (version 3's HAVE and UNCHANGED)

constexpr int64_t kMtime = 1'600'000'000'000'000'000;

std::string hex_of(const std::optional<Inbox::Existing>& e) { return e ? digest::to_hex(e->digest) : "none"; }

TEST(Inbox, AnExistingFileIsFoundByNameSizeAndMtimeWithItsDigest) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  ASSERT_EQ(put(inbox, "sub/a.txt", "hello"), "sub/a.txt");
  const std::string want = testing::independent_digest(tmp / "sub/a.txt", "xxh128");
  const auto found = inbox.existing("sub/a.txt", 5, kMtime, DigestAlgo::Xxh128);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->path, "sub/a.txt");
  EXPECT_EQ("xxh128:" + hex_of(found), want);
  EXPECT_EQ(inbox.digests().size(), 1u);
  // No mtime asked: size is enough.
  EXPECT_EQ("xxh128:" + hex_of(inbox.existing("sub/a.txt", 5, std::nullopt, DigestAlgo::Xxh128)), want);
  // Another size or mtime, or nothing there: nothing to offer.
  EXPECT_FALSE(inbox.existing("sub/a.txt", 6, kMtime, DigestAlgo::Xxh128));
  EXPECT_FALSE(inbox.existing("sub/a.txt", 5, kMtime + 1, DigestAlgo::Xxh128));
  EXPECT_FALSE(inbox.existing("sub/b.txt", 5, std::nullopt, DigestAlgo::Xxh128));
  EXPECT_FALSE(inbox.existing("nope/a.txt", 5, std::nullopt, DigestAlgo::Xxh128));
  EXPECT_FALSE(inbox.existing("../a.txt", 5, std::nullopt, DigestAlgo::Xxh128));
  EXPECT_FALSE(inbox.existing("sub", 0, std::nullopt, DigestAlgo::Xxh128));  // a directory
}

TEST(Inbox, AnExistingFileIsNeverFoundThroughASymlink) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  testing::write_file(tmp / "outside" / "secret", "hello");
  std::filesystem::create_symlink(tmp / "outside" / "secret", tmp / "link");
  std::filesystem::create_directory_symlink(tmp / "outside", tmp / "dirlink");
  EXPECT_TRUE(inbox.existing("outside/secret", 5, std::nullopt, DigestAlgo::Xxh128));
  EXPECT_FALSE(inbox.existing("link", 5, std::nullopt, DigestAlgo::Xxh128));
  EXPECT_FALSE(inbox.existing("dirlink/secret", 5, std::nullopt, DigestAlgo::Xxh128));
}

// The cache is keyed by the version of the file: a rewrite of the same size and mtime is
// hashed again, not answered from memory.
TEST(Inbox, ARewrittenFileIsHashedAgain) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  put(inbox, "a.txt", "hello");
  const std::string first = hex_of(inbox.existing("a.txt", 5, kMtime, DigestAlgo::Xxh128));
  testing::write_file(tmp / "a.txt", "HELLO");
  const timespec times[2] = {{0, UTIME_OMIT}, {kMtime / 1'000'000'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (tmp / "a.txt").c_str(), times, 0), 0);
  const std::string second = hex_of(inbox.existing("a.txt", 5, kMtime, DigestAlgo::Xxh128));
  EXPECT_NE(first, second);
  EXPECT_EQ("xxh128:" + second, testing::independent_digest(tmp / "a.txt", "xxh128"));
}

TEST(Inbox, ACommittedDigestIsRememberedWithoutReadingTheFile) {
  TempDir tmp;
  Inbox inbox(tmp.path());
  PartialFile p = inbox.begin(5);
  p.write(std::span(reinterpret_cast<const uint8_t*>("hello"), 5));
  inbox.commit(p, "a.txt", OverwritePolicy::Rename, 0644, kMtime);
  // What the committer says is what is offered: the file is not read again.
  inbox.remember_digest(p.published_as(), DigestAlgo::Xxh128, "told");
  const auto found = inbox.existing("a.txt", 5, kMtime, DigestAlgo::Xxh128);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->digest, "told");
  // Per algorithm.
  EXPECT_NE(inbox.existing("a.txt", 5, kMtime, DigestAlgo::Sha256)->digest, "told");
}

TEST(DigestCache, KeepsTheNewestAndRemembersFilesTooSlowToHash) {
  DigestCache cache(2);
  const FileIdentity a{1, 1, 5, 10, 20};
  FileIdentity b = a;
  b.ino = 2;
  FileIdentity c = a;
  c.ctime_ns = 21;  // the same file, written since
  cache.remember(a, DigestAlgo::Xxh128, "A");
  cache.remember(b, DigestAlgo::Xxh128, "");
  EXPECT_EQ(cache.find(a, DigestAlgo::Xxh128), "A");
  EXPECT_EQ(cache.find(b, DigestAlgo::Xxh128), "");  // known: too slow, not to be tried again
  EXPECT_FALSE(cache.find(c, DigestAlgo::Xxh128));
  EXPECT_FALSE(cache.find(a, DigestAlgo::Sha256));
  cache.remember(a, DigestAlgo::Xxh128, "A2");  // an update does not count twice
  EXPECT_EQ(cache.size(), 2u);
  cache.remember(c, DigestAlgo::Xxh128, "C");
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.find(a, DigestAlgo::Xxh128));  // the oldest went
  EXPECT_EQ(cache.find(c, DigestAlgo::Xxh128), "C");
}

}  // namespace
}  // namespace ftx::server
