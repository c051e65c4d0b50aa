// SPDX-License-Identifier: MIT
// Shell completions for bash, zsh and fish, made from the subcommands' own option tables.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace ftx::cli {

/// What a value (an option's argument or an operand) completes to.
enum class ValueKind { None, Choice, File, Directory };

struct OptionSpec {
  std::string long_name;
  std::string short_name;  ///< one letter, or empty
  std::string description;
  std::string arg;  ///< the value's placeholder (N, DIR, ...); empty for a flag
  bool repeatable = false;
  ValueKind kind = ValueKind::None;
  std::vector<std::string> choices;  ///< when kind is Choice
};

struct CommandSpec {
  std::string name;
  std::string summary;
  std::vector<OptionSpec> options;    ///< exactly those `ftx NAME --help` lists
  std::vector<std::string> operands;  ///< e.g. {"HOST:PORT", "PATH..."}; "..." repeats

  /// Operands complete to files and directories.
  bool operand_paths() const;
};

/// Options whose value is one of a fixed set, by long name. The parsers (parse_overwrite,
/// parse_algo) stay the authority; the unit test holds this list to them.
const std::map<std::string, std::vector<std::string>>& fixed_values();

/// Every subcommand as its option table describes it.
std::vector<CommandSpec> completion_specs();

std::string bash_completion(const std::vector<CommandSpec>& commands);
std::string zsh_completion(const std::vector<CommandSpec>& commands);
std::string fish_completion(const std::vector<CommandSpec>& commands);

}  // namespace ftx::cli
