// SPDX-License-Identifier: MIT
// Command table, typo suggestions, send exit codes and --json lines.
#include <gtest/gtest.h>
#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/outcome.h"
#include "client/verdict.h"

namespace ftx::cli {
namespace {

using client::FileOutcome;
using client::FileStatus;
using client::SendReport;

TEST(Cli, NearestCommand) {
  EXPECT_EQ(nearest_command("serv"), "serve");
  EXPECT_EQ(nearest_command("sned"), "send");
  EXPECT_EQ(nearest_command("sen"), "send");
  EXPECT_EQ(nearest_command("completely-different"), "");
  // Words for what a command does point to it.
  EXPECT_EQ(command_for("share"), "'ftx serve --share' (or /share in ftx chat)");
  EXPECT_EQ(command_for("download"), "'ftx get'");
  EXPECT_EQ(command_for("sned"), "");
}

TEST(Cli, EveryCommandHasASummary) {
  for (const Command& c : commands()) {
    EXPECT_FALSE(c.summary.empty()) << c.name;
    EXPECT_NE(c.run, nullptr);
  }
}

FileOutcome outcome(FileStatus status) {
  FileOutcome f;
  f.path = "p";
  f.status = status;
  return f;
}

// An option whose value may be left out shows as [=PATH], its description in the column
// of the others; cxxopts writes [=PATH(=)] for an empty implied value.
TEST(Cli, HelpShowsAnOptionalValueWithoutTheEmptyDefault) {
  cxxopts::Options o("ftx serve", "");
  o.add_options()("share", "shares", cxxopts::value<std::string>()->implicit_value(""), "PATH")(
      "port", "the port", cxxopts::value<std::string>(), "N");
  const std::string help = help_text(o);
  EXPECT_EQ(help.find("(=)"), std::string::npos) << help;
  const size_t share = help.find("--share [=PATH]");
  const size_t port = help.find("--port N");
  ASSERT_NE(share, std::string::npos) << help;
  ASSERT_NE(port, std::string::npos) << help;
  const size_t share_line = help.rfind('\n', share) + 1;
  const size_t port_line = help.rfind('\n', port) + 1;
  EXPECT_EQ(help.find("shares", share) - share_line, help.find("the port", port) - port_line) << help;
}

TEST(Cli, SendExitCodes) {
  SendReport ok;
  ok.files = {outcome(FileStatus::Saved)};
  EXPECT_EQ(send_exit_code(ok), kExitOk);

  SendReport refused = ok;
  refused.files.push_back(outcome(FileStatus::Refused));
  EXPECT_EQ(send_exit_code(refused), kExitFailed);

  SendReport unreadable = ok;
  unreadable.files.push_back(outcome(FileStatus::Unreadable));
  EXPECT_EQ(send_exit_code(unreadable), kExitLocalFile);

  SendReport both = refused;
  both.files.push_back(outcome(FileStatus::Unreadable));
  EXPECT_EQ(send_exit_code(both), kExitFailed);

  SendReport lost = both;
  lost.connection_failed = true;
  EXPECT_EQ(send_exit_code(lost), kExitNetwork);

  SendReport busy;
  busy.connection_failed = true;
  busy.connection_code = proto::ErrorCode::Busy;
  EXPECT_EQ(send_exit_code(busy), kExitFailed);
}

TEST(Cli, JsonOutcome) {
  FileOutcome f = outcome(FileStatus::Saved);
  f.name = "a";
  f.saved_as = "a (1)";
  f.bytes = 1'000'000;
  f.seconds = 0.5;
  f.digest = "xxh128:00";
  auto j = nlohmann::json::parse(format_outcome_json(f));
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["saved_as"], "a (1)");
  EXPECT_EQ(j["mbps"], 2.0);
  EXPECT_FALSE(j.contains("error"));

  f.status = FileStatus::Refused;
  f.code = proto::ErrorCode::NameRefused;
  f.error = "bad";
  j = nlohmann::json::parse(format_outcome_json(f));
  EXPECT_EQ(j["status"], "error");
  EXPECT_EQ(j["error"]["code"], "name_refused");
  EXPECT_EQ(j["error"]["message"], "bad");

  j = nlohmann::json::parse(format_outcome_json(outcome(FileStatus::Unreadable)));
  EXPECT_EQ(j["error"]["code"], "unreadable");
}

// Refused before any byte moved: no time, so no rate (not the byte count), and the code
// once, in its field.
TEST(Cli, JsonOutcomeOfAFileRefusedAtOnce) {
  FileOutcome f = outcome(FileStatus::Refused);
  f.bytes = 2'200'000;
  f.code = proto::ErrorCode::TooLarge;
  f.error = "the file has 2200000 bytes; this server takes at most 1048576";
  const auto j = nlohmann::json::parse(format_outcome_json(f));
  EXPECT_EQ(j["mbps"], 0.0);
  EXPECT_EQ(j["error"]["code"], "too_large");
  EXPECT_EQ(j["error"]["message"], f.error);
  EXPECT_EQ(client::format_failed_line(f), "p: too_large: " + f.error);
}

// A file saved as it was read, though it changed while it was sent: exit 4 (a local file's
// doing, as for an unreadable one), "changed" in the JSON, and a line saying to send again.
TEST(Cli, AFileThatChangedWhileSentIsALocalFileFailure) {
  FileOutcome f = outcome(FileStatus::Saved);
  f.bytes = 1 << 20;
  f.changed = true;
  SendReport report;
  report.files = {outcome(FileStatus::Saved), f};
  EXPECT_EQ(send_exit_code(report), kExitLocalFile);
  report.files.push_back(outcome(FileStatus::Refused));
  EXPECT_EQ(send_exit_code(report), kExitFailed);
  const auto j = nlohmann::json::parse(format_outcome_json(f));
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["changed"], true);
  EXPECT_FALSE(nlohmann::json::parse(format_outcome_json(outcome(FileStatus::Saved))).contains("changed"));
  EXPECT_EQ(client::format_changed_line(f),
            "p: changed while it was sent: the server has it as it was read (1.0 MiB); send it again");
}

TEST(Cli, UnchangedIsSuccessWithItsOwnStatusAndLine) {
  SendReport report;
  report.files = {outcome(FileStatus::Unchanged), outcome(FileStatus::Saved)};
  EXPECT_EQ(send_exit_code(report), kExitOk);

  FileOutcome f = outcome(FileStatus::Unchanged);
  f.path = "photos/p1.jpg";
  f.name = f.saved_as = "p1.jpg";
  f.bytes = 3;
  f.seconds = 0.001;
  f.digest = "xxh128:00";
  const auto j = nlohmann::json::parse(format_outcome_json(f));
  EXPECT_EQ(j["status"], "unchanged");
  EXPECT_EQ(j["saved_as"], "p1.jpg");
  EXPECT_EQ(j["mbps"], 0.0);
  EXPECT_FALSE(j.contains("error"));
  EXPECT_EQ(client::format_unchanged_line(f),
            "unchanged photos/p1.jpg, already on the server as p1.jpg (3 B, xxh128:00)");
}

TEST(Cli, SummaryCountsSavedUnchangedAndFailed) {
  SendTally t;
  FileOutcome dir = outcome(FileStatus::Saved);
  dir.directory = true;
  t.add(dir);
  FileOutcome saved = outcome(FileStatus::Saved);
  saved.bytes = 2'000'000;
  t.add(saved);
  t.add(outcome(FileStatus::Unchanged));
  t.add(outcome(FileStatus::Unchanged));
  t.add(outcome(FileStatus::Refused));
  t.add(outcome(FileStatus::NotSent));
  t.seconds = 1;
  EXPECT_EQ(format_summary_line(t), "saved 1, unchanged 2, failed 2 (in 1 directory, 1.9 MiB at 2.0 MB/s)");
  SendTally none;
  none.add(outcome(FileStatus::Unchanged));
  none.add(dir);
  none.add(dir);
  EXPECT_EQ(format_summary_line(none), "saved 0, unchanged 1, failed 0 (in 2 directories)");
}

TEST(Cli, SavedLineNamesTheFileAsTheServerSavedIt) {
  FileOutcome f = outcome(FileStatus::Saved);
  f.path = "photos/p1.jpg";
  f.name = "p1.jpg";
  f.saved_as = "p1.jpg";
  f.bytes = 3;
  f.seconds = 1;
  f.digest = "xxh128:00";
  EXPECT_EQ(client::format_saved_line(f), "saved photos/p1.jpg as p1.jpg (3 B, 3 B/s, xxh128:00)");
  f.path = "build.log";
  f.name = f.saved_as = "logs/today.log";  // --as
  EXPECT_EQ(client::format_saved_line(f), "saved build.log as logs/today.log (3 B, 3 B/s, xxh128:00)");
  f.path = f.name = f.saved_as = "a.txt";
  EXPECT_EQ(client::format_saved_line(f), "saved a.txt (3 B, 3 B/s, xxh128:00)");
  f.path = "-";
  EXPECT_EQ(client::format_saved_line(f), "saved standard input as a.txt (3 B, 3 B/s, xxh128:00)");
}

}  // namespace
}  // namespace ftx::cli
