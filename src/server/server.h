// SPDX-License-Identifier: MIT
// `ftx serve`: the accept loop and a thread per client.
#pragma once

#include <poll.h>

#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "net/socket.h"
#include "net/tls.h"
#include "server/access.h"
#include "server/chat_hub.h"
#include "server/config.h"
#include "server/console.h"
#include "server/inbox.h"
#include "server/shelf.h"
#include "server/transfer_log.h"

namespace ftx::server {

/// TLS clients turned away as busy: the client checks the server's key before it reads a
/// word, so the answer comes after a handshake, inside TLS. That takes a thread each: at most
/// kMax at once (with a short handshake bound); past them a TLS client is just closed.
class TlsRefusals {
 public:
  static constexpr size_t kMax = 8;

  TlsRefusals(const net::TlsServer* tls, std::chrono::milliseconds handshake)
      : tls_(tls), handshake_(handshake) {}
  /// False when the server speaks no TLS (--no-tls).
  bool enabled() const { return tls_ != nullptr; }
  /// Takes the connection (fd is moved from) and answers it on a thread of its own; false,
  /// fd untouched, when TLS is off or kMax are already at it.
  bool take(net::UniqueFd& fd, const std::string& peer, const std::string& message);
  /// Joins the threads that are done.
  void reap();
  /// Joins them all (each ends within its bounds).
  void clear() { jobs_.clear(); }

 private:
  struct Job {
    net::UniqueFd fd;
    std::atomic<bool> done{false};
    std::jthread thread;  ///< last: joined before the fd closes
  };
  const net::TlsServer* tls_;
  std::chrono::milliseconds handshake_;
  std::list<std::unique_ptr<Job>> jobs_;
};

/// Clients turned away as busy, answered without a thread: each is told in its own language
/// (an ERROR frame when its first byte is a HELLO, else an ERROR line, after a short wait for
/// that byte), then its side is half-closed and what it still sends is drained for a while,
/// so closing does not reset the connection before it reads the answer. Bounded: past kMax
/// at once, the oldest is answered at once and closed. Used only by the accept loop.
class Refusals {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMax = 256;

  /// TLS clients (a first byte 0x16) go to tls, when it takes them.
  explicit Refusals(TlsRefusals& tls) : tls_(tls) {}
  void add(net::UniqueFd fd, std::string peer, std::string message);
  /// Appends one pollfd per client, in order, for service().
  void watch(std::vector<pollfd>& fds) const;
  /// Acts on what poll said about the descriptors watch() added, and on deadlines.
  void service(std::span<const pollfd> polled);
  /// When service() must run next even if nothing happens.
  std::optional<Clock::time_point> next_deadline() const;
  size_t size() const { return pending_.size(); }
  void clear() { pending_.clear(); }

 private:
  struct Pending {
    net::UniqueFd fd;
    std::string peer;
    std::string message;
    bool answered = false;
    Clock::time_point deadline;
  };
  /// Sends the answer in the language of first_byte (-1: unknown, answered as text) and
  /// starts draining; a TLS client is handed to tls_ (its fd is then gone).
  void answer(Pending& p, int first_byte);
  /// Reads what the client sent so far; false once it closed or failed.
  static bool drain(const Pending& p);
  /// The first byte if one is waiting; -1 if none yet; nullopt if the client left.
  static std::optional<int> peek(const Pending& p);

  TlsRefusals& tls_;
  std::vector<Pending> pending_;
};

class Server {
 public:
  /// Opens DIR and the log and starts listening. Throws std::system_error.
  explicit Server(ServerConfig config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const { return listener_.port; }
  const std::string& address() const { return listener_.address; }
  const ServerConfig& config() const { return config_; }
  /// The TLS key's fingerprint clients pin; empty with --no-tls.
  std::string fingerprint() const { return tls_ ? tls_->fingerprint() : std::string(); }

  /// Accepts and serves until request_stop(); then lets transfers in flight finish for the
  /// grace period, closes the rest and joins every thread.
  void run();

  /// Async-signal-safe: may be called from a signal handler or any thread.
  void request_stop() noexcept;

  /// Async-signal-safe (SIGHUP): the accept loop reopens the log file, so a rotated log
  /// gets a fresh file; no line is lost or split.
  void request_log_reopen() noexcept;

  /// The operator speaks: text goes to every chat client as from "server".
  void say(const std::string& text);

  /// The fd request_stop() writes to, for a signal handler.
  int wake_fd() const { return wake_.get(); }

 private:
  struct Slot {
    net::UniqueFd fd;
    std::string peer;
    std::string address;  ///< the peer without its port: what --max-per-address counts
    std::atomic<bool> done{false};
    std::atomic<bool> in_transfer{false};
    std::jthread thread;  ///< last member: joined before the others are destroyed
  };

  void accept_ready();
  void start_slot(net::UniqueFd fd, std::string peer, std::string address);
  /// Turns a client away as busy (logged; on the console at most a few a second).
  void refuse(net::UniqueFd fd, const std::string& peer, const std::string& message, const std::string& why);
  /// Prints how many refusals the console did not show, once a second.
  void report_refusals(bool force);
  void reap_finished();
  void shut_down_sessions();

  ServerConfig config_;
  /// First: a port already in use fails the start before DIR or its .ftx is touched.
  net::Listener listener_;
  Inbox inbox_;
  std::unique_ptr<net::TlsServer> tls_;  ///< null with --no-tls
  std::unique_ptr<Shelf> shelf_;         ///< null without --share
  TransferLog log_;
  Console console_;
  ChatHub hub_;
  AuthThrottle throttle_;
  net::UniqueFd wake_;
  std::list<std::unique_ptr<Slot>> slots_;                          ///< touched only by the thread in run()
  std::unordered_map<std::string, int> per_address_;                ///< live slots by address; run() only
  TlsRefusals tls_refusals_{tls_.get(), config_.refuse_handshake};  ///< run() only
  Refusals refusals_{tls_refusals_};                                ///< run() only
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> reopen_requested_{false};
  /// Console lines for refusals: a few a second, then a count (run() only).
  std::chrono::steady_clock::time_point refusal_window_{};
  int refusals_shown_ = 0;
  uint64_t refusals_unshown_ = 0;
  /// After accept fails for want of descriptors or memory, wait before trying again
  /// (sooner when a session ends and frees one).
  std::chrono::steady_clock::time_point accept_paused_until_{};
};

}  // namespace ftx::server
