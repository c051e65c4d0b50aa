// SPDX-License-Identifier: MIT
// `ftx serve` as a child process on 127.0.0.1, as a user starts it: the port and the key's
// fingerprint read from what it prints.
#pragma once

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "process.h"
#include "test_env.h"

namespace ftx::testing {

inline constexpr const char* kServeFingerprintPattern = R"(sha256:[A-Za-z0-9+/]{43})";

// `ftx serve --host 127.0.0.1` with extra options; port() is 0 when it did not start.
class ServeProcess {
 public:
  ServeProcess(const std::filesystem::path& dir, const std::vector<std::string>& extra,
               const std::filesystem::path& out_dir, const std::string& tag = "server", uint16_t port = 0) {
    std::vector<std::string> args = {ftx_binary(),         "serve", "--host",    "127.0.0.1", "--port",
                                     std::to_string(port), "--dir", dir.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    proc_ = std::make_unique<Process>(args, out_dir, tag);
    const auto bound = proc_->wait_for_err(R"(on 127\.0\.0\.1:(\d+))");
    EXPECT_TRUE(bound.has_value()) << proc_->err();
    port_ = bound ? static_cast<uint16_t>(std::stoi(*bound)) : 0;
    // The console says either the key or that there is none.
    const auto key =
        proc_->wait_for_err(std::string("TLS key (") + kServeFingerprintPattern + ")|(plain TCP only)");
    if (key && key->starts_with("sha256:")) fingerprint_ = *key;
  }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  /// The key's fingerprint as the console printed it; empty with --no-tls.
  const std::string& fingerprint() const { return fingerprint_; }
  std::string err() const { return proc_->err(); }
  Process& process() { return *proc_; }
  bool running() { return !proc_->wait(std::chrono::milliseconds(0)).has_value(); }
  /// SIGTERM; the exit code.
  std::optional<int> stop() {
    proc_->signal(SIGTERM);
    return proc_->wait(scaled(std::chrono::seconds(20)));
  }

 private:
  std::unique_ptr<Process> proc_;
  uint16_t port_ = 0;
  std::string fingerprint_;
};

}  // namespace ftx::testing
