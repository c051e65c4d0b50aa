// SPDX-License-Identifier: MIT
// The pipeline of small files.
#include "client/eager_window.h"

#include <unistd.h>

#include <cerrno>

#include "client/verdict.h"
#include "digest/digest.h"
#include "proto/codec.h"
#include "proto/limits.h"

namespace ftx::client {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxFiles = 1024;
constexpr uint64_t kMaxBytes = 64 << 20;
constexpr uint64_t kMaxAnswerBytes = 96 * 1024;

}  // namespace

void EagerWindow::add(InFlight sent) {
  bytes_ += sent.out.bytes;
  answer_bytes_ += proto::max_eager_answer(sent.out.name.size(), algo_);
  in_flight_.push_back(std::move(sent));
}

void EagerWindow::send_directory(size_t index, FileOutcome out, proto::FileBegin begin) {
  begin.flags = proto::kFlagDirectory;
  link_.send(begin);
  out.bytes = 0;
  add({index, std::move(out), {}, Clock::now()});
}

void EagerWindow::send_file(size_t index, FileOutcome out, int fd, proto::FileBegin begin) {
  data_.resize(begin.size);
  size_t got = 0;
  while (got < data_.size()) {
    const ssize_t n = ::pread(fd, data_.data() + got, data_.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  const std::span<const uint8_t> data(data_.data(), got);  // a file that shrank is sent as read
  begin.size = got;
  begin.flags = proto::kFlagEager;
  out.bytes = got;
  observer_.file_started(begin.name, got);
  digest::Hasher hasher(algo_);
  hasher.update(data);
  std::string raw = hasher.finish();
  out.digest = digest::labelled(algo_, raw);
  wire_.clear();
  proto::encode_frame(begin, wire_);
  wire_.insert(wire_.end(), data.begin(), data.end());
  proto::encode_frame(proto::FileEnd{algo_, raw}, wire_);
  link_.send_raw(wire_);
  add({index, std::move(out), std::move(raw), Clock::now()});
}

void EagerWindow::collect_one() {
  const proto::Frame answer = link_.receive();
  InFlight sent = std::move(in_flight_.front());
  in_flight_.pop_front();
  bytes_ -= std::min(bytes_, sent.out.bytes);
  answer_bytes_ -= std::min(answer_bytes_, proto::max_eager_answer(sent.out.name.size(), algo_));
  sent.out.seconds = std::chrono::duration<double>(Clock::now() - sent.started).count();
  judge_answer(sent.out, answer, algo_, sent.raw_digest);
  done_(sent.index, std::move(sent.out));
}

bool EagerWindow::full(unsigned divisor) const {
  return !in_flight_.empty() && (in_flight_.size() >= kMaxFiles / divisor || bytes_ >= kMaxBytes / divisor ||
                                 answer_bytes_ >= kMaxAnswerBytes / divisor);
}

void EagerWindow::make_room() {
  if (!full(1)) return;
  while (full(2)) collect_one();
}

void EagerWindow::collect_all() {
  while (!in_flight_.empty()) collect_one();
}

}  // namespace ftx::client
