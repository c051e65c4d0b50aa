// SPDX-License-Identifier: MIT
// `ftx serve`: options, signals, and the server's exit code.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <functional>
#include <iostream>
#include <system_error>
#include <thread>

#include <cxxopts.hpp>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/token.h"
#include "digest/digest.h"
#include "net/address.h"
#include "proto/limits.h"
#include "server/server.h"
#include "util/units.h"

namespace ftx::cli {
namespace {

std::atomic<ftx::server::Server*> g_server{nullptr};

extern "C" void on_stop_signal(int) {
  if (auto* s = g_server.load()) s->request_stop();
}

extern "C" void on_reopen_signal(int) {
  if (auto* s = g_server.load()) s->request_log_reopen();
}

cxxopts::Options serve_options() {
  cxxopts::Options o("ftx serve", "Receive files (and chat) over TCP; save them into a directory.");
  o.custom_help("[OPTIONS]");
  o.add_options()("host", "listen on this address only (default: every address, IPv4 and IPv6)",
                  cxxopts::value<std::string>(),
                  "ADDR")("p,port", "TCP port", cxxopts::value<std::string>()->default_value("9000"), "N")(
      "d,dir", "save files into DIR (created if missing)",
      cxxopts::value<std::string>()->default_value("./ftx-inbox"),
      "DIR")("log", "JSON Lines transfer log; - for stdout (default: DIR/.ftx/transfers.jsonl)",
             cxxopts::value<std::string>(),
             "FILE")("max-clients", "clients served at once; the next one gets ERROR busy",
                     cxxopts::value<std::string>()->default_value("64"),
                     "N")("max-chat",
                          "chat members at once, silent text clients too; the next one gets busy (default: "
                          "max-clients less a quarter)",
                          cxxopts::value<std::string>(), "N")(
      "max-per-address", "connections from one address at once; the next one gets busy (0: no limit)",
      cxxopts::value<std::string>()->default_value("16"),
      "N")("max-size", "largest file accepted, with K/M/G/T suffixes (default: no limit)",
           cxxopts::value<std::string>(),
           "SIZE")("overwrite", "when a name is taken: rename (a (1).txt), replace or refuse",
                   cxxopts::value<std::string>()->default_value("rename"), "POLICY")(
      "idle-timeout", "close a client silent this long; also bounds the wait for HELLO",
      cxxopts::value<std::string>()->default_value("60"),
      "SECONDS")("partial-ttl", "remove unfinished uploads untouched this long (30m, 24h, 7d)",
                 cxxopts::value<std::string>()->default_value("24h"), "AGE")(
      "partial-max-bytes",
      "unfinished uploads kept for resuming hold at most this much, all together (SIZE, N% of the disk, 0: "
      "no limit); the oldest are removed first",
      cxxopts::value<std::string>()->default_value("25%"), "SIZE")(
      "partial-max-files", "at most this many unfinished uploads are kept, all together (0: no limit)",
      cxxopts::value<std::string>()->default_value("256"),
      "N")("partial-peer-bytes", "the same bound for the uploads of one peer address",
           cxxopts::value<std::string>()->default_value("10%"),
           "SIZE")("partial-peer-files", "the same bound for the uploads of one peer address",
                   cxxopts::value<std::string>()->default_value("16"),
                   "N")("hash", "digest every file is verified with: xxh128 or sha256",
                        cxxopts::value<std::string>()->default_value("xxh128"),
                        "ALGO")("no-fsync",
                                "say SAVED once the file is in the page cache, without fsync: faster, but a "
                                "crash may lose files already confirmed")(
      "log-chat", "also log the text of chat messages (joins and leaves are always logged)")(
      "token", "clients must present this shared secret (default: $FTX_TOKEN, which stays out of ps)",
      cxxopts::value<std::string>(),
      "SECRET")("allow", "accept only peers in this range (repeatable; IPv4 or IPv6, e.g. 192.168.1.0/24)",
                cxxopts::value<std::vector<std::string>>(),
                "CIDR")("deny", "refuse peers in this range (repeatable; checked before --allow)",
                        cxxopts::value<std::vector<std::string>>(),
                        "CIDR")("q,quiet", "print only warnings on the console")("h,help", "show this help");
  return o;
}

// Lines typed at the server's console (or piped to it) go to every chat client as from
// "server". Ends with stdin or at stop; a server in the background or with stdin closed
// just never speaks.
void relay_operator_lines(std::stop_token stop, server::Server& server) {
  std::string pending;
  char buf[4096];
  auto flush_lines = [&] {
    size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) server.say(line.substr(0, proto::kMaxMessage));
    }
    if (pending.size() > proto::kMaxMessage) {
      server.say(pending.substr(0, proto::kMaxMessage));
      pending.clear();
    }
  };
  while (!stop.stop_requested()) {
    pollfd pfd{STDIN_FILENO, POLLIN, 0};
    const int n = ::poll(&pfd, 1, 200);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;
    if (n == 0) continue;
    const ssize_t got = ::read(STDIN_FILENO, buf, sizeof buf);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) break;  // end of input, or EIO in the background
    pending.append(buf, static_cast<size_t>(got));
    flush_lines();
  }
  pending += '\n';
  if (pending.size() > 1) flush_lines();
}

int usage_error(const std::string& message) { return cli::usage_error("serve", message); }

// "500M", "2G", "0" (no bound) or "25%" (of the filesystem holding DIR).
std::optional<server::SizeBound> parse_size_bound(const std::string& text) {
  if (text.ends_with('%')) {
    const std::string_view digits = std::string_view(text).substr(0, text.size() - 1);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos)
      return std::nullopt;
    const auto percent = parse_size(digits);
    if (!percent || *percent < 1 || *percent > 100) return std::nullopt;
    return server::SizeBound{0, static_cast<unsigned>(*percent)};
  }
  const auto bytes = parse_size(text);
  if (!bytes) return std::nullopt;
  return server::SizeBound{*bytes, 0};
}

}  // namespace

int serve_main(int argc, char** argv) {
  cxxopts::Options options = serve_options();
  server::ServerConfig config;
  try {
    const auto args = options.parse(argc, argv);
    if (args.count("help")) {
      std::cout << options.help() << std::endl;
      return kExitOk;
    }
    if (!args.unmatched().empty())
      return usage_error("unexpected argument '" + args.unmatched().front() + "'");
    if (args.count("host")) config.host = args["host"].as<std::string>();
    const auto port = net::parse_port(args["port"].as<std::string>(), true);
    if (!port) return usage_error("--port must be a number from 0 to 65535");
    config.port = *port;
    config.dir = args["dir"].as<std::string>();
    if (args.count("log")) config.log_path = args["log"].as<std::string>();
    const auto max_clients = parse_size(args["max-clients"].as<std::string>());
    if (!max_clients || *max_clients < 1 || *max_clients > 100000) {
      return usage_error("--max-clients must be a number from 1 to 100000");
    }
    config.max_clients = static_cast<int>(*max_clients);
    if (args.count("max-chat")) {
      const auto max_chat = parse_size(args["max-chat"].as<std::string>());
      if (!max_chat || *max_chat < 1 || *max_chat > *max_clients) {
        return usage_error("--max-chat must be a number from 1 to --max-clients");
      }
      config.max_chat = static_cast<int>(*max_chat);
    }
    const auto per_address = parse_size(args["max-per-address"].as<std::string>());
    if (!per_address || *per_address > 100000) {
      return usage_error("--max-per-address must be a number from 0 (no limit) to 100000");
    }
    config.max_per_address = static_cast<int>(*per_address);
    if (args.count("max-size")) {
      const auto max_size = parse_size(args["max-size"].as<std::string>());
      if (!max_size || *max_size == 0) return usage_error("--max-size must be a size like 500M or 2G");
      config.max_size = *max_size;
    }
    const auto policy = server::parse_overwrite(args["overwrite"].as<std::string>());
    if (!policy) return usage_error("--overwrite must be rename, replace or refuse");
    config.overwrite = *policy;
    const auto idle = parse_timeout(args["idle-timeout"].as<std::string>());
    if (!idle) return usage_error("--idle-timeout must be " + std::string(kTimeoutRange));
    config.idle_timeout = *idle;
    const auto ttl = parse_duration_seconds(args["partial-ttl"].as<std::string>());
    if (!ttl || *ttl < 1 || *ttl > 365 * 86400)
      return usage_error("--partial-ttl must be 1s to 365d, like 30m, 24h or 7d");
    config.partial_ttl = std::chrono::seconds(*ttl);
    for (auto [option, bound] : {std::pair{"partial-max-bytes", &config.partial_limits.total_bytes},
                                 std::pair{"partial-peer-bytes", &config.partial_limits.peer_bytes}}) {
      const auto parsed = parse_size_bound(args[option].as<std::string>());
      if (!parsed)
        return usage_error("--" + std::string(option) + " must be a size like 2G, a share like 25%, or 0");
      *bound = *parsed;
    }
    for (auto [option, files] : {std::pair{"partial-max-files", &config.partial_limits.total_files},
                                 std::pair{"partial-peer-files", &config.partial_limits.peer_files}}) {
      const auto parsed = parse_size(args[option].as<std::string>());
      if (!parsed || *parsed > 1000000)
        return usage_error("--" + std::string(option) + " must be a number from 0 to 1000000");
      *files = static_cast<size_t>(*parsed);
    }
    const auto algo = digest::parse_algo(args["hash"].as<std::string>());
    if (!algo) return usage_error("--hash must be xxh128 or sha256");
    config.hash = *algo;
    config.quiet = args.count("quiet") > 0;
    config.log_chat = args.count("log-chat") > 0;
    config.fsync = args.count("no-fsync") == 0;
    config.token =
        token_from(args.count("token") ? std::optional(args["token"].as<std::string>()) : std::nullopt);
    if (config.token.size() > proto::kMaxToken) return usage_error("--token is longer than 1024 bytes");
    for (const char* rule : {"allow", "deny"}) {
      if (!args.count(rule)) continue;
      for (const std::string& text : args[rule].as<std::vector<std::string>>()) {
        const auto cidr = net::Cidr::parse(text);
        if (!cidr)
          return usage_error("--" + std::string(rule) + " '" + text +
                             "' is not an address or ADDRESS/PREFIX");
        (std::string_view(rule) == "allow" ? config.access.allow : config.access.deny).push_back(*cidr);
      }
    }
  } catch (const cxxopts::exceptions::exception& e) {
    return usage_error(e.what());
  }

  std::unique_ptr<server::Server> server;
  try {
    server = std::make_unique<server::Server>(config);
  } catch (const net::ListenError& e) {
    std::fprintf(stderr, "ftx serve: %s\n", e.what());
    if (e.code() == std::errc::address_in_use) {
      std::fprintf(stderr, "ftx serve: another program uses port %u; pick another with --port\n",
                   static_cast<unsigned>(config.port));
    }
    return kExitNetwork;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ftx serve: %s\n", e.what());
    return kExitFailed;
  }
  g_server = server.get();
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // SIGHUP reopens the log: logrotate renames it, then signals.
  struct sigaction hup {};
  hup.sa_handler = on_reopen_signal;
  sigemptyset(&hup.sa_mask);
  hup.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &hup, nullptr);
  // In the background a read from the terminal would stop the whole process; ignored,
  // it fails with EIO and the operator input simply ends.
  signal(SIGTTIN, SIG_IGN);
  std::jthread operator_input(relay_operator_lines, std::ref(*server));
  int code = kExitOk;
  try {
    server->run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ftx serve: %s\n", e.what());
    code = kExitFailed;
  }
  operator_input.request_stop();
  operator_input.join();
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  g_server = nullptr;
  return code;
}

}  // namespace ftx::cli
