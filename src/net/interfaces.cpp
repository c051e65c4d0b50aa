// SPDX-License-Identifier: MIT
// Interface addresses with getifaddrs(3), and the pure choice of the reachable ones.
#include "net/interfaces.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <memory>

#include "util/sys_error.h"

namespace ftx::net {
namespace {

enum class Family { None, V4, V6 };

struct Parsed {
  Family family = Family::None;
  bool local_only = false;  ///< loopback, unspecified, or IPv6 link-local
};

Parsed classify(const std::string& text) {
  Parsed p;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    const uint32_t a = ntohl(v4.s_addr);
    p.family = Family::V4;
    p.local_only = (a >> 24) == 127 || a == 0;
  } else if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    p.family = Family::V6;
    p.local_only = IN6_IS_ADDR_LOOPBACK(&v6) || IN6_IS_ADDR_UNSPECIFIED(&v6) || IN6_IS_ADDR_LINKLOCAL(&v6);
  }
  return p;
}

}  // namespace

std::vector<InterfaceAddress> interface_addresses() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) < 0) throw_sys("getifaddrs");
  std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> guard(list, freeifaddrs);
  std::vector<InterfaceAddress> out;
  for (const ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || !(i->ifa_flags & IFF_UP)) continue;
    char text[INET6_ADDRSTRLEN] = {};
    const int family = i->ifa_addr->sa_family;
    const void* raw = nullptr;
    if (family == AF_INET) raw = &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr;
    if (family == AF_INET6) raw = &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr;
    if (!raw || !inet_ntop(family, raw, text, sizeof text)) continue;
    out.push_back({i->ifa_name ? i->ifa_name : "", text});
  }
  return out;
}

std::vector<std::string> reachable_addresses(std::string_view bound_host, bool dual_stack,
                                             const std::vector<InterfaceAddress>& interfaces) {
  const std::string bound(bound_host);
  const Parsed listener = classify(bound);
  std::vector<std::string> out;
  if (listener.family == Family::None) return out;
  const bool wildcard = bound == "0.0.0.0" || bound == "::";
  if (!wildcard) {
    if (!listener.local_only) out.push_back(bound);
    return out;
  }
  const bool take_v4 = listener.family == Family::V4 || dual_stack;
  const bool take_v6 = listener.family == Family::V6;
  for (const Family wanted : {Family::V4, Family::V6}) {
    if ((wanted == Family::V4 && !take_v4) || (wanted == Family::V6 && !take_v6)) continue;
    for (const InterfaceAddress& i : interfaces) {
      const Parsed p = classify(i.address);
      if (p.family != wanted || p.local_only) continue;
      if (std::find(out.begin(), out.end(), i.address) == out.end()) out.push_back(i.address);
    }
  }
  return out;
}

}  // namespace ftx::net
