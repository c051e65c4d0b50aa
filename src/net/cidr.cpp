// SPDX-License-Identifier: MIT
// Address ranges for --allow and --deny.
#include "net/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace ftx::net {

std::optional<Cidr> Cidr::parse(std::string_view text) {
  Cidr out;
  out.text_ = std::string(text);
  std::string_view addr = text;
  std::optional<int> prefix;
  if (const size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    const std::string_view p = text.substr(slash + 1);
    int value = -1;
    const auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
    if (p.empty() || ec != std::errc() || ptr != p.data() + p.size()) return std::nullopt;
    prefix = value;
  }
  const std::string a(addr);
  if (inet_pton(AF_INET, a.c_str(), out.bytes_.data()) == 1) {
    out.v6_ = false;
    out.prefix_ = prefix.value_or(32);
    if (out.prefix_ < 0 || out.prefix_ > 32) return std::nullopt;
  } else if (inet_pton(AF_INET6, a.c_str(), out.bytes_.data()) == 1) {
    out.v6_ = true;
    out.prefix_ = prefix.value_or(128);
    if (out.prefix_ < 0 || out.prefix_ > 128) return std::nullopt;
  } else {
    return std::nullopt;
  }
  return out;
}

bool Cidr::contains(const sockaddr* addr, socklen_t len) const {
  const uint8_t* peer = nullptr;
  bool peer_v6 = false;
  sockaddr_in sin{};
  sockaddr_in6 sin6{};
  if (addr->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof sin)) {
    std::memcpy(&sin, addr, sizeof sin);
    peer = reinterpret_cast<const uint8_t*>(&sin.sin_addr);
  } else if (addr->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof sin6)) {
    std::memcpy(&sin6, addr, sizeof sin6);
    peer = sin6.sin6_addr.s6_addr;
    peer_v6 = true;
    if (!v6_ && IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
      peer += 12;
      peer_v6 = false;
    }
  } else {
    return false;
  }
  if (peer_v6 != v6_) return false;
  const int full = prefix_ / 8;
  if (std::memcmp(peer, bytes_.data(), static_cast<size_t>(full)) != 0) return false;
  const int rest = prefix_ % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (peer[full] & mask) == (bytes_[static_cast<size_t>(full)] & mask);
}

std::optional<std::string> AccessRules::refusal(const sockaddr* addr, socklen_t len) const {
  for (const Cidr& c : deny) {
    if (c.contains(addr, len)) return "denied by --deny " + c.text();
  }
  if (allow.empty()) return std::nullopt;
  for (const Cidr& c : allow) {
    if (c.contains(addr, len)) return std::nullopt;
  }
  return "not in any --allow range";
}

}  // namespace ftx::net
