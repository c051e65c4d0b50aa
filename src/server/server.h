// SPDX-License-Identifier: MIT
// `ftx serve`: the accept loop and a thread per client.
#pragma once

#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <string>
#include <thread>

#include "net/socket.h"
#include "net/tls.h"
#include "server/access.h"
#include "server/chat_hub.h"
#include "server/config.h"
#include "server/console.h"
#include "server/inbox.h"
#include "server/transfer_log.h"

namespace ftx::server {

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

  /// The operator speaks: text goes to every chat client as from "server".
  void say(const std::string& text);

  /// The fd request_stop() writes to, for a signal handler.
  int wake_fd() const { return wake_.get(); }

 private:
  struct Slot {
    net::UniqueFd fd;
    std::string peer;
    std::atomic<bool> done{false};
    std::atomic<bool> in_transfer{false};
    bool refusing = false;  ///< only turning the client away as busy
    std::jthread thread;    ///< last member: joined before the others are destroyed
  };

  void accept_ready();
  void start_slot(net::UniqueFd fd, bool refuse_busy);
  void reap_finished();
  void shut_down_sessions();
  size_t active_sessions() const;

  ServerConfig config_;
  Inbox inbox_;
  std::unique_ptr<net::TlsServer> tls_;  ///< null with --no-tls
  TransferLog log_;
  Console console_;
  ChatHub hub_;
  AuthThrottle throttle_;
  net::Listener listener_;
  net::UniqueFd wake_;
  std::list<std::unique_ptr<Slot>> slots_;  ///< touched only by the thread in run()
  /// After accept fails for want of descriptors or memory, wait before trying again
  /// (sooner when a session ends and frees one).
  std::chrono::steady_clock::time_point accept_paused_until_{};
};

}  // namespace ftx::server
