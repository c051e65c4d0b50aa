// SPDX-License-Identifier: MIT
// The input line at a terminal, on libedit's native API in unbuffered mode: el_gets reads
// one key per call, so one poll(2) loop serves the keyboard, the connection's end, signals
// and messages to print, and only this thread writes to the terminal while a line is typed.
#include "client/line_editor.h"

#include <fcntl.h>
#include <histedit.h>
#include <langinfo.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <clocale>
#include <csignal>
#include <cwchar>
#include <cwctype>
#include <stdexcept>

#include "util/sys_error.h"

namespace ftx::client {
namespace {

// The history a session keeps (in memory only).
constexpr int kHistoryLines = 1000;

// The editor whose pipe the signal handlers write to: one at a time.
std::atomic<int> g_wake_fd{-1};
std::atomic<bool> g_leave{false};
std::atomic<bool> g_resize{false};
std::atomic<bool> g_suspend{false};
std::atomic<int> g_leaves{0};
// The terminal's modes before the editor changed them, for a second SIGINT or SIGTERM that
// ends the process at once (the first asks it to leave, which may wait on the server).
int g_tty_fd = -1;
termios g_tty_modes{};

extern "C" void on_editor_signal(int sig) {
  const int saved = errno;
  if (sig == SIGWINCH) {
    g_resize = true;
  } else if (sig == SIGTSTP) {
    g_suspend = true;
  } else if (g_leaves++ == 0) {
    g_leave = true;
  } else {
    if (g_tty_fd >= 0) ::tcsetattr(g_tty_fd, TCSANOW, &g_tty_modes);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, nullptr);
    ::raise(sig);  // delivered when this handler returns
  }
  const char byte = 1;
  [[maybe_unused]] const ssize_t n = ::write(g_wake_fd.load(), &byte, 1);
  errno = saved;
}

const char* empty_prompt(EditLine*) { return ""; }

// A stdio stream of its own on a copy of fd (libedit wants FILEs; closing them leaves fd).
std::FILE* reopen(int fd, const char* mode) {
  const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) return nullptr;
  std::FILE* f = ::fdopen(copy, mode);
  if (!f) ::close(copy);
  return f;
}

void write_fully(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a terminal that went away: nothing left to show it to
    text.remove_prefix(static_cast<size_t>(n));
  }
}

// Runs shorter than this are typed keys: libedit draws them itself, a key at a time.
constexpr size_t kPasteRun = 16;

}  // namespace

// libedit's key source: the keys already read, then the terminal (blocking, for the rest of
// a key sequence).
int read_key(EditLine* el, wchar_t* out) {
  void* self = nullptr;
  el_get(el, EL_CLIENTDATA, &self);
  return static_cast<LineEditor*>(self)->read_key(out);
}

size_t plain_run(std::string_view text, size_t from) {
  std::mbstate_t state{};
  size_t at = from;
  while (at < text.size()) {
    const auto byte = static_cast<unsigned char>(text[at]);
    if (byte < 0x20 || byte == 0x7f) break;
    if (byte < 0x80) {
      ++at;
      continue;
    }
    wchar_t wc = 0;
    const size_t n = std::mbrtowc(&wc, text.data() + at, text.size() - at, &state);
    if (n == static_cast<size_t>(-1) || n == static_cast<size_t>(-2) || n == 0 || !std::iswprint(wc)) break;
    at += n;
  }
  return at - from;
}

size_t display_columns(std::string_view text) {
  std::mbstate_t state{};
  size_t columns = 0;
  while (!text.empty()) {
    wchar_t wc = 0;
    const size_t n = std::mbrtowc(&wc, text.data(), text.size(), &state);
    if (n == static_cast<size_t>(-1) || n == static_cast<size_t>(-2) || n == 0) {
      // Not a character in this locale: libedit shows such a byte as an octal escape (\ooo).
      columns += static_cast<unsigned char>(text.front()) < 0x80 ? 2 : 4;
      text.remove_prefix(1);
      state = std::mbstate_t{};
      continue;
    }
    text.remove_prefix(n);
    const int w = ::wcwidth(wc);
    columns += w >= 0 ? static_cast<size_t>(w) : 2;  // controls show as ^X
  }
  return columns;
}

std::string erase_input(size_t column, size_t width) {
  std::string out;
  const size_t rows = width == 0 ? 0 : column / width;
  if (rows > 0) out += "\x1b[" + std::to_string(rows) + "A";
  out += "\r\x1b[J";
  return out;
}

LineEditor::LineEditor(int in_fd, int out_fd) : in_fd_(in_fd), out_fd_(out_fd) {
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw_sys("pipe2");
  // libedit decodes keys and measures characters by LC_CTYPE. Chat text is UTF-8 whatever
  // the environment says: in the C locale (LANG unset, as in many containers) libedit would
  // drop every non-ASCII key.
  if (const char* old = std::setlocale(LC_CTYPE, nullptr)) old_locale_ = old;
  std::setlocale(LC_CTYPE, "");
  if (std::string_view(::nl_langinfo(CODESET)) != "UTF-8") std::setlocale(LC_CTYPE, "C.UTF-8");
  in_ = reopen(in_fd, "r");
  out_ = reopen(out_fd, "w");
  if (in_ && out_) el_ = el_init("ftx", in_, out_, out_);
  history_ = history_init();
  if (!el_ || !history_) {
    release();
    throw std::runtime_error("the line editor (libedit) did not start");
  }
  HistEvent ev;
  history(history_, &ev, H_SETSIZE, kHistoryLines);
  history(history_, &ev, H_SETUNIQUE, 1);
  el_set(el_, EL_HIST, history, history_);
  el_set(el_, EL_EDITOR, "emacs");
  el_set(el_, EL_PROMPT, empty_prompt);
  el_set(el_, EL_CLIENTDATA, static_cast<void*>(this));
  el_set(el_, EL_GETCFN, &client::read_key);
  el_set(el_, EL_SIGNAL, 0);  // the handlers below, for the whole session, not libedit's per call
  el_source(el_, nullptr);    // the user's ~/.editrc, as every libedit program reads it

  g_wake_fd = wake_[1];
  g_leaves = 0;
  g_tty_fd = ::tcgetattr(in_fd, &g_tty_modes) == 0 ? in_fd : -1;
  struct sigaction sa {};
  sa.sa_handler = on_editor_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGWINCH, &sa, nullptr);
  sigaction(SIGTSTP, &sa, nullptr);
  // A signal the shell made the process ignore (SIGINT of a background job) stays ignored.
  for (int sig : {SIGINT, SIGTERM}) {
    struct sigaction old {};
    sigaction(sig, nullptr, &old);
    if (old.sa_handler != SIG_IGN) sigaction(sig, &sa, nullptr);
  }
}

LineEditor::~LineEditor() { release(); }

void LineEditor::release() {
  end_line();
  for (int sig : {SIGINT, SIGTERM, SIGWINCH, SIGTSTP}) {
    struct sigaction old {};
    sigaction(sig, nullptr, &old);
    if (old.sa_handler == on_editor_signal) std::signal(sig, SIG_DFL);
  }
  g_wake_fd = -1;
  g_tty_fd = -1;
  if (el_) el_end(el_);  // puts the terminal back as it found it
  el_ = nullptr;
  if (history_) history_end(history_);
  history_ = nullptr;
  if (in_) std::fclose(in_);
  if (out_) std::fclose(out_);
  in_ = out_ = nullptr;
  for (int& fd : wake_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  if (!old_locale_.empty()) std::setlocale(LC_CTYPE, old_locale_.c_str());
}

// Raw mode, an empty line, the prompt drawn.
void LineEditor::start_line() {
  if (editing_) return;
  el_set(el_, EL_UNBUFFERED, 1);
  editing_ = true;
}

// Back to the terminal's own modes (canonical, echo); the line's state is reset when the
// next one starts.
void LineEditor::end_line() {
  if (!editing_) return;
  el_set(el_, EL_UNBUFFERED, 0);
  editing_ = false;
}

void LineEditor::print(int fd, std::string text) {
  MutexLock lock(mutex_);
  if (!reading_) {
    write_fully(fd, text);
    return;
  }
  pending_.push_back(Pending{fd, std::move(text)});
  const char byte = 0;
  [[maybe_unused]] const ssize_t n = ::write(wake_[1], &byte, 1);  // full: a wake-up is due anyway
}

int LineEditor::read_key(wchar_t* out) {
  while (true) {
    if (keys_pos_ < keys_.size()) {
      std::mbstate_t state{};
      const size_t n = std::mbrtowc(out, keys_.data() + keys_pos_, keys_.size() - keys_pos_, &state);
      if (n != static_cast<size_t>(-2)) {
        if (n == static_cast<size_t>(-1) || n == 0) {
          *out = static_cast<unsigned char>(keys_[keys_pos_]);  // NUL, or a byte of no character
          ++keys_pos_;
        } else {
          keys_pos_ += n;
        }
        ++keys_taken_;
        return 1;
      }
    }
    // The rest of a character or of a key sequence: it is on its way.
    char buf[4096];
    const ssize_t got = ::read(in_fd_, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      input_closed_ = true;
      return got == 0 ? 0 : -1;
    }
    keys_.erase(0, keys_pos_);
    keys_pos_ = 0;
    keys_.append(buf, static_cast<size_t>(got));
  }
}

size_t LineEditor::cursor_column() const {
  const LineInfo* line = el_line(el_);
  return display_columns(std::string_view(line->buffer, static_cast<size_t>(line->cursor - line->buffer)));
}

// From the cursor at `column` of the line: back to the line's start, and the whole line
// (prompt, text, cursor) drawn again from there.
void LineEditor::redraw(size_t column) {
  erase(column);
  el_set(el_, EL_REFRESH);
}

void LineEditor::erase(std::optional<size_t> column) {
  int width = 0;
  el_get(el_, EL_GETTC, "co", &width, nullptr);
  write_fully(out_fd_,
              erase_input(column.value_or(cursor_column()), width > 0 ? static_cast<size_t>(width) : 80));
}

// A pasted run of text, in at once and drawn once.
void LineEditor::insert(std::string_view text) {
  const size_t column = cursor_column();
  el_insertstr(el_, std::string(text).c_str());
  redraw(column);
}

// Takes the keys read so far, pasted text by runs and the rest a key at a time; a whole
// line when one ends here (the keys after it wait for the next line), else nothing.
std::optional<std::string> LineEditor::take_keys() {
  while (keys_pos_ < keys_.size()) {
    const size_t run = plain_run(keys_, keys_pos_);
    if (run >= kPasteRun) {
      insert(std::string_view(keys_).substr(keys_pos_, run));
      keys_pos_ += run;
      continue;
    }
    int count = 0;
    const uint64_t before = keys_taken_;
    const char* got = el_gets(el_, &count);
    // Unbuffered, libedit answers -1 for a key that leaves the line empty as well (a
    // backspace over the only character, ^U): only our own read tells the terminal's end.
    // A call that took no key cannot be asked again (it would spin): the terminal is gone.
    if (input_closed_ || keys_taken_ == before) {
      ended_ = true;
      return std::nullopt;
    }
    if (got == nullptr || count <= 0) continue;
    std::string text(got, static_cast<size_t>(count));
    if (text == "\x04") {  // ^D on an empty line: the end of input
      ended_ = true;
      return std::nullopt;
    }
    if (text.back() != '\n' && text.back() != '\r') continue;  // still typing
    text.pop_back();
    if (!text.empty()) {
      HistEvent ev;
      history(history_, &ev, H_ENTER, text.c_str());
    }
    return text;
  }
  keys_.clear();
  keys_pos_ = 0;
  return std::nullopt;
}

// Takes the line off the screen, prints what waited, and draws the line again below it.
void LineEditor::show_pending() {
  std::vector<Pending> ready;
  {
    MutexLock lock(mutex_);
    ready.swap(pending_);
  }
  if (ready.empty()) return;
  erase();
  for (const auto& p : ready) write_fully(p.fd, p.text);
  el_set(el_, EL_REFRESH);
}

void LineEditor::handle_signals() {
  char drain[64];
  while (::read(wake_[0], drain, sizeof drain) > 0) {
  }
  if (g_resize.exchange(false)) {
    el_resize(el_);
    redraw(cursor_column());
  }
  if (g_suspend.exchange(false)) suspend();
  if (g_leave.exchange(false)) interrupted_ = true;
}

// ^Z: the terminal goes back to the shell as it was, the process stops; on `fg` the line
// is drawn again, as it was, on the raw terminal.
void LineEditor::suspend() {
  erase();
  el_set(el_, EL_PREP_TERM, 0);
  struct sigaction sa {
  }, mine{};
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTSTP, &sa, &mine);
  ::raise(SIGTSTP);  // stops here until SIGCONT
  sigaction(SIGTSTP, &mine, nullptr);
  el_set(el_, EL_PREP_TERM, 1);
  el_resize(el_);
  el_set(el_, EL_REFRESH);
}

bool LineEditor::line_ready() const { return keys_.find_first_of("\r\n", keys_pos_) != std::string::npos; }

std::optional<std::string> LineEditor::next(const std::function<bool()>& stop) {
  if (ended_) return std::nullopt;
  {
    MutexLock lock(mutex_);
    for (const auto& p : pending_) write_fully(p.fd, p.text);
    pending_.clear();
    reading_ = true;
  }
  start_line();
  std::optional<std::string> result;
  while (!result && !ended_) {
    handle_signals();
    if (interrupted_ || stop()) break;
    show_pending();
    result = take_keys();
    if (result || ended_) break;
    pollfd fds[2] = {{in_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    const int n = ::poll(fds, 2, 200);
    if (n < 0 && errno != EINTR) break;
    if (n <= 0 || (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    char buf[65536];
    const ssize_t got = ::read(in_fd_, buf, sizeof buf);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) {
      input_closed_ = true;  // the terminal hung up
      break;
    }
    keys_.append(buf, static_cast<size_t>(got));
  }
  // Off the line before whatever is printed next: the half-typed text, or the ^D shown for
  // the end of input, stays on a line of its own.
  const LineInfo* line = el_line(el_);
  const bool leave_line =
      !result && !input_closed_ && (interrupted_ || ended_ || line->lastchar != line->buffer);
  end_line();
  if (leave_line) write_fully(out_fd_, "\n");
  {
    MutexLock lock(mutex_);
    reading_ = false;
    for (const auto& p : pending_) write_fully(p.fd, p.text);
    pending_.clear();
  }
  if (!result) {
    ended_ = true;
    // Nothing reads the keys any more: the next SIGINT or SIGTERM ends the process at once
    // (terminal put back) instead of asking it to leave, which it is doing.
    int none = 0;
    g_leaves.compare_exchange_strong(none, 1);
  }
  return result;
}

}  // namespace ftx::client
