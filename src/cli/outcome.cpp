// SPDX-License-Identifier: MIT
// Output and exit codes of `ftx send` and `ftx chat`.
#include "cli/outcome.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "cli/exit_codes.h"
#include "client/verdict.h"
#include "util/text.h"
#include "util/units.h"

namespace ftx::cli {

std::string format_outcome_json(const client::FileOutcome& out) {
  const bool unchanged = out.status == client::FileStatus::Unchanged;
  const bool ok = out.status == client::FileStatus::Saved || unchanged;
  nlohmann::ordered_json j = {
      {"path", out.path},
      {"name", out.name},
      {"saved_as", out.saved_as},
      {"kind", out.directory ? "directory" : "file"},
      {"bytes", out.bytes},
      {"resumed_from", out.resumed_from},
      {"digest", out.digest},
      {"duration_ms", static_cast<int64_t>(std::llround(out.seconds * 1000.0))},
      // Nothing was saved of an unchanged file: no rate.
      {"mbps", unchanged ? 0.0 : mbps_field(out.bytes, out.resumed_from, out.seconds)},
      {"status", unchanged ? "unchanged"
                 : ok      ? "ok"
                           : "error"},
  };
  if (out.changed) j["changed"] = true;
  if (!ok) {
    std::string code = "not_sent";
    if (out.code) {
      code = proto::error_code_name(*out.code);
    } else if (out.status == client::FileStatus::Unreadable) {
      code = "unreadable";
    }
    j["error"] = {{"code", code}, {"message", out.error}};
  }
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void SendTally::add(const client::FileOutcome& out) {
  switch (out.status) {
    case client::FileStatus::Saved:
      out.directory ? ++directories : ++saved;
      saved_bytes += out.bytes;
      break;
    case client::FileStatus::Unchanged:
      ++unchanged;
      break;
    default:
      ++failed;
  }
}

std::string format_summary_line(const SendTally& t) {
  std::string line = "saved " + std::to_string(t.saved) + ", unchanged " + std::to_string(t.unchanged) +
                     ", failed " + std::to_string(t.failed) + " (in " + std::to_string(t.directories) +
                     (t.directories == 1 ? " directory" : " directories");
  if (t.saved_bytes > 0)
    line += ", " + format_bytes(t.saved_bytes) + " at " + format_rate(t.saved_bytes, t.seconds);
  return line + ")";
}

int send_exit_code(const client::SendReport& report) {
  if (report.untrusted) return kExitUntrusted;
  if (report.connection_failed && !report.connection_code) return kExitNetwork;
  bool refused = report.connection_code.has_value();
  bool unreadable = false;
  for (const auto& f : report.files) {
    refused = refused || f.status == client::FileStatus::Refused;
    unreadable = unreadable || f.status == client::FileStatus::Unreadable || f.changed;
  }
  if (refused) return kExitFailed;
  if (unreadable) return kExitLocalFile;
  return kExitOk;
}

int chat_exit_code(const client::ChatResult& result) {
  if (result.untrusted) return kExitUntrusted;
  if (result.refused) return kExitFailed;
  if (!result.connected || !result.confirmed) return kExitNetwork;
  return result.lines_skipped > 0 ? kExitFailed : kExitOk;
}

}  // namespace ftx::cli
