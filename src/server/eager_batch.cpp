// SPDX-License-Identifier: MIT
// Batches of eager files.
#include "server/eager_batch.h"

#include <optional>

#include "server/failure.h"

namespace ftx::server {

void EagerBatch::add(std::unique_ptr<IncomingFile> sealed) {
  bytes_ += sealed->size();
  entries_.push_back({std::move(sealed), {}});
}

void EagerBatch::add(proto::Error refusal) { entries_.push_back({nullptr, std::move(refusal)}); }

EagerBatch::Published EagerBatch::flush(wire::Channel& channel) {
  Published out;
  if (entries_.empty()) return out;
  std::optional<Failure> sync_failed;
  try {
    ctx_.inbox.sync();  // every sealed file's data, before any of their names
  } catch (const std::exception& e) {
    sync_failed = failure_of(e);
  }
  bool published = false;
  for (Entry& entry : entries_) {
    if (!entry.file) {
      channel.queue(entry.refusal);
      continue;
    }
    if (sync_failed) {
      entry.file->fail(sync_failed->code, sync_failed->message);
      channel.queue(proto::Error{sync_failed->code, sync_failed->message});
      continue;
    }
    try {
      const std::string saved = entry.file->publish(/*synced=*/true);
      if (entry.file->unchanged()) {
        channel.queue(proto::Unchanged{saved, entry.file->size(), ctx_.config.hash, entry.file->digest()});
        continue;
      }
      published = true;
      ++out.files;
      out.bytes += entry.file->size();
      channel.queue(proto::Saved{saved, entry.file->size(), ctx_.config.hash, entry.file->digest()});
    } catch (const proto::ProtocolError& e) {
      channel.queue(proto::Error{e.code(), e.what()});
    }
  }
  entries_.clear();
  bytes_ = 0;
  if (published) ctx_.inbox.sync();  // the new names, before the sender hears of them
  channel.flush();
  return out;
}

void EagerBatch::drop() {
  for (Entry& entry : entries_) {
    if (entry.file) {
      entry.file->fail(proto::ErrorCode::Interrupted, "the connection ended before the file was confirmed");
    }
  }
  entries_.clear();
  bytes_ = 0;
}

}  // namespace ftx::server
