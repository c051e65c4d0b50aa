// SPDX-License-Identifier: MIT
// `ftx send`: one connection at a time. Small files are pipelined (eager FILE_BEGIN, data,
// FILE_END, answers collected later); large ones go FILE_BEGIN, READY (maybe resuming),
// the bytes by sendfile(2), FILE_END, SAVED; stdin goes in chunks.
#include "client/sender.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <thread>

#include "client/handshake.h"
#include "client/plan.h"
#include "digest/digest.h"
#include "net/socket.h"
#include "proto/codec.h"
#include "proto/limits.h"
#include "proto/names.h"
#include "wire/channel.h"

namespace ftx::client {
namespace {

using Clock = std::chrono::steady_clock;

// Files up to this size are sent eagerly; larger ones wait for READY and can resume.
constexpr uint64_t kEagerMax = 256 * 1024;
// Unconfirmed eager files in flight. The answers to them must fit in the socket buffers
// (Linux gives at least 128 KiB to receive by default): a server blocked writing answers
// while this side is blocked writing data would be a deadlock.
constexpr size_t kWindowFiles = 1024;
constexpr uint64_t kWindowBytes = 64 << 20;
constexpr uint64_t kWindowAnswerBytes = 96 * 1024;

// What the SAVED for a name takes on the wire, at most.
uint64_t answer_size(const std::string& name) { return 64 + name.size() + proto::kMaxDigest; }
constexpr size_t kStreamChunk = proto::kMaxChunk;

// The connection is gone: the remaining files cannot be sent on it.
class ConnectionLost : public std::runtime_error {
 public:
  ConnectionLost(const std::string& what, std::optional<proto::ErrorCode> code)
      : std::runtime_error(what), code_(code) {}
  std::optional<proto::ErrorCode> code() const { return code_; }

 private:
  std::optional<proto::ErrorCode> code_;
};

// Worth reconnecting for: the network, or a server that was busy, slow or failing.
bool retryable(const ConnectionLost& e) {
  if (!e.code()) return true;
  switch (*e.code()) {
    case proto::ErrorCode::Busy:
    case proto::ErrorCode::Timeout:
    case proto::ErrorCode::Internal:
      return true;
    default:
      return false;
  }
}

std::string describe(const proto::Error& e) {
  return std::string(proto::error_code_name(e.code)) + ": " + e.message;
}

// After a send fails the server has usually said why in an ERROR frame just before
// closing; read it if it is there.
std::optional<proto::Error> pending_error(wire::Channel& channel) {
  try {
    net::set_io_timeout(channel.fd(), std::chrono::milliseconds(1000));
    proto::Frame frame = channel.receive();
    if (auto* e = std::get_if<proto::Error>(&frame)) return *e;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// Hashes the first `size` bytes of a file on its own thread while the main thread streams
// it, so the digest is ready about when the last byte leaves. Destroyed early (the
// connection failed), it stops reading instead of hashing the rest for nothing.
class BackgroundDigest {
 public:
  BackgroundDigest(int fd, proto::DigestAlgo algo, uint64_t size)
      : thread_([this, fd, algo, size](std::stop_token stop) {
          try {
            digest_ = digest::digest_file(fd, algo, size, stop);
          } catch (...) {
            error_ = std::current_exception();
          }
        }) {}
  std::string get() {
    thread_.join();
    if (error_) std::rethrow_exception(error_);
    return digest_;
  }

 private:
  std::string digest_;
  std::exception_ptr error_;
  std::jthread thread_;  // last: joins before the results above are destroyed
};

int64_t mtime_of(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

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
  out.error = describe(e);
  return out;
}

// One connection's worth of the job.
class Connection {
 public:
  Connection(const SendOptions& options, SendObserver& observer,
             std::vector<std::optional<FileOutcome>>& results)
      : options_(options), observer_(observer), results_(results) {}

  // Connects and says HELLO; throws ConnectionLost.
  void open() {
    try {
      sock_ = net::connect_tcp(options_.server.host, options_.server.port, options_.connect_timeout);
      net::set_io_timeout(sock_.get(), options_.io_timeout);
    } catch (const std::exception& e) {
      throw ConnectionLost(e.what(), std::nullopt);
    }
    channel_.emplace(sock_.get(), net::format_host_port(options_.server.host, options_.server.port));
    std::variant<proto::Welcome, proto::Error> answer;
    try {
      answer = handshake(*channel_, proto::Hello{proto::kProtocolVersion, proto::Role::Send,
                                                 options_.client_name, options_.token});
    } catch (const std::exception& e) {
      lose(e);
    }
    if (auto* e = std::get_if<proto::Error>(&answer)) {
      throw ConnectionLost("refused by the server: " + describe(*e), e->code);
    }
    algo_ = std::get<proto::Welcome>(answer).digest;
  }

  // Sends every item without a result yet; throws ConnectionLost.
  void run(const std::vector<SendItem>& items) {
    for (size_t i = 0; i < items.size(); ++i) {
      if (results_[i]) continue;
      const SendItem& item = items[i];
      if (!item.error.empty()) {
        FileOutcome out = outcome_for(item);
        out.status = FileStatus::Unreadable;
        out.error = item.error;
        finish(i, std::move(out));
        continue;
      }
      switch (item.kind) {
        case SendItem::Kind::Directory:
          send_directory(i, item);
          break;
        case SendItem::Kind::File:
          send_file(i, item);
          break;
        case SendItem::Kind::Stream:
          collect_all();
          send_stream(i, item);
          break;
      }
      if (window_full(1)) {
        // Down to half, not by one: sending a file per answer would make the server sync
        // each file alone, since it syncs whenever this side pauses.
        while (window_full(2)) collect_one();
      }
    }
    collect_all();
    // A polite goodbye; the files are already confirmed, so failures here do not matter.
    try {
      channel_->send(proto::Bye{});
      net::set_io_timeout(sock_.get(), std::chrono::milliseconds(2000));
      channel_->receive();
    } catch (const std::exception&) {
    }
  }

 private:
  // A sent item whose answer has not arrived.
  struct InFlight {
    size_t index;
    FileOutcome out;
    std::string raw_digest;
    Clock::time_point started;
  };

  [[noreturn]] void lose(const std::exception& e) {
    if (auto err = pending_error(*channel_)) throw ConnectionLost(describe(*err), err->code);
    throw ConnectionLost(e.what(), std::nullopt);
  }

  void send_frame(const proto::Frame& frame) {
    try {
      channel_->send(frame);
    } catch (const std::exception& e) {
      lose(e);
    }
  }

  void send_bytes(std::span<const uint8_t> bytes) {
    try {
      net::send_all(sock_.get(), bytes, channel_->peer());
    } catch (const std::exception& e) {
      lose(e);
    }
  }

  proto::Frame receive() {
    try {
      return channel_->receive();
    } catch (const std::exception& e) {
      throw ConnectionLost(e.what(), std::nullopt);
    }
  }

  void finish(size_t index, FileOutcome out) {
    observer_.file_done(out);
    results_[index] = std::move(out);
  }

  void send_directory(size_t index, const SendItem& item) {
    proto::FileBegin begin;
    begin.name = item.name;
    begin.mode = item.mode;
    begin.mtime_ns = item.mtime_ns;
    begin.flags = proto::kFlagDirectory;
    send_frame(begin);
    window_answer_bytes_ += answer_size(item.name);
    window_.push_back({index, outcome_for(item), {}, Clock::now()});
  }

  void send_file(size_t index, const SendItem& item) {
    FileOutcome out = outcome_for(item);
    net::UniqueFd fd(::open(item.path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode)) {
      out.status = FileStatus::Unreadable;
      out.error = !fd ? "cannot read " + item.path + ": " + std::strerror(errno)
                      : item.path + " is no longer a regular file";
      finish(index, std::move(out));
      return;
    }
    out.bytes = static_cast<uint64_t>(st.st_size);
    proto::FileBegin begin;
    begin.name = item.name;
    begin.size = out.bytes;
    begin.mode = st.st_mode & 07777;
    begin.mtime_ns = mtime_of(st);
    if (begin.size <= kEagerMax) {
      send_eager(index, std::move(out), fd.get(), std::move(begin));
    } else {
      collect_all();  // READY must be the next answer
      finish(index, send_resumable(std::move(out), fd.get(), std::move(begin)));
    }
  }

  // FILE_BEGIN, the bytes and FILE_END in one write; the answer is collected later.
  void send_eager(size_t index, FileOutcome out, int fd, proto::FileBegin begin) {
    std::vector<uint8_t> data(begin.size);
    size_t got = 0;
    while (got < data.size()) {
      const ssize_t n = ::pread(fd, data.data() + got, data.size() - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    data.resize(got);  // a file that shrank meanwhile is sent as read
    begin.size = got;
    begin.flags = proto::kFlagEager;
    out.bytes = got;
    observer_.file_started(begin.name, got);
    digest::Hasher hasher(algo_);
    hasher.update(data);
    std::string raw = hasher.finish();
    out.digest = digest::labelled(algo_, raw);
    std::vector<uint8_t> wire = proto::encode_frame(begin);
    wire.insert(wire.end(), data.begin(), data.end());
    const auto end = proto::encode_frame(proto::FileEnd{algo_, raw});
    wire.insert(wire.end(), end.begin(), end.end());
    send_bytes(wire);
    window_bytes_ += got;
    window_answer_bytes_ += answer_size(out.name);
    window_.push_back({index, std::move(out), std::move(raw), Clock::now()});
  }

  void collect_one() {
    proto::Frame reply = receive();
    InFlight sent = std::move(window_.front());
    window_.pop_front();
    window_bytes_ -= std::min(window_bytes_, sent.out.bytes);
    window_answer_bytes_ -= std::min(window_answer_bytes_, answer_size(sent.out.name));
    FileOutcome& out = sent.out;
    out.seconds = std::chrono::duration<double>(Clock::now() - sent.started).count();
    if (auto* e = std::get_if<proto::Error>(&reply)) {
      refused(out, *e);
    } else if (auto* saved = std::get_if<proto::Saved>(&reply)) {
      out.saved_as = saved->name;
      if (!out.directory &&
          (saved->bytes != out.bytes || saved->algo != algo_ || saved->digest != sent.raw_digest)) {
        out.status = FileStatus::Refused;
        out.code = proto::ErrorCode::Integrity;
        out.error = "the server saved " + std::to_string(saved->bytes) + " bytes with digest " +
                    digest::labelled(saved->algo, saved->digest) + ", expected " + out.digest;
      } else {
        out.status = FileStatus::Saved;
      }
    } else {
      throw ConnectionLost("protocol error: expected SAVED or ERROR", std::nullopt);
    }
    finish(sent.index, std::move(out));
  }

  bool window_full(unsigned divisor) const {
    return !window_.empty() &&
           (window_.size() >= kWindowFiles / divisor || window_bytes_ >= kWindowBytes / divisor ||
            window_answer_bytes_ >= kWindowAnswerBytes / divisor);
  }

  void collect_all() {
    while (!window_.empty()) collect_one();
  }

  // READY tells where to start: a partial the server kept from a broken attempt is not
  // sent again. If the kept prefix proves wrong (integrity), the file goes once more from 0.
  FileOutcome send_resumable(FileOutcome out, int fd, proto::FileBegin begin) {
    std::error_code ec;
    const std::string absolute = std::filesystem::absolute(out.path, ec).lexically_normal().string();
    begin.transfer_id = transfer_id(options_.client_name, absolute, begin.name);
    for (int round = 0;; ++round) {
      const auto started = Clock::now();
      send_frame(begin);
      proto::Frame reply = receive();
      if (auto* e = std::get_if<proto::Error>(&reply)) return refused(out, *e);
      auto* ready = std::get_if<proto::Ready>(&reply);
      if (!ready || ready->offset > begin.size)
        throw ConnectionLost("protocol error: expected READY", std::nullopt);
      const uint64_t offset = ready->offset;
      out.resumed_from = offset;
      observer_.file_started(begin.name, begin.size);
      observer_.file_progress(offset);
      BackgroundDigest digest(fd, algo_, begin.size);
      try {
        net::sendfile_all(sock_.get(), fd, offset, begin.size - offset, channel_->peer(),
                          [this, offset](uint64_t sent) { observer_.file_progress(offset + sent); });
      } catch (const std::exception& e) {
        lose(e);
      }
      std::string raw;
      try {
        raw = digest.get();
      } catch (const std::exception& e) {
        // The server has the bytes but cannot be told the digest: this stream is unusable.
        throw ConnectionLost(std::string("reading ") + out.path + " failed: " + e.what(), std::nullopt);
      }
      out.digest = digest::labelled(algo_, raw);
      send_frame(proto::FileEnd{algo_, raw});
      reply = receive();
      out.seconds = std::chrono::duration<double>(Clock::now() - started).count();
      if (auto* e = std::get_if<proto::Error>(&reply)) {
        if (e->code == proto::ErrorCode::Integrity && offset > 0 && round == 0) continue;
        return refused(out, *e);
      }
      auto* saved = std::get_if<proto::Saved>(&reply);
      if (!saved) throw ConnectionLost("protocol error: expected SAVED", std::nullopt);
      out.saved_as = saved->name;
      if (saved->bytes != begin.size || saved->algo != algo_ || saved->digest != raw) {
        out.status = FileStatus::Refused;
        out.code = proto::ErrorCode::Integrity;
        out.error = "the server saved " + std::to_string(saved->bytes) + " bytes with digest " +
                    digest::labelled(saved->algo, saved->digest) + ", expected " + out.digest;
        return out;
      }
      out.status = FileStatus::Saved;
      return out;
    }
  }

  // Standard input in chunks, hashed as it goes. It cannot be read twice, so a broken
  // connection ends it for good (no resume, no retry).
  void send_stream(size_t index, const SendItem& item) {
    FileOutcome out = outcome_for(item);
    const auto started = Clock::now();
    proto::FileBegin begin;
    begin.name = item.name;
    begin.mode = 0644;
    begin.mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    begin.flags = proto::kFlagStream;
    send_frame(begin);
    proto::Frame reply = receive();
    if (auto* e = std::get_if<proto::Error>(&reply)) {
      finish(index, std::move(refused(out, *e)));
      return;
    }
    if (!std::holds_alternative<proto::Ready>(reply))
      throw ConnectionLost("protocol error: expected READY", std::nullopt);
    observer_.file_started(begin.name, 0);
    digest::Hasher hasher(algo_);
    std::vector<uint8_t> buf(4 + kStreamChunk);
    uint64_t total = 0;
    auto put_length = [&buf](uint32_t n) {
      const auto header = proto::encode_chunk_header(n);
      std::copy(header.begin(), header.end(), buf.begin());
    };
    try {
      while (true) {
        const ssize_t n = ::read(STDIN_FILENO, buf.data() + 4, kStreamChunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          // The server cannot be told "abandon"; closing is the only honest signal.
          throw ConnectionLost(std::string("reading standard input failed: ") + std::strerror(errno),
                               std::nullopt);
        }
        if (n == 0) break;
        put_length(static_cast<uint32_t>(n));
        hasher.update(std::span<const uint8_t>(buf.data() + 4, static_cast<size_t>(n)));
        send_bytes(std::span<const uint8_t>(buf.data(), 4 + static_cast<size_t>(n)));
        total += static_cast<uint64_t>(n);
        observer_.file_progress(total);
      }
      put_length(0);
      send_bytes(std::span<const uint8_t>(buf.data(), 4));
      const std::string raw = hasher.finish();
      out.bytes = total;
      out.digest = digest::labelled(algo_, raw);
      send_frame(proto::FileEnd{algo_, raw});
      window_.push_back({index, std::move(out), raw, started});
      collect_one();
    } catch (const ConnectionLost& e) {
      FileOutcome lost = outcome_for(item);
      lost.bytes = total;
      lost.error = std::string("not saved: ") + e.what() + " (a stream cannot be resumed or resent)";
      finish(index, std::move(lost));
      throw;
    }
  }

  const SendOptions& options_;
  SendObserver& observer_;
  std::vector<std::optional<FileOutcome>>& results_;
  net::UniqueFd sock_;
  std::optional<wire::Channel> channel_;
  proto::DigestAlgo algo_ = proto::DigestAlgo::Xxh128;
  std::deque<InFlight> window_;
  uint64_t window_bytes_ = 0;
  uint64_t window_answer_bytes_ = 0;
};

}  // namespace

std::string transfer_id(const std::string& client_name, const std::string& absolute_path,
                        const std::string& name) {
  digest::Hasher hasher(proto::DigestAlgo::Xxh128);
  const std::string key = client_name + '\0' + absolute_path + '\0' + name;
  hasher.update(std::span(reinterpret_cast<const uint8_t*>(key.data()), key.size()));
  return digest::to_hex(hasher.finish());
}

SendReport send_files(const SendOptions& options, SendObserver& observer) {
  SendReport report;
  const SendPlan plan = plan_send(options.paths, PlanOptions{options.as_name, options.follow_symlinks});
  for (const std::string& w : plan.warnings) observer.warning(w);
  size_t files = 0;
  uint64_t bytes = 0;
  for (const SendItem& item : plan.items) {
    if (item.kind == SendItem::Kind::Directory || !item.error.empty()) continue;
    ++files;
    bytes += item.size;
  }
  observer.job_started(files, bytes);

  std::vector<std::optional<FileOutcome>> results(plan.items.size());
  bool connected_once = false;
  while (true) {
    try {
      Connection connection(options, observer, results);
      connection.open();
      connected_once = true;
      connection.run(plan.items);
      break;
    } catch (const ConnectionLost& e) {
      const bool more = report.retries_used < options.retries && connected_once && retryable(e);
      if (!more) {
        report.connection_failed = true;
        report.connection_code = e.code();
        report.connection_error = e.what();
        break;
      }
      ++report.retries_used;
      const auto delay = std::min<std::chrono::milliseconds>(
          std::chrono::milliseconds(500) * (1 << std::min(report.retries_used - 1, 4)),
          std::chrono::seconds(8));
      observer.retrying(e.what(), report.retries_used, options.retries, delay);
      std::this_thread::sleep_for(delay);
    }
  }
  for (size_t i = 0; i < plan.items.size(); ++i) {
    if (!results[i]) {
      FileOutcome out = outcome_for(plan.items[i]);
      out.status = FileStatus::NotSent;
      out.error = "not sent: " + report.connection_error;
      observer.file_done(out);
      results[i] = std::move(out);
    }
    report.files.push_back(std::move(*results[i]));
  }
  return report;
}

}  // namespace ftx::client
