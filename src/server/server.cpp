// SPDX-License-Identifier: MIT
// The accept loop: a thread per client, bounded, and a shutdown that joins them all.
#include "server/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "net/address.h"
#include "proto/codec.h"
#include "proto/text.h"
#include "server/reach.h"
#include "server/session.h"
#include "util/clock.h"
#include "util/sys_error.h"
#include "wire/channel.h"

namespace ftx::server {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kPollMs = 200;
// Turning a client away takes a thread for at most a few seconds; past this many at once,
// extra clients are closed without a word.
constexpr size_t kMaxRefusing = 16;
constexpr std::chrono::milliseconds kRefuseWait{2000};

TransferLog open_log(const ServerConfig& config, const Inbox& inbox) {
  if (config.log_path.empty()) {
    return TransferLog::open_at(inbox.meta_fd(), "transfers.jsonl",
                                (config.dir / ".ftx" / "transfers.jsonl").string());
  }
  return TransferLog::open(config.log_path);
}

// Tells a client over --max-clients why it is turned away, in its own language: an ERROR
// frame after its HELLO, or an ERROR line for a text client. Reading first means closing
// does not reset the connection before the client reads the answer.
void refuse_busy(int fd, const std::string& peer, int max_clients) {
  const std::string message =
      "the server is serving its maximum of " + std::to_string(max_clients) + " clients; try again later";
  try {
    net::set_io_timeout(fd, kRefuseWait);
    wire::Channel channel(fd, peer);
    if (channel.wait_readable(std::chrono::milliseconds(300)) &&
        channel.peek_byte() == static_cast<int>(proto::FrameType::Hello)) {
      try {
        channel.receive();
      } catch (const std::exception&) {
      }
      channel.send(proto::Error{proto::ErrorCode::Busy, message});
    } else {
      const std::string line = proto::text_error_line(proto::ErrorCode::Busy, message);
      net::send_all(fd, std::span(reinterpret_cast<const uint8_t*>(line.data()), line.size()), peer);
    }
  } catch (const std::exception&) {
  }
  net::drain_and_shutdown(fd, kRefuseWait);
}

// The server's key lives with its other private state, in DIR/.ftx, unless --key says where.
std::unique_ptr<net::TlsServer> open_tls(const ServerConfig& config) {
  if (!config.tls) return nullptr;
  const auto key = config.key_path.empty() ? config.dir / ".ftx" / "key.pem" : config.key_path;
  return std::make_unique<net::TlsServer>(key, config.cert_path);
}

}  // namespace

Server::Server(ServerConfig config)
    : config_(std::move(config)),
      inbox_(config_.dir, config_.partial_ttl, config_.fsync),
      tls_(open_tls(config_)),
      log_(open_log(config_, inbox_)),
      console_(config_.quiet),
      hub_(console_, log_, ChatHubOptions{config_.log_chat, config_.chat_stall_limit}),
      listener_(net::listen_tcp(config_.host, config_.port)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!wake_) throw_sys("eventfd");
}

Server::~Server() { shut_down_sessions(); }

void Server::say(const std::string& text) { hub_.say("server", text, nullptr); }

void Server::request_stop() noexcept {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

size_t Server::active_sessions() const {
  size_t n = 0;
  for (const auto& slot : slots_) {
    if (!slot->done && !slot->refusing) ++n;
  }
  return n;
}

void Server::start_slot(net::UniqueFd fd, bool refuse) {
  auto slot = std::make_unique<Slot>();
  slot->peer = net::peer_name(fd.get());
  slot->fd = std::move(fd);
  slot->refusing = refuse;
  Slot* s = slot.get();
  if (refuse) {
    console_.print(s->peer + " refused: busy (" + std::to_string(config_.max_clients) + " clients)");
    log_.write(disconnect_event(std::chrono::system_clock::now(), s->peer, "-", 0, 0, 0,
                                proto::ErrorCode::Busy, "too many clients"));
    s->thread = std::jthread([s, max = config_.max_clients](std::stop_token) {
      refuse_busy(s->fd.get(), s->peer, max);
      s->done = true;
    });
  } else {
    s->thread = std::jthread([s, ctx = SessionContext{config_, inbox_, log_, console_, hub_, throttle_,
                                                      tls_.get()}](std::stop_token stop) {
      Session session(ctx, s->fd.get(), s->peer, s->in_transfer);
      session.run(stop);
      s->done = true;
    });
  }
  slots_.push_back(std::move(slot));
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
    // --allow/--deny before a single byte is read, as ncat does.
    if (auto why = config_.access.refusal(reinterpret_cast<sockaddr*>(&addr), addr_len)) {
      const std::string peer = net::format_sockaddr(reinterpret_cast<sockaddr*>(&addr), addr_len);
      console_.print(peer + " refused: " + *why);
      log_.write({{"ts", rfc3339_utc(std::chrono::system_clock::now())},
                  {"event", "refused"},
                  {"peer", peer},
                  {"reason", *why}});
      continue;
    }
    reap_finished();
    if (active_sessions() < static_cast<size_t>(config_.max_clients)) {
      start_slot(std::move(client), false);
    } else {
      size_t refusing = 0;
      for (const auto& slot : slots_) refusing += (slot->refusing && !slot->done) ? 1 : 0;
      if (refusing < kMaxRefusing) start_slot(std::move(client), true);
    }
  }
}

void Server::reap_finished() {
  for (auto it = slots_.begin(); it != slots_.end();) {
    if ((*it)->done) {
      (*it)->thread.join();
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
  if (!console_.quiet()) {
    for (const std::string& line : reach_lines(listener_.address, !config_.host, pin)) console_.print(line);
  }
  while (true) {
    const bool paused = Clock::now() < accept_paused_until_;
    pollfd fds[2] = {{wake_.get(), POLLIN, 0},
                     {listener_.fd.get(), static_cast<short>(paused ? 0 : POLLIN), 0}};
    const int n = ::poll(fds, 2, kPollMs);
    if (n < 0 && errno != EINTR) throw_sys("poll");
    if (n > 0 && (fds[0].revents & POLLIN)) break;
    if (n > 0 && (fds[1].revents & POLLIN)) accept_ready();
    reap_finished();
  }
  console_.print("stopping: no new connections; waiting for transfers in flight");
  listener_.fd.reset();
  shut_down_sessions();
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
