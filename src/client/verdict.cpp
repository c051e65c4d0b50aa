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
  auto* saved = std::get_if<proto::Saved>(&answer);
  if (!saved) throw ConnectionLost("protocol error: expected SAVED or ERROR", std::nullopt);
  out.saved_as = saved->name;
  if (!out.directory && (saved->bytes != out.bytes || saved->algo != algo || saved->digest != raw_digest)) {
    out.status = FileStatus::Refused;
    out.code = proto::ErrorCode::Integrity;
    out.error = "the server saved " + std::to_string(saved->bytes) + " bytes with digest " +
                digest::labelled(saved->algo, saved->digest) + ", expected " + out.digest;
    return;
  }
  out.status = FileStatus::Saved;
}

}  // namespace ftx::client
