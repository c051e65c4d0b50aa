// SPDX-License-Identifier: MIT
// Who may use the server: the shared token, and slowing down those who keep guessing it.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "util/mutex.h"

namespace ftx::server {

/// Compares a presented token with the server's in constant time (the digests of both are
/// compared, so neither the content nor the length leaks through timing).
bool token_matches(std::string_view presented, std::string_view expected);

/// Remembers failed attempts per address and says how long the next answer to that
/// address should wait: nothing for the first few, then doubling up to a cap.
class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  /// Records a failure now; returns the delay to apply before answering it.
  std::chrono::milliseconds failed(const std::string& address, Clock::time_point now = Clock::now());
  /// A success clears the address's record.
  void succeeded(const std::string& address);

  static constexpr int kFreeFailures = 3;
  static constexpr std::chrono::milliseconds kFirstDelay{250};
  static constexpr std::chrono::milliseconds kMaxDelay{8000};
  /// A record this old is forgotten.
  static constexpr std::chrono::minutes kMemory{10};
  /// At most this many addresses are remembered; the oldest are dropped first.
  static constexpr size_t kMaxAddresses = 4096;

 private:
  struct Record {
    int failures = 0;
    Clock::time_point last;
  };
  Mutex mutex_;
  std::map<std::string, Record> records_ GUARDED_BY(mutex_);
};

/// The host part of "host:port" / "[v6]:port", the unit a throttle counts by.
std::string address_of(std::string_view peer);

}  // namespace ftx::server
