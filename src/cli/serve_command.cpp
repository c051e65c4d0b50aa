// SPDX-License-Identifier: MIT
// `ftx serve`: options, signals, and the server's exit code.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <system_error>
#include <thread>

#include <cxxopts.hpp>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/token.h"
#include "client/line_source.h"
#include "digest/digest.h"
#include "net/address.h"
#include "proto/limits.h"
#include "server/server.h"
#include "util/thread_name.h"
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

}  // namespace

cxxopts::Options serve_options() {
  cxxopts::Options o("ftx serve", "Receive files (and chat) over TCP; save them into a directory.");
  o.custom_help("[OPTIONS]");
  // clang-format off
  o.add_options()
      ("host", "listen on this address only (default: every address, IPv4 and IPv6)",
       cxxopts::value<std::string>(), "ADDR")
      ("p,port", "TCP port", cxxopts::value<std::string>()->default_value("9000"), "N")
      ("d,dir", "save files into DIR (created if missing)", cxxopts::value<std::string>()->default_value("./ftx-inbox"),
       "DIR")
      ("log", "JSON Lines transfer log; - for stdout (default: DIR/.ftx/transfers.jsonl)",
       cxxopts::value<std::string>(), "FILE")
      ("max-clients", "clients served at once; the next one gets ERROR busy",
       cxxopts::value<std::string>()->default_value("64"), "N")
      ("max-chat", "chat members at once, silent text clients too; the next one gets busy (default: "
                   "max-clients less a quarter)", cxxopts::value<std::string>(), "N")
      ("max-per-address", "connections from one address at once; the next one gets busy (0: no limit)",
       cxxopts::value<std::string>()->default_value("16"), "N")
      ("max-size", "largest file accepted, with K/M/G/T suffixes (default: no limit)",
       cxxopts::value<std::string>(), "SIZE")
      ("overwrite", "when a name is taken by a different file: rename (a (1).txt), replace or refuse "
       "(the same content is kept and reported unchanged)",
       cxxopts::value<std::string>()->default_value("rename"), "POLICY")
      ("idle-timeout", "close a client silent this long; also bounds the wait for HELLO and a TLS handshake",
       cxxopts::value<std::string>()->default_value("60"), "SECONDS")
      ("partial-ttl", "remove unfinished uploads untouched this long (30m, 24h, 7d)",
       cxxopts::value<std::string>()->default_value("24h"), "AGE")
      ("partial-max-bytes", "unfinished uploads kept for resuming hold at most this much, all together (SIZE, "
                            "N% of the disk, 0: no limit); the oldest are removed first",
       cxxopts::value<std::string>()->default_value("25%"), "SIZE")
      ("partial-max-files", "at most this many unfinished uploads are kept, all together (0: no limit)",
       cxxopts::value<std::string>()->default_value("256"), "N")
      ("partial-peer-bytes", "the same bound for the uploads of one peer address",
       cxxopts::value<std::string>()->default_value("10%"), "SIZE")
      ("partial-peer-files", "the same bound for the uploads of one peer address",
       cxxopts::value<std::string>()->default_value("16"), "N")
      ("hash", "digest every file is verified with: xxh128 or sha256",
       cxxopts::value<std::string>()->default_value("xxh128"), "ALGO")
      ("no-fsync", "say SAVED once the file is in the page cache, without fsync: faster, but a crash may lose "
                   "files already confirmed")
      ("log-chat", "also log the text of chat messages (joins and leaves are always logged)")
      ("token", "clients must present this shared secret (default: $FTX_TOKEN, which stays out of ps)",
       cxxopts::value<std::string>(), "SECRET")
      ("allow", "accept only peers in this range (repeatable; IPv4 or IPv6, e.g. 192.168.1.0/24)",
       cxxopts::value<std::vector<std::string>>(), "CIDR")
      ("deny", "refuse peers in this range (repeatable; checked before --allow)",
       cxxopts::value<std::vector<std::string>>(), "CIDR")
      ("key", "the TLS private key (PEM: EC P-256, Ed25519 or RSA; made there, mode 0600, if missing) "
              "(default: DIR/.ftx/key.pem)", cxxopts::value<std::string>(), "FILE")
      ("cert", "a CA-signed certificate for the key, for TLS clients that verify one (default: "
               "self-signed; ftx clients pin the key)",
       cxxopts::value<std::string>(), "FILE")
      ("no-tls", "plain TCP only: nothing is encrypted, clients need --plain")
      ("require-tls", "refuse plain connections (nc, --plain): each is told tls_required")
      ("share", "let clients list and fetch files: DIR itself (--share), or another directory, read-only "
                "(--share=PATH); never .ftx, files still arriving or links (default: nothing is shared)",
       cxxopts::value<std::string>()->implicit_value(""), "PATH")
      ("q,quiet", "print only warnings on the console")
      ("h,help", "show this help");
  // clang-format on
  return o;
}

namespace {

int usage_error(const std::string& message) { return cli::usage_error("serve", message); }

// A count option: digits only, within [min, max].
std::optional<size_t> count_option(const cxxopts::ParseResult& args, const std::string& name, uint64_t min,
                                   uint64_t max) {
  const auto value = parse_count(args[name].as<std::string>());
  if (!value || *value < min || *value > max) return std::nullopt;
  return static_cast<size_t>(*value);
}

// The configuration the options describe, or why they are wrong.
std::optional<std::string> config_from(const cxxopts::ParseResult& args, server::ServerConfig& config) {
  if (!args.unmatched().empty()) return "unexpected argument '" + args.unmatched().front() + "'";
  if (args.count("host")) config.host = args["host"].as<std::string>();
  const auto port = net::parse_port(args["port"].as<std::string>(), true);
  if (!port) return "--port must be a number from 0 to 65535";
  config.port = *port;
  config.dir = args["dir"].as<std::string>();
  if (args.count("log")) config.log_path = args["log"].as<std::string>();
  const auto max_clients = count_option(args, "max-clients", 1, 100000);
  if (!max_clients) return "--max-clients must be a number from 1 to 100000";
  config.max_clients = static_cast<int>(*max_clients);
  if (args.count("max-chat")) {
    const auto max_chat = count_option(args, "max-chat", 1, *max_clients);
    if (!max_chat) return "--max-chat must be a number from 1 to --max-clients";
    config.max_chat = static_cast<int>(*max_chat);
  }
  const auto per_address = count_option(args, "max-per-address", 0, 100000);
  if (!per_address) return "--max-per-address must be a number from 0 (no limit) to 100000";
  config.max_per_address = static_cast<int>(*per_address);
  if (args.count("max-size")) {
    const auto max_size = parse_size(args["max-size"].as<std::string>());
    if (!max_size || *max_size == 0) return "--max-size must be a size like 500M or 2G";
    config.max_size = *max_size;
  }
  const auto policy = server::parse_overwrite(args["overwrite"].as<std::string>());
  if (!policy) return "--overwrite must be rename, replace or refuse";
  config.overwrite = *policy;
  const auto idle = parse_timeout(args["idle-timeout"].as<std::string>());
  if (!idle) return "--idle-timeout must be " + std::string(kTimeoutRange);
  config.idle_timeout = *idle;
  const auto ttl = parse_duration_seconds(args["partial-ttl"].as<std::string>());
  if (!ttl || *ttl < 1 || *ttl > 365 * 86400) return "--partial-ttl must be 1s to 365d, like 30m, 24h or 7d";
  config.partial_ttl = std::chrono::seconds(*ttl);
  for (auto [option, bound] : {std::pair{"partial-max-bytes", &config.partial_limits.total_bytes},
                               std::pair{"partial-peer-bytes", &config.partial_limits.peer_bytes}}) {
    const auto parsed = server::parse_size_bound(args[option].as<std::string>());
    if (!parsed) return "--" + std::string(option) + " must be a size like 2G, a share like 25%, or 0";
    *bound = *parsed;
  }
  for (auto [option, files] : {std::pair{"partial-max-files", &config.partial_limits.total_files},
                               std::pair{"partial-peer-files", &config.partial_limits.peer_files}}) {
    const auto parsed = count_option(args, option, 0, 1000000);
    if (!parsed) return "--" + std::string(option) + " must be a number from 0 to 1000000";
    *files = *parsed;
  }
  const auto algo = digest::parse_algo(args["hash"].as<std::string>());
  if (!algo) return "--hash must be xxh128 or sha256";
  config.hash = *algo;
  config.quiet = args.count("quiet") > 0;
  config.log_chat = args.count("log-chat") > 0;
  config.fsync = args.count("no-fsync") == 0;
  config.token =
      token_from(args.count("token") ? std::optional(args["token"].as<std::string>()) : std::nullopt);
  if (config.token.size() > proto::kMaxToken) {
    return "--token is longer than " + std::to_string(proto::kMaxToken) + " bytes";
  }
  for (const char* rule : {"allow", "deny"}) {
    if (!args.count(rule)) continue;
    for (const std::string& text : args[rule].as<std::vector<std::string>>()) {
      const auto cidr = net::Cidr::parse(text);
      if (!cidr) return "--" + std::string(rule) + " '" + text + "' is not an address or ADDRESS/PREFIX";
      (std::string_view(rule) == "allow" ? config.access.allow : config.access.deny).push_back(*cidr);
    }
  }
  if (args.count("share")) {
    config.share = true;
    config.share_dir = args["share"].as<std::string>();
    if (!config.share_dir.empty()) {
      std::error_code ec;
      if (!std::filesystem::is_directory(config.share_dir, ec)) {
        return "--share=" + config.share_dir.string() + " is not a directory";
      }
    }
  }
  config.tls = args.count("no-tls") == 0;
  config.require_tls = args.count("require-tls") > 0;
  if (args.count("key")) config.key_path = args["key"].as<std::string>();
  if (args.count("cert")) config.cert_path = args["cert"].as<std::string>();
  if (!config.tls && (config.require_tls || args.count("key") || args.count("cert"))) {
    return "--no-tls turns TLS off: it does not go with --require-tls, --key or --cert";
  }
  return std::nullopt;
}

// Lines typed at the server's console (or piped to it) go to every chat client as from
// "server". Ends with stdin or at stop; a server in the background or with stdin closed
// just never speaks.
void relay_operator_lines(std::stop_token stop, server::Server& server) {
  name_this_thread("ftx-operator");
  client::FdLines input(STDIN_FILENO, proto::kMaxMessage);
  while (auto line = input.next([&] { return stop.stop_requested(); })) {
    if (!line->empty() && line->back() == '\r') line->pop_back();
    if (line->size() > proto::kMaxMessage) line->resize(proto::kMaxMessage);  // a long line is cut, not lost
    if (!line->empty()) server.say(*line);
  }
}

// SIGINT and SIGTERM stop the server (transfers in flight get the grace period); SIGHUP
// reopens the log (logrotate renames it, then signals). Restored when the server is gone.
class ServerSignals {
 public:
  explicit ServerSignals(server::Server& server) {
    g_server = &server;
    handle(SIGINT, on_stop_signal, 0);
    handle(SIGTERM, on_stop_signal, 0);
    handle(SIGHUP, on_reopen_signal, SA_RESTART);
    // In the background a read from the terminal would stop the whole process; ignored,
    // it fails with EIO and the operator input simply ends.
    signal(SIGTTIN, SIG_IGN);
  }
  ~ServerSignals() {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    g_server = nullptr;
  }
  ServerSignals(const ServerSignals&) = delete;
  ServerSignals& operator=(const ServerSignals&) = delete;

 private:
  static void handle(int sig, void (*handler)(int), int flags) {
    struct sigaction sa {};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = flags;
    sigaction(sig, &sa, nullptr);
  }
};

}  // namespace

int serve_main(int argc, char** argv) {
  cxxopts::Options options = serve_options();
  server::ServerConfig config;
  try {
    const auto args = options.parse(argc, argv);
    if (args.count("help")) {
      std::cout << help_text(options) << std::endl;
      return kExitOk;
    }
    if (auto wrong = config_from(args, config)) {
      // "--share DIR" leaves DIR over: --share's own value only follows an '='.
      for (int i = 1; i + 1 < argc; ++i) {
        if (std::string_view(argv[i]) == "--share" && !args.unmatched().empty() &&
            args.unmatched().front() == argv[i + 1]) {
          *wrong += " (a directory to share goes after '=': --share=" + std::string(argv[i + 1]) + ")";
        }
      }
      return usage_error(*wrong);
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
  const ServerSignals signals(*server);
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
  return code;
}

}  // namespace ftx::cli
