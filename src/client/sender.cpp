// SPDX-License-Identifier: MIT
// `ftx send`: one connection, and per file FILE_BEGIN, READY, the bytes by sendfile(2),
// FILE_END with the digest, and SAVED.
#include "client/sender.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>
#include <exception>
#include <thread>

#include "client/handshake.h"
#include "digest/digest.h"
#include "net/channel.h"
#include "net/socket.h"
#include "proto/codec.h"
#include "proto/names.h"

namespace ftx::client {
namespace {

using Clock = std::chrono::steady_clock;

// The connection is gone: the remaining files cannot be sent.
class ConnectionLost : public std::runtime_error {
 public:
  ConnectionLost(const std::string& what, std::optional<proto::ErrorCode> code)
      : std::runtime_error(what), code_(code) {}
  std::optional<proto::ErrorCode> code() const { return code_; }

 private:
  std::optional<proto::ErrorCode> code_;
};

std::string describe(const proto::Error& e) {
  return std::string(proto::error_code_name(e.code)) + ": " + e.message;
}

// After a send fails the server has usually said why in an ERROR frame just before
// closing; read it if it is there.
std::optional<proto::Error> pending_error(net::Channel& channel) {
  try {
    net::set_io_timeout(channel.fd(), std::chrono::milliseconds(1000));
    proto::Frame frame = channel.receive();
    if (auto* e = std::get_if<proto::Error>(&frame)) return *e;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

proto::Frame receive_or_lose(net::Channel& channel) {
  try {
    return channel.receive();
  } catch (const std::exception& e) {
    throw ConnectionLost(e.what(), std::nullopt);
  }
}

// Hashes the whole file on its own thread while the main thread streams it, so the
// digest is ready about when the last byte leaves.
// Hashes exactly the bytes announced in FILE_BEGIN, so a file that grows meanwhile is
// still verified as the prefix that was sent. Destroyed early (the connection failed), it
// stops reading instead of hashing the rest of a large file for nothing.
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

class Upload {
 public:
  Upload(net::Channel& channel, proto::DigestAlgo algo, SendObserver& observer)
      : channel_(channel), algo_(algo), observer_(observer) {}

  // Sends one file; throws ConnectionLost when the connection cannot go on.
  FileOutcome send(const std::string& path, const std::string& name) {
    FileOutcome out;
    out.path = path;
    out.name = name;
    net::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) < 0) {
      out.status = FileStatus::Unreadable;
      out.error = std::string("cannot read ") + path + ": " + std::strerror(errno);
      return out;
    }
    if (!S_ISREG(st.st_mode)) {
      out.status = FileStatus::Unreadable;
      out.error = path + (S_ISDIR(st.st_mode) ? " is a directory (send the files in it)"
                                                : " is not a regular file");
      return out;
    }
    const auto size = static_cast<uint64_t>(st.st_size);
    out.bytes = size;
    const auto started = Clock::now();
    proto::FileBegin begin;
    begin.name = name;
    begin.size = size;
    begin.mode = st.st_mode & 07777;
    begin.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    send_frame(begin);

    proto::Frame reply = receive_or_lose(channel_);
    if (auto* e = std::get_if<proto::Error>(&reply)) return refused(out, *e);
    auto* ready = std::get_if<proto::Ready>(&reply);
    if (!ready || ready->offset > size) throw ConnectionLost("protocol error: expected READY", std::nullopt);

    observer_.file_started(name, size);
    BackgroundDigest digest(fd.get(), algo_, size);
    try {
      net::sendfile_all(channel_.fd(), fd.get(), ready->offset, size - ready->offset, channel_.peer(),
                        [this, offset = ready->offset](uint64_t sent) {
                          observer_.file_progress(offset + sent);
                        });
    } catch (const std::exception& e) {
      if (auto err = pending_error(channel_)) throw ConnectionLost(describe(*err), err->code);
      throw ConnectionLost(e.what(), std::nullopt);
    }
    std::string raw;
    try {
      raw = digest.get();
    } catch (const std::exception& e) {
      // The server has the bytes but cannot be told the digest: this stream is unusable.
      throw ConnectionLost(std::string("reading ") + path + " failed: " + e.what(), std::nullopt);
    }
    out.digest = digest::labelled(algo_, raw);
    send_frame(proto::FileEnd{algo_, raw});

    reply = receive_or_lose(channel_);
    out.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (auto* e = std::get_if<proto::Error>(&reply)) return refused(out, *e);
    auto* saved = std::get_if<proto::Saved>(&reply);
    if (!saved) throw ConnectionLost("protocol error: expected SAVED", std::nullopt);
    out.saved_as = saved->name;
    if (saved->bytes != size || saved->algo != algo_ || saved->digest != raw) {
      out.status = FileStatus::Refused;
      out.code = proto::ErrorCode::Integrity;
      out.error = "the server saved " + std::to_string(saved->bytes) + " bytes with digest " +
                  digest::labelled(saved->algo, saved->digest) + ", expected " + out.digest;
      return out;
    }
    out.status = FileStatus::Saved;
    return out;
  }

 private:
  void send_frame(const proto::Frame& frame) {
    try {
      channel_.send(frame);
    } catch (const std::exception& e) {
      if (auto err = pending_error(channel_)) throw ConnectionLost(describe(*err), err->code);
      throw ConnectionLost(e.what(), std::nullopt);
    }
  }

  static FileOutcome& refused(FileOutcome& out, const proto::Error& e) {
    out.status = FileStatus::Refused;
    out.code = e.code;
    out.error = describe(e);
    return out;
  }

  net::Channel& channel_;
  proto::DigestAlgo algo_;
  SendObserver& observer_;
};

void mark_rest_not_sent(SendReport& report, const SendOptions& options, size_t from,
                        const std::string& why, SendObserver& observer) {
  for (size_t i = from; i < options.paths.size(); ++i) {
    FileOutcome out;
    out.path = options.paths[i];
    out.name = options.as_name.value_or(proto::base_name(options.paths[i]));
    out.status = FileStatus::NotSent;
    out.error = why;
    observer.file_done(out);
    report.files.push_back(std::move(out));
  }
}

}  // namespace

SendReport send_files(const SendOptions& options, SendObserver& observer) {
  SendReport report;
  net::UniqueFd sock;
  try {
    sock = net::connect_tcp(options.server.host, options.server.port, options.connect_timeout);
    net::set_io_timeout(sock.get(), options.io_timeout);
  } catch (const std::exception& e) {
    report.connection_failed = true;
    report.connection_error = e.what();
    mark_rest_not_sent(report, options, 0, "not sent: " + report.connection_error, observer);
    return report;
  }
  net::Channel channel(sock.get(), net::format_host_port(options.server.host, options.server.port));
  proto::DigestAlgo algo = proto::DigestAlgo::Xxh128;
  size_t index = 0;
  try {
    std::variant<proto::Welcome, proto::Error> answer;
    try {
      answer = handshake(channel, proto::Hello{proto::kProtocolVersion, proto::Role::Send,
                                               options.client_name, options.token});
    } catch (const std::exception& e) {
      if (auto err = pending_error(channel)) throw ConnectionLost(describe(*err), err->code);
      throw ConnectionLost(e.what(), std::nullopt);
    }
    if (auto* e = std::get_if<proto::Error>(&answer)) {
      throw ConnectionLost("refused by the server: " + describe(*e), e->code);
    }
    algo = std::get<proto::Welcome>(answer).digest;

    Upload upload(channel, algo, observer);
    for (; index < options.paths.size(); ++index) {
      const std::string& path = options.paths[index];
      const std::string name = options.as_name.value_or(proto::base_name(path));
      FileOutcome out = upload.send(path, name);
      observer.file_done(out);
      report.files.push_back(std::move(out));
    }
    // A polite goodbye; the files are already confirmed, so failures here do not matter.
    try {
      channel.send(proto::Bye{});
      net::set_io_timeout(sock.get(), std::chrono::milliseconds(2000));
      channel.receive();
    } catch (const std::exception&) {
    }
  } catch (const ConnectionLost& e) {
    report.connection_failed = true;
    report.connection_code = e.code();
    report.connection_error = e.what();
    mark_rest_not_sent(report, options, index, "not sent: " + report.connection_error, observer);
  } catch (const proto::ProtocolError& e) {
    report.connection_failed = true;
    report.connection_error = std::string("protocol error: ") + e.what();
    mark_rest_not_sent(report, options, index, "not sent: " + report.connection_error, observer);
  }
  return report;
}

}  // namespace ftx::client
