// SPDX-License-Identifier: MIT
// The server's verdicts.
#include "client/verdict.h"

#include <algorithm>

#include "client/link.h"
#include "digest/digest.h"
#include "util/text.h"
#include "util/units.h"

namespace ftx::client {

FileOutcome outcome_for(const SendItem& item) {
  FileOutcome out;
  out.path = item.path;
  out.name = item.name;
  out.directory = item.kind == SendItem::Kind::Directory;
  out.in_tree = item.in_tree;
  out.bytes = item.size;
  return out;
}

FileOutcome& refused(FileOutcome& out, const proto::Error& e) {
  out.status = FileStatus::Refused;
  out.code = e.code;
  out.error = e.message.empty() ? std::string(proto::error_code_hint(e.code)) : e.message;
  return out;
}

std::string explain(const FileOutcome& out) {
  if (out.code) return proto::describe(*out.code, out.error);
  if (out.status == FileStatus::NotSent) return "not sent: " + out.error;
  return out.error;
}

void judge_answer(FileOutcome& out, const proto::Frame& answer, DigestAlgo algo,
                  const std::string& raw_digest) {
  if (auto* e = std::get_if<proto::Error>(&answer)) {
    refused(out, *e);
    return;
  }
  // SAVED and UNCHANGED carry the same fields: the file on the server, as it is there.
  const proto::Saved* saved = std::get_if<proto::Saved>(&answer);
  const proto::Unchanged* unchanged = std::get_if<proto::Unchanged>(&answer);
  if (!saved && !unchanged) throw ConnectionLost("protocol error: expected SAVED or ERROR", std::nullopt);
  const std::string& name = saved ? saved->name : unchanged->name;
  const uint64_t bytes = saved ? saved->bytes : unchanged->bytes;
  const DigestAlgo their_algo = saved ? saved->algo : unchanged->algo;
  const std::string& digest = saved ? saved->digest : unchanged->digest;
  out.saved_as = name;
  if (!out.directory && (bytes != out.bytes || their_algo != algo || digest != raw_digest)) {
    out.status = FileStatus::Refused;
    out.code = proto::ErrorCode::Integrity;
    out.error = std::string("the server ") + (saved ? "saved " : "has ") + std::to_string(bytes) +
                " bytes with digest " + digest::labelled(their_algo, digest) + ", expected " + out.digest;
    return;
  }
  out.status = saved ? FileStatus::Saved : FileStatus::Unchanged;
}

std::string format_saved_line(const FileOutcome& out) {
  std::string line = "saved ";
  if (out.path == "-") {
    line += "standard input as " + printable(out.saved_as);
  } else {
    line += printable(out.path);
    if (out.saved_as != out.path) line += " as " + printable(out.saved_as);
  }
  line += " (" + format_bytes(out.bytes);
  if (out.resumed_from > 0) line += ", resumed after " + format_bytes(out.resumed_from);
  line += ", " + format_rate(out.bytes - std::min(out.bytes, out.resumed_from), out.seconds) + ", " +
          out.digest + ")";
  return line;
}

std::string format_unchanged_line(const FileOutcome& out) {
  const std::string what = out.path == "-" ? "standard input" : printable(out.path);
  return "unchanged " + what + ", already on the server as " + printable(out.saved_as) + " (" +
         format_bytes(out.bytes) + ", " + out.digest + ")";
}

std::string format_failed_line(const FileOutcome& out) {
  return printable(out.path) + ": " + printable(explain(out));
}

std::string format_changed_line(const FileOutcome& out) {
  return printable(out.path) + ": changed while it was sent: the server has it as it was read (" +
         format_bytes(out.bytes) + "); send it again";
}

}  // namespace ftx::client
