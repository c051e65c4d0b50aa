// SPDX-License-Identifier: MIT
// The accept loop: a thread per client, bounded, and a shutdown that joins them all.
#include "server/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "http/response.h"
#include "net/address.h"
#include "proto/codec.h"
#include "proto/opening.h"
#include "proto/text.h"
#include "server/reach.h"
#include "server/session.h"
#include "util/clock.h"
#include "util/sys_error.h"
#include "util/thread_name.h"
#include "wire/channel.h"

namespace ftx::server {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kPollMs = 200;
// A refused client's first byte says which language to answer in; a binary client sends its
// HELLO at once, a person at nc may say nothing.
constexpr std::chrono::milliseconds kRefuseListen{300};
// How long a refused client's remaining input is read after the answer, before the close.
constexpr std::chrono::milliseconds kRefuseDrain{2000};
// Console lines for refusals per second; the rest are counted in one line.
constexpr int kRefusalLinesPerSecond = 5;

TransferLog open_log(const ServerConfig& config, const Inbox& inbox) {
  if (config.log_path.empty()) {
    return TransferLog::open_at(inbox.meta_fd(), "transfers.jsonl",
                                (config.dir / ".ftx" / "transfers.jsonl").string());
  }
  return TransferLog::open(config.log_path);
}

// The server's key lives with its other private state, in DIR/.ftx, unless --key says where.
std::unique_ptr<net::TlsServer> open_tls(const ServerConfig& config) {
  if (!config.tls) return nullptr;
  const auto key = config.key_path.empty() ? config.dir / ".ftx" / "key.pem" : config.key_path;
  return std::make_unique<net::TlsServer>(key, config.cert_path);
}

// --share: DIR itself, or another directory read-only; nothing without it.
std::unique_ptr<Shelf> open_shelf(const ServerConfig& config, const Inbox& inbox) {
  if (!config.share) return nullptr;
  const bool own = config.share_dir.empty();
  return std::make_unique<Shelf>(own ? config.dir : config.share_dir, own, inbox.meta_fd(), config.hash);
}

// The busy answer for a client whose first bytes were those: an HTTP 503 to a request line,
// else a text-mode ERROR line.
std::string busy_answer(std::span<const uint8_t> first, const std::string& message) {
  if (proto::is_request_line(first)) return http::error_response(proto::ErrorCode::Busy, message).encode();
  return proto::text_error_line(proto::ErrorCode::Busy, message);
}

}  // namespace

std::optional<int> Refusals::peek(const Pending& p) {
  uint8_t byte = 0;
  const ssize_t n = ::recv(p.fd.get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 1) return byte;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return -1;
  return std::nullopt;
}

bool Refusals::drain(const Pending& p) {
  uint8_t sink[4096];
  while (true) {
    const ssize_t n = ::recv(p.fd.get(), sink, sizeof sink, MSG_DONTWAIT);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}

bool TlsRefusals::take(net::UniqueFd& fd, const std::string& peer, const std::string& message) {
  reap();
  if (!tls_ || jobs_.size() >= kMax) return false;
  auto job = std::make_unique<Job>();
  job->fd = std::move(fd);
  Job* j = job.get();
  job->thread = std::jthread([j, tls = tls_, handshake = handshake_, peer, message] {
    name_this_thread("ftx-refuse");
    try {
      auto stream = tls->accept(j->fd.get(), peer, handshake);
      stream->set_timeouts(kRefuseListen, kRefuseListen);
      wire::Channel channel(*stream);
      bool binary = false;
      if (channel.wait_readable(kRefuseListen)) {
        const int first = channel.peek_byte();
        binary = first >= 0 && proto::starts_binary(static_cast<uint8_t>(first));
        if (binary) channel.receive();  // the HELLO the answer replies to
      }
      if (binary) {
        channel.send(proto::Error{proto::ErrorCode::Busy, message});
      } else {
        const std::string line = busy_answer(channel.peek_buffered(), message);
        stream->write_all(std::span(reinterpret_cast<const uint8_t*>(line.data()), line.size()));
      }
      stream->finish(kRefuseDrain);
    } catch (const std::exception&) {
      // A client that fails its handshake or leaves is refused all the same.
    }
    j->done = true;
  });
  jobs_.push_back(std::move(job));
  return true;
}

void TlsRefusals::reap() {
  std::erase_if(jobs_, [](const std::unique_ptr<Job>& job) { return job->done.load(); });
}

void Refusals::answer(Pending& p, int first_byte) {
  if (first_byte == proto::kTlsHandshake && tls_.enabled()) {
    p.answered = true;
    if (tls_.take(p.fd, p.peer, p.message)) {
      p.deadline = Clock::now();  // nothing left to drain here: dropped at the next service
    } else {
      // No refusal thread free: closed without a word (after the drain, so not with a
      // reset), as clear text in the middle of a handshake would read as a server without TLS.
      ::shutdown(p.fd.get(), SHUT_WR);
      p.deadline = Clock::now() + kRefuseDrain;
    }
    return;
  }
  std::string bytes;
  if (first_byte >= 0 && proto::starts_binary(static_cast<uint8_t>(first_byte))) {
    const auto frame = proto::encode_frame(proto::Error{proto::ErrorCode::Busy, p.message});
    bytes.assign(frame.begin(), frame.end());
  } else {
    // A request line arrives in one piece: what is here already says whether it is HTTP.
    uint8_t first[proto::kMaxRequestLine];
    const ssize_t n = ::recv(p.fd.get(), first, sizeof first, MSG_PEEK | MSG_DONTWAIT);
    bytes = busy_answer(std::span(first, n > 0 ? static_cast<size_t>(n) : 0), p.message);
  }
  // A few hundred bytes into an empty socket buffer: one call that does not block.
  ::send(p.fd.get(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(p.fd.get(), SHUT_WR);
  p.answered = true;
  p.deadline = Clock::now() + kRefuseDrain;
}

void Refusals::add(net::UniqueFd fd, std::string peer, std::string message) {
  if (pending_.size() >= kMax) {
    // Too many at once: the oldest gets its answer now, in the language its first byte
    // says if it has arrived, and is closed.
    Pending& oldest = pending_.front();
    if (!oldest.answered) answer(oldest, peek(oldest).value_or(-1));
    drain(oldest);
    pending_.erase(pending_.begin());
  }
  Pending p{std::move(fd), std::move(peer), std::move(message), false, Clock::now() + kRefuseListen};
  // A binary client's HELLO is often here already.
  const std::optional<int> first = peek(p);
  if (!first) return;  // gone already
  if (*first >= 0) answer(p, *first);
  pending_.push_back(std::move(p));
}

void Refusals::watch(std::vector<pollfd>& fds) const {
  for (const Pending& p : pending_) fds.push_back({p.fd.get(), POLLIN, 0});
}

void Refusals::service(std::span<const pollfd> polled) {
  const auto now = Clock::now();
  std::vector<Pending> kept;
  kept.reserve(pending_.size());
  for (size_t i = 0; i < pending_.size(); ++i) {
    Pending& p = pending_[i];
    const bool ready = i < polled.size() && polled[i].revents != 0;
    bool keep = true;
    if (!p.answered) {
      const std::optional<int> first = ready ? peek(p) : std::optional<int>(-1);
      if (!first) {
        keep = false;  // left before hearing the answer
      } else if (*first >= 0 || now >= p.deadline) {
        answer(p, *first);
      }
    } else {
      keep = (!ready || drain(p)) && now < p.deadline;
      if (!keep && now >= p.deadline) drain(p);
    }
    if (keep) kept.push_back(std::move(p));
  }
  pending_ = std::move(kept);
}

std::optional<Refusals::Clock::time_point> Refusals::next_deadline() const {
  std::optional<Clock::time_point> next;
  for (const Pending& p : pending_) {
    if (!next || p.deadline < *next) next = p.deadline;
  }
  return next;
}

Server::Server(ServerConfig config)
    : config_(std::move(config)),
      listener_(net::listen_tcp(config_.host, config_.port)),
      inbox_(config_.dir, config_.partial_ttl, config_.fsync, config_.partial_limits),
      tls_(open_tls(config_)),
      shelf_(open_shelf(config_, inbox_)),
      log_(open_log(config_, inbox_)),
      console_(config_.quiet),
      hub_(console_, log_,
           ChatHubOptions{config_.log_chat, config_.chat_stall_limit,
                          static_cast<size_t>(chat_limit(config_))}),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!wake_) throw_sys("eventfd");
  log_.on_warning([this](const std::string& text) { console_.warn(text); });
}

Server::~Server() { shut_down_sessions(); }

void Server::say(const std::string& text) { hub_.say("server", text, nullptr); }

void Server::request_stop() noexcept {
  stop_requested_ = true;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

void Server::request_log_reopen() noexcept {
  reopen_requested_ = true;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

void Server::start_slot(net::UniqueFd fd, std::string peer, std::string address) {
  auto slot = std::make_unique<Slot>();
  slot->peer = std::move(peer);
  slot->address = std::move(address);
  slot->fd = std::move(fd);
  ++per_address_[slot->address];
  Slot* s = slot.get();
  s->thread = std::jthread([s, ctx = SessionContext{config_, inbox_, log_, console_, hub_, throttle_,
                                                    tls_.get(), shelf_.get()}](std::stop_token stop) {
    name_this_thread("ftx-session");
    Session session(ctx, s->fd.get(), s->peer, s->in_transfer);
    session.run(stop);
    s->done = true;
  });
  slots_.push_back(std::move(slot));
}

void Server::refuse(net::UniqueFd fd, const std::string& peer, const std::string& message,
                    const std::string& why) {
  log_.write(
      disconnect_event(std::chrono::system_clock::now(), peer, "-", 0, 0, 0, proto::ErrorCode::Busy, why));
  const auto now = Clock::now();
  if (now - refusal_window_ >= std::chrono::seconds(1)) report_refusals(true);
  if (refusals_shown_ < kRefusalLinesPerSecond) {
    console_.print(peer + " refused: busy (" + why + ")");
    ++refusals_shown_;
  } else {
    ++refusals_unshown_;
  }
  refusals_.add(std::move(fd), peer, message);
}

void Server::report_refusals(bool force) {
  const auto now = Clock::now();
  if (!force && now - refusal_window_ < std::chrono::seconds(1)) return;
  if (refusals_unshown_ > 0) {
    console_.print(std::to_string(refusals_unshown_) + " more clients refused: busy");
  }
  refusals_unshown_ = 0;
  refusals_shown_ = 0;
  refusal_window_ = now;
}

void Server::accept_ready() {
  while (true) {
    sockaddr_storage addr{};
    socklen_t addr_len = sizeof addr;
    const int fd = ::accept4(listener_.fd.get(), reinterpret_cast<sockaddr*>(&addr), &addr_len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop accepting until a session ends and frees one.
        console_.warn(std::string("accept: ") + std::strerror(errno) + "; waiting for clients to leave");
        accept_paused_until_ = Clock::now() + std::chrono::milliseconds(500);
        return;
      }
      console_.warn(std::string("accept: ") + std::strerror(errno));
      accept_paused_until_ = Clock::now() + std::chrono::milliseconds(500);
      return;
    }
    net::UniqueFd client(fd);
    net::send_without_delay(fd);
    const std::string peer = net::format_sockaddr(reinterpret_cast<sockaddr*>(&addr), addr_len);
    // --allow/--deny before a single byte is read, as ncat does.
    if (auto why = config_.access.refusal(reinterpret_cast<sockaddr*>(&addr), addr_len)) {
      console_.print(peer + " refused: " + *why);
      log_.write(refused_event(std::chrono::system_clock::now(), peer, *why));
      continue;
    }
    reap_finished();
    std::string address = address_of(peer);
    const auto same = per_address_.find(address);
    if (config_.max_per_address > 0 && same != per_address_.end() &&
        same->second >= config_.max_per_address) {
      refuse(std::move(client), peer,
             "this address already has " + std::to_string(same->second) +
                 " connections to the server, its maximum; try again later",
             "too many connections from " + address);
    } else if (slots_.size() >= static_cast<size_t>(config_.max_clients)) {
      refuse(std::move(client), peer,
             "the server is serving its maximum of " + std::to_string(config_.max_clients) +
                 " clients; try again later",
             "too many clients");
    } else {
      start_slot(std::move(client), peer, std::move(address));
    }
  }
}

void Server::reap_finished() {
  for (auto it = slots_.begin(); it != slots_.end();) {
    if ((*it)->done) {
      (*it)->thread.join();
      if (const auto a = per_address_.find((*it)->address); a != per_address_.end() && --a->second <= 0) {
        per_address_.erase(a);
      }
      it = slots_.erase(it);
      accept_paused_until_ = {};  // a descriptor was freed
    } else {
      ++it;
    }
  }
}

void Server::run() {
  // Non-blocking accept: a client that vanishes between poll and accept must not stall us.
  const int flags = ::fcntl(listener_.fd.get(), F_GETFL);
  ::fcntl(listener_.fd.get(), F_SETFL, flags | O_NONBLOCK);
  console_.print("ftx serving " + config_.dir.string() + " on " + listener_.address +
                 " (log: " + log_.where() + ")");
  const std::string pin = fingerprint();
  if (tls_) {
    console_.print("TLS key " + pin + (tls_->key_created() ? " (new)" : "") +
                   "; clients check it with --pin");
  } else {
    console_.print("plain TCP only (--no-tls): clients connect with --plain; nothing is encrypted");
  }
  if (shelf_) {
    console_.print("sharing " + shelf_->root().string() +
                   (shelf_->inbox_root() ? " (uploads too; never .ftx)" : " (read-only)") +
                   ": clients list it with ftx ls and fetch with ftx get");
  }
  if (!console_.quiet()) {
    for (const std::string& line : reach_lines(listener_.address, !config_.host, pin)) console_.print(line);
  }
  std::vector<pollfd> fds;
  while (!stop_requested_) {
    const bool paused = Clock::now() < accept_paused_until_;
    fds.assign({{wake_.get(), POLLIN, 0}, {listener_.fd.get(), static_cast<short>(paused ? 0 : POLLIN), 0}});
    refusals_.watch(fds);
    int timeout = kPollMs;
    if (const auto next = refusals_.next_deadline()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now()).count();
      timeout = static_cast<int>(std::clamp<int64_t>(left, 0, kPollMs));
    }
    const int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) throw_sys("poll");
    if (n > 0 && (fds[0].revents & POLLIN)) {
      uint64_t count = 0;
      [[maybe_unused]] ssize_t r = ::read(wake_.get(), &count, sizeof count);
    }
    if (stop_requested_) break;
    if (reopen_requested_.exchange(false)) {
      try {
        log_.reopen();
        console_.print("log reopened: " + log_.where());
      } catch (const std::exception& e) {
        console_.warn(std::string("cannot reopen the log: ") + e.what() + "; still writing to the old file");
      }
    }
    refusals_.service(std::span(fds).subspan(2));
    if (n > 0 && (fds[1].revents & POLLIN)) accept_ready();
    reap_finished();
    report_refusals(false);
    log_.retry();  // events kept while the disk was full, once it takes them again
  }
  refusals_.clear();
  tls_refusals_.clear();
  console_.print("stopping: no new connections; waiting for transfers in flight");
  listener_.fd.reset();
  shut_down_sessions();
  log_.retry();
  if (const size_t lost = log_.pending(); lost > 0) {
    console_.warn(std::to_string(lost) + " events could not be written to the log " + log_.where());
  }
  console_.print("stopped");
}

void Server::shut_down_sessions() {
  for (auto& slot : slots_) {
    slot->thread.request_stop();
    // An idle session is blocked in recv: wake it now. Transfers get the grace period.
    if (!slot->done && !slot->in_transfer) ::shutdown(slot->fd.get(), SHUT_RDWR);
  }
  const auto deadline = Clock::now() + config_.grace;
  while (Clock::now() < deadline) {
    bool busy = false;
    for (auto& slot : slots_) {
      if (!slot->done) {
        if (!slot->in_transfer) ::shutdown(slot->fd.get(), SHUT_RDWR);
        busy = busy || slot->in_transfer;
      }
    }
    if (!busy) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (auto& slot : slots_) {
    if (!slot->done) ::shutdown(slot->fd.get(), SHUT_RDWR);
  }
  for (auto& slot : slots_) slot->thread.join();
  slots_.clear();
}

}  // namespace ftx::server
