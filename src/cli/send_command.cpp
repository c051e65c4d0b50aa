// SPDX-License-Identifier: MIT
// `ftx send`: options, what the user sees, and the exit code.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/outcome.h"
#include "cli/token.h"
#include "client/identity.h"
#include "client/progress.h"
#include "client/sender.h"
#include "net/address.h"
#include "util/text.h"
#include "util/units.h"

namespace ftx::cli {
namespace {

cxxopts::Options send_options() {
  cxxopts::Options o("ftx send", "Upload files to an ftx server and verify each one end to end.");
  o.custom_help("HOST:PORT PATH... [OPTIONS]");
  o.positional_help("");
  o.add_options()
      ("as", "save a single file under NAME on the server", cxxopts::value<std::string>(), "NAME")
      ("name", "client name the server logs (default: $USER@hostname)", cxxopts::value<std::string>(), "NICK")
      ("token", "the server's shared token (default: $FTX_TOKEN, which stays out of ps)", cxxopts::value<std::string>(), "SECRET")
      ("json", "print one JSON object per file on stdout instead of a line")
      ("no-progress", "no progress bar (it is shown only when stderr is a terminal)")
      ("connect-timeout", "give up connecting after SECONDS", cxxopts::value<std::string>()->default_value("10"), "SECONDS")
      ("timeout", "give up when the server is silent for SECONDS", cxxopts::value<std::string>()->default_value("60"), "SECONDS")
      ("h,help", "show this help")
      ("args", "HOST:PORT PATH...", cxxopts::value<std::vector<std::string>>());
  o.parse_positional({"args"});
  return o;
}

int usage_error(const std::string& message) { return cli::usage_error("send", message); }

class TerminalObserver : public client::SendObserver {
 public:
  TerminalObserver(bool json, bool progress) : json_(json), bar_(progress) {}

  void file_started(const std::string& name, uint64_t size) override { bar_.start(name, size); }
  void file_progress(uint64_t done) override { bar_.update(done); }
  void file_done(const client::FileOutcome& out) override {
    bar_.finish();
    if (json_) {
      std::cout << format_outcome_json(out) << std::endl;
      return;
    }
    if (out.status == client::FileStatus::Saved) {
      std::cout << "saved " << printable(out.path);
      if (out.saved_as != out.name) std::cout << " as " << printable(out.saved_as);
      std::cout << " (" << format_bytes(out.bytes) << ", " << format_rate(out.bytes, out.seconds)
                << ", " << out.digest << ")" << std::endl;
    } else {
      std::cerr << "ftx send: " << printable(out.path) << ": " << printable(out.error) << std::endl;
    }
  }

 private:
  bool json_;
  client::ProgressBar bar_;
};

}  // namespace

int send_main(int argc, char** argv) {
  cxxopts::Options options = send_options();
  client::SendOptions send;
  bool json = false;
  bool progress = true;
  try {
    const auto args = options.parse(argc, argv);
    if (args.count("help")) {
      std::cout << options.help() << std::endl;
      return kExitOk;
    }
    std::vector<std::string> positional;
    if (args.count("args")) positional = args["args"].as<std::vector<std::string>>();
    if (positional.size() < 2) return usage_error("need HOST:PORT and at least one PATH");
    std::string why;
    const auto target = net::parse_host_port(positional.front(), &why);
    if (!target) return usage_error("'" + positional.front() + "': " + why);
    send.server = *target;
    send.paths.assign(positional.begin() + 1, positional.end());
    if (args.count("as")) {
      if (send.paths.size() != 1) return usage_error("--as names a single file");
      send.as_name = args["as"].as<std::string>();
    }
    send.token = token_from(args.count("token") ? std::optional(args["token"].as<std::string>()) : std::nullopt);
    send.client_name = args.count("name") ? args["name"].as<std::string>() : client::default_client_name();
    const auto connect_timeout = parse_size(args["connect-timeout"].as<std::string>());
    const auto io_timeout = parse_size(args["timeout"].as<std::string>());
    if (!connect_timeout || *connect_timeout < 1 || *connect_timeout > 86400 || !io_timeout ||
        *io_timeout < 1 || *io_timeout > 86400) {
      return usage_error("timeouts must be 1 to 86400 seconds");
    }
    send.connect_timeout = std::chrono::seconds(*connect_timeout);
    send.io_timeout = std::chrono::seconds(*io_timeout);
    json = args.count("json") > 0;
    progress = args.count("no-progress") == 0 && ::isatty(STDERR_FILENO);
  } catch (const cxxopts::exceptions::exception& e) {
    return usage_error(e.what());
  }

  TerminalObserver observer(json, progress);
  const client::SendReport report = client::send_files(send, observer);
  if (report.connection_failed) {
    std::fprintf(stderr, "ftx send: %s\n", printable(report.connection_error).c_str());
  }
  return send_exit_code(report);
}

}  // namespace ftx::cli
