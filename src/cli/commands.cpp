// SPDX-License-Identifier: MIT
// Dispatch from argv[1] to a subcommand.
#include "cli/commands.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>

#include <cxxopts.hpp>

#include "cli/exit_codes.h"
#include "ftx_version.h"
#include "util/text.h"

namespace ftx::cli {
namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "ftx %s: move files and chat messages over TCP\n\n"
               "Usage: ftx COMMAND [OPTIONS]\n\nCommands:\n",
               FTX_VERSION);
  for (const Command& c : commands()) {
    std::fprintf(out, "  %-8s %.*s\n", std::string(c.name).c_str(), static_cast<int>(c.summary.size()),
                 c.summary.data());
  }
  std::fprintf(out,
               "\nOptions:\n  -h, --help     show this help\n  -V, --version  show the version\n\n"
               "Run 'ftx COMMAND --help' for a command's options; 'man ftx' for the whole story.\n");
}

}  // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"serve", "receive files into a directory (ftx serve --port 9000 --dir ./inbox)", serve_main,
       serve_options},
      {"send", "upload files to a server and verify them (ftx send HOST:PORT FILE...)", send_main,
       send_options},
      {"chat", "chat with everyone on a server; lines from a pipe work too (ftx chat HOST:PORT)", chat_main,
       chat_options},
      {"get", "fetch files a server shares, verified (ftx get HOST:PORT NAME...)", get_main, get_options},
      {"ls", "list the files a server shares (ftx ls HOST:PORT [PATH])", ls_main, ls_options},
  };
  return table;
}

int usage_error(std::string_view command, const std::string& message) {
  const std::string name(command);
  std::fprintf(stderr, "ftx %s: %s\nRun 'ftx %s --help' for the options.\n", name.c_str(), message.c_str(),
               name.c_str());
  return kExitUsage;
}

void print_error(std::string_view command, std::string_view text) {
  while (true) {
    const size_t end = text.find('\n');
    std::fprintf(stderr, "ftx %.*s: %s\n", static_cast<int>(command.size()), command.data(),
                 printable(text.substr(0, end)).c_str());
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

std::string help_text(const cxxopts::Options& options) {
  std::string text = options.help();
  // Padded to the width it had, so the descriptions stay in their column.
  for (size_t at = 0; (at = text.find("(=)]", at)) != std::string::npos;) text.replace(at, 4, "]   ");
  return text;
}

std::string command_for(std::string_view typed) {
  static constexpr std::pair<std::string_view, std::string_view> kIntents[] = {
      {"share", "'ftx serve --share' (or /share in ftx chat)"},
      {"upload", "'ftx send'"},
      {"put", "'ftx send'"},
      {"push", "'ftx send'"},
      {"download", "'ftx get'"},
      {"fetch", "'ftx get'"},
      {"pull", "'ftx get'"},
      {"receive", "'ftx serve'"},
      {"listen", "'ftx serve'"},
      {"list", "'ftx ls'"},
  };
  for (const auto& [word, command] : kIntents) {
    if (typed == word) return std::string(command);
  }
  return {};
}

std::string nearest_command(std::string_view typed) {
  std::string best;
  size_t best_distance = 3;  // farther than two edits is not a typo
  for (const Command& c : commands()) {
    const size_t d = edit_distance(typed, c.name);
    if (d < best_distance || (!typed.empty() && c.name.starts_with(typed) && best.empty())) {
      best_distance = std::min(d, best_distance);
      best = std::string(c.name);
    }
  }
  return best;
}

int main(int argc, char** argv) {
  // sendfile(2) has no MSG_NOSIGNAL: a peer that vanishes must be an error, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    print_usage(stderr);
    return kExitUsage;
  }
  const std::string_view first = argv[1];
  if (first == "-h" || first == "--help" || first == "help") {
    print_usage(stdout);
    return kExitOk;
  }
  if (first == "-V" || first == "--version" || first == "version") {
    std::printf("ftx %s\n", FTX_VERSION);
    return kExitOk;
  }
  if (first == "completion") return completion_main(argc - 1, argv + 1);  // for packagers, not in --help
  for (const Command& c : commands()) {
    if (c.name == first) return c.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "ftx: unknown command '%s'", argv[1]);
  const std::string guess = nearest_command(first);
  const std::string intent = command_for(first);
  if (!intent.empty()) {
    std::fprintf(stderr, "; for that, use %s", intent.c_str());
  } else if (!guess.empty()) {
    std::fprintf(stderr, "; did you mean '%s'?", guess.c_str());
  }
  std::fprintf(stderr, "\n\n");
  print_usage(stderr);
  return kExitUsage;
}

}  // namespace ftx::cli
