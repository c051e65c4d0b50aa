// SPDX-License-Identifier: MIT
// Access control: address ranges, token comparison, throttling of repeated failures.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include "net/cidr.h"
#include "server/access.h"

namespace ftx {
namespace {

sockaddr_storage v4(const char* ip) {
  sockaddr_storage ss{};
  auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
  sin->sin_family = AF_INET;
  inet_pton(AF_INET, ip, &sin->sin_addr);
  return ss;
}

sockaddr_storage v6(const char* ip) {
  sockaddr_storage ss{};
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  sin6->sin6_family = AF_INET6;
  inet_pton(AF_INET6, ip, &sin6->sin6_addr);
  return ss;
}

bool in(const char* cidr, const sockaddr_storage& addr) {
  const auto c = net::Cidr::parse(cidr);
  EXPECT_TRUE(c.has_value()) << cidr;
  return c && c->contains(reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
}

TEST(Cidr, Ipv4) {
  EXPECT_TRUE(in("10.0.0.0/8", v4("10.200.3.4")));
  EXPECT_FALSE(in("10.0.0.0/8", v4("11.0.0.1")));
  EXPECT_TRUE(in("192.168.1.7", v4("192.168.1.7")));
  EXPECT_FALSE(in("192.168.1.7", v4("192.168.1.8")));
  EXPECT_TRUE(in("0.0.0.0/0", v4("8.8.8.8")));
  EXPECT_TRUE(in("172.16.0.0/12", v4("172.31.255.255")));
  EXPECT_FALSE(in("172.16.0.0/12", v4("172.32.0.0")));
}

TEST(Cidr, Ipv6AndMappedIpv4) {
  EXPECT_TRUE(in("::1", v6("::1")));
  EXPECT_TRUE(in("fd00::/8", v6("fd12:3456::1")));
  EXPECT_FALSE(in("fd00::/8", v6("fe80::1")));
  EXPECT_TRUE(in("127.0.0.0/8", v6("::ffff:127.0.0.1")));  // a dual-stack socket's IPv4 peer
  EXPECT_FALSE(in("::1", v4("127.0.0.1")));
  EXPECT_FALSE(in("10.0.0.0/8", v6("::1")));
}

TEST(Cidr, RefusesNonsense) {
  for (const char* bad :
       {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0/8", "host.example", "1.2.3.4/-1", "1.2.3.4/8x"}) {
    EXPECT_FALSE(net::Cidr::parse(bad).has_value()) << bad;
  }
}

TEST(AccessRules, DenyWinsThenAllow) {
  net::AccessRules rules;
  const auto local = v4("127.0.0.1");
  const auto* addr = reinterpret_cast<const sockaddr*>(&local);
  EXPECT_FALSE(rules.refusal(addr, sizeof local).has_value());
  rules.allow.push_back(*net::Cidr::parse("10.0.0.0/8"));
  EXPECT_TRUE(rules.refusal(addr, sizeof local).has_value());
  rules.allow.push_back(*net::Cidr::parse("127.0.0.0/8"));
  EXPECT_FALSE(rules.refusal(addr, sizeof local).has_value());
  rules.deny.push_back(*net::Cidr::parse("127.0.0.1"));
  EXPECT_NE(rules.refusal(addr, sizeof local).value_or("").find("--deny"), std::string::npos);
}

TEST(Token, Matches) {
  EXPECT_TRUE(server::token_matches("s3cret", "s3cret"));
  EXPECT_FALSE(server::token_matches("s3cre", "s3cret"));
  EXPECT_FALSE(server::token_matches("", "s3cret"));
  EXPECT_FALSE(server::token_matches("s3cret\n", "s3cret"));
}

TEST(AuthThrottle, FreeAttemptsThenDoublingUpToACap) {
  server::AuthThrottle t;
  const auto now = server::AuthThrottle::Clock::now();
  for (int i = 0; i < server::AuthThrottle::kFreeFailures; ++i)
    EXPECT_EQ(t.failed("1.2.3.4", now).count(), 0);
  EXPECT_EQ(t.failed("1.2.3.4", now), server::AuthThrottle::kFirstDelay);
  EXPECT_EQ(t.failed("1.2.3.4", now), 2 * server::AuthThrottle::kFirstDelay);
  for (int i = 0; i < 30; ++i) t.failed("1.2.3.4", now);
  EXPECT_EQ(t.failed("1.2.3.4", now), server::AuthThrottle::kMaxDelay);
  EXPECT_EQ(t.failed("5.6.7.8", now).count(), 0);  // per address
  t.succeeded("1.2.3.4");
  EXPECT_EQ(t.failed("1.2.3.4", now).count(), 0);
  // Old records are forgotten.
  for (int i = 0; i < 10; ++i) t.failed("9.9.9.9", now);
  EXPECT_EQ(t.failed("9.9.9.9", now + server::AuthThrottle::kMemory + std::chrono::seconds(1)).count(), 0);
}

TEST(AuthThrottle, AddressOf) {
  EXPECT_EQ(server::address_of("127.0.0.1:5000"), "127.0.0.1");
  EXPECT_EQ(server::address_of("[::1]:5000"), "::1");
}

}  // namespace
}  // namespace ftx
