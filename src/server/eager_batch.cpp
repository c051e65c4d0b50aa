// SPDX-License-Identifier: MIT
// Batches of eager files.
#include "server/eager_batch.h"

#include <optional>
#include <utility>

#include "proto/codec.h"
#include "server/failure.h"

namespace ftx::server {

EagerBatch::EagerBatch(EagerBatch&& other) noexcept
    : ctx_(other.ctx_), entries_(std::exchange(other.entries_, {})), bytes_(std::exchange(other.bytes_, 0)) {}

EagerBatch& EagerBatch::operator=(EagerBatch&& other) noexcept {
  if (this != &other) {
    drop();
    ctx_ = other.ctx_;
    entries_ = std::exchange(other.entries_, {});
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void EagerBatch::add(std::unique_ptr<IncomingFile> sealed) {
  bytes_ += sealed->size();
  entries_.push_back({std::move(sealed), {}});
}

void EagerBatch::add(const std::string& name, proto::Error refusal) {
  entries_.push_back({nullptr, proto::eager_error(std::move(refusal), name.size(), ctx_->config.hash)});
}

std::optional<Failure> EagerBatch::sync() {
  try {
    ctx_->inbox.sync();
  } catch (const std::exception& e) {
    return failure_of(e);
  }
  return std::nullopt;
}

EagerBatch::Verdicts EagerBatch::publish(const std::optional<Failure>& sync_failed, std::stop_token stop) {
  Verdicts out;
  if (stop.stop_requested()) {
    drop();
    return out;
  }
  out.answers.reserve(entries_.size());
  const DigestAlgo algo = ctx_->config.hash;
  for (Entry& entry : entries_) {
    if (!entry.file) {
      out.answers.emplace_back(std::move(entry.refusal));
      continue;
    }
    if (sync_failed) {
      entry.file->fail(sync_failed->code, sync_failed->message);
      out.answers.emplace_back(
          proto::eager_error({sync_failed->code, sync_failed->message}, entry.file->name().size(), algo));
      continue;
    }
    try {
      const std::string saved = entry.file->publish(/*synced=*/true);
      if (entry.file->unchanged()) {
        out.answers.emplace_back(proto::Unchanged{saved, entry.file->size(), algo, entry.file->digest()});
        continue;
      }
      out.published = true;
      ++out.files;
      out.bytes += entry.file->size();
      out.answers.emplace_back(proto::Saved{saved, entry.file->size(), algo, entry.file->digest()});
    } catch (const proto::ProtocolError& e) {
      out.answers.emplace_back(proto::eager_error({e.code(), e.what()}, entry.file->name().size(), algo));
    }
  }
  entries_.clear();
  bytes_ = 0;
  return out;
}

EagerBatch::Verdicts EagerBatch::commit() {
  if (entries_.empty()) return {};
  Verdicts out = publish(sync());
  if (out.published) {
    // The new names, before the sender hears of them.
    if (const auto failed = sync()) throw failed->error();
  }
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
