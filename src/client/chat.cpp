// SPDX-License-Identifier: MIT
// `ftx chat`.
#include "client/chat.h"

#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <thread>

#include "client/fetch.h"
#include "client/link.h"
#include "client/sender.h"
#include "client/verdict.h"
#include "net/socket.h"
#include "proto/limits.h"
#include "proto/names.h"
#include "util/mutex.h"
#include "util/shell_words.h"
#include "util/text.h"
#include "util/units.h"
#include "wire/channel.h"

namespace ftx::client {
namespace {

// Queued lines are sent once this many bytes wait, even while more input is ready.
constexpr size_t kSendBatchBytes = 64 << 10;

constexpr const char* kHelp =
    "commands: /send PATH... upload files into the server's directory, /share PATH... upload them to "
    "the room's shelf and tell the room, /files [PATH] list the shelf, /get NAME... fetch from it into "
    "the current directory, /who list who is here, /quit leave (or end of input), /help this text; "
    "a name with blanks is quoted as in a shell ('my file.txt' or my\\ file.txt); //text says /text; "
    "anything else is said to the room";

// What the reader thread learns, for the main thread to wait on.
struct Inbound {
  Mutex mutex;
  std::condition_variable changed;
  bool bye GUARDED_BY(mutex) = false;
  bool closed GUARDED_BY(mutex) = false;
  std::optional<proto::Error> error GUARDED_BY(mutex);
};

void read_frames(wire::Channel& channel, ChatDisplay& display, Inbound& in) {
  // Whatever was shown goes out before the client waits for more, and before it ends.
  struct CaughtUp {
    ChatDisplay& display;
    ~CaughtUp() { display.caught_up(); }
  } at_end{display};
  std::vector<proto::MsgView> burst;
  try {
    while (true) {
      // The messages already here are shown together, read where they lie.
      if (channel.take_buffered_msgs(burst) > 0) {
        display.messages(burst);
        burst.clear();
      }
      std::optional<proto::Frame> next = channel.try_receive();
      if (!next) {
        display.caught_up();
        // Undecoded: the messages that arrive are taken in place at the top of the loop.
        channel.receive_more();
        continue;
      }
      // Never a MSG or MSG_BATCH: every whole one was taken above (the in-place decoder
      // accepts exactly what decode_frame does; the frame_decoder fuzz target holds it to that).
      const proto::Frame& frame = *next;
      if (std::holds_alternative<proto::Bye>(frame)) {
        MutexLock lock(in.mutex);
        in.bye = true;
        in.changed.notify_all();
        return;
      } else if (auto* err = std::get_if<proto::Error>(&frame)) {
        MutexLock lock(in.mutex);
        in.error = *err;
      }
    }
  } catch (const std::exception&) {
  }
  MutexLock lock(in.mutex);
  in.closed = true;
  in.changed.notify_all();
}

// What a /send running beside the chat says: each file as it starts, how far it is every
// few seconds, retries and warnings; the results follow from the report.
class UploadProgress : public SendObserver {
 public:
  explicit UploadProgress(ChatDisplay& display) : display_(display) {}
  void warning(const std::string& text) override { display_.status("/send: " + text); }
  void file_started(const std::string& name, uint64_t size) override {
    name_ = name;
    size_ = size;
    last_ = std::chrono::steady_clock::now();
    display_.status("/send: sending " + name + " (" + format_bytes(size) + ")");
  }
  void file_progress(uint64_t done) override {
    const auto now = std::chrono::steady_clock::now();
    if (size_ == 0 || now - last_ < kEvery) return;
    last_ = now;
    display_.status("/send: " + name_ + " " + std::to_string(done * 100 / size_) + "% of " +
                    format_bytes(size_));
  }
  void retrying(const std::string& why, int attempt, int of, std::chrono::milliseconds) override {
    display_.status("/send: " + why + "; retrying (" + std::to_string(attempt) + " of " + std::to_string(of) +
                    ")");
  }

 private:
  static constexpr std::chrono::seconds kEvery{2};
  ChatDisplay& display_;
  std::string name_;
  uint64_t size_ = 0;
  std::chrono::steady_clock::time_point last_;
};

void upload(const ChatOptions& options, std::vector<std::string> paths, ChatDisplay& display) {
  SendOptions send;
  send.server = options.server;
  send.client_name = options.name;
  send.token = options.token;
  send.tls = options.tls;
  send.paths = std::move(paths);
  UploadProgress progress(display);
  const SendReport report = send_files(send, progress);
  // The connection's failure once, then each file it left unsent (as ftx send says it).
  if (report.connection_failed) display.status("/send: " + report.connection_error);
  for (const auto& f : report.files) {
    if (f.status == FileStatus::Saved && f.directory) {
      display.status("/send: saved directory " + f.path + (f.saved_as != f.path ? " as " + f.saved_as : ""));
    } else if (f.status == FileStatus::Saved) {
      display.status("/send: " + format_saved_line(f));
      if (f.changed) display.status("/send: " + format_changed_line(f));
    } else if (f.status == FileStatus::Unchanged) {
      display.status("/send: " + format_unchanged_line(f));
    } else if (f.status == FileStatus::NotSent && report.connection_failed &&
               f.error == report.connection_error) {
      display.status("/send: " + f.path + ": not sent");
    } else {
      display.status("/send: " + format_failed_line(f));
    }
  }
}

FetchOptions shelf_options(const ChatOptions& options) {
  FetchOptions fetch;
  fetch.server = options.server;
  fetch.client_name = options.name;
  fetch.token = options.token;
  fetch.tls = options.tls;
  fetch.connect_timeout = options.connect_timeout;
  return fetch;
}

// /files [PATH]: the shelf, a line per entry.
void list_shelf(const ChatOptions& options, const std::vector<std::string>& words, ChatDisplay& display) {
  try {
    const auto entries = list_files(shelf_options(options), words.empty() ? "" : words.front());
    if (entries.empty()) display.status("/files: nothing there");
    for (const proto::FileEntry& e : entries) {
      const bool dir = (e.flags & proto::kFlagDirectory) != 0;
      display.status("/files: " + e.name + (dir ? "/" : " (" + format_bytes(e.size) + ")"));
    }
  } catch (const ConnectionLost& e) {
    display.status("/files: " + std::string(e.what()));
  }
}

// /get NAME...: into the current directory, with every check of ftx get.
void fetch_from_shelf(const ChatOptions& options, std::vector<std::string> names, ChatDisplay& display) {
  FetchOptions fetch = shelf_options(options);
  fetch.names = std::move(names);
  if (fetch.names.empty()) {
    display.status("usage: /get NAME...");
    return;
  }
  FetchObserver quiet;
  const FetchReport report = fetch_files(fetch, quiet);
  for (const FetchOutcome& f : report.files) {
    if (f.status == FetchStatus::Fetched) {
      display.status("/get: fetched " + f.name + " into " + f.path + " (" + format_bytes(f.bytes) + ", " +
                     f.digest + ", verified)");
    } else if (f.status == FetchStatus::Unchanged) {
      display.status("/get: " + f.path + " is already " + f.name + " (unchanged)");
    } else {
      display.status("/get: " + f.name + ": " +
                     (f.code ? std::string(proto::error_code_name(*f.code)) + ": " : std::string()) +
                     f.error);
    }
  }
}

// /share PATH...: uploads onto the shelf (the server's directory, when it shares it) and
// tells the room how to fetch each file.
void share_to_room(const ChatOptions& options, std::vector<std::string> paths, wire::Channel& channel,
                   ChatDisplay& display, ChatResult& result) {
  SendOptions send;
  send.server = options.server;
  send.client_name = options.name;
  send.token = options.token;
  send.tls = options.tls;
  send.paths = std::move(paths);
  if (send.paths.empty()) {
    display.status("usage: /share PATH...");
    return;
  }
  // Only a server that shares its own directory puts uploads on the shelf.
  const FetchOptions fetch = shelf_options(options);
  bool takes_uploads = false;
  try {
    list_files(fetch, "", &takes_uploads);
  } catch (const ConnectionLost& e) {
    display.status("/share: the server does not share files (" + std::string(e.what()) + ")");
    return;
  }
  if (!takes_uploads) {
    display.status(
        "/share: the server shares another directory, read-only (ftx serve --share=PATH): nothing was "
        "uploaded; /send uploads without telling the room");
    return;
  }
  SendObserver quiet;
  const SendReport report = send_files(send, quiet);
  for (const auto& f : report.files) {
    // A file already there (unchanged) is on the shelf all the same.
    const bool there_now = f.status == FileStatus::Saved || f.status == FileStatus::Unchanged;
    if (!there_now || f.directory) {
      if (!there_now) display.status("/share: " + f.path + ": " + explain(f));
      continue;
    }
    try {
      const auto there = list_files(fetch, f.saved_as);
      if (there.size() != 1 || there[0].name != f.saved_as)
        throw ConnectionLost("not on the shelf", std::nullopt);
    } catch (const ConnectionLost&) {
      display.status(
          "/share: saved " + f.path + " as " + f.saved_as +
          ", but the server shares another directory (ftx serve --share=PATH, read-only): the room "
          "was not told");
      continue;
    }
    channel.queue(proto::Msg{
        "", 0, "shared " + f.saved_as + " (" + format_bytes(f.bytes) + ") - /get " + shell_word(f.saved_as)});
    ++result.lines_sent;
    display.status("/share: shared " + f.saved_as + " (" + f.digest + ")");
  }
  channel.flush();
}

// Uploads started with /send, each on its own thread and connection, so typing goes on.
struct Uploads {
  std::atomic<int> active{0};
  std::vector<std::jthread> running;
};

// A line that starts with "/" at a terminal: true when it says to leave.
bool run_command(const std::string& line, const ChatOptions& options, wire::Channel& channel,
                 ChatDisplay& display, ChatResult& result, Uploads& uploads) {
  const size_t space = line.find(' ');
  const std::string cmd = line.substr(0, space);
  const std::string args = space == std::string::npos ? "" : line.substr(space + 1);
  if (cmd == "/quit") return true;
  // Names with blanks are quoted as in a shell: /get 'my file.txt' or /get my\ file.txt.
  ShellWords words;
  if (cmd == "/send" || cmd == "/share" || cmd == "/files" || cmd == "/get") {
    words = split_shell_words(args);
    if (words.error) {
      display.status(cmd + ": " + *words.error +
                     " (quote a name with blanks as in a shell: 'my file' or my\\ file)");
      return false;
    }
  }
  if (cmd == "/help") {
    display.status(kHelp);
  } else if (cmd == "/who") {
    channel.send(proto::Who{});
  } else if (cmd == "/send") {
    std::vector<std::string> paths = std::move(words.words);
    if (paths.empty()) {
      display.status("usage: /send PATH...");
    } else {
      ++uploads.active;
      uploads.running.emplace_back([&options, &display, &uploads, paths = std::move(paths)]() mutable {
        try {
          upload(options, std::move(paths), display);
        } catch (const std::exception& e) {
          display.status(std::string("/send: ") + e.what());
        }
        --uploads.active;
      });
    }
  } else if (cmd == "/share") {
    channel.flush();
    share_to_room(options, std::move(words.words), channel, display, result);
  } else if (cmd == "/files") {
    channel.flush();
    list_shelf(options, words.words, display);
  } else if (cmd == "/get") {
    channel.flush();
    fetch_from_shelf(options, std::move(words.words), display);
  } else if (!line.starts_with("//")) {
    display.status("unknown command " + cmd + "; " + kHelp);
  } else {
    channel.queue(proto::Msg{"", 0, line.substr(1)});  // "//text" says "/text"
    ++result.lines_sent;
  }
  return false;
}

// After our BYE: waits (bounded) for the server's, which confirms every line before it,
// and says in result how the conversation ended.
void await_goodbye(Inbound& in, const ChatOptions& options, const std::string& peer, ChatResult& result) {
  MutexLock lock(in.mutex);
  lock.wait_until(in.changed, std::chrono::steady_clock::now() + options.confirm_timeout,
                  [&]() REQUIRES(in.mutex) { return in.bye || in.closed; });
  result.confirmed = in.bye;
  if (in.error) {
    result.refused = in.error->code;
    result.error = proto::describe(in.error->code, in.error->message);
  } else if (!in.bye && result.error.empty()) {
    result.error =
        in.closed ? peer + " closed the connection" : "the server did not confirm the last lines in time";
  }
}

}  // namespace

ChatResult run_chat(const ChatOptions& options, LineSource& input, ChatDisplay& display) {
  ChatResult result;
  std::optional<ServerLink> opened;
  try {
    // Chat is the same in versions 2 to 4 but for MSG_BATCH (4): an older server is spoken
    // to in its version, with a MSG per line.
    opened.emplace(ServerLink::open_newest(
        LinkOptions{options.server, options.connect_timeout, options.connect_timeout, options.tls},
        proto::Hello{proto::kProtocolVersion, proto::Role::Chat, options.name, options.token}, /*oldest=*/2));
  } catch (const ConnectionLost& e) {
    result.untrusted = dynamic_cast<const UntrustedServer*>(&e) != nullptr;
    result.refused = e.code();
    result.error = e.what();
    return result;
  }
  ServerLink& link = *opened;
  const std::string& peer = link.peer();
  result.name = link.welcome().name;
  result.connected = true;
  // A room may stay quiet for hours: no read timeout; keepalive notices a vanished server.
  link.stream().set_timeouts(std::chrono::milliseconds(0), options.confirm_timeout);
  net::enable_keepalive(link.stream().fd());
  if (result.name != options.name)
    display.status("the name " + options.name + " is taken; you are " + result.name);
  if (options.interactive) display.status("joined " + peer + " as " + result.name + "; /help for commands");

  // Two threads share the channel: this one only queues and sends, the reader only
  // receives. The channel's two directions have no state in common, and the stream allows
  // one reader and one writer at once.
  wire::Channel& channel = link.channel();
  Inbound in;
  std::jthread reader([&] { read_frames(channel, display, in); });
  auto gone = [&] {
    MutexLock lock(in.mutex);
    return in.closed;
  };

  Uploads uploads;
  bool quit = false;
  // Lines read together go out together, as MSG_BATCH frames to a server of version 4.
  std::vector<std::string> pending;
  size_t pending_bytes = 0;
  auto queue_pending = [&] {
    channel.queue_msgs(pending, link.version());
    pending.clear();
    pending_bytes = 0;
  };
  try {
    while (!quit && !gone()) {
      // Nothing stays queued while input may block.
      if (!input.line_ready() || channel.queued() + pending_bytes >= kSendBatchBytes) {
        queue_pending();
        channel.flush();
      }
      std::optional<std::string> next = input.next(gone);
      if (!next) break;
      std::string& line = *next;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (options.interactive && line.starts_with("/")) {
        queue_pending();
        quit = run_command(line, options, channel, display, result, uploads);
        continue;
      }
      if (line.empty() && options.interactive) continue;
      if (line.size() > proto::kMaxMessage) {
        display.status("line of " + std::to_string(line.size()) + " bytes not sent: the limit is " +
                       std::to_string(proto::kMaxMessage));
        ++result.lines_skipped;
        continue;
      }
      pending_bytes += sizeof(uint32_t) + line.size();  // its length in the frame, and its bytes
      pending.push_back(std::move(line));
      ++result.lines_sent;
    }
    queue_pending();
    channel.send(proto::Bye{});
  } catch (const std::exception& e) {
    result.error = e.what();
  }
  await_goodbye(in, options, peer, result);
  link.shut_down();  // ends the reader if it still waits
  if (uploads.active > 0) {
    display.status(
        "waiting for /send to finish; Ctrl-C leaves now (a file over 256 KiB resumes when "
        "sent again)");
  }
  uploads.running.clear();  // joins each
  return result;
}

}  // namespace ftx::client
