// SPDX-License-Identifier: MIT
// An in-process ftx server on 127.0.0.1 and an ephemeral port, stopped and joined by RAII.
#pragma once

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/server.h"

namespace ftx::testing {

class TestServer {
 public:
  explicit TestServer(server::ServerConfig config) : server_(prepare(std::move(config))) {
    thread_ = std::jthread([this] { server_.run(); });
  }
  ~TestServer() {
    server_.request_stop();
    thread_.join();
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  uint16_t port() const { return server_.port(); }
  void say(const std::string& text) { server_.say(text); }
  const server::ServerConfig& config() const { return server_.config(); }

  /// Every event in the log so far.
  std::vector<nlohmann::json> log_events() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(server_.config().dir / ".ftx" / "transfers.jsonl");
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
    return out;
  }

  /// `file` events only.
  std::vector<nlohmann::json> file_events() const {
    std::vector<nlohmann::json> out;
    for (auto& e : log_events()) {
      if (e["event"] == "file") out.push_back(e);
    }
    return out;
  }

  /// Waits (bounded) until the log holds n `disconnect` events.
  bool wait_disconnects(size_t n, std::chrono::milliseconds limit = std::chrono::seconds(10)) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      size_t count = 0;
      for (auto& e : log_events()) count += e["event"] == "disconnect" ? 1 : 0;
      if (count >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

 private:
  static server::ServerConfig prepare(server::ServerConfig config) {
    config.host = "127.0.0.1";
    config.port = 0;
    config.quiet = true;
    config.grace = std::chrono::milliseconds(2000);
    return config;
  }
  server::Server server_;
  std::jthread thread_;
};

}  // namespace ftx::testing
