// SPDX-License-Identifier: MIT
// `ftx completion bash|zsh|fish`: completion scripts written from the option tables, so an
// option added to a command is completed without anyone editing a shell script.
#include "cli/completion.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string_view>

#include <cxxopts.hpp>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "util/shell_words.h"

namespace ftx::cli {
namespace {

// An option is positional when cxxopts leaves it out of --help; only the help text says so.
bool listed_in_help(const std::string& help, const std::string& long_name) {
  const std::string flag = "--" + long_name;
  for (size_t at = help.find(flag); at != std::string::npos; at = help.find(flag, at + 1)) {
    const size_t end = at + flag.size();
    if (end == help.size() || help[end] == ' ' || help[end] == '=' || help[end] == '\n') return true;
  }
  return false;
}

// An operand placeholder such as "PATH..." or "FILE" takes files and directories.
bool names_a_path(const std::string& placeholder) {
  return placeholder.find("PATH") != std::string::npos || placeholder.find("FILE") != std::string::npos;
}

ValueKind kind_of(const std::string& long_name, const std::string& arg) {
  if (fixed_values().count(long_name)) return ValueKind::Choice;
  if (arg == "DIR") return ValueKind::Directory;
  if (arg == "FILE") return ValueKind::File;
  return ValueKind::None;
}

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

// Text inside a zsh _arguments spec (--opt=[description]:message:action), where brackets,
// colons and backslashes are syntax.
std::string zsh_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '[' || c == ']' || c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string fish_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string zsh_action(const OptionSpec& o) {
  switch (o.kind) {
    case ValueKind::Choice:
      return "(" + join(o.choices, " ") + ")";
    case ValueKind::File:
      return "_files";
    case ValueKind::Directory:
      return "_files -/";
    case ValueKind::None:
      break;
  }
  return " ";
}

std::vector<std::string> bash_flags(const OptionSpec& o) {
  std::vector<std::string> flags;
  if (!o.short_name.empty()) flags.push_back("-" + o.short_name);
  flags.push_back("--" + o.long_name);
  return flags;
}

}  // namespace

const std::map<std::string, std::vector<std::string>>& fixed_values() {
  static const std::map<std::string, std::vector<std::string>> values = {
      {"overwrite", {"rename", "replace", "refuse"}},
      {"hash", {"xxh128", "sha256"}},
  };
  return values;
}

std::vector<CommandSpec> completion_specs() {
  std::vector<CommandSpec> out;
  for (const Command& c : commands()) {
    cxxopts::Options table = c.options();
    const std::string help = table.help();
    CommandSpec spec{std::string(c.name), std::string(c.summary), {}, {}};
    for (const std::string& group : table.groups()) {
      for (const cxxopts::HelpOptionDetails& d : table.group_help(group).options) {
        if (d.l.empty()) continue;
        const std::string& name = d.l.front();
        if (!listed_in_help(help, name)) {
          // The positional catch-all describes the operands ("HOST:PORT PATH...").
          spec.operands = words_of(d.desc);
          continue;
        }
        OptionSpec o;
        o.long_name = name;
        o.short_name = d.s;
        o.description = d.desc;
        // An optional value (--share or --share=PATH) never takes the next word: a flag here.
        if (!d.is_boolean && !d.has_implicit) o.arg = d.arg_help.empty() ? "VALUE" : d.arg_help;
        o.repeatable = d.is_container;
        o.kind = o.arg.empty() ? ValueKind::None : kind_of(name, o.arg);
        if (o.kind == ValueKind::Choice) o.choices = fixed_values().at(name);
        spec.options.push_back(std::move(o));
      }
    }
    out.push_back(std::move(spec));
  }
  return out;
}

bool CommandSpec::operand_paths() const {
  return std::any_of(operands.begin(), operands.end(), names_a_path);
}

std::string bash_completion(const std::vector<CommandSpec>& commands) {
  std::vector<std::string> names;
  for (const CommandSpec& c : commands) names.push_back(c.name);
  std::ostringstream s;
  s << "# bash completion for ftx; written by `ftx completion bash` from its option tables\n"
       "\n"
       "_ftx_words() { mapfile -t COMPREPLY < <(compgen -W \"$1\" -- \"$cur\"); }\n"
       "_ftx_files() { compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- \"$cur\"); "
       "}\n"
       "_ftx_dirs() { compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- \"$cur\"); }\n"
       "\n"
       "_ftx() {\n"
       "  local cur=${COMP_WORDS[COMP_CWORD]} prev=\n"
       "  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
       "  # bash splits --opt=value at '=': complete the value of --opt.\n"
       "  if [[ $cur == = ]]; then\n"
       "    cur=\n"
       "  elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then\n"
       "    prev=${COMP_WORDS[COMP_CWORD - 2]}\n"
       "  fi\n"
       "  COMPREPLY=()\n"
       "  if ((COMP_CWORD == 1)); then\n"
       "    _ftx_words "
    << shell_quote(join(names, " ") + " -h --help -V --version")
    << "\n"
       "    return 0\n"
       "  fi\n"
       "  case ${COMP_WORDS[1]} in\n";
  for (const CommandSpec& c : commands) {
    std::vector<std::string> all;
    std::vector<std::string> opaque;  // take a value nothing can guess
    s << "    " << c.name << ")\n      case $prev in\n";
    for (const OptionSpec& o : c.options) {
      const std::vector<std::string> flags = bash_flags(o);
      all.insert(all.end(), flags.begin(), flags.end());
      if (o.arg.empty()) continue;
      const std::string pattern = join(flags, "|");
      switch (o.kind) {
        case ValueKind::Choice:
          s << "        " << pattern << ") _ftx_words " << shell_quote(join(o.choices, " "))
            << "; return 0 ;;\n";
          break;
        case ValueKind::File:
          s << "        " << pattern << ") _ftx_files; return 0 ;;\n";
          break;
        case ValueKind::Directory:
          s << "        " << pattern << ") _ftx_dirs; return 0 ;;\n";
          break;
        case ValueKind::None:
          opaque.insert(opaque.end(), flags.begin(), flags.end());
          break;
      }
    }
    if (!opaque.empty()) s << "        " << join(opaque, "|") << ") return 0 ;;\n";
    s << "      esac\n"
      << "      if [[ $cur == -* ]]; then\n"
      << "        _ftx_words " << shell_quote(join(all, " ")) << "\n"
      << "      else\n"
      << "        " << (c.operand_paths() ? "_ftx_files" : ":") << "\n"
      << "      fi\n"
      << "      ;;\n";
  }
  s << "  esac\n"
       "  return 0\n"
       "}\n"
       "\n"
       "complete -F _ftx ftx\n";
  return s.str();
}

std::string zsh_completion(const std::vector<CommandSpec>& commands) {
  std::ostringstream s;
  s << "#compdef ftx\n"
       "# zsh completion for ftx; written by `ftx completion zsh` from its option tables\n";
  for (const CommandSpec& c : commands) {
    s << "\n_ftx_" << c.name << "() {\n  _arguments -s -S";
    for (const OptionSpec& o : c.options) {
      const std::string desc = "[" + zsh_escape(o.description) + "]";
      const std::string value = o.arg.empty() ? "" : ":" + zsh_escape(o.arg) + ":" + zsh_action(o);
      const std::string repeat = o.repeatable ? "*" : "";
      s << " \\\n    ";
      if (o.short_name.empty()) {
        s << shell_quote(repeat + "--" + o.long_name + (o.arg.empty() ? "" : "=") + desc + value);
      } else {
        const std::string exclusive = o.repeatable ? "*" : "(-" + o.short_name + " --" + o.long_name + ")";
        s << shell_quote(exclusive) << "{-" << o.short_name << (o.arg.empty() ? "" : "+") << ",--"
          << o.long_name << (o.arg.empty() ? "" : "=") << "}" << shell_quote(desc + value);
      }
    }
    for (size_t i = 0; i < c.operands.size(); ++i) {
      const std::string& w = c.operands[i];
      const bool rest = w.ends_with("...");
      const bool path = names_a_path(w);
      const std::string position = rest ? "*" : std::to_string(i + 1);
      s << " \\\n    " << shell_quote(position + ":" + zsh_escape(w) + ":" + (path ? "_files" : " "));
    }
    s << "\n}\n";
  }
  s << "\n_ftx() {\n"
       "  local curcontext=$curcontext state line\n"
       "  local -a commands=(";
  for (const CommandSpec& c : commands) s << "\n    " << shell_quote(zsh_escape(c.name) + ":" + c.summary);
  s << "\n  )\n"
       "  _arguments -C \\\n"
       "    '(- :)'{-h,--help}'[show the commands]' \\\n"
       "    '(- :)'{-V,--version}'[show the version]' \\\n"
       "    '1:command:->command' \\\n"
       "    '*::argument:->argument' && return\n"
       "  case $state in\n"
       "    command) _describe -t commands 'ftx command' commands ;;\n"
       "    argument)\n"
       "      curcontext=${curcontext%:*:*}:ftx-$words[1]:\n"
       "      case $words[1] in\n";
  for (const CommandSpec& c : commands) s << "        " << c.name << ") _ftx_" << c.name << " ;;\n";
  s << "      esac\n"
       "      ;;\n"
       "  esac\n"
       "}\n"
       "\n"
       "_ftx \"$@\"\n";
  return s.str();
}

std::string fish_completion(const std::vector<CommandSpec>& commands) {
  std::ostringstream s;
  s << "# fish completion for ftx; written by `ftx completion fish` from its option tables\n"
       "complete -c ftx -f\n";
  for (const CommandSpec& c : commands)
    s << "complete -c ftx -n __fish_use_subcommand -a " << c.name << " -d " << fish_quote(c.summary) << "\n";
  s << "complete -c ftx -n __fish_use_subcommand -s h -l help -d 'show the commands'\n"
       "complete -c ftx -n __fish_use_subcommand -s V -l version -d 'show the version'\n";
  for (const CommandSpec& c : commands) {
    const std::string when = "-n '__fish_seen_subcommand_from " + c.name + "'";
    for (const OptionSpec& o : c.options) {
      s << "complete -c ftx " << when;
      if (!o.short_name.empty()) s << " -s " << o.short_name;
      s << " -l " << o.long_name;
      switch (o.kind) {
        case ValueKind::Choice:
          s << " -x -a " << fish_quote(join(o.choices, " "));
          break;
        case ValueKind::File:
          s << " -r -F";
          break;
        case ValueKind::Directory:
          s << " -x -a '(__fish_complete_directories (commandline -ct))'";
          break;
        case ValueKind::None:
          if (!o.arg.empty()) s << " -x";
          break;
      }
      s << " -d " << fish_quote(o.description) << "\n";
    }
    if (c.operand_paths()) s << "complete -c ftx " << when << " -F\n";
  }
  return s.str();
}

int completion_main(int argc, char** argv) {
  const std::string_view shell = argc == 2 ? std::string_view(argv[1]) : std::string_view();
  std::string script;
  if (shell == "bash") {
    script = bash_completion(completion_specs());
  } else if (shell == "zsh") {
    script = zsh_completion(completion_specs());
  } else if (shell == "fish") {
    script = fish_completion(completion_specs());
  } else {
    std::fprintf(stderr, "usage: ftx completion bash|zsh|fish\n");
    return kExitUsage;
  }
  std::fwrite(script.data(), 1, script.size(), stdout);
  return std::fflush(stdout) == 0 ? kExitOk : kExitFailed;
}

}  // namespace ftx::cli
