// SPDX-License-Identifier: MIT
// The batch committer: verdicts in order, its eventfd, its contract, and what a session that
// goes away leaves (each file whole and logged, or gone without a trace).
#include "server/batch_committer.h"

#include <poll.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "proto/codec.h"
#include "server/file_buffer.h"
#include "temp_dir.h"

namespace ftx::server {
namespace {

namespace fs = std::filesystem;

/// What every session shares, for a server that is not running.
struct Server {
  testing::TempDir tmp;
  ServerConfig config;
  Inbox inbox{tmp.path() / "in"};
  TransferLog log = TransferLog::open((tmp.path() / "transfers.jsonl").string());
  Console console{true};
  ChatHub hub{console, log, {}};
  AuthThrottle throttle;
  SessionContext ctx{config, inbox, log, console, hub, throttle, nullptr};
  FileBuffer buffer;

  std::string content_of(size_t i) const { return "file " + std::to_string(i) + " of the batch\n"; }

  /// A sealed eager file named f<i>.txt, as FileReceiver::receive_eager makes it.
  std::unique_ptr<IncomingFile> sealed(size_t i, Inbox::Lane lane = Inbox::Lane::Partial) {
    const std::string content = content_of(i);
    auto file = std::make_unique<IncomingFile>(ctx, "127.0.0.1:1", "test", "f" + std::to_string(i) + ".txt",
                                               content.size(), 0644, 1'600'000'000'000'000'000);
    file->start({}, lane);
    size_t at = 0;
    file->receive(
        [&](std::span<uint8_t> out) {
          const size_t n = std::min(out.size(), content.size() - at);
          std::copy_n(content.data() + at, n, out.begin());
          at += n;
          return n;
        },
        buffer.get());
    file->seal();
    return file;
  }

  /// Files f<first>.txt .. f<first + files - 1>.txt.
  EagerBatch batch_of(size_t files, Inbox::Lane lane = Inbox::Lane::Partial, size_t first = 0) {
    EagerBatch batch(ctx);
    for (size_t i = first; i < first + files; ++i) batch.add(sealed(i, lane));
    return batch;
  }

  bool published(size_t i) const {
    return fs::exists(tmp.path() / "in" / ("f" + std::to_string(i) + ".txt"));
  }

  /// Status of each file event in the log, by name.
  std::map<std::string, std::string> logged() const {
    std::map<std::string, std::string> status;
    std::ifstream in(tmp.path() / "transfers.jsonl");
    for (std::string line; std::getline(in, line);) {
      const auto event = nlohmann::json::parse(line);
      if (event["event"] == "file") status[event["name"]] = event["status"];
    }
    return status;
  }

  size_t partials() const {
    size_t n = 0;
    for (const char* area : {"partial", "batch", "batch2"}) {
      const fs::path dir = tmp.path() / "in" / ".ftx" / area;
      if (fs::exists(dir)) n += static_cast<size_t>(std::distance(fs::directory_iterator(dir), {}));
    }
    return n;
  }
};

/// Stands in for the inbox's syncfs: numbers the calls, lets call n start only once the test
/// allows it, and makes the call numbered `fail` fail as a full disk does.
class ScriptedSync {
 public:
  explicit ScriptedSync(Inbox& inbox, int fail = 0) : inbox_(inbox), fail_(fail) {
    inbox.replace_sync_for_testing([this] { call(); });
  }
  ~ScriptedSync() { inbox_.replace_sync_for_testing({}); }
  ScriptedSync(const ScriptedSync&) = delete;
  ScriptedSync& operator=(const ScriptedSync&) = delete;
  void allow(int n) {
    {
      std::lock_guard lock(mutex_);
      allowed_ = n;
    }
    changed_.notify_all();
  }
  /// Waits (10 s at most) until call n has begun.
  bool wait_for_call(int n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return calls_ >= n; });
  }
  int calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  void call() {
    std::unique_lock lock(mutex_);
    const int n = ++calls_;
    changed_.notify_all();
    // Bounded: a committer that syncs when the test did not expect it fails the test (the
    // sync fails) instead of hanging it.
    if (!changed_.wait_for(lock, std::chrono::seconds(10), [&] { return allowed_ >= n; })) {
      throw std::runtime_error("sync call " + std::to_string(n) + " was never allowed");
    }
    if (n == fail_) throw proto::ProtocolError(proto::ErrorCode::NoSpace, "the server's disk is full");
  }

  Inbox& inbox_;
  const int fail_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int calls_ = 0;
  int allowed_ = 0;
};

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 10'000) == 1 && (p.revents & POLLIN);
}

TEST(BatchCommitter, AnswersAHandedOverBatchInOrderAndSignalsItsEventfd) {
  Server server;
  BatchCommitter committer;
  EXPECT_TRUE(committer.idle());
  EXPECT_EQ(committer.committed_fd(), -1);
  committer.hand_over(server.batch_of(5));
  EXPECT_FALSE(committer.idle());
  const int fd = committer.committed_fd();
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(readable(fd));
  EXPECT_TRUE(committer.committed());

  const EagerBatch::Verdicts verdicts = committer.collect();
  EXPECT_TRUE(committer.idle());
  EXPECT_EQ(verdicts.files, 5u);
  ASSERT_EQ(verdicts.answers.size(), 5u);
  uint64_t bytes = 0;
  for (size_t i = 0; i < 5; ++i) {
    const auto* saved = std::get_if<proto::Saved>(&verdicts.answers[i]);
    ASSERT_NE(saved, nullptr) << i;
    EXPECT_EQ(saved->name, "f" + std::to_string(i) + ".txt");
    std::ifstream in(server.tmp.path() / "in" / saved->name);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), server.content_of(i));
    bytes += server.content_of(i).size();
  }
  EXPECT_EQ(verdicts.bytes, bytes);
  EXPECT_EQ(server.partials(), 0u);
  // Collected: the eventfd is unreadable again, ready for the next batch.
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  EXPECT_EQ(server.logged().size(), 5u);
}

TEST(BatchCommitter, BatchesComeBackOneAfterAnotherAndCollectingWhenIdleGivesNothing) {
  Server server;
  BatchCommitter committer;
  EXPECT_TRUE(committer.collect().answers.empty());
  for (int round = 0; round < 3; ++round) {
    EagerBatch batch(server.ctx);
    batch.add(server.sealed(static_cast<size_t>(round)));
    // A refusal too long for what the sender budgets per answer is cut to fit.
    batch.add("refused.txt", proto::Error{proto::ErrorCode::NameRefused, std::string(1000, 'r')});
    committer.hand_over(std::move(batch));
    const auto verdicts = committer.collect();
    ASSERT_EQ(verdicts.answers.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<proto::Saved>(verdicts.answers[0]));
    const auto* refusal = std::get_if<proto::Error>(&verdicts.answers[1]);
    ASSERT_NE(refusal, nullptr);
    EXPECT_EQ(refusal->code, proto::ErrorCode::NameRefused);
    EXPECT_LE(proto::encode_frame(*refusal).size(),
              proto::max_eager_answer(std::string("refused.txt").size(), server.config.hash));
    EXPECT_EQ(verdicts.files, 1u);
  }
}

// Batches handed over while earlier ones are committed (one sync may serve two of them)
// come back in the order they were handed over, each signalled on the eventfd.
TEST(BatchCommitter, BatchesHandedOverBeforeTheLastIsCommittedComeBackInOrder) {
  Server server;
  BatchCommitter committer;
  constexpr size_t kBatches = 4;
  constexpr size_t kFiles = 50;
  size_t next_file = 0;
  Inbox::Lane lane = Inbox::Lane::Partial;
  for (size_t b = 0; b < kBatches; ++b, lane = Inbox::next_lane(lane)) {
    // The thread takes a waiting batch as soon as it is done with the one before.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!committer.can_take() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    ASSERT_TRUE(committer.can_take());
    EagerBatch batch(server.ctx);
    for (size_t i = 0; i < kFiles; ++i) {
      batch.add(server.sealed(next_file++, lane));
    }
    committer.hand_over(std::move(batch));
  }
  size_t expected = 0;
  for (size_t b = 0; b < kBatches; ++b) {
    ASSERT_TRUE(readable(committer.committed_fd())) << b;
    const auto verdicts = committer.collect();
    ASSERT_EQ(verdicts.answers.size(), kFiles) << b;
    for (const auto& answer : verdicts.answers) {
      const auto* saved = std::get_if<proto::Saved>(&answer);
      ASSERT_NE(saved, nullptr);
      EXPECT_EQ(saved->name, "f" + std::to_string(expected++) + ".txt");
    }
  }
  EXPECT_TRUE(committer.idle());
  EXPECT_EQ(server.logged().size(), kBatches * kFiles);
  EXPECT_EQ(server.partials(), 0u);
}

// A session whose connection failed destroys its committer with a batch in hand: each file
// is then saved whole and logged ok (its publishing had begun) or is not there at all and
// logged interrupted, and no partial is left in either area.
TEST(BatchCommitter, ABatchNobodyCollectsIsSavedWholeOrNotAtAll) {
  Server server;
  constexpr size_t kFiles = 200;
  {
    BatchCommitter committer;
    committer.hand_over(server.batch_of(kFiles, Inbox::Lane::Batch));
  }
  const auto logged = server.logged();
  ASSERT_EQ(logged.size(), kFiles);
  for (size_t i = 0; i < kFiles; ++i) {
    const std::string name = "f" + std::to_string(i) + ".txt";
    const fs::path path = server.tmp.path() / "in" / name;
    ASSERT_TRUE(logged.contains(name)) << name;
    if (logged.at(name) == "ok") {
      std::ifstream in(path);
      EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), server.content_of(i)) << name;
    } else {
      EXPECT_EQ(logged.at(name), "error") << name;
      EXPECT_FALSE(fs::exists(path)) << name;
    }
  }
  EXPECT_EQ(server.partials(), 0u);
}

// Batch A is published while batch B waits: B's data sync makes A's names durable too, and
// A is answered only once it has. Three syncs for two batches, not four.
TEST(BatchCommitter, ABatchPublishedWhileTheNextWaitsIsAnsweredAfterTheSyncTheyShare) {
  Server server;
  ScriptedSync sync(server.inbox);
  BatchCommitter committer;
  committer.hand_over(server.batch_of(3, Inbox::Lane::Partial, 0));
  ASSERT_TRUE(sync.wait_for_call(1));  // A's data
  committer.hand_over(server.batch_of(3, Inbox::Lane::Batch, 3));
  sync.allow(1);
  ASSERT_TRUE(sync.wait_for_call(2));  // B's data, and A's names
  EXPECT_TRUE(server.published(0));
  EXPECT_FALSE(committer.committed()) << "A was answered before its names were durable";
  sync.allow(2);
  ASSERT_TRUE(readable(committer.committed_fd()));
  const auto a = committer.collect();
  ASSERT_EQ(a.answers.size(), 3u);
  for (const auto& answer : a.answers) EXPECT_TRUE(std::holds_alternative<proto::Saved>(answer));
  sync.allow(10);  // B's names
  ASSERT_TRUE(readable(committer.committed_fd()));
  const auto b = committer.collect();
  ASSERT_EQ(b.answers.size(), 3u);
  const auto* saved = std::get_if<proto::Saved>(&b.answers[0]);
  ASSERT_NE(saved, nullptr);
  EXPECT_EQ(saved->name, "f3.txt");
  EXPECT_EQ(sync.calls(), 3);
  EXPECT_EQ(server.partials(), 0u);
}

// The shared sync fails: batch A's names were published but are not known to be durable,
// so A's verdicts never reach the sender (collecting them throws, which ends the session);
// B, whose data is not known to be durable, is answered file by file with the failure and
// nothing of it is published.
TEST(BatchCommitter, ASharedSyncThatFailsFailsTheHeldBatchAndAnswersTheNextWithTheError) {
  Server server;
  ScriptedSync sync(server.inbox, /*fail=*/2);
  BatchCommitter committer;
  committer.hand_over(server.batch_of(3, Inbox::Lane::Partial, 0));
  ASSERT_TRUE(sync.wait_for_call(1));
  committer.hand_over(server.batch_of(3, Inbox::Lane::Batch, 3));
  sync.allow(10);
  ASSERT_TRUE(readable(committer.committed_fd()));
  try {
    committer.collect();
    ADD_FAILURE() << "batch A was answered after a failed sync";
  } catch (const proto::ProtocolError& e) {
    EXPECT_EQ(e.code(), proto::ErrorCode::NoSpace);
  }
  ASSERT_TRUE(readable(committer.committed_fd()));
  const auto b = committer.collect();
  EXPECT_TRUE(committer.idle());
  ASSERT_EQ(b.answers.size(), 3u);
  for (const auto& answer : b.answers) {
    const auto* error = std::get_if<proto::Error>(&answer);
    ASSERT_NE(error, nullptr);
    EXPECT_EQ(error->code, proto::ErrorCode::NoSpace);
  }
  EXPECT_EQ(b.files, 0u);
  EXPECT_FALSE(b.published);
  EXPECT_EQ(sync.calls(), 2);  // nothing of B was published: no names to sync
  const auto logged = server.logged();
  for (size_t i = 3; i < 6; ++i) {
    EXPECT_FALSE(server.published(i)) << i;
    EXPECT_EQ(logged.at("f" + std::to_string(i) + ".txt"), "error") << i;
  }
  EXPECT_EQ(server.partials(), 0u);
}

// A failed data sync: no file of the batch is published, each is answered with the error.
TEST(BatchCommitter, AFailedDataSyncPublishesNothingAndAnswersEachFile) {
  Server server;
  ScriptedSync sync(server.inbox, /*fail=*/1);
  sync.allow(10);
  BatchCommitter committer;
  committer.hand_over(server.batch_of(4));
  ASSERT_TRUE(readable(committer.committed_fd()));
  const auto verdicts = committer.collect();
  ASSERT_EQ(verdicts.answers.size(), 4u);
  for (const auto& answer : verdicts.answers) {
    const auto* error = std::get_if<proto::Error>(&answer);
    ASSERT_NE(error, nullptr);
    EXPECT_EQ(error->code, proto::ErrorCode::NoSpace);
    EXPECT_EQ(error->message, "the server's disk is full");
  }
  for (size_t i = 0; i < 4; ++i) EXPECT_FALSE(server.published(i)) << i;
  EXPECT_EQ(sync.calls(), 1);
  EXPECT_EQ(server.partials(), 0u);
}

}  // namespace
}  // namespace ftx::server
