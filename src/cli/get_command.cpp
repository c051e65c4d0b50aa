// SPDX-License-Identifier: MIT
// `ftx get` and `ftx ls`: files from a server started with --share.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include "cli/client_options.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/terminal_observer.h"
#include "cli/token.h"
#include "client/fetch.h"
#include "client/identity.h"
#include "client/progress.h"
#include "digest/digest.h"
#include "net/address.h"
#include "util/clock.h"
#include "util/text.h"
#include "util/units.h"

namespace ftx::cli {
namespace {

// The options ftx get and ftx ls share with ftx send.
void add_connection_options(cxxopts::Options& o) {
  // clang-format off
  o.add_options()
      ("name", "client name the server logs (default: $USER@hostname)", cxxopts::value<std::string>(), "NICK")
      ("token", "the server's shared token (default: $FTX_TOKEN, which stays out of ps)",
       cxxopts::value<std::string>(), "SECRET")
      ("json", "print one JSON object per file on stdout instead of a line")
      ("connect-timeout", "give up connecting after SECONDS", cxxopts::value<std::string>()->default_value("10"),
       "SECONDS")
      ("timeout", "give up when the server is silent for SECONDS", cxxopts::value<std::string>()->default_value("60"),
       "SECONDS");
  // clang-format on
  add_tls_options(o);
  o.add_options()("h,help", "show this help");  // last in the list
}

// HOST:PORT, the token, the name, timeouts and TLS; why they are wrong, when they are.
std::optional<std::string> connection_from(const cxxopts::ParseResult& args, const std::string& command,
                                           const std::string& host_port, client::FetchOptions& out) {
  std::string why;
  const auto target = net::parse_host_port(host_port, &why);
  if (!target) return "'" + host_port + "': " + why;
  out.server = *target;
  out.token = token_from(args.count("token") ? std::optional(args["token"].as<std::string>()) : std::nullopt);
  if (auto wrong = tls_from(args, command, out.tls)) return wrong;
  warn_token_in_clear(command, out.tls, out.token);
  out.client_name = args.count("name") ? args["name"].as<std::string>() : client::default_client_name();
  const auto connect_timeout = parse_timeout(args["connect-timeout"].as<std::string>());
  if (!connect_timeout) return "--connect-timeout must be " + std::string(kTimeoutRange);
  const auto io_timeout = parse_timeout(args["timeout"].as<std::string>());
  if (!io_timeout) return "--timeout must be " + std::string(kTimeoutRange);
  out.connect_timeout = *connect_timeout;
  out.io_timeout = *io_timeout;
  return std::nullopt;
}

std::string status_name(client::FetchStatus s) {
  switch (s) {
    case client::FetchStatus::Fetched:
      return "ok";
    case client::FetchStatus::Unchanged:
      return "unchanged";
    default:
      return "error";
  }
}

class GetObserver : public TerminalObserver<client::FetchObserver> {
 public:
  GetObserver(bool json, bool progress, size_t files) : TerminalObserver("get", progress), json_(json) {
    bar_.state().job_started(files, 0);
  }

  void file_done(const client::FetchOutcome& out) override {
    bar_.state().file_done(out.name, out.bytes, false);
    bar_.finish();
    if (json_) {
      nlohmann::ordered_json j = {
          {"name", out.name},
          {"path", out.path},
          {"bytes", out.bytes},
          {"resumed_from", out.resumed_from},
          {"digest", out.digest},
          {"duration_ms", static_cast<int64_t>(out.seconds * 1000.0 + 0.5)},
          {"status", status_name(out.status)},
      };
      if (status_name(out.status) == "error") {
        j["error"] = {
            {"code", out.code ? std::string(proto::error_code_name(*out.code))
                              : (out.status == client::FetchStatus::LocalError ? "local" : "not_fetched")},
            {"message", out.error}};
      }
      // With -o - the file's bytes are on stdout: the JSON goes to stderr.
      (out.path == "-" ? std::cerr : std::cout)
          << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << std::endl;
      return;
    }
    switch (out.status) {
      case client::FetchStatus::Fetched: {
        std::string line = "fetched " + printable(out.name);
        if (out.path != "-" && out.path != out.name) line += " as " + printable(out.path);
        line += " (" + format_bytes(out.bytes);
        if (out.resumed_from > 0) line += ", resumed after " + format_bytes(out.resumed_from);
        line += ", " + format_rate(out.bytes - out.resumed_from, out.seconds) + ", " + out.digest + ")";
        (out.path == "-" ? std::cerr : std::cout) << line << std::endl;
        break;
      }
      case client::FetchStatus::Unchanged:
        std::cout << "unchanged " << printable(out.path) << " (" << out.digest << ")" << std::endl;
        break;
      default: {
        if (left_by_connection(out.status == client::FetchStatus::NotFetched, out.error)) {
          std::cerr << "ftx get: " << printable(out.name) << ": not fetched" << std::endl;  // why: just said
          break;
        }
        std::string what = out.code ? std::string(proto::error_code_name(*out.code)) + ": " : "";
        std::cerr << "ftx get: " << printable(out.name) << ": " << what << printable(out.error) << std::endl;
      }
    }
  }

 private:
  bool json_;
};

// 0: every file fetched or unchanged; 5: the key; 3: the network; 1: the server refused a
// file (or failed its digest, or sent what was not asked for); 4: a local file was in the
// way or could not be written.
int get_exit_code(const client::FetchReport& report) {
  if (report.untrusted) return kExitUntrusted;
  if (report.connection_failed && !report.connection_code) return kExitNetwork;
  bool refused = report.connection_code.has_value();
  bool local = false;
  for (const auto& f : report.files) {
    refused = refused || f.status == client::FetchStatus::Refused;
    local = local || f.status == client::FetchStatus::LocalError;
  }
  if (refused) return kExitFailed;
  if (local) return kExitLocalFile;
  return kExitOk;
}

}  // namespace

cxxopts::Options get_options() {
  cxxopts::Options o("ftx get", "Fetch files from an ftx server that shares them (ftx serve --share).");
  o.custom_help("HOST:PORT NAME... [OPTIONS]");
  o.positional_help("");
  // clang-format off
  o.add_options()
      ("o,output", "write into DIR (created if missing; default: the current directory), or - for stdout "
                   "(one NAME only)", cxxopts::value<std::string>(), "DIR")
      ("overwrite", "a local file with other content: refuse or replace it",
       cxxopts::value<std::string>()->default_value("refuse"), "POLICY")
      ("retries", "reconnect and resume this many times after the connection fails mid-job",
       cxxopts::value<std::string>()->default_value("3"), "N")
      ("no-progress", "no progress bar (it is shown only when stderr is a terminal)")
      ("args", "HOST:PORT NAME...", cxxopts::value<std::vector<std::string>>());
  // clang-format on
  add_connection_options(o);
  o.parse_positional({"args"});
  return o;
}

cxxopts::Options ls_options() {
  cxxopts::Options o("ftx ls", "List the files an ftx server shares (ftx serve --share).");
  o.custom_help("HOST:PORT [PATH] [OPTIONS]");
  o.positional_help("");
  o.add_options()("args", "HOST:PORT [PATH]", cxxopts::value<std::vector<std::string>>());
  add_connection_options(o);
  o.parse_positional({"args"});
  return o;
}

int get_main(int argc, char** argv) {
  cxxopts::Options options = get_options();
  client::FetchOptions fetch;
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
    if (positional.size() < 2) return usage_error("get", "need HOST:PORT and at least one NAME");
    if (auto wrong = connection_from(args, "get", positional.front(), fetch))
      return usage_error("get", *wrong);
    fetch.names.assign(positional.begin() + 1, positional.end());
    for (const std::string& name : fetch.names) {
      if (name.empty() || name == "/" || name == ".") return usage_error("get", "name a file to fetch");
    }
    if (args.count("output")) {
      const std::string out = args["output"].as<std::string>();
      if (out == "-") {
        if (fetch.names.size() != 1)
          return usage_error("get", "-o - writes one file to standard output: name one");
        fetch.to_stdout = true;
      } else {
        fetch.out_dir = out;
      }
    }
    const std::string policy = args["overwrite"].as<std::string>();
    if (policy != "refuse" && policy != "replace")
      return usage_error("get", "--overwrite must be refuse or replace");
    fetch.replace = policy == "replace";
    const auto retries = parse_count(args["retries"].as<std::string>());
    if (!retries || *retries > 100) return usage_error("get", "--retries must be a number from 0 to 100");
    fetch.retries = static_cast<int>(*retries);
    json = args.count("json") > 0;
    progress = args.count("no-progress") == 0 && ::isatty(STDERR_FILENO);
  } catch (const cxxopts::exceptions::exception& e) {
    return usage_error("get", e.what());
  }
  if (!fetch.to_stdout) {
    std::error_code ec;
    std::filesystem::create_directories(fetch.out_dir, ec);
    if (ec || !std::filesystem::is_directory(fetch.out_dir)) {
      print_error("get",
                  "cannot create " + fetch.out_dir.string() + ": " + (ec ? ec.message() : "not a directory"));
      return kExitLocalFile;
    }
  }
  GetObserver observer(json, progress, fetch.names.size());
  const client::FetchReport report = client::fetch_files(fetch, observer);
  return get_exit_code(report);
}

int ls_main(int argc, char** argv) {
  cxxopts::Options options = ls_options();
  client::FetchOptions fetch;
  std::string path;
  bool json = false;
  try {
    const auto args = options.parse(argc, argv);
    if (args.count("help")) {
      std::cout << help_text(options) << std::endl;
      return kExitOk;
    }
    std::vector<std::string> positional;
    if (args.count("args")) positional = args["args"].as<std::vector<std::string>>();
    if (positional.empty() || positional.size() > 2)
      return usage_error("ls", "need HOST:PORT and at most one PATH");
    if (auto wrong = connection_from(args, "ls", positional.front(), fetch)) return usage_error("ls", *wrong);
    if (positional.size() == 2) path = positional[1];
    json = args.count("json") > 0;
  } catch (const cxxopts::exceptions::exception& e) {
    return usage_error("ls", e.what());
  }
  std::vector<proto::FileEntry> entries;
  try {
    entries = client::list_files(fetch, path);
  } catch (const client::UntrustedServer& e) {
    print_error("ls", e.what());
    return kExitUntrusted;
  } catch (const client::ConnectionLost& e) {
    print_error("ls", e.what());
    return e.code() ? kExitFailed : kExitNetwork;
  }
  for (const proto::FileEntry& e : entries) {
    const bool dir = (e.flags & proto::kFlagDirectory) != 0;
    const std::string digest = dir ? "" : digest::labelled(e.algo, e.digest);
    if (json) {
      nlohmann::ordered_json j = {{"name", e.name},
                                  {"type", dir ? "directory" : "file"},
                                  {"size", e.size},
                                  {"mtime", iso8601_utc_seconds(e.mtime_ns)},
                                  {"digest", digest}};
      std::cout << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
    } else {
      std::cout << e.size << ' ' << iso8601_utc_seconds(e.mtime_ns) << ' ' << (dir ? "-" : digest) << ' '
                << printable(e.name) << (dir ? "/" : "") << '\n';
    }
  }
  std::cout.flush();
  return kExitOk;
}

}  // namespace ftx::cli
