// SPDX-License-Identifier: MIT
// `ftx send`: one connection at a time, reconnecting and resuming after a failure. Small
// files are pipelined (eager_window), large ones wait for READY and may resume
// (file_upload), stdin goes in chunks.
#include "client/sender.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "client/eager_window.h"
#include "client/file_upload.h"
#include "client/link.h"
#include "client/plan.h"
#include "client/verdict.h"
#include "digest/digest.h"
#include "util/clock.h"

namespace ftx::client {
namespace {

// One connection's worth of the job: every item without a result yet, in order.
class Job {
 public:
  Job(const SendOptions& options, SendObserver& observer, std::vector<std::optional<FileOutcome>>& results,
      ServerLink& link)
      : options_(options),
        observer_(observer),
        results_(results),
        link_(link),
        window_(link, link.welcome().digest, observer,
                [this](size_t index, FileOutcome out) { finish(index, std::move(out)); }) {}

  // Throws ConnectionLost.
  void run(const std::vector<SendItem>& items) {
    for (size_t i = 0; i < items.size(); ++i) {
      if (results_[i]) continue;
      const SendItem& item = items[i];
      if (!item.error.empty()) {
        FileOutcome out = outcome_for(item);
        out.status = FileStatus::Unreadable;
        out.error = item.error;
        finish(i, std::move(out));
        continue;
      }
      switch (item.kind) {
        case SendItem::Kind::Directory:
          window_.send_directory(i, outcome_for(item), begin_for(item));
          break;
        case SendItem::Kind::File:
          send_file(i, item);
          break;
        case SendItem::Kind::Stream:
          window_.collect_all();  // READY must be the next answer
          send_stream(i, item);
          break;
      }
      window_.make_room();
    }
    window_.collect_all();
    link_.say_goodbye();  // the files are already confirmed
  }

 private:
  static proto::FileBegin begin_for(const SendItem& item) {
    proto::FileBegin begin;
    begin.name = item.name;
    begin.mode = item.mode;
    begin.mtime_ns = item.mtime_ns;
    return begin;
  }

  void finish(size_t index, FileOutcome out) {
    observer_.file_done(out);
    results_[index] = std::move(out);
  }

  void send_file(size_t index, const SendItem& item) {
    FileOutcome out = outcome_for(item);
    net::UniqueFd fd(::open(item.path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode)) {
      out.status = FileStatus::Unreadable;
      out.error = !fd ? "cannot read " + item.path + ": " + std::strerror(errno)
                      : item.path + " is no longer a regular file";
      finish(index, std::move(out));
      return;
    }
    out.bytes = static_cast<uint64_t>(st.st_size);
    proto::FileBegin begin = begin_for(item);
    begin.size = out.bytes;
    begin.mode = st.st_mode & 07777;
    begin.mtime_ns = ns_from_timespec(st.st_mtim);
    if (begin.size <= EagerWindow::kMaxFileSize) {
      window_.send_file(index, std::move(out), fd.get(), std::move(begin));
    } else {
      window_.collect_all();  // READY must be the next answer
      const uint64_t size = out.bytes;
      try {
        finish(index, send_resumable(link_, observer_, options_.client_name, std::move(out), fd.get(),
                                     std::move(begin)));
      } catch (const SourceUnreadable& e) {
        FileOutcome failed = outcome_for(item);
        failed.bytes = size;
        failed.status = FileStatus::Unreadable;
        failed.error = e.what();
        finish(index, std::move(failed));
        throw;
      }
    }
  }

  void send_stream(size_t index, const SendItem& item) {
    FileOutcome out = outcome_for(item);
    try {
      send_stdin(link_, observer_, out, item.name);
    } catch (const ConnectionLost& e) {
      out.error = std::string(e.what()) + " (a stream cannot be resumed or resent)";
      finish(index, std::move(out));
      throw;
    }
    finish(index, std::move(out));
  }

  const SendOptions& options_;
  SendObserver& observer_;
  std::vector<std::optional<FileOutcome>>& results_;
  ServerLink& link_;
  EagerWindow window_;
};

}  // namespace

std::string transfer_id(const std::string& client_name, const std::string& absolute_path,
                        const std::string& name) {
  digest::Hasher hasher(proto::DigestAlgo::Xxh128);
  const std::string key = client_name + '\0' + absolute_path + '\0' + name;
  hasher.update(std::span(reinterpret_cast<const uint8_t*>(key.data()), key.size()));
  return digest::to_hex(hasher.finish());
}

SendReport send_files(const SendOptions& options, SendObserver& observer) {
  SendReport report;
  const SendPlan plan = plan_send(options.paths, PlanOptions{options.as_name, options.follow_symlinks});
  for (const std::string& w : plan.warnings) observer.warning(w);
  size_t files = 0;
  uint64_t bytes = 0;
  for (const SendItem& item : plan.items) {
    // An unreadable item still takes its turn in the count (the progress bar numbers it).
    if (item.kind == SendItem::Kind::Directory) continue;
    ++files;
    bytes += item.size;
  }
  observer.job_started(files, bytes);

  std::vector<std::optional<FileOutcome>> results(plan.items.size());
  bool connected_once = false;
  while (true) {
    try {
      // A version 2 server takes files too (it just saves again what it has); a version 1
      // one is refused, as ftx did before version 3.
      ServerLink link = ServerLink::open_newest(
          LinkOptions{options.server, options.connect_timeout, options.io_timeout, options.tls},
          proto::Hello{proto::kProtocolVersion, proto::Role::Send, options.client_name, options.token},
          /*oldest=*/2);
      connected_once = true;
      Job(options, observer, results, link).run(plan.items);
      break;
    } catch (const SourceUnreadable&) {
      continue;  // that file is reported; the others go over a new connection
    } catch (const ConnectionLost& e) {
      if (!retry_after(e, connected_once, options.retries, report,
                       [&](const std::string& why, int attempt, int of, std::chrono::milliseconds delay) {
                         observer.retrying(why, attempt, of, delay);
                       })) {
        break;
      }
    }
  }
  if (report.connection_failed) observer.connection_failed(report.connection_error);
  for (size_t i = 0; i < plan.items.size(); ++i) {
    if (!results[i]) {
      FileOutcome out = outcome_for(plan.items[i]);
      out.status = FileStatus::NotSent;
      // The key warning is many lines, said once, before the files.
      out.error = report.untrusted ? "the server's key is not the one trusted (see the warning above)"
                                   : report.connection_error;
      observer.file_done(out);
      results[i] = std::move(out);
    }
    report.files.push_back(std::move(*results[i]));
  }
  return report;
}

}  // namespace ftx::client
