// SPDX-License-Identifier: MIT
// Every test runs with a $XDG_CONFIG_HOME of its own, so what a client remembers (the keys
// of servers it met) stays within that test: ephemeral ports come round again in later
// tests, with other keys, and a real ~/.config is never touched. Included through
// temp_dir.h, so every test program has it.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace ftx::config_isolation {

class IsolatedConfig : public ::testing::EmptyTestEventListener {
 public:
  void OnTestStart(const ::testing::TestInfo&) override {
    std::string pattern = (std::filesystem::temp_directory_path() / "ftx-config-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return;
    dir_ = pattern;
    ::setenv("XDG_CONFIG_HOME", dir_.c_str(), 1);
  }
  void OnTestEnd(const ::testing::TestInfo&) override {
    if (dir_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }

 private:
  std::filesystem::path dir_;
};

inline const bool kConfigIsolated = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new IsolatedConfig);
  return true;
}();

}  // namespace ftx::config_isolation
