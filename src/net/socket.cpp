// SPDX-License-Identifier: MIT
// TCP socket operations.
#include "net/socket.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include "net/address.h"
#include "util/sys_error.h"

namespace ftx::net {
namespace {

void set_nonblocking(int fd, bool on) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0) throw_sys("fcntl F_GETFL");
  if (fcntl(fd, F_SETFL, on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK)) < 0) {
    throw_sys("fcntl F_SETFL");
  }
}

// Non-blocking connect bounded by timeout; returns 0 or an errno value.
int connect_one(int fd, const sockaddr* addr, socklen_t len, std::chrono::milliseconds timeout) {
  set_nonblocking(fd, true);
  if (::connect(fd, addr, len) == 0) {
    set_nonblocking(fd, false);
    return 0;
  }
  if (errno != EINPROGRESS) return errno;
  pollfd pfd{fd, POLLOUT, 0};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return ETIMEDOUT;
    const int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return ETIMEDOUT;
    break;
  }
  int err = 0;
  socklen_t errlen = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0) return errno;
  if (err != 0) return err;
  set_nonblocking(fd, false);
  return 0;
}

}  // namespace

void throw_io(const std::string& context, int err) {
  // A blocked call on a socket with SO_RCVTIMEO/SO_SNDTIMEO returns EAGAIN: report it as
  // the timeout it is.
  if (err == EAGAIN || err == EWOULDBLOCK) err = ETIMEDOUT;
  throw_sys(context, err);
}

UniqueFd connect_tcp(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  const std::string target = format_host_port(host, port);
  const std::string service = std::to_string(port);
  const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) {
    throw std::runtime_error("resolve " + target + ": " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  int last_err = EHOSTUNREACH;
  std::string last_addr = target;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) {
      last_err = errno;
      continue;
    }
    last_addr = format_sockaddr(ai->ai_addr, ai->ai_addrlen);
    last_err = connect_one(fd.get(), ai->ai_addr, ai->ai_addrlen, timeout);
    if (last_err == 0) {
      send_without_delay(fd.get());
      return fd;
    }
  }
  throw_sys("connect " + last_addr, last_err);
}

Listener listen_tcp(const std::optional<std::string>& host, uint16_t port, int backlog) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  hints.ai_family = AF_UNSPEC;
  const std::string service = std::to_string(port);
  std::vector<std::string> candidates;
  if (host) {
    candidates.push_back(*host);
  } else {
    candidates = {"::", "0.0.0.0"};  // dual-stack first; IPv4 where IPv6 is off
  }
  int last_err = EADDRNOTAVAIL;
  std::string last_addr;
  for (const std::string& h : candidates) {
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(h.c_str(), service.c_str(), &hints, &res);
    if (rc != 0) {
      if (host) {
        throw ListenError(EADDRNOTAVAIL, std::generic_category(),
                          "resolve " + format_host_port(h, port) + ": " + gai_strerror(rc));
      }
      continue;
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
      last_addr = format_sockaddr(ai->ai_addr, ai->ai_addrlen);
      UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
      if (!fd) {
        last_err = errno;
        continue;
      }
      const int one = 1;
      setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (ai->ai_family == AF_INET6) {
        const int v6only = host ? 1 : 0;  // "::" by default serves IPv4 too
        setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
      }
      if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) < 0 || ::listen(fd.get(), backlog) < 0) {
        last_err = errno;
        continue;
      }
      sockaddr_storage bound{};
      socklen_t len = sizeof bound;
      getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len);
      Listener out;
      out.address = format_sockaddr(reinterpret_cast<sockaddr*>(&bound), len);
      out.port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                             : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
      out.fd = std::move(fd);
      return out;
    }
    // Address in use is final: falling back to IPv4 would hide the conflict.
    if (last_err == EADDRINUSE) break;
  }
  throw ListenError(
      last_err, std::generic_category(),
      "listen " + (last_addr.empty() ? format_host_port(host.value_or("::"), port) : last_addr));
}

namespace {
timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}
}  // namespace

void set_socket_timeouts(int fd, std::chrono::milliseconds read, std::chrono::milliseconds write) {
  const timeval r = to_timeval(read);
  const timeval w = to_timeval(write);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &r, sizeof r) < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &w, sizeof w) < 0) {
    throw_sys("setsockopt SO_RCVTIMEO/SO_SNDTIMEO");
  }
}

void set_io_timeout(int fd, std::chrono::milliseconds timeout) { set_socket_timeouts(fd, timeout, timeout); }

void send_without_delay(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void enable_keepalive(int fd) {
  const int on = 1;
  const int idle_seconds = 60;
  const int interval_seconds = 10;
  const int probes = 6;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_seconds, sizeof idle_seconds);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_seconds, sizeof interval_seconds);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
}

bool poll_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd pfd{fd, POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const int n = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (n < 0 && errno == EINTR) continue;
    return n > 0;
  }
}

void wait_either_readable(int a, int b) {
  std::array<pollfd, 2> fds{pollfd{a, POLLIN, 0}, pollfd{b, POLLIN, 0}};
  while (::poll(fds.data(), fds.size(), -1) < 0) {
    if (errno != EINTR) throw_sys("poll");
  }
}

void send_all(int fd, std::span<const uint8_t> data, const std::string& peer) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io("send to " + peer, errno);
    }
    done += static_cast<size_t>(n);
  }
}

size_t send_now(int fd, std::span<const uint8_t> data) {
  while (true) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return 0;
  }
}

size_t recv_some(int fd, std::span<uint8_t> out, const std::string& peer) {
  while (true) {
    const ssize_t n = ::recv(fd, out.data(), out.size(), 0);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    throw_io("recv from " + peer, errno);
  }
}

size_t peek_some(int fd, std::span<uint8_t> out, const std::string& peer) {
  while (true) {
    const ssize_t n = ::recv(fd, out.data(), out.size(), MSG_PEEK);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    throw_io("recv from " + peer, errno);
  }
}

void recv_exact(int fd, std::span<uint8_t> out, const std::string& peer) {
  size_t done = 0;
  while (done < out.size()) {
    const size_t n = recv_some(fd, out.subspan(done), peer);
    if (n == 0) throw ConnectionClosed(peer + " closed the connection");
    done += n;
  }
}

void limit_unsent(int fd, int bytes) {
  ::setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &bytes, sizeof bytes);  // not TCP: no matter
}

std::string peer_name(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0) return "unknown";
  return format_sockaddr(reinterpret_cast<sockaddr*>(&addr), len);
}

void drain_and_shutdown(int fd, std::chrono::milliseconds wait) {
  ::shutdown(fd, SHUT_WR);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  uint8_t sink[16384];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{fd, POLLIN, 0};
    const int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    const ssize_t got = ::recv(fd, sink, sizeof sink, MSG_DONTWAIT);
    if (got == 0) break;
    if (got < 0 && errno != EINTR && errno != EAGAIN) break;
  }
  ::shutdown(fd, SHUT_RDWR);
}

}  // namespace ftx::net
