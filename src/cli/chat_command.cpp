// SPDX-License-Identifier: MIT
// `ftx chat`: options, the terminal, and the exit code.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string_view>

#include <cxxopts.hpp>

#include "cli/client_options.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/outcome.h"
#include "cli/token.h"
#include "client/chat.h"
#include "client/identity.h"
#include "client/line_editor.h"
#include "proto/limits.h"
#include "proto/names.h"
#include "proto/text.h"
#include "util/mutex.h"
#include "util/sys_error.h"
#include "util/text.h"
#include "util/units.h"

namespace ftx::cli {

cxxopts::Options chat_options() {
  cxxopts::Options o("ftx chat",
                     "Chat with everyone connected to an ftx server. Lines typed (or piped in) are sent;\n"
                     "what others say is printed as 'HH:MM:SS <nick> text'.");
  o.custom_help("HOST:PORT [OPTIONS]");
  o.positional_help("");
  // clang-format off
  o.add_options()
      ("name", "your nick (default: $USER@hostname; the server adds -2, -3... when taken)",
       cxxopts::value<std::string>(), "NICK")
      ("token", "the server's shared token (default: $FTX_TOKEN, which stays out of ps)",
       cxxopts::value<std::string>(), "SECRET")
      ("quiet", "print only messages: no joins, leaves or status lines")
      ("no-echo", "print nothing others say (only send)")
      ("recv-only", "only print what arrives, never read stdin, until the server closes (exit 3) or "
                    "SIGINT/SIGTERM (leave, exit 0); to record the room")
      ("connect-timeout", "give up connecting after SECONDS", cxxopts::value<std::string>()->default_value("10"),
       "SECONDS")
      ("args", "HOST:PORT", cxxopts::value<std::vector<std::string>>());
  // clang-format on
  add_tls_options(o);
  o.add_options()("h,help", "show this help");  // last in the list
  o.parse_positional({"args"});
  return o;
}

namespace {

int usage_error(const std::string& message) { return cli::usage_error("chat", message); }

// --recv-only: the input ends when SIGINT or SIGTERM arrives. The handler only writes a byte
// to a pipe the input waits on; it is reset by the first signal, so a second one still
// ends the process at once should leaving hang.
int g_signal_pipe = -1;

extern "C" void on_leave_signal(int) {
  const int saved = errno;
  const char byte = 1;
  [[maybe_unused]] const ssize_t n = ::write(g_signal_pipe, &byte, 1);
  errno = saved;
}

// A signal the shell made the process ignore (SIGINT of a background job) stays ignored.
class LeaveOnSignal {
 public:
  LeaveOnSignal() {
    if (::pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0) throw_sys("pipe2");
    g_signal_pipe = fds_[1];
    struct sigaction sa {};
    sa.sa_handler = on_leave_signal;
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM}) {
      struct sigaction old {};
      sigaction(sig, nullptr, &old);
      if (old.sa_handler != SIG_IGN) sigaction(sig, &sa, nullptr);
    }
  }
  ~LeaveOnSignal() {
    for (int sig : {SIGINT, SIGTERM}) {
      struct sigaction old {};
      sigaction(sig, nullptr, &old);
      if (old.sa_handler == on_leave_signal) std::signal(sig, SIG_DFL);
    }
    g_signal_pipe = -1;
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  LeaveOnSignal(const LeaveOnSignal&) = delete;
  LeaveOnSignal& operator=(const LeaveOnSignal&) = delete;
  int wake_fd() const { return fds_[0]; }

 private:
  int fds_[2] = {-1, -1};
};

// Messages to stdout, one per line (so `ftx chat h:p > log` records the room); status to
// stderr. Every thread of the client prints here; with a line editor, above its input line.
class TerminalDisplay : public client::ChatDisplay {
 public:
  TerminalDisplay(bool notices, bool messages, client::LineEditor* editor)
      : notices_(notices), messages_(messages), editor_(editor) {}
  void messages(std::span<const proto::MsgView> burst) override {
    MutexLock lock(mutex_);
    auto shown = [&](const proto::MsgView& msg) { return msg.sender.empty() ? notices_ : messages_; };
    // Formatted a run of shown messages at a time (a MSG_BATCH's lines share a prefix), short
    // enough that what waits to be written stays near kPendingBytes.
    size_t i = 0;
    while (i < burst.size()) {
      if (!shown(burst[i])) {
        ++i;
        continue;
      }
      size_t end = i + 1;
      size_t text_bytes = burst[i].text.size();
      while (end < burst.size() && end - i < kRunMessages && text_bytes < kPendingBytes &&
             shown(burst[end])) {
        text_bytes += burst[end].text.size();
        ++end;
      }
      lines_.append(pending_, burst.subspan(i, end - i));
      if (pending_.size() >= kPendingBytes) write_pending();
      i = end;
    }
  }
  void caught_up() override {
    MutexLock lock(mutex_);
    write_pending();
  }
  void status(const std::string& line) override {
    if (!notices_) return;
    MutexLock lock(mutex_);
    // What the room said before this line appears before it, where both go to one terminal.
    write_pending();
    const std::string text = "ftx chat: " + printable(line) + "\n";
    if (editor_) {
      editor_->print(STDERR_FILENO, text);
    } else {
      std::fputs(text.c_str(), stderr);
    }
  }

 private:
  bool notices_;
  bool messages_;
  client::LineEditor* editor_;
  Mutex mutex_;
  // A busy room would cost a write(2) per line; lines are gathered and written a burst at
  // a time (at most this much), and whenever the client waits for more (caught_up).
  static constexpr size_t kPendingBytes = 64 << 10;
  static constexpr size_t kRunMessages = 1024;
  void write_pending() REQUIRES(mutex_) {
    if (pending_.empty()) return;
    if (editor_) {
      editor_->print(STDOUT_FILENO, std::move(pending_));
    } else {
      std::fwrite(pending_.data(), 1, pending_.size(), stdout);
      std::fflush(stdout);
    }
    pending_.clear();
  }

  proto::ChatLines lines_ GUARDED_BY(mutex_);
  std::string pending_ GUARDED_BY(mutex_);
};

}  // namespace

int chat_main(int argc, char** argv) {
  cxxopts::Options options = chat_options();
  client::ChatOptions chat;
  bool receive_only = false;
  try {
    const auto args = options.parse(argc, argv);
    if (args.count("help")) {
      std::cout
          << help_text(options)
          << "\nInteractive commands: /send PATH..., /share PATH..., /files [PATH], /get NAME..., /who, "
             "/quit, /help; '//text' says '/text'. A name with blanks is quoted as in a shell:\n"
             "/get 'my file.txt' or /get my\\ file.txt.\n"
             "At a terminal the input line is edited (libedit: emacs keys, ~/.editrc): messages\n"
             "print above it, lines up to 64 KiB, the up arrow recalls earlier lines, /send runs\n"
             "beside the chat, Ctrl-C leaves.\n"
          << std::endl;
      return kExitOk;
    }
    std::vector<std::string> positional;
    if (args.count("args")) positional = args["args"].as<std::vector<std::string>>();
    if (positional.size() != 1) return usage_error("need exactly one HOST:PORT");
    std::string why;
    const auto target = net::parse_host_port(positional.front(), &why);
    if (!target) return usage_error("'" + positional.front() + "': " + why);
    chat.server = *target;
    chat.token =
        token_from(args.count("token") ? std::optional(args["token"].as<std::string>()) : std::nullopt);
    if (auto wrong = tls_from(args, "chat", chat.tls)) return usage_error(*wrong);
    warn_token_in_clear("chat", chat.tls, chat.token);
    chat.name = args.count("name") ? args["name"].as<std::string>() : client::default_client_name();
    if (auto refused = proto::check_nick(chat.name)) {
      return usage_error(args.count("name") ? "--name: " + *refused
                                            : "the default name '" + printable(chat.name) + "' is refused (" +
                                                  *refused + "); choose one with --name");
    }
    const auto connect_timeout = parse_timeout(args["connect-timeout"].as<std::string>());
    if (!connect_timeout) return usage_error("--connect-timeout must be " + std::string(kTimeoutRange));
    chat.connect_timeout = *connect_timeout;
    chat.show_notices = args.count("quiet") == 0;
    chat.show_messages = args.count("no-echo") == 0;
    receive_only = args.count("recv-only") > 0;
    if (receive_only && !chat.show_messages)
      return usage_error("--recv-only and --no-echo leave nothing to do");
    chat.interactive = !receive_only && ::isatty(STDIN_FILENO);
  } catch (const cxxopts::exceptions::exception& e) {
    return usage_error(e.what());
  }
  client::ChatResult result;
  const char* term = std::getenv("TERM");
  const bool can_edit = term && *term && std::string_view(term) != "dumb";  // not Emacs' shell, say
  if (chat.interactive && ::isatty(STDOUT_FILENO) && can_edit) {
    // A person at a terminal: an input line that messages do not break into.
    std::optional<client::LineEditor> editor;
    try {
      editor.emplace(STDIN_FILENO, STDOUT_FILENO);
    } catch (const std::exception& e) {
      print_error("chat", e.what());
      return kExitFailed;
    }
    TerminalDisplay display(chat.show_notices, chat.show_messages, &*editor);
    result = client::run_chat(chat, *editor, display);
  } else if (receive_only) {
    TerminalDisplay display(chat.show_notices, chat.show_messages, nullptr);
    std::optional<LeaveOnSignal> leave;
    try {
      leave.emplace();
    } catch (const std::system_error& e) {
      print_error("chat", e.what());
      return kExitFailed;
    }
    client::NoLines input(leave->wake_fd());
    result = client::run_chat(chat, input, display);
  } else {
    TerminalDisplay display(chat.show_notices, chat.show_messages, nullptr);
    client::FdLines input(STDIN_FILENO, proto::kMaxMessage);
    result = client::run_chat(chat, input, display);
  }
  if (!result.error.empty()) print_error("chat", result.error);
  if (result.lines_skipped > 0) {
    std::fprintf(stderr, "ftx chat: %zu line(s) over %u bytes were not sent\n", result.lines_skipped,
                 proto::kMaxMessage);
  }
  return chat_exit_code(result);
}

}  // namespace ftx::cli
