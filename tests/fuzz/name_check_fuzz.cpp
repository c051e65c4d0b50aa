// SPDX-License-Identifier: MIT
// libFuzzer target: check_name and is_valid_utf8; an accepted name must keep every rule.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "proto/limits.h"
#include "proto/names.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "name_check_fuzz: %s\n", what);
  __builtin_trap();
}

// Reference UTF-8 check written from the Unicode standard's table of well-formed byte
// sequences (Table 3-7), independent of the decoder in names.cpp.
bool reference_utf8(std::string_view s) {
  size_t i = 0;
  const auto at = [&s](size_t k) { return static_cast<uint8_t>(s[k]); };
  const auto in = [](uint8_t b, uint8_t lo, uint8_t hi) { return b >= lo && b <= hi; };
  while (i < s.size()) {
    const uint8_t b = at(i);
    size_t n = 0;
    uint8_t lo = 0x80, hi = 0xBF;  // range of the second byte
    if (b <= 0x7F)
      n = 1;
    else if (in(b, 0xC2, 0xDF))
      n = 2;
    else if (b == 0xE0)
      n = 3, lo = 0xA0;
    else if (in(b, 0xE1, 0xEC) || in(b, 0xEE, 0xEF))
      n = 3;
    else if (b == 0xED)
      n = 3, hi = 0x9F;
    else if (b == 0xF0)
      n = 4, lo = 0x90;
    else if (in(b, 0xF1, 0xF3))
      n = 4;
    else if (b == 0xF4)
      n = 4, hi = 0x8F;
    else
      return false;
    if (i + n > s.size()) return false;
    if (n > 1 && !in(at(i + 1), lo, hi)) return false;
    for (size_t k = 2; k < n; ++k) {
      if (!in(at(i + k), 0x80, 0xBF)) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ftx::proto;
  const std::string_view name(reinterpret_cast<const char*>(data), size);

  const bool utf8 = is_valid_utf8(name);
  if (utf8 != reference_utf8(name)) fail("is_valid_utf8 disagrees with the Unicode table");

  const auto refused = check_name(name);
  if (refused) {
    if (refused->empty()) fail("refusal without a reason");
    return 0;
  }

  // Accepted: every rule of check_name must hold.
  if (name.empty()) fail("accepted an empty name");
  if (name.size() > kMaxPathBytes) fail("accepted a name over 4096 bytes");
  if (name.front() == '/') fail("accepted an absolute path");
  if (name.find('\\') != std::string_view::npos) fail("accepted a backslash");
  for (char ch : name) {
    const auto c = static_cast<uint8_t>(ch);
    if (c < 0x20 || c == 0x7F) fail("accepted a control byte");
  }
  if (!utf8) fail("accepted invalid UTF-8");

  const std::vector<std::string> parts = split_path(name);
  if (parts.empty()) fail("split_path of an accepted name is empty");
  std::string joined;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (p.empty() || p == "." || p == "..") fail("accepted an empty, '.' or '..' component");
    if (p.size() > kMaxComponentBytes) fail("accepted a component over 255 bytes");
    if (p.find('/') != std::string::npos) fail("split_path left a '/' in a component");
    if (i > 0) joined += '/';
    joined += p;
  }
  if (parts.front() == ".ftx") fail("accepted a name inside .ftx");
  if (joined != name) fail("split_path joined with '/' is not the name");
  return 0;
}
