// SPDX-License-Identifier: MIT
// The subcommand table and the top-level command line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cxxopts {
class Options;
}

namespace ftx::cli {

/// One subcommand: its name, a line for `ftx --help`, its handler, which parses its own
/// options from argv (argv[0] is the subcommand's name) and returns the exit code, and the
/// option table that handler parses with (also the source of the shell completions).
struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(int argc, char** argv);
  cxxopts::Options (*options)();
};

const std::vector<Command>& commands();

/// The closest known subcommand to a mistyped one, or empty when nothing is close.
std::string nearest_command(std::string_view typed);

/// A command's --help text. An option with an optional value shows it as [=PATH], without
/// cxxopts' "(=)" for an empty implied value.
std::string help_text(const cxxopts::Options& options);

/// For a word that is no command but names what one does ("share", "upload"), the
/// command to use; empty otherwise.
std::string command_for(std::string_view typed);

/// Prints "ftx COMMAND: message" and where to find the options; returns the usage exit code.
int usage_error(std::string_view command, const std::string& message);

/// Prints text on stderr as "ftx COMMAND: line" for each of its lines, made terminal-safe.
void print_error(std::string_view command, std::string_view text);

/// Entry point of the binary.
int main(int argc, char** argv);

int serve_main(int argc, char** argv);
int send_main(int argc, char** argv);
int chat_main(int argc, char** argv);
int get_main(int argc, char** argv);
int ls_main(int argc, char** argv);
/// Hidden: `ftx completion bash|zsh|fish` prints that shell's completion script.
int completion_main(int argc, char** argv);

/// Each command's option table, as its handler parses argv with it.
cxxopts::Options serve_options();
cxxopts::Options send_options();
cxxopts::Options chat_options();
cxxopts::Options get_options();
cxxopts::Options ls_options();

}  // namespace ftx::cli
