// SPDX-License-Identifier: MIT
// Known hosts: first meeting remembered once, a changed key refused, clients meeting a server
// at once write one line between them.
#include "client/trust.h"

#include <sys/stat.h>

#include <fstream>
#include <latch>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace ftx::client {
namespace {

using Verdict = KeyCheck::Verdict;

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(Trust, AFirstMeetingIsRememberedPrivatelyAndAChangedKeyIsRefused) {
  testing::TempDir tmp;
  const auto known_hosts = tmp / "config" / "ftx" / "known_hosts";
  EXPECT_EQ(check_server_key("h:1", "SHA256:aaa", std::nullopt, known_hosts).verdict, Verdict::Remembered);
  EXPECT_EQ(lines_of(known_hosts), std::vector<std::string>{"h:1 SHA256:aaa"});
  struct stat st {};
  ASSERT_EQ(::stat(known_hosts.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(known_hosts.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  EXPECT_EQ(check_server_key("h:1", "SHA256:aaa", std::nullopt, known_hosts).verdict, Verdict::Known);
  const KeyCheck changed = check_server_key("h:1", "SHA256:bbb", std::nullopt, known_hosts);
  EXPECT_EQ(changed.verdict, Verdict::Mismatch);
  EXPECT_EQ(changed.expected, "SHA256:aaa");
  EXPECT_EQ(changed.line, 1u);
  EXPECT_EQ(check_server_key("h:2", "SHA256:ccc", std::nullopt, known_hosts).verdict, Verdict::Remembered);
  EXPECT_EQ(lines_of(known_hosts), (std::vector<std::string>{"h:1 SHA256:aaa", "h:2 SHA256:ccc"}));
}

TEST(Trust, APinDecidesAloneAndWritesNothing) {
  testing::TempDir tmp;
  const auto known_hosts = tmp / "known_hosts";
  EXPECT_EQ(check_server_key("h:1", "SHA256:aaa", "SHA256:aaa", known_hosts).verdict, Verdict::Pinned);
  EXPECT_EQ(check_server_key("h:1", "SHA256:bbb", "SHA256:aaa", known_hosts).verdict, Verdict::Mismatch);
  EXPECT_FALSE(std::filesystem::exists(known_hosts));
}

// Clients started together against a new server (a script sending to it in parallel): the
// host is remembered once, with the key of whichever came first, and every other client
// measures its key against that one.
TEST(Trust, ClientsMeetingAServerAtOnceRememberItOnce) {
  for (int round = 0; round < 20; ++round) {
    testing::TempDir tmp;
    const auto known_hosts = tmp / "ftx" / "known_hosts";
    constexpr int kClients = 8;
    std::vector<KeyCheck> checks(kClients);
    std::vector<std::thread> clients;
    std::latch start(kClients);  // all at once, so they overlap
    for (int i = 0; i < kClients; ++i) {
      // Half of them are offered another key, as by someone in the middle.
      const std::string key = i % 2 == 0 ? "SHA256:real" : "SHA256:other";
      clients.emplace_back([&, i, key] {
        start.arrive_and_wait();
        checks[i] = check_server_key("h:9", key, std::nullopt, known_hosts);
      });
    }
    for (auto& client : clients) client.join();
    const auto lines = lines_of(known_hosts);
    ASSERT_EQ(lines.size(), 1u) << "round " << round;
    const std::string first = lines[0].substr(lines[0].find(' ') + 1);
    int remembered = 0;
    for (int i = 0; i < kClients; ++i) {
      const std::string key = i % 2 == 0 ? "SHA256:real" : "SHA256:other";
      if (checks[i].verdict == Verdict::Remembered) {
        ++remembered;
        EXPECT_EQ(key, first);
      } else {
        EXPECT_EQ(checks[i].verdict, key == first ? Verdict::Known : Verdict::Mismatch) << i;
      }
    }
    EXPECT_EQ(remembered, 1) << "round " << round;
  }
}

}  // namespace
}  // namespace ftx::client
