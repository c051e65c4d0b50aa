// SPDX-License-Identifier: MIT
// `ftx send`: options, what the user sees, and the exit code.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include "cli/client_options.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/outcome.h"
#include "cli/terminal_observer.h"
#include "cli/token.h"
#include "client/identity.h"
#include "client/progress.h"
#include "client/sender.h"
#include "client/verdict.h"
#include "net/address.h"
#include "util/text.h"
#include "util/units.h"

namespace ftx::cli {

cxxopts::Options send_options() {
  cxxopts::Options o("ftx send",
                     "Upload files to an ftx server and verify each one end to end. A file whose content "
                     "the server already has under its name is reported unchanged and not sent again; "
                     "a different one follows the server's --overwrite.");
  o.custom_help("HOST:PORT PATH... [OPTIONS]   (PATH: a file, a directory, or - for stdin with --as)");
  o.positional_help("");
  // clang-format off
  o.add_options()
      ("as", "save a single file under NAME on the server", cxxopts::value<std::string>(), "NAME")
      ("name", "client name the server logs (default: $USER@hostname)", cxxopts::value<std::string>(), "NICK")
      ("token", "the server's shared token (default: $FTX_TOKEN, which stays out of ps)",
       cxxopts::value<std::string>(), "SECRET")
      ("retries", "reconnect and resume this many times after the connection fails mid-job",
       cxxopts::value<std::string>()->default_value("3"), "N")
      ("follow-symlinks", "send what symbolic links inside directories point to (default: skip them)")
      ("json", "print one JSON object per file on stdout instead of a line")
      ("no-progress", "no progress bar (it is shown only when stderr is a terminal)")
      ("connect-timeout", "give up connecting after SECONDS", cxxopts::value<std::string>()->default_value("10"),
       "SECONDS")
      ("timeout", "give up when the server is silent for SECONDS", cxxopts::value<std::string>()->default_value("60"),
       "SECONDS")
      ("args", "HOST:PORT PATH...", cxxopts::value<std::vector<std::string>>());
  // clang-format on
  add_tls_options(o);
  o.add_options()("h,help", "show this help");  // last in the list
  o.parse_positional({"args"});
  return o;
}

namespace {

int usage_error(const std::string& message) { return cli::usage_error("send", message); }

class SendTerminal : public TerminalObserver<client::SendObserver> {
 public:
  SendTerminal(bool json, bool progress) : TerminalObserver("send", progress), json_(json) {}

  void warning(const std::string& text) override {
    bar_.finish();
    std::cerr << "ftx send: " << printable(text) << std::endl;
  }

  void job_started(size_t files, uint64_t bytes) override {
    bar_.state().job_started(files, bytes);
    started_ = std::chrono::steady_clock::now();
  }

  void file_done(const client::FileOutcome& out) override {
    const bool unchanged = out.status == client::FileStatus::Unchanged;
    const bool ok = out.status == client::FileStatus::Saved || unchanged;
    bar_.state().file_done(out.name, out.bytes, out.directory);
    tally_.add(out);
    tree_ = tree_ || out.in_tree;
    const bool prints = json_ || !ok || !out.in_tree;
    if (prints) bar_.finish();  // the result line starts on a clean line
    if (json_) {
      std::cout << format_outcome_json(out) << std::endl;
    } else if (!ok && left_by_connection(out.status == client::FileStatus::NotSent, out.error)) {
      std::cerr << "ftx send: " << printable(out.path) << ": not sent" << std::endl;  // why: just said
    } else if (!ok) {
      std::cerr << "ftx send: " << client::format_failed_line(out) << std::endl;
    } else if (!out.in_tree) {
      // Files named on the command line get a line each; trees get a summary at the end.
      std::cout << (unchanged ? client::format_unchanged_line(out) : client::format_saved_line(out))
                << std::endl;
    }
    if (ok && out.changed && !json_) {
      bar_.finish();
      std::cerr << "ftx send: " << client::format_changed_line(out) << std::endl;
    }
    if (!bar_.state().finished()) bar_.tick();
  }

  // The summary of a job with a tree in it, once everything is answered.
  void summarize() {
    bar_.finish();
    if (json_ || !tree_) return;
    tally_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    std::cout << format_summary_line(tally_) << std::endl;
  }

 private:
  bool json_;
  SendTally tally_;
  bool tree_ = false;
  std::chrono::steady_clock::time_point started_;
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
      std::cout << help_text(options) << std::endl;
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
      if (send.paths.size() != 1) return usage_error("--as names a single path");
      send.as_name = args["as"].as<std::string>();
    }
    if (std::count(send.paths.begin(), send.paths.end(), "-") > 0 && !send.as_name) {
      return usage_error("standard input (-) needs a name: --as NAME");
    }
    const auto retries = parse_count(args["retries"].as<std::string>());
    if (!retries || *retries > 100) return usage_error("--retries must be a number from 0 to 100");
    send.retries = static_cast<int>(*retries);
    send.follow_symlinks = args.count("follow-symlinks") > 0;
    send.token =
        token_from(args.count("token") ? std::optional(args["token"].as<std::string>()) : std::nullopt);
    if (auto wrong = tls_from(args, "send", send.tls)) return usage_error(*wrong);
    warn_token_in_clear("send", send.tls, send.token);
    send.client_name = args.count("name") ? args["name"].as<std::string>() : client::default_client_name();
    const auto connect_timeout = parse_timeout(args["connect-timeout"].as<std::string>());
    if (!connect_timeout) return usage_error("--connect-timeout must be " + std::string(kTimeoutRange));
    const auto io_timeout = parse_timeout(args["timeout"].as<std::string>());
    if (!io_timeout) return usage_error("--timeout must be " + std::string(kTimeoutRange));
    send.connect_timeout = *connect_timeout;
    send.io_timeout = *io_timeout;
    json = args.count("json") > 0;
    progress = args.count("no-progress") == 0 && ::isatty(STDERR_FILENO);
  } catch (const cxxopts::exceptions::exception& e) {
    return usage_error(e.what());
  }

  SendTerminal observer(json, progress);
  const client::SendReport report = client::send_files(send, observer);
  observer.summarize();
  return send_exit_code(report);
}

}  // namespace ftx::cli
