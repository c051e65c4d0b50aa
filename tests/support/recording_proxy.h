// SPDX-License-Identifier: MIT
// A TCP relay on 127.0.0.1 that records what crosses it: what anyone on the network would
// see, and how many bytes each side sent.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "net/socket.h"

namespace ftx::testing {

// A TCP relay between a client and the server that keeps every byte it passes, both ways:
// what anyone on the network would see.
class RecordingProxy {
 public:
  explicit RecordingProxy(uint16_t target) : target_(target), listener_(net::listen_tcp("127.0.0.1", 0)) {
    accepter_ = std::jthread([this](std::stop_token stop) { accept_loop(stop); });
  }
  ~RecordingProxy() {
    accepter_.request_stop();
    accepter_.join();
    for (auto& t : pumps_) t.request_stop();
    pumps_.clear();  // joins
  }
  uint16_t port() const { return listener_.port; }
  /// Everything the client sent and everything the server sent, so far.
  std::string recorded() {
    std::lock_guard lock(mutex_);
    return up_ + down_;
  }
  std::string sent_by_client() {
    std::lock_guard lock(mutex_);
    return up_;
  }

 private:
  void accept_loop(std::stop_token stop) {
    while (!stop.stop_requested()) {
      if (!net::poll_readable(listener_.fd.get(), std::chrono::milliseconds(50))) continue;
      net::UniqueFd client(::accept4(listener_.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!client) continue;
      try {
        net::UniqueFd server = net::connect_tcp("127.0.0.1", target_, std::chrono::seconds(5));
        pumps_.emplace_back([this, c = std::move(client), s = std::move(server)](std::stop_token st) mutable {
          pump(st, std::move(c), std::move(s));
        });
      } catch (const std::exception& e) {
        ADD_FAILURE() << "the proxy cannot reach the server: " << e.what();
      }
    }
  }

  void pump(std::stop_token stop, net::UniqueFd client, net::UniqueFd server) {
    pollfd fds[2] = {{client.get(), POLLIN, 0}, {server.get(), POLLIN, 0}};
    bool open[2] = {true, true};
    char buf[64 * 1024];
    while (!stop.stop_requested() && (open[0] || open[1])) {
      for (int i = 0; i < 2; ++i) fds[i].events = open[i] ? POLLIN : 0;
      if (::poll(fds, 2, 50) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (!open[i] || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        const int other = fds[1 - i].fd;
        if (n <= 0) {
          open[i] = false;
          ::shutdown(other, SHUT_WR);
          continue;
        }
        {
          std::lock_guard lock(mutex_);
          (i == 0 ? up_ : down_).append(buf, static_cast<size_t>(n));
        }
        if (::send(other, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) {
          open[0] = open[1] = false;  // (a short write on loopback: give up on this pair)
        }
      }
    }
  }

  uint16_t target_;
  net::Listener listener_;
  std::mutex mutex_;
  std::string up_;
  std::string down_;
  std::vector<std::jthread> pumps_;  // touched by the accepter only, then by the destructor
  std::jthread accepter_;
};

}  // namespace ftx::testing
