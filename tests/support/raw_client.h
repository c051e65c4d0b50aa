// SPDX-License-Identifier: MIT
// A hand-driven protocol client for tests that must misbehave on purpose.
#pragma once

#include <chrono>
#include <string>

#include "net/socket.h"
#include "proto/codec.h"
#include "wire/channel.h"

namespace ftx::testing {

class RawClient {
 public:
  explicit RawClient(uint16_t port)
      : RawClient(net::connect_tcp("127.0.0.1", port, std::chrono::seconds(5))) {}

  /// Over a connection made elsewhere (from a chosen address: peers.h).
  explicit RawClient(net::UniqueFd fd) : fd_(std::move(fd)), channel_(fd_.get(), "server") {
    net::set_io_timeout(fd_.get(), std::chrono::seconds(10));
  }

  /// HELLO (of the given version) and WELCOME.
  proto::Welcome handshake(const std::string& name = "raw", uint16_t version = proto::kProtocolVersion) {
    channel_.send(proto::Hello{version, proto::Role::Send, name, ""});
    return std::get<proto::Welcome>(channel_.receive());
  }

  void send(const proto::Frame& f) { channel_.send(f); }
  void send_raw(const std::string& bytes) {
    net::send_all(fd_.get(), std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
                  "server");
  }
  proto::Frame receive() { return channel_.receive(); }
  void close() { fd_.reset(); }
  int fd() const { return fd_.get(); }

  /// True when the server closed the connection (EOF or reset) within the socket timeout.
  bool closed_by_server() {
    try {
      while (true) {
        uint8_t b[4096];
        if (channel_.read_raw(b) == 0) return true;
      }
    } catch (const std::system_error& e) {
      return e.code() != std::errc::timed_out;
    }
  }

 private:
  net::UniqueFd fd_;
  wire::Channel channel_;
};

}  // namespace ftx::testing
