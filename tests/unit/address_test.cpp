// SPDX-License-Identifier: MIT
// HOST:PORT parsing and address formatting.
#include "net/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

namespace ftx::net {
namespace {

TEST(Address, ParsesNamesIpv4AndBracketedIpv6) {
  EXPECT_EQ(parse_host_port("example.org:9000"), (HostPort{"example.org", 9000}));
  EXPECT_EQ(parse_host_port("127.0.0.1:1"), (HostPort{"127.0.0.1", 1}));
  EXPECT_EQ(parse_host_port("[::1]:65535"), (HostPort{"::1", 65535}));
  EXPECT_EQ(parse_host_port("[fe80::1%eth0]:22"), (HostPort{"fe80::1%eth0", 22}));
}

TEST(Address, RefusesWithAReason) {
  for (const char* bad : {"", "host", "host:", ":9000", "host:0", "host:65536", "host:9x", "::1:9000",
                          "[::1]", "[::1]9000", "[::1:9000", "[]:9000", "h:-1"}) {
    std::string why;
    EXPECT_FALSE(parse_host_port(bad, &why).has_value()) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(Address, ParsePort) {
  EXPECT_EQ(parse_port("0", true), 0);
  EXPECT_FALSE(parse_port("0").has_value());
  EXPECT_FALSE(parse_port("+80").has_value());
  EXPECT_FALSE(parse_port(" 80").has_value());
  EXPECT_EQ(parse_port("9000"), 9000);
}

TEST(Address, FormatsSockaddrs) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(80);
  inet_pton(AF_INET, "10.1.2.3", &v4.sin_addr);
  EXPECT_EQ(format_sockaddr(reinterpret_cast<sockaddr*>(&v4), sizeof v4), "10.1.2.3:80");

  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(9000);
  inet_pton(AF_INET6, "::1", &v6.sin6_addr);
  EXPECT_EQ(format_sockaddr(reinterpret_cast<sockaddr*>(&v6), sizeof v6), "[::1]:9000");

  inet_pton(AF_INET6, "::ffff:192.0.2.7", &v6.sin6_addr);
  EXPECT_EQ(format_sockaddr(reinterpret_cast<sockaddr*>(&v6), sizeof v6), "192.0.2.7:9000");
}

TEST(Address, FormatHostPortBracketsIpv6) {
  EXPECT_EQ(format_host_port("::1", 5), "[::1]:5");
  EXPECT_EQ(format_host_port("h", 5), "h:5");
}

}  // namespace
}  // namespace ftx::net
