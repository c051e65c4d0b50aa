// SPDX-License-Identifier: MIT
// The server's verdicts.
#include "client/verdict.h"

#include "client/link.h"
#include "digest/digest.h"

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

}  // namespace ftx::client
