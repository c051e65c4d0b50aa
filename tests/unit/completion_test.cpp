// SPDX-License-Identifier: MIT
// Shell completions come from the option tables: every option --help lists, the fixed values
// the parsers accept, paths where a path is wanted.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include <cxxopts.hpp>

#include "cli/commands.h"
#include "cli/completion.h"
#include "digest/digest.h"
#include "server/inbox.h"

namespace ftx::cli {
namespace {

const CommandSpec& spec(const std::vector<CommandSpec>& all, const std::string& name) {
  for (const CommandSpec& c : all)
    if (c.name == name) return c;
  throw std::runtime_error("no command " + name);
}

const OptionSpec* option(const CommandSpec& c, const std::string& name) {
  for (const OptionSpec& o : c.options)
    if (o.long_name == name) return &o;
  return nullptr;
}

TEST(Completion, EveryCommandAndEveryOptionOfItsHelp) {
  const auto all = completion_specs();
  ASSERT_EQ(all.size(), commands().size());
  for (const Command& c : commands()) {
    const CommandSpec& s = spec(all, std::string(c.name));
    const std::string help = c.options().help();
    for (const OptionSpec& o : s.options) {
      EXPECT_NE(help.find("--" + o.long_name), std::string::npos) << c.name << " --" << o.long_name;
    }
    // Nothing --help shows is missing: count its option lines ("  -p, --port N", "      --host ADDR").
    size_t listed = 0;
    std::istringstream lines(help);
    for (std::string line; std::getline(lines, line);) {
      const size_t first = line.find_first_not_of(' ');
      if (first != std::string::npos && first > 0 && line.compare(first, 1, "-") == 0) ++listed;
    }
    EXPECT_EQ(listed, s.options.size()) << c.name;
  }
}

TEST(Completion, FixedValuesAreExactlyWhatTheParsersAccept) {
  std::set<server::OverwritePolicy> policies;
  for (const std::string& v : fixed_values().at("overwrite")) {
    const auto p = server::parse_overwrite(v);
    ASSERT_TRUE(p) << v;
    policies.insert(*p);
  }
  EXPECT_EQ(policies.size(), 3u);  // rename, replace, refuse: every policy there is
  std::set<std::string> algos;
  for (const std::string& v : fixed_values().at("hash")) {
    const auto a = digest::parse_algo(v);
    ASSERT_TRUE(a) << v;
    algos.insert(std::string(digest::algo_name(*a)));
  }
  EXPECT_EQ(algos, (std::set<std::string>{std::string(digest::algo_name(DigestAlgo::Xxh128)),
                                          std::string(digest::algo_name(DigestAlgo::Sha256))}));
  // Each such option exists, so a rename cannot leave a stale entry behind.
  const CommandSpec serve = spec(completion_specs(), "serve");
  for (const auto& [name, values] : fixed_values()) {
    const OptionSpec* o = option(serve, name);
    ASSERT_NE(o, nullptr) << name;
    EXPECT_EQ(o->kind, ValueKind::Choice);
    EXPECT_EQ(o->choices, values);
  }
}

TEST(Completion, PathsWherePathsAreWanted) {
  const auto all = completion_specs();
  const CommandSpec& serve = spec(all, "serve");
  EXPECT_EQ(option(serve, "dir")->kind, ValueKind::Directory);
  EXPECT_EQ(option(serve, "dir")->short_name, "d");
  EXPECT_EQ(option(serve, "log")->kind, ValueKind::File);
  EXPECT_EQ(option(serve, "port")->kind, ValueKind::None);
  EXPECT_EQ(option(serve, "port")->arg, "N");
  EXPECT_TRUE(option(serve, "allow")->repeatable);
  EXPECT_TRUE(option(serve, "no-fsync")->arg.empty());
  EXPECT_FALSE(serve.operand_paths());
  EXPECT_TRUE(spec(all, "send").operand_paths());
  EXPECT_EQ(spec(all, "send").operands, (std::vector<std::string>{"HOST:PORT", "PATH..."}));
  EXPECT_FALSE(spec(all, "chat").operand_paths());
  EXPECT_EQ(option(spec(all, "send"), "args"), nullptr);  // the operands are no option
}

TEST(Completion, ScriptsNameEveryOptionAndValue) {
  const auto all = completion_specs();
  // How each shell's script spells a long option.
  const std::vector<std::pair<std::string, std::string>> scripts = {
      {bash_completion(all), "--"}, {zsh_completion(all), "--"}, {fish_completion(all), "-l "}};
  for (const auto& [script, spelling] : scripts) {
    for (const CommandSpec& c : all) {
      EXPECT_NE(script.find(c.name), std::string::npos) << c.name;
      for (const OptionSpec& o : c.options) {
        EXPECT_NE(script.find(spelling + o.long_name), std::string::npos) << c.name << " --" << o.long_name;
        for (const std::string& v : o.choices) EXPECT_NE(script.find(v), std::string::npos) << v;
      }
    }
  }
}

TEST(Completion, ZshDescriptionsEscapeWhatItsSpecsParse) {
  CommandSpec c{"x", "an x", {}, {}};
  c.options.push_back({"colour", "", "pick [one]: red or blue", "C", false, ValueKind::None, {}});
  const std::string script = zsh_completion({c});
  EXPECT_NE(script.find("'--colour=[pick \\[one\\]\\: red or blue]:C: '"), std::string::npos) << script;
}

}  // namespace
}  // namespace ftx::cli
