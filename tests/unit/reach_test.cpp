// SPDX-License-Identifier: MIT
// The addresses `ftx serve` prints at start, and the line to paste: pure, no sockets.
#include <gtest/gtest.h>

#include "net/interfaces.h"
#include "server/reach.h"

namespace ftx {
namespace {

using net::InterfaceAddress;
using net::reachable_addresses;
using Strings = std::vector<std::string>;

const std::vector<InterfaceAddress> kMachine = {
    {"lo", "127.0.0.1"},         {"eth0", "192.168.1.20"}, {"lo", "::1"},
    {"eth0", "fe80::1"},         {"eth0", "2001:db8::5"},  {"wlan0", "10.0.0.7"},
    {"docker0", "192.168.1.20"},  // the same address twice is printed once
};

TEST(Reach, DualStackWildcardListsEveryOtherAddressIpv4First) {
  EXPECT_EQ(reachable_addresses("::", true, kMachine), (Strings{"192.168.1.20", "10.0.0.7", "2001:db8::5"}));
}

TEST(Reach, Ipv6OnlyWildcardListsIpv6) {
  EXPECT_EQ(reachable_addresses("::", false, kMachine), (Strings{"2001:db8::5"}));
}

TEST(Reach, Ipv4WildcardListsIpv4) {
  EXPECT_EQ(reachable_addresses("0.0.0.0", false, kMachine), (Strings{"192.168.1.20", "10.0.0.7"}));
  EXPECT_EQ(reachable_addresses("0.0.0.0", true, kMachine), (Strings{"192.168.1.20", "10.0.0.7"}));
}

TEST(Reach, ASpecificHostIsItsOwnAnswer) {
  EXPECT_EQ(reachable_addresses("10.0.0.7", false, kMachine), (Strings{"10.0.0.7"}));
  EXPECT_EQ(reachable_addresses("2001:db8::5", false, kMachine), (Strings{"2001:db8::5"}));
}

TEST(Reach, LoopbackAndLinkLocalReachNoOtherMachine) {
  EXPECT_TRUE(reachable_addresses("127.0.0.1", false, kMachine).empty());
  EXPECT_TRUE(reachable_addresses("127.5.6.7", false, kMachine).empty());
  EXPECT_TRUE(reachable_addresses("::1", false, kMachine).empty());
  EXPECT_TRUE(reachable_addresses("fe80::1", false, kMachine).empty());
  EXPECT_TRUE(reachable_addresses("::", true, {{"lo", "127.0.0.1"}, {"lo", "::1"}}).empty());
}

constexpr const char* kPin = "sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";

TEST(Reach, SendLineIsReadyToPaste) {
  EXPECT_EQ(server::send_line("192.168.1.20", 9000, kPin),
            std::string("ftx send 192.168.1.20:9000 --pin ") + kPin + " FILE");
  EXPECT_EQ(server::send_line("2001:db8::5", 9100, kPin),
            std::string("ftx send [2001:db8::5]:9100 --pin ") + kPin + " FILE");
  // A server without TLS (--no-tls) is reached in clear, which the client must be told.
  EXPECT_EQ(server::send_line("192.168.1.20", 9000, ""), "ftx send --plain 192.168.1.20:9000 FILE");
}

TEST(Reach, OneConsoleLinePerAddressWithTheBoundPort) {
  EXPECT_EQ(server::reach_lines("[::]:9100", true, kMachine, ""),
            (Strings{"from another machine: ftx send --plain 192.168.1.20:9100 FILE",
                     "from another machine: ftx send --plain 10.0.0.7:9100 FILE",
                     "from another machine: ftx send --plain [2001:db8::5]:9100 FILE"}));
  EXPECT_EQ(server::reach_lines("[::]:9100", true, kMachine, kPin).front(),
            std::string("from another machine: ftx send 192.168.1.20:9100 --pin ") + kPin + " FILE");
  EXPECT_EQ(server::reach_lines("127.0.0.1:9000", false, kMachine, kPin),
            Strings{std::string("from this machine: ftx send 127.0.0.1:9000 --pin ") + kPin + " FILE"});
  EXPECT_EQ(server::reach_lines("[::1]:9000", false, kMachine, ""),
            Strings{"from this machine: ftx send --plain [::1]:9000 FILE"});
  // A wildcard on a machine with only loopback: nothing to say to another machine, and the
  // wildcard itself is no address to send to.
  EXPECT_EQ(server::reach_lines("[::]:9000", true, {{"lo", "127.0.0.1"}, {"lo", "::1"}}, kPin), Strings{});
}

}  // namespace
}  // namespace ftx
