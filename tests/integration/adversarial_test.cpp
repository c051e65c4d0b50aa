// SPDX-License-Identifier: MIT
// ftx under attack: hostile names, sizes, frames, timing, resource exhaustion and chat
// abuse against a running server on 127.0.0.1. After every case the same checks run (in
// TearDown, once the case's own clients are gone): the server still saves a normal binary
// upload, nothing appeared or changed outside DIR, nothing incomplete is visible in DIR
// and the partial area is empty.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat_clients.h"
#include "client/sender.h"
#include "digest/digest.h"
#include "net/socket.h"
#include "peers.h"
#include "process.h"
#include "proto/codec.h"
#include "proto/limits.h"
#include "raw_client.h"
#include "temp_dir.h"
#include "test_env.h"
#include "test_server.h"
#include "tmpfs.h"
#include "wire/channel.h"

namespace ftx {
namespace {

namespace fs = std::filesystem;
using proto::ErrorCode;
using testing::ChatClient;
using testing::RawClient;
using testing::TempDir;
using testing::TestServer;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------
// Small tools

std::string digest_of(const std::string& data, proto::DigestAlgo algo = proto::DigestAlgo::Xxh128) {
  digest::Hasher h(algo);
  h.update(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  return h.finish();
}

std::string frame_bytes(const proto::Frame& f) {
  const auto v = proto::encode_frame(f);
  return std::string(v.begin(), v.end());
}

std::string header(uint8_t type, uint32_t len) {
  return std::string{static_cast<char>(type), static_cast<char>(len >> 24), static_cast<char>(len >> 16),
                     static_cast<char>(len >> 8), static_cast<char>(len)};
}

std::string hello_bytes() {
  return frame_bytes(proto::Hello{proto::kProtocolVersion, proto::Role::Send, "attacker", ""});
}

std::string code_name(ErrorCode c) { return std::string(proto::error_code_name(c)); }

// The next frame, or nullopt when the server closed (or reset) the connection first.
std::optional<proto::Frame> try_receive(RawClient& c) {
  try {
    return c.receive();
  } catch (const net::ConnectionClosed&) {
    return std::nullopt;
  } catch (const std::system_error& e) {
    if (e.code() == std::errc::timed_out) throw;
    return std::nullopt;
  }
}

// The code of an ERROR frame; a failure (and Internal) for anything else.
ErrorCode error_code(const std::optional<proto::Frame>& f) {
  if (!f) {
    ADD_FAILURE() << "expected ERROR, the server closed the connection without one";
    return ErrorCode::Internal;
  }
  const auto* e = std::get_if<proto::Error>(&*f);
  if (!e) {
    ADD_FAILURE() << "expected ERROR, got " << proto::frame_type_name(proto::frame_type(*f));
    return ErrorCode::Internal;
  }
  return e->code;
}

// A binary send connection with the handshake done.
std::unique_ptr<RawClient> sender(uint16_t port) {
  auto c = std::make_unique<RawClient>(port);
  c->handshake("attacker");
  return c;
}

// Every event in the JSON Lines log.
std::vector<nlohmann::json> read_log(const fs::path& file) {
  std::vector<nlohmann::json> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const std::exception&) {
      // a line being written right now
    }
  }
  return out;
}

// Everything under root, recursively (symlinks not followed), except the subtree `skip`:
// relative path -> type, size and content of small regular files.
std::map<std::string, std::string> snapshot(const fs::path& root, const fs::path& skip) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->path() == skip) {
      it.disable_recursion_pending();
      continue;
    }
    const auto st = it->symlink_status();
    std::string what;
    if (fs::is_symlink(st)) {
      what = "link->" + fs::read_symlink(it->path()).string();
    } else if (fs::is_directory(st)) {
      what = "dir";
    } else if (fs::is_regular_file(st)) {
      const auto size = fs::file_size(it->path());
      what = "file:" + std::to_string(size);
      if (size < (1u << 20)) what += ":" + testing::read_file(it->path());
    } else {
      what = "other";
    }
    out[fs::relative(it->path(), root).string()] = what;
  }
  return out;
}

// What DIR shows: every entry that is not a directory (symlinks listed as themselves, never
// followed), relative to DIR, the server's hidden .ftx area excluded. Unlike
// testing::visible_files, whose fs::relative() resolves symlinks, a planted link is listed
// under its own name.
std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> out;
  if (!fs::exists(dir)) return out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    const std::string rel = it->path().lexically_relative(dir).string();
    if (rel == ".ftx") {
      it.disable_recursion_pending();
      continue;
    }
    if (!fs::is_directory(it->symlink_status())) out.insert(rel);
  }
  return out;
}

// The text clients of this suite: being cut off is an answer here, not an error. The
// server often ends a hostile connection with a reset (unread bytes at the close), and chat
// noise may come before the line a case waits for.
class AttackTextClient : public testing::TextClient {
 public:
  explicit AttackTextClient(uint16_t port)
      : TextClient(port, {.io_timeout = 10s, .lines_to_match = 200, .failure_reads_as_line = true}) {}

  // The server closed the connection (bounded: 200 lines or the socket timeout).
  bool closed_by_server() {
    const std::string l = line_matching("^$^");  // matches nothing: read to the end
    return l == "<eof>" || l == "<reset>";
  }
};

// ---------------------------------------------------------------------------------------
// The fixture and the checks every case ends with

class Adversarial : public ::testing::Test {
 protected:
  void SetUp() override {
    // DIR sits three levels down, so "../x" and "a/../../x" would land inside tmp_, where
    // the snapshot sees them.
    dir_ = tmp_ / "nest" / "ed" / "inbox";
    fs::create_directories(dir_.parent_path());
  }

  void TearDown() override {
    if (!IsSkipped() && !verified_ && server_) {
      const TestServer& s = *server_;
      verify_after(s.port(), [&s](size_t n) { return s.wait_disconnects(n); });
    }
    server_.reset();  // stop and join before the mount underneath goes
    mount_.reset();
  }

  server::ServerConfig config() const {
    server::ServerConfig c;
    c.dir = dir_;
    return c;
  }

  // A room quick to cut off a member that does not read: a 64 KiB queue, half a second.
  server::ServerConfig strict_room() const {
    server::ServerConfig c = config();
    c.chat_queue_bytes = 64 * 1024;
    c.chat_stall_limit = 500ms;
    return c;
  }

  // A client that reads little or nothing fills its small receive buffer at once.
  static void shrink_receive_buffer(int fd) {
    const int small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  }

  // Starts the server and records what exists now: the baseline every check compares with.
  TestServer& start(server::ServerConfig c) {
    c.dir = dir_;
    server_ = std::make_unique<TestServer>(std::move(c));
    capture_baseline();
    return *server_;
  }

  void capture_baseline() {
    outside_before_ = snapshot(tmp_.path(), dir_);
    visible_before_ = listing(dir_);
    abs_existed_ = fs::exists("/abs");
  }

  // A file this case legitimately saved in DIR.
  void expect_saved(const std::string& rel) { added_.insert(rel); }

  // Waits until every session the log opened has closed: connects vs. disconnects (a busy
  // refusal logs a disconnect without a connect). Returns the disconnect count to wait for.
  size_t settle() {
    const auto deadline = Clock::now() + testing::scaled(20s);
    int stable = 0;
    size_t expected = 0;
    while (Clock::now() < deadline) {
      size_t connects = 0, disconnects = 0, busy = 0;
      for (const auto& e : read_log(dir_ / ".ftx" / "transfers.jsonl")) {
        if (e["event"] == "connect") ++connects;
        if (e["event"] == "disconnect") {
          ++disconnects;
          if (e.contains("error") && e["error"]["code"] == "busy" && e["client"] == "-") ++busy;
        }
      }
      expected = connects + busy;
      if (disconnects >= expected) {
        if (++stable >= 3) return expected;
      } else {
        stable = 0;
      }
      std::this_thread::sleep_for(25ms);
    }
    // Which peers are still connected, for the failure message.
    std::map<std::string, int> open;
    for (const auto& e : read_log(dir_ / ".ftx" / "transfers.jsonl")) {
      if (e["event"] == "connect") ++open[e["peer"].get<std::string>()];
      if (e["event"] == "disconnect") --open[e["peer"].get<std::string>()];
    }
    std::string still;
    for (const auto& [peer, n] : open) {
      if (n > 0) still += " " + peer;
    }
    ADD_FAILURE() << "sessions still open 20 s after the case ended:" << still;
    return expected;
  }

  // A normal binary upload over a fresh connection; retried (bounded) while the server is
  // still reaping slots after a busy case.
  void normal_upload(uint16_t port, const std::string& name, const std::string& data) {
    for (int attempt = 0; attempt < 50; ++attempt) {
      try {
        RawClient c(port);
        c.send(proto::Hello{proto::kProtocolVersion, proto::Role::Send, "checker", ""});
        const proto::Frame w = c.receive();
        if (auto* e = std::get_if<proto::Error>(&w); e && e->code == ErrorCode::Busy) {
          std::this_thread::sleep_for(100ms);
          continue;
        }
        ASSERT_TRUE(std::holds_alternative<proto::Welcome>(w));
        c.send(proto::FileBegin{name, data.size(), 0644, 0, 0, ""});
        const proto::Frame r = c.receive();
        ASSERT_TRUE(std::holds_alternative<proto::Ready>(r))
            << "normal upload refused: "
            << (std::holds_alternative<proto::Error>(r) ? std::get<proto::Error>(r).message : "");
        c.send_raw(data);
        c.send(proto::FileEnd{proto::DigestAlgo::Xxh128, digest_of(data)});
        const proto::Frame s = c.receive();
        ASSERT_TRUE(std::holds_alternative<proto::Saved>(s))
            << "normal upload not saved: "
            << (std::holds_alternative<proto::Error>(s) ? std::get<proto::Error>(s).message : "");
        EXPECT_EQ(std::get<proto::Saved>(s).name, name);
        c.send(proto::Bye{});
        EXPECT_TRUE(std::holds_alternative<proto::Bye>(c.receive()));
        return;
      } catch (const std::exception& e) {
        if (attempt >= 49) {
          ADD_FAILURE() << "the server no longer serves a normal upload: " << e.what();
          return;
        }
        std::this_thread::sleep_for(100ms);
      }
    }
    ADD_FAILURE() << "the server stayed busy";
  }

  // (a) a normal upload still works, (b) nothing new or changed outside DIR, (c) nothing
  // incomplete in DIR and the partial area empty once every connection is gone.
  void verify_after(uint16_t port, const std::function<bool(size_t)>& wait_disconnects) {
    verified_ = true;
    EXPECT_TRUE(wait_disconnects(settle()));
    const std::string name = "after-check.txt";
    normal_upload(port, name, "still serving");
    EXPECT_EQ(testing::read_file(dir_ / name), "still serving");
    EXPECT_TRUE(wait_disconnects(settle()));
    EXPECT_EQ(testing::partial_count(dir_), 0u) << "a partial file outlived its connection";

    std::set<std::string> expected = visible_before_;
    expected.insert(added_.begin(), added_.end());
    expected.insert(name);
    EXPECT_EQ(listing(dir_), expected) << "unexpected files in DIR";

    const auto outside = snapshot(tmp_.path(), dir_);
    for (const auto& [path, what] : outside) {
      auto it = outside_before_.find(path);
      if (it == outside_before_.end()) {
        ADD_FAILURE() << "created outside DIR: " << path << " (" << what.substr(0, 64) << ")";
      } else if (it->second != what) {
        ADD_FAILURE() << "changed outside DIR: " << path;
      }
    }
    for (const auto& [path, what] : outside_before_) {
      if (!outside.count(path)) ADD_FAILURE() << "removed outside DIR: " << path;
    }
    if (!abs_existed_) {
      EXPECT_FALSE(fs::exists("/abs")) << "an absolute name escaped to /abs";
    }
  }

  bool mount_tmpfs(const std::string& options) {
    mount_ = std::make_unique<testing::TmpfsMount>(dir_, options);
    return mount_->mounted();
  }

  TempDir tmp_;    // the parent watched for escapes; DIR is inside it
  TempDir local_;  // the client's own files, outside the watched tree
  fs::path dir_;
  std::unique_ptr<testing::TmpfsMount> mount_;  // declared before server_: destroyed after it
  std::unique_ptr<TestServer> server_;
  std::map<std::string, std::string> outside_before_;
  std::set<std::string> visible_before_;
  std::set<std::string> added_;
  bool abs_existed_ = false;
  bool verified_ = false;
};

// Full upload over an open binary connection; the server's answer to FILE_END (or to
// FILE_BEGIN when it refuses there).
proto::Frame upload(RawClient& c, const std::string& name, const std::string& data, uint32_t mode = 0644,
                    int64_t mtime_ns = 0) {
  c.send(proto::FileBegin{name, data.size(), mode, mtime_ns, 0, ""});
  proto::Frame r = c.receive();
  if (!std::holds_alternative<proto::Ready>(r)) return r;
  c.send_raw(data);
  c.send(proto::FileEnd{proto::DigestAlgo::Xxh128, digest_of(data)});
  return c.receive();
}

// ---------------------------------------------------------------------------------------
// Names

struct NameCase {
  std::string label;
  std::string name;
  bool text = true;               // also sent in text mode
  bool over_frame_limit = false;  // longer than FILE_BEGIN's 4096-byte string limit
};

std::vector<NameCase> name_cases() {
  std::string long_path;
  while (long_path.size() < 4900) long_path += std::string(99, 'p') + "/";
  long_path += std::string(5000 - long_path.size(), 'q');
  return {
      {"DotDotX", "../x"},
      {"ADotDotDotDotX", "a/../../x"},
      {"Absolute", "/abs/x"},
      {"DotX", "./x"},
      {"DoubleSlash", "a//b"},
      {"DotDot", ".."},
      {"Dot", "."},
      {"TrailingDotDot", "x/.."},
      {"Empty", "", false},
      {"TrailingSlash", "x/"},
      {"Backslash", "..\\x"},
      {"Nul", std::string("a\0b", 3), false},
      {"Newline", "a\nb", false},
      {"CarriageReturn", "a\rb", false},
      {"AnsiEscape", "\x1b[31mred"},
      {"Delete", "a\x7f"},
      {"InvalidUtf8", "\xff.txt"},
      {"OverlongSlash", "..\xc0\xafx"},
      {"OverlongDot", "\xc0\xae\xc0\xae/x"},
      {"OverlongDotDotSlash", "\xc0\xae\xc0\xae\xc0\xafx"},
      {"Surrogate", "\xed\xa0\x80"},
      {"Component256", std::string(256, 'c')},
      {"Path5000", long_path, true, true},
      {"ReservedFtx", ".ftx"},
      {"ReservedLog", ".ftx/transfers.jsonl"},
      {"ReservedPartial", ".ftx/partial/x"},
  };
}

std::string label_of(const ::testing::TestParamInfo<NameCase>& param_info) { return param_info.param.label; }

class BinaryName : public Adversarial, public ::testing::WithParamInterface<NameCase> {};
class TextName : public Adversarial, public ::testing::WithParamInterface<NameCase> {};

TEST_P(BinaryName, IsRefusedAndWritesNothing) {
  const NameCase& nc = GetParam();
  TestServer& s = start(config());
  auto c = sender(s.port());
  c->send(proto::FileBegin{nc.name, 5, 0644, 0, 0, ""});
  const auto reply = try_receive(*c);
  const ErrorCode code = error_code(reply);
  if (nc.over_frame_limit && code == ErrorCode::BadRequest) {
    // ftx-protocol(7): FILE_BEGIN's name is a str of at most 4096 bytes, and a string over
    // its limit makes the frame malformed: ERROR bad_request and the connection closes.
    EXPECT_TRUE(c->closed_by_server());
  } else {
    EXPECT_EQ(code, ErrorCode::NameRefused) << code_name(code);
    // Refused before READY: the stream is in step and the connection goes on.
    c->send(proto::Bye{});
    const auto bye = try_receive(*c);
    EXPECT_TRUE(bye && std::holds_alternative<proto::Bye>(*bye));
    bool logged = false;
    for (const auto& e : s.file_events())
      logged = logged || (e["status"] == "error" && e["error"]["code"] == "name_refused");
    EXPECT_TRUE(logged);
  }
}

TEST_P(TextName, IsRefusedAndWritesNothing) {
  const NameCase& nc = GetParam();
  TestServer& s = start(config());
  AttackTextClient t(s.port());
  t.write("SEND_FILE " + nc.name + " 5\nhello");
  const std::string line = t.line_matching("^(OK|ERROR) ");
  EXPECT_EQ(line.rfind("ERROR name_refused", 0), 0u) << line;
  EXPECT_TRUE(t.closed_by_server());
}

INSTANTIATE_TEST_SUITE_P(Names, BinaryName, ::testing::ValuesIn(name_cases()), label_of);

std::vector<NameCase> text_name_cases() {
  std::vector<NameCase> out;
  for (auto& nc : name_cases()) {
    if (nc.text) out.push_back(nc);
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(Names, TextName, ::testing::ValuesIn(text_name_cases()), label_of);

// Reads a file by a path relative to dir, one component at a time (the absolute path may
// be longer than PATH_MAX).
std::optional<std::string> read_relative(const fs::path& dir, const std::string& rel) {
  net::UniqueFd at(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  size_t start = 0;
  while (at) {
    const size_t slash = rel.find('/', start);
    const std::string part =
        rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (slash == std::string::npos) {
      net::UniqueFd f(::openat(at.get(), part.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!f) return std::nullopt;
      std::string out(4096, '\0');
      const ssize_t n = ::read(f.get(), out.data(), out.size());
      if (n < 0) return std::nullopt;
      out.resize(static_cast<size_t>(n));
      return out;
    }
    at.reset(::openat(at.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    start = slash + 1;
  }
  return std::nullopt;
}

// Removes a tree whose full paths may exceed PATH_MAX (rm works relative to each directory;
// std::filesystem::remove_all does not), even when the test fails.
struct DeepTreeRemover {
  fs::path top;
  void now() {
    if (top.empty()) return;
    const std::string cmd = "rm -rf -- '" + top.string() + "'";
    if (std::system(cmd.c_str()) != 0) ADD_FAILURE() << "could not remove " << top;
    top.clear();
  }
  ~DeepTreeRemover() { now(); }
};

// The limits themselves are not refusals: a 255-byte component, a 4096-byte path.
TEST_F(Adversarial, NamesAtTheLimitsAreAccepted) {
  TestServer& s = start(config());
  const std::string component(255, 'c');
  std::string path;
  for (int i = 0; i < 20; ++i) path += std::string(200, 'd') + "/";
  DeepTreeRemover cleanup{dir_ / std::string(200, 'd')};
  path += std::string(4096 - path.size(), 'e');
  ASSERT_EQ(path.size(), 4096u);
  auto c = sender(s.port());
  for (const auto& name : {component, path}) {
    const auto r = upload(*c, name, "edge");
    ASSERT_TRUE(std::holds_alternative<proto::Saved>(r)) << name.size() << ": " << code_name(error_code(r));
    EXPECT_EQ(std::get<proto::Saved>(r).name, name);
    EXPECT_EQ(read_relative(dir_, name), "edge") << name.size();
  }
  expect_saved(component);
  // The same 255-byte name again, another file: there is no room for " (1)" in the component.
  const auto again = upload(*c, component, "edges");
  if (const auto* saved = std::get_if<proto::Saved>(&again)) {
    expect_saved(saved->name);
  } else {
    EXPECT_EQ(error_code(again), ErrorCode::NameRefused);
  }
  c.reset();
  ASSERT_TRUE(s.wait_disconnects(1));
  // The deep tree goes now: the checks after the case list DIR by absolute paths.
  cleanup.now();
}

// A name that is an existing directory is saved beside it under the rename policy.
TEST_F(Adversarial, NameOfAnExistingDirectoryIsRenamed_Binary) {
  testing::write_file(dir_ / "x" / "inner.txt", "inner");
  TestServer& s = start(config());
  auto c = sender(s.port());
  const auto r = upload(*c, "x", "hello");
  ASSERT_TRUE(std::holds_alternative<proto::Saved>(r)) << code_name(error_code(r));
  EXPECT_EQ(std::get<proto::Saved>(r).name, "x (1)");
  expect_saved("x (1)");
  EXPECT_EQ(testing::read_file(dir_ / "x" / "inner.txt"), "inner");
  EXPECT_TRUE(fs::is_directory(dir_ / "x"));
}

TEST_F(Adversarial, NameOfAnExistingDirectoryIsRenamed_Text) {
  testing::write_file(dir_ / "x" / "inner.txt", "inner");
  TestServer& s = start(config());
  AttackTextClient t(s.port());
  t.write("SEND_FILE x 5\nhelloQUIT\n");
  EXPECT_EQ(t.line_matching("^(OK|ERROR) ").rfind("OK x (1) 5 xxh128:", 0), 0u);
  expect_saved("x (1)");
  EXPECT_TRUE(fs::is_directory(dir_ / "x"));
}

TEST_F(Adversarial, ReplacePolicyNeverReplacesADirectory) {
  testing::write_file(dir_ / "x" / "inner.txt", "inner");
  server::ServerConfig c = config();
  c.overwrite = server::OverwritePolicy::Replace;
  TestServer& s = start(c);
  auto cl = sender(s.port());
  EXPECT_EQ(error_code(upload(*cl, "x", "hello")), ErrorCode::Exists);
  EXPECT_EQ(testing::read_file(dir_ / "x" / "inner.txt"), "inner");
}

// A regular file where the name needs a directory: name_refused, nothing written.
TEST_F(Adversarial, FileWhereADirectoryIsNeeded_Binary) {
  testing::write_file(dir_ / "f", "plain file");
  TestServer& s = start(config());
  auto c = sender(s.port());
  EXPECT_EQ(error_code(upload(*c, "f/x", "hello")), ErrorCode::NameRefused);
  EXPECT_EQ(error_code(upload(*c, "f/deeper/x", "hello")), ErrorCode::NameRefused);
  EXPECT_EQ(testing::read_file(dir_ / "f"), "plain file");
}

TEST_F(Adversarial, FileWhereADirectoryIsNeeded_Text) {
  testing::write_file(dir_ / "f", "plain file");
  TestServer& s = start(config());
  AttackTextClient t(s.port());
  t.write("SEND_FILE f/x 5\nhello");
  EXPECT_EQ(t.line_matching("^(OK|ERROR) ").rfind("ERROR name_refused", 0), 0u);
  t.write("QUIT\n");
  EXPECT_TRUE(t.closed_by_server());
  EXPECT_EQ(testing::read_file(dir_ / "f"), "plain file");
}

// ---------------------------------------------------------------------------------------
// Symlinks planted in DIR

class Symlinks : public Adversarial {
 protected:
  void plant() {
    fs::create_directories(tmp_ / "outside_dir");
    testing::write_file(tmp_ / "outside_file", "precious");
    fs::create_directories(dir_ / "sub");
    fs::create_symlink(tmp_ / "outside_dir", dir_ / "dlink");
    fs::create_symlink(tmp_ / "outside_file", dir_ / "flink");
    fs::create_symlink(tmp_ / "no_such_target", dir_ / "dangling");
    fs::create_symlink("../../../outside_dir", dir_ / "rel");  // relative, same target
    fs::create_symlink(tmp_ / "outside_dir", dir_ / "sub" / "dlink");
  }
  void expect_outside_untouched() {
    EXPECT_EQ(testing::read_file(tmp_ / "outside_file"), "precious");
    EXPECT_TRUE(fs::is_empty(tmp_ / "outside_dir"));
    EXPECT_FALSE(fs::exists(fs::symlink_status(tmp_ / "no_such_target")));
  }
  // name -> saved name ("" for name_refused), under the rename policy.
  static std::vector<std::pair<std::string, std::string>> cases() {
    return {{"dlink/x", ""},
            {"dlink/new/x", ""},
            {"sub/dlink/x", ""},
            {"flink/x", ""},
            {"rel/x", ""},
            {"dangling/x", ""},
            {"flink", "flink (1)"},
            {"dlink", "dlink (1)"},
            {"dangling", "dangling (1)"},
            {"sub/dlink", "sub/dlink (1)"}};
  }
};

TEST_F(Symlinks, NeverFollowed_Binary) {
  plant();
  TestServer& s = start(config());
  auto c = sender(s.port());
  for (const auto& [name, saved] : cases()) {
    const auto r = upload(*c, name, "evil");
    if (saved.empty()) {
      EXPECT_EQ(error_code(r), ErrorCode::NameRefused) << name;
    } else {
      ASSERT_TRUE(std::holds_alternative<proto::Saved>(r)) << name << ": " << code_name(error_code(r));
      EXPECT_EQ(std::get<proto::Saved>(r).name, saved);
      expect_saved(saved);
    }
  }
  expect_outside_untouched();
  EXPECT_TRUE(fs::is_symlink(dir_ / "flink"));
}

TEST_F(Symlinks, NeverFollowed_Text) {
  plant();
  TestServer& s = start(config());
  AttackTextClient t(s.port());
  for (const auto& [name, saved] : cases()) {
    t.write("SEND_FILE " + name + " 4\nevil");
    const std::string line = t.line_matching("^(OK|ERROR) ");
    if (saved.empty()) {
      EXPECT_EQ(line.rfind("ERROR name_refused", 0), 0u) << name << ": " << line;
    } else {
      EXPECT_EQ(line.rfind("OK " + saved + " 4 ", 0), 0u) << name << ": " << line;
      expect_saved(saved);
    }
  }
  t.write("QUIT\n");
  EXPECT_TRUE(t.closed_by_server());
  expect_outside_untouched();
}

TEST_F(Symlinks, ReplaceSwapsTheLinkNotItsTarget) {
  plant();
  server::ServerConfig c = config();
  c.overwrite = server::OverwritePolicy::Replace;
  TestServer& s = start(c);
  auto cl = sender(s.port());
  for (const std::string name : {"flink", "dlink", "dangling"}) {
    const auto r = upload(*cl, name, "evil");
    ASSERT_TRUE(std::holds_alternative<proto::Saved>(r)) << name << ": " << code_name(error_code(r));
    EXPECT_EQ(std::get<proto::Saved>(r).name, name);
    EXPECT_FALSE(fs::is_symlink(dir_ / name)) << name;
    EXPECT_EQ(testing::read_file(dir_ / name), "evil");
    expect_saved(name);
  }
  // The links are now plain files: still no way through them.
  EXPECT_EQ(error_code(upload(*cl, "dlink/x", "evil")), ErrorCode::NameRefused);
  EXPECT_EQ(error_code(upload(*cl, "sub/dlink/x", "evil")), ErrorCode::NameRefused);
  expect_outside_untouched();
}

TEST_F(Symlinks, RefusePolicyKeepsTheLinks) {
  plant();
  server::ServerConfig c = config();
  c.overwrite = server::OverwritePolicy::Refuse;
  TestServer& s = start(c);
  auto cl = sender(s.port());
  for (const std::string name : {"flink", "dlink", "dangling"}) {
    EXPECT_EQ(error_code(upload(*cl, name, "evil")), ErrorCode::Exists) << name;
    EXPECT_TRUE(fs::is_symlink(dir_ / name)) << name;
  }
  expect_outside_untouched();
}

// ---------------------------------------------------------------------------------------
// Same names

TEST_F(Adversarial, SameBaseNameTwiceInOneSendRun) {
  TestServer& s = start(config());
  testing::write_file(local_ / "one" / "a.txt", "first");
  testing::write_file(local_ / "two" / "a.txt", "second");
  client::SendOptions o;
  o.server = {"127.0.0.1", s.port()};
  o.paths = {(local_ / "one" / "a.txt").string(), (local_ / "two" / "a.txt").string()};
  client::SendObserver quiet;
  const auto report = client::send_files(o, quiet);
  ASSERT_EQ(report.files.size(), 2u) << report.connection_error;
  EXPECT_EQ(report.files[0].status, client::FileStatus::Saved) << report.files[0].error;
  EXPECT_EQ(report.files[1].status, client::FileStatus::Saved) << report.files[1].error;
  EXPECT_EQ(report.files[0].saved_as, "a.txt");
  EXPECT_EQ(report.files[1].saved_as, "a (1).txt");
  EXPECT_EQ(testing::read_file(dir_ / "a.txt"), "first");
  EXPECT_EQ(testing::read_file(dir_ / "a (1).txt"), "second");
  expect_saved("a.txt");
  expect_saved("a (1).txt");
}

TEST_F(Adversarial, NamesDifferingOnlyByUnicodeNormalisationAreDistinct) {
  TestServer& s = start(config());
  const std::string nfc = "caf\xc3\xa9";
  const std::string nfd = "cafe\xcc\x81";
  testing::write_file(local_ / nfc, "composed");
  testing::write_file(local_ / nfd, "decomposed");
  client::SendOptions o;
  o.server = {"127.0.0.1", s.port()};
  o.paths = {(local_ / nfc).string(), (local_ / nfd).string()};
  client::SendObserver quiet;
  const auto report = client::send_files(o, quiet);
  ASSERT_EQ(report.files.size(), 2u) << report.connection_error;
  for (const auto& f : report.files) EXPECT_EQ(f.status, client::FileStatus::Saved) << f.error;
  EXPECT_EQ(report.files[0].saved_as, nfc);
  EXPECT_EQ(report.files[1].saved_as, nfd);
  EXPECT_EQ(testing::read_file(dir_ / nfc), "composed");
  EXPECT_EQ(testing::read_file(dir_ / nfd), "decomposed");
  expect_saved(nfc);
  expect_saved(nfd);
}

TEST_F(Adversarial, SetuidBitsAndExtremeMtimesAreHarmless) {
  TestServer& s = start(config());
  auto c = sender(s.port());
  const std::vector<std::pair<std::string, int64_t>> cases = {
      {"suid", 0}, {"mtime-min", INT64_MIN}, {"mtime-max", INT64_MAX}, {"mtime-neg", -1}};
  for (const auto& [name, mtime] : cases) {
    const auto r = upload(*c, name, "data", 07777, mtime);
    ASSERT_TRUE(std::holds_alternative<proto::Saved>(r))
        << name << ": " << code_name(error_code(r)) << " " << std::get<proto::Error>(r).message;
    expect_saved(name);
    struct stat st {};
    ASSERT_EQ(::stat((dir_ / name).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07000, 0u) << name;
  }
}

// ---------------------------------------------------------------------------------------
// Sizes

TEST_F(Adversarial, LargerThanMaxSize_Binary) {
  server::ServerConfig c = config();
  c.max_size = 1000;
  TestServer& s = start(c);
  auto cl = sender(s.port());
  for (const uint64_t size : {uint64_t{1001}, uint64_t{1} << 40, UINT64_MAX}) {
    cl->send(proto::FileBegin{"big.bin", size, 0644, 0, 0, ""});
    EXPECT_EQ(error_code(try_receive(*cl)), ErrorCode::TooLarge) << size;
  }
  // The stream is in step: a file at the limit still goes through on the same connection.
  const auto r = upload(*cl, "ok.bin", std::string(1000, 'o'));
  EXPECT_TRUE(std::holds_alternative<proto::Saved>(r));
  expect_saved("ok.bin");
}

TEST_F(Adversarial, LargerThanMaxSize_Text) {
  server::ServerConfig c = config();
  c.max_size = 1000;
  TestServer& s = start(c);
  AttackTextClient t(s.port());
  t.write("SEND_FILE big.bin 1001\n" + std::string(1001, 'b'));
  EXPECT_EQ(t.line_matching("^(OK|ERROR) ").rfind("ERROR too_large", 0), 0u);
  EXPECT_TRUE(t.closed_by_server());
}

TEST_F(Adversarial, LargerThanTheDisk_Binary) {
  TestServer& s = start(config());
  auto c = sender(s.port());
  for (const uint64_t size : {uint64_t{1} << 62, UINT64_MAX}) {
    c->send(proto::FileBegin{"huge.bin", size, 0644, 0, 0, ""});
    EXPECT_EQ(error_code(try_receive(*c)), ErrorCode::NoSpace) << size;
    EXPECT_EQ(testing::partial_count(dir_), 0u);
  }
  c->send(proto::Bye{});
  EXPECT_TRUE(std::holds_alternative<proto::Bye>(c->receive()));
}

TEST_F(Adversarial, LargerThanTheDisk_Text) {
  TestServer& s = start(config());
  AttackTextClient t(s.port());
  t.write("SEND_FILE huge.bin " + std::to_string(uint64_t{1} << 62) + "\nsome bytes");
  EXPECT_EQ(t.line_matching("^(OK|ERROR) ").rfind("ERROR no_space", 0), 0u);
  EXPECT_TRUE(t.closed_by_server());
}

TEST_F(Adversarial, MalformedTextSizes) {
  TestServer& s = start(config());
  for (const std::string size : {"-1", "abc", "18446744073709551616", "+5", " 5", "5 ", "0x5", "5e3", ""}) {
    AttackTextClient t(s.port());
    t.write("SEND_FILE x.txt " + size + "\nhello");
    const std::string line = t.line_matching("^(OK|ERROR) ");
    EXPECT_EQ(line.rfind("ERROR bad_request", 0), 0u) << "size '" << size << "': " << line;
    EXPECT_TRUE(t.closed_by_server()) << "size '" << size << "'";
  }
}

// ---------------------------------------------------------------------------------------
// Frames

struct FrameCase {
  std::string label;
  bool handshake;     // send HELLO first
  std::string bytes;  // then these
  ErrorCode expected;
  bool closes = true;  // the server closes the connection afterwards
};

std::vector<FrameCase> frame_cases() {
  auto hello_with = [](auto mutate) {
    auto v = proto::encode_frame(proto::Hello{proto::kProtocolVersion, proto::Role::Send, "x", ""});
    mutate(v);
    return std::string(v.begin(), v.end());
  };
  std::string trailing = frame_bytes(proto::FileBegin{"t.bin", 1, 0644, 0, 0, ""}) + "Z";
  trailing[4] = static_cast<char>(static_cast<uint8_t>(trailing[4]) + 1);  // length covers the extra byte
  std::string lying_string = header(0x10, 8) + std::string{0, 0, 0x10, 0} + "abcd";  // str of 4096 in 4 bytes
  return {
      {"PayloadOverTheLimit", true, header(0x20, proto::kMaxPayload + 1), ErrorCode::TooLarge},
      {"PayloadLength4G", true, header(0x10, 0xffffffffu), ErrorCode::TooLarge},
      {"PayloadOverTheLimitBeforeHello", false, header(0x01, proto::kMaxPayload + 1), ErrorCode::TooLarge},
      {"UnknownType0x7e", true, std::string("\x7e\x00\x00\x00\x00", 5), ErrorCode::BadRequest},
      {"UnknownType0x05", true, std::string("\x05\x00\x00\x00\x00", 5), ErrorCode::BadRequest},
      {"HelloWrongMagic", false, hello_with([](auto& v) { v[5] = 'X'; }), ErrorCode::BadRequest},
      {"HelloWrongVersion", false,
       frame_bytes(proto::Hello{proto::kProtocolVersion + 1, proto::Role::Send, "x", ""}),
       ErrorCode::UnsupportedVersion},
      {"HelloVersionZero", false, frame_bytes(proto::Hello{0, proto::Role::Send, "x", ""}),
       ErrorCode::UnsupportedVersion},
      {"HelloUnknownRole", false, hello_with([](auto& v) { v[11] = 7; }), ErrorCode::BadRequest},
      {"HelloTwice", true, hello_bytes(), ErrorCode::BadRequest},
      {"FileEndAsFirstFrame", false,
       frame_bytes(proto::FileEnd{proto::DigestAlgo::Xxh128, std::string(16, 'a')}), ErrorCode::BadRequest},
      {"ByeAsFirstFrame", false, frame_bytes(proto::Bye{}), ErrorCode::BadRequest},
      {"FileEndWithoutFile", true,
       frame_bytes(proto::FileEnd{proto::DigestAlgo::Xxh128, std::string(16, 'a')}), ErrorCode::BadRequest},
      {"ReadyFromClient", true, frame_bytes(proto::Ready{0}), ErrorCode::BadRequest},
      {"SavedFromClient", true,
       frame_bytes(proto::Saved{"x", 1, proto::DigestAlgo::Xxh128, std::string(16, 'a')}),
       ErrorCode::BadRequest},
      {"WelcomeFromClient", true, frame_bytes(proto::Welcome{}), ErrorCode::BadRequest},
      {"MsgOnSendConnection", true, frame_bytes(proto::Msg{"", 0, "hi"}), ErrorCode::BadRequest},
      {"TrailingBytesInFrame", true, trailing, ErrorCode::BadRequest},
      {"StringLongerThanPayload", true, lying_string, ErrorCode::BadRequest},
      {"UnknownFlag", true, frame_bytes(proto::FileBegin{"s.bin", 0, 0644, 0, 1u << 7, ""}),
       ErrorCode::BadRequest},
      {"StreamWithASize", true, frame_bytes(proto::FileBegin{"s.bin", 5, 0644, 0, proto::kFlagStream, ""}),
       ErrorCode::BadRequest, false},
      {"DirectoryWithASize", true, frame_bytes(proto::FileBegin{"d", 5, 0755, 0, proto::kFlagDirectory, ""}),
       ErrorCode::BadRequest, false},
      {"EagerStream", true,
       frame_bytes(proto::FileBegin{"s.bin", 0, 0644, 0, proto::kFlagEager | proto::kFlagStream, ""}),
       ErrorCode::BadRequest},
      {"MalformedTransferId", true, frame_bytes(proto::FileBegin{"s.bin", 5, 0644, 0, 0, "../../etc"}),
       ErrorCode::BadRequest, false},
  };
}

class BadFrame : public Adversarial, public ::testing::WithParamInterface<FrameCase> {};

TEST_P(BadFrame, GetsTheRightErrorAndTheServerCarriesOn) {
  const FrameCase& fc = GetParam();
  TestServer& s = start(config());
  RawClient c(s.port());
  if (fc.handshake) c.handshake("attacker");
  c.send_raw(fc.bytes);
  const ErrorCode code = error_code(try_receive(c));
  EXPECT_EQ(code, fc.expected) << code_name(code);
  if (fc.closes) {
    EXPECT_TRUE(c.closed_by_server());
  } else {
    c.send(proto::Bye{});
    const auto bye = try_receive(c);
    EXPECT_TRUE(bye && std::holds_alternative<proto::Bye>(*bye));
  }
}

std::string frame_label(const ::testing::TestParamInfo<FrameCase>& param_info) {
  return param_info.param.label;
}

INSTANTIATE_TEST_SUITE_P(Frames, BadFrame, ::testing::ValuesIn(frame_cases()), frame_label);

TEST_F(Adversarial, TruncatedFramesThenClose) {
  TestServer& s = start(config());
  const std::string begin = frame_bytes(proto::FileBegin{"t.bin", 10, 0644, 0, 0, ""});
  const std::string hello = hello_bytes();
  const std::vector<std::pair<bool, std::string>> cases = {
      {false, hello.substr(0, 3)},                 // header cut before HELLO completes
      {false, hello.substr(0, hello.size() - 2)},  // HELLO payload cut
      {true, begin.substr(0, 2)},                  // header cut
      {true, begin.substr(0, begin.size() - 3)},   // payload cut
      {true, header(0x20, 100) + "partial msg"},   // MSG payload cut
  };
  for (const auto& [handshake, bytes] : cases) {
    RawClient c(s.port());
    if (handshake) c.handshake("attacker");
    c.send_raw(bytes);
    c.close();
  }
  ASSERT_TRUE(s.wait_disconnects(cases.size()));
}

TEST_F(Adversarial, FileEndBeforeAllBytesThenClose) {
  TestServer& s = start(config());
  auto c = sender(s.port());
  c->send(proto::FileBegin{"short.bin", 100, 0644, 0, 0, ""});
  ASSERT_TRUE(std::holds_alternative<proto::Ready>(c->receive()));
  c->send_raw("abc");
  c->send(proto::FileEnd{proto::DigestAlgo::Xxh128, digest_of("abc")});
  c->close();
  ASSERT_TRUE(s.wait_disconnects(1));
  const auto events = s.file_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["status"], "error");
}

TEST_F(Adversarial, FileEndBeforeAllBytesThenSilence) {
  server::ServerConfig cfg = config();
  cfg.idle_timeout = 500ms;
  TestServer& s = start(cfg);
  auto c = sender(s.port());
  c->send(proto::FileBegin{"short.bin", 100, 0644, 0, 0, ""});
  ASSERT_TRUE(std::holds_alternative<proto::Ready>(c->receive()));
  c->send_raw("abc");
  c->send(proto::FileEnd{proto::DigestAlgo::Xxh128, digest_of("abc")});
  // The FILE_END bytes count as file data; the rest never comes.
  EXPECT_EQ(error_code(try_receive(*c)), ErrorCode::Timeout);
  EXPECT_TRUE(c->closed_by_server());
}

TEST_F(Adversarial, MoreBytesThanDeclared) {
  TestServer& s = start(config());
  auto c = sender(s.port());
  c->send(proto::FileBegin{"over.bin", 4, 0644, 0, 0, ""});
  ASSERT_TRUE(std::holds_alternative<proto::Ready>(c->receive()));
  c->send_raw("abcdEXTRA BYTES THAT ARE NOT A FRAME");
  EXPECT_EQ(error_code(try_receive(*c)), ErrorCode::BadRequest);
  EXPECT_TRUE(c->closed_by_server());
}

// ---------------------------------------------------------------------------------------
// Time

// Sends `bytes` one byte per 300 ms until the server answers or closes (at most 40 bytes).
// The first byte goes at once: 300 ms of silence would make a new connection a text client.
// Returns how many bytes were sent before the server answered or closed.
size_t trickle(int fd, const std::string& bytes) {
  size_t i = 0;
  for (; i < std::min<size_t>(bytes.size(), 40); ++i) {
    pollfd p{fd, POLLIN, 0};
    if (i > 0 && ::poll(&p, 1, 300) > 0) return i;  // an answer, or the close
    try {
      net::send_all(fd, std::span(reinterpret_cast<const uint8_t*>(bytes.data() + i), 1), "server");
    } catch (const std::system_error&) {
      return i;
    }
  }
  return i;
}
size_t trickle(RawClient& c, const std::string& bytes) { return trickle(c.fd(), bytes); }

class Slow : public Adversarial {
 protected:
  TestServer& start_slow() {
    server::ServerConfig cfg = config();
    cfg.idle_timeout = 500ms;
    return start(cfg);
  }

  // A chat member, `name`, starts a MSG frame (`send_part` sends its bytes, all or some,
  // too slowly) and never finishes it in time: however the bytes came, the server answers
  // ERROR timeout and closes, within the bound.
  void expect_late_chat_frame_times_out(const std::string& name,
                                        const std::function<void(RawClient&)>& send_part) {
    TestServer& s = start_slow();
    RawClient c(s.port());
    c.send(proto::Hello{proto::kProtocolVersion, proto::Role::Chat, name, ""});
    ASSERT_TRUE(std::holds_alternative<proto::Welcome>(c.receive()));
    const auto t0 = Clock::now();
    send_part(c);
    std::optional<proto::Frame> reply;
    do {
      reply = try_receive(c);
    } while (reply && std::holds_alternative<proto::Msg>(*reply));  // notices
    EXPECT_EQ(error_code(reply), ErrorCode::Timeout);
    EXPECT_TRUE(c.closed_by_server());
    EXPECT_LT(Clock::now() - t0, testing::scaled(8s));
  }
};

TEST_F(Slow, HelloStartedNeverFinished) {
  TestServer& s = start_slow();
  RawClient c(s.port());
  const auto t0 = Clock::now();
  c.send_raw(hello_bytes().substr(0, 7));
  EXPECT_EQ(error_code(try_receive(c)), ErrorCode::Timeout);
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_LT(Clock::now() - t0, testing::scaled(8s));
}

TEST_F(Slow, TrickledHello) {
  TestServer& s = start_slow();
  RawClient c(s.port());
  const auto t0 = Clock::now();
  trickle(c, hello_bytes());
  EXPECT_EQ(error_code(try_receive(c)), ErrorCode::Timeout);
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_LT(Clock::now() - t0, testing::scaled(8s));
}

TEST_F(Slow, TrickledFileBegin) {
  TestServer& s = start_slow();
  auto c = sender(s.port());
  const auto t0 = Clock::now();
  trickle(*c, frame_bytes(proto::FileBegin{"slow.bin", 10, 0644, 0, 0, ""}));
  EXPECT_EQ(error_code(try_receive(*c)), ErrorCode::Timeout);
  EXPECT_TRUE(c->closed_by_server());
  EXPECT_LT(Clock::now() - t0, testing::scaled(8s));
}

TEST_F(Slow, TrickledFileEnd) {
  TestServer& s = start_slow();
  auto c = sender(s.port());
  c->send(proto::FileBegin{"slow.bin", 4, 0644, 0, 0, ""});
  ASSERT_TRUE(std::holds_alternative<proto::Ready>(c->receive()));
  c->send_raw("data");
  const auto t0 = Clock::now();
  trickle(*c, frame_bytes(proto::FileEnd{proto::DigestAlgo::Xxh128, digest_of("data")}));
  EXPECT_EQ(error_code(try_receive(*c)), ErrorCode::Timeout);
  EXPECT_TRUE(c->closed_by_server());
  EXPECT_LT(Clock::now() - t0, testing::scaled(8s));
}

// Chat connections have no idle timeout, but a frame that starts must still finish in time
// (ftx(1): "the idle timeout applies ... to every frame's arrival").
//
// Was a bug, fixed with this test: Channel::fill() armed the frame deadline only when
// bytes are buffered (start_ < end_) and then calls wait_readable(left), which returns true
// at once whenever bytes are buffered, so poll() never runs and recv_some() blocks without a
// limit: chat sockets have no SO_RCVTIMEO (make_long_lived). A trickle is caught (the
// `left <= 0` check runs when the next byte arrives), a stall is not. On send connections
// SO_RCVTIMEO hides the bug. Effect: 12 bytes of a MSG and silence hold a session thread and
// a --max-clients slot until the peer goes away (TCP keepalive) or the server stops.
TEST_F(Slow, StalledChatFrame) {
  expect_late_chat_frame_times_out("staller", [](RawClient& c) {
    c.send_raw(frame_bytes(proto::Msg{"", 0, "never finished"}).substr(0, 12));
  });
}

TEST_F(Slow, TrickledChatFrame) {
  expect_late_chat_frame_times_out("trickler", [](RawClient& c) {
    trickle(c, frame_bytes(proto::Msg{"", 0, "one byte at a time"}));
  });
}

// A text line trickled a byte at a time (each byte resetting the socket's timeout) is cut
// off as a trickled frame is. Was a bug, fixed with this test: such a line was never timed
// out, and a few of them (not chat members, so not under --max-chat) kept uploads out.
TEST_F(Slow, TrickledTextLine) {
  TestServer& s = start_slow();
  AttackTextClient t(s.port());
  const auto t0 = Clock::now();
  const size_t sent = trickle(t.fd(), "SEND_FILE slow.txt 1000 and never a newline, one byte at a time");
  EXPECT_LT(sent, 40u) << "the trickle ran its course without an answer";
  EXPECT_EQ(t.line_matching("^ERROR").rfind("ERROR timeout", 0), 0u);
  EXPECT_TRUE(t.closed_by_server());
  EXPECT_LT(Clock::now() - t0, testing::scaled(8s));
}

TEST_F(Slow, StalledFileData_Binary) {
  TestServer& s = start_slow();
  auto c = sender(s.port());
  c->send(proto::FileBegin{"stall.bin", 1000, 0644, 0, 0, ""});
  ASSERT_TRUE(std::holds_alternative<proto::Ready>(c->receive()));
  c->send_raw(std::string(400, 's'));
  EXPECT_EQ(error_code(try_receive(*c)), ErrorCode::Timeout);
  EXPECT_TRUE(c->closed_by_server());
}

// Was a bug, fixed with this test: file data trickled a byte at a time (each one resetting
// the socket's timeout) kept a transfer open for ever. A transfer moving less than the floor
// (1 KiB/s over each --idle-timeout window) is closed with timeout: here while the trickle
// is still going on, long before its 40 bytes (12 s) are sent.
TEST_F(Slow, TrickledFileData_Binary) {
  TestServer& s = start_slow();
  auto c = sender(s.port());
  c->send(proto::FileBegin{"trickle.bin", 1000, 0644, 0, 0, ""});
  ASSERT_TRUE(std::holds_alternative<proto::Ready>(c->receive()));
  const size_t sent = trickle(*c, std::string(1000, 't'));
  RecordProperty("bytes_sent", static_cast<int>(sent));
  EXPECT_LT(sent, 40u) << "the trickle ran its course without an answer";
  EXPECT_EQ(error_code(try_receive(*c)), ErrorCode::Timeout);
  EXPECT_TRUE(c->closed_by_server());
}

TEST_F(Slow, TrickledFileData_Text) {
  TestServer& s = start_slow();
  AttackTextClient t(s.port());
  t.write("SEND_FILE trickle.txt 1000\n");
  const size_t sent = trickle(t.fd(), std::string(1000, 't'));
  RecordProperty("bytes_sent", static_cast<int>(sent));
  EXPECT_LT(sent, 40u) << "the trickle ran its course without an answer";
  const std::string line = t.line_matching("^(OK|ERROR) ");
  EXPECT_EQ(line.rfind("ERROR timeout", 0), 0u) << line;
  EXPECT_TRUE(line == "<eof>" || t.closed_by_server());
}

// A stalled text upload is told "ERROR timeout", closed after the idle timeout, and leaves
// nothing behind. A bare close is not an answer (see the bug below).
TEST_F(Slow, StalledFileData_Text) {
  TestServer& s = start_slow();
  AttackTextClient t(s.port());
  const auto t0 = Clock::now();
  t.write("SEND_FILE stall.bin 1000\n" + std::string(400, 's'));
  const std::string line = t.line_matching("^(OK|ERROR) ");
  EXPECT_EQ(line.rfind("ERROR timeout", 0), 0u) << line;
  EXPECT_TRUE(t.closed_by_server());
  EXPECT_LT(Clock::now() - t0, testing::scaled(8s));
}

// The text client is told why: "ERROR timeout ...".
//
// Was a bug, fixed with this test: the ERROR line was lost at random (7 of 30 runs on a loaded 2-core
// machine; several of 8 concurrent stalls). The timeout surfaces in TextSession::receive_file as a
// std::system_error, which TextSession::run does not catch (it catches ProtocolError only),
// so ChatMembership's destructor runs with drain = 0: Outbox::close(0) finds the writer
// thread not yet finished and calls shutdown(fd, SHUT_RDWR). Session::run's catch-all then
// ::send()s "ERROR timeout ..." to a socket already shut down. The client sees a bare EOF.
// Same for any other non-protocol failure mid-upload (EIO: "ERROR internal").
TEST_F(Slow, StalledFileData_TextIsToldTimeout) {
  TestServer& s = start_slow();
  std::vector<std::unique_ptr<AttackTextClient>> conns;
  for (int i = 0; i < 8; ++i) {
    conns.push_back(std::make_unique<AttackTextClient>(s.port()));
    conns.back()->write("SEND_FILE stall" + std::to_string(i) + ".bin 1000\n" + std::string(400, 's'));
  }
  for (auto& t : conns) {
    const std::string line = t->line_matching("^(OK|ERROR) ");
    EXPECT_EQ(line.rfind("ERROR timeout", 0), 0u) << line;
    EXPECT_TRUE(t->closed_by_server());
  }
}

// ---------------------------------------------------------------------------------------
// Integrity

TEST_F(Adversarial, WrongDigestCommitsNothing) {
  TestServer& s = start(config());
  auto c = sender(s.port());
  const std::string data = "the real content";
  const std::vector<std::pair<std::string, proto::FileEnd>> cases = {
      {"flipped", {proto::DigestAlgo::Xxh128, digest_of(data + "!")}},
      {"other-algo", {proto::DigestAlgo::Sha256, digest_of(data, proto::DigestAlgo::Sha256)}},
      {"short", {proto::DigestAlgo::Xxh128, digest_of(data).substr(0, 8)}},
      {"empty", {proto::DigestAlgo::Xxh128, ""}},
      {"long", {proto::DigestAlgo::Xxh128, std::string(64, '\0')}},
  };
  for (const auto& [name, end] : cases) {
    c->send(proto::FileBegin{name, data.size(), 0644, 0, 0, ""});
    ASSERT_TRUE(std::holds_alternative<proto::Ready>(c->receive()));
    c->send_raw(data);
    c->send(end);
    EXPECT_EQ(error_code(try_receive(*c)), ErrorCode::Integrity) << name;
    EXPECT_FALSE(fs::exists(dir_ / name)) << name;
    EXPECT_EQ(testing::partial_count(dir_), 0u) << name;
  }
  // Still in step.
  EXPECT_TRUE(std::holds_alternative<proto::Saved>(upload(*c, "good", data)));
  expect_saved("good");
  for (const auto& e : s.file_events()) {
    if (e["name"] != "good") {
      EXPECT_EQ(e["error"]["code"], "integrity") << e.dump();
    }
  }
}

// ---------------------------------------------------------------------------------------
// Resources

TEST_F(Adversarial, OneMoreThanMaxClientsIsBusy) {
  server::ServerConfig cfg = config();
  cfg.max_clients = 2;
  TestServer& s = start(cfg);
  auto first = sender(s.port());
  auto second = sender(s.port());
  {
    RawClient third(s.port());
    third.send(proto::Hello{proto::kProtocolVersion, proto::Role::Send, "third", ""});
    EXPECT_EQ(error_code(try_receive(third)), ErrorCode::Busy);
    EXPECT_TRUE(third.closed_by_server());
  }
  {
    AttackTextClient t(s.port());
    t.write("SEND_FILE sneak.txt 5\nhello");
    EXPECT_EQ(t.line_matching("^(OK|ERROR) ").rfind("ERROR busy", 0), 0u);
    EXPECT_TRUE(t.closed_by_server());
  }
  // The two served clients still work.
  EXPECT_TRUE(std::holds_alternative<proto::Saved>(upload(*first, "first.txt", "1")));
  EXPECT_TRUE(std::holds_alternative<proto::Saved>(upload(*second, "second.txt", "2")));
  expect_saved("first.txt");
  expect_saved("second.txt");
}

// The first line the server sends on a raw connection, or "<eof>" / "<reset>".
std::string first_line(int fd, std::chrono::milliseconds limit = 10s) {
  net::set_io_timeout(fd, limit);
  wire::Channel channel(fd, "server");
  try {
    std::string line;
    return channel.read_line(line, 1 << 16) == wire::Channel::LineStatus::Eof ? "<eof>" : line;
  } catch (const std::system_error&) {
    return "<reset>";
  }
}

// Counts the log's events of one kind, those matching `match` when given.
size_t count_events(const fs::path& log, const std::string& kind,
                    const std::function<bool(const nlohmann::json&)>& match = {}) {
  size_t n = 0;
  for (const auto& e : read_log(log)) n += e["event"] == kind && (!match || match(e)) ? 1 : 0;
  return n;
}

bool ended_busy(const nlohmann::json& e) { return e.contains("error") && e["error"]["code"] == "busy"; }

// Was a bug, fixed with this test: a connection that sends nothing becomes a text chat
// member after 300 ms and chat members never time out, so 64 silent sockets (the default
// --max-clients) turned every `ftx send` away as busy for as long as they stayed. Chat
// members now hold at most --max-chat slots (64 less a quarter: 48) and the next one is
// told busy, so a transfer always finds a slot.
TEST_F(Adversarial, SilentConnectionsFromManyAddressesLeaveASlotForASend) {
  TestServer& s = start(config());
  const fs::path log = dir_ / ".ftx" / "transfers.jsonl";
  std::vector<net::UniqueFd> silent;
  for (int i = 2; i <= 65; ++i) silent.push_back(testing::connect_from(testing::loopback(i), s.port()));
  // 48 join the room as listeners; the other 16 hear busy and are closed.
  const auto deadline = Clock::now() + testing::scaled(20s);
  while (Clock::now() < deadline &&
         (count_events(log, "chat_join") < 48 || count_events(log, "disconnect", ended_busy) < 16)) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(count_events(log, "chat_join"), 48u);
  EXPECT_EQ(count_events(log, "disconnect", ended_busy), 16u);
  int busy = 0, greeted = 0;
  for (auto& fd : silent) {
    const std::string line = first_line(fd.get());
    busy += line.rfind("ERROR busy", 0) == 0 ? 1 : 0;
    greeted += line.rfind("ftx ", 0) == 0 ? 1 : 0;
  }
  EXPECT_EQ(busy, 16);
  EXPECT_EQ(greeted, 48);
  // With every listener still there, a send succeeds at its first attempt.
  testing::write_file(local_ / "report.txt", "sent past the listeners");
  testing::Process send({testing::ftx_binary(), "send", "127.0.0.1:" + std::to_string(s.port()),
                         (local_ / "report.txt").string(), "--retries", "0", "--no-progress"},
                        local_.path(), "send");
  EXPECT_EQ(send.wait(testing::scaled(30s)), 0) << send.err();
  expect_saved("report.txt");
  EXPECT_EQ(testing::read_file(dir_ / "report.txt"), "sent past the listeners");
}

// One address holds at most --max-per-address connections (16): the 17th is told busy.
TEST_F(Adversarial, SilentConnectionsFromOneAddressAreCappedAt16) {
  TestServer& s = start(config());
  std::vector<net::UniqueFd> silent;
  for (int i = 0; i < 20; ++i) silent.push_back(testing::connect_from(testing::loopback(9), s.port()));
  for (size_t i = 0; i < silent.size(); ++i) {
    const std::string line = first_line(silent[i].get());
    if (i < 16) {
      EXPECT_EQ(line.rfind("ftx ", 0), 0u) << "connection " << i + 1 << ": " << line;
    } else {
      EXPECT_EQ(line.rfind("ERROR busy", 0), 0u) << "connection " << i + 1 << ": " << line;
    }
  }
  // Another address is still served.
  testing::write_file(local_ / "other.txt", "from 127.0.0.1");
  testing::Process send({testing::ftx_binary(), "send", "127.0.0.1:" + std::to_string(s.port()),
                         (local_ / "other.txt").string(), "--retries", "0", "--no-progress"},
                        local_.path(), "send");
  EXPECT_EQ(send.wait(testing::scaled(30s)), 0) << send.err();
  expect_saved("other.txt");
}

// Was a bug, fixed with this test: past 16 refusals at once (a thread each, for up to a few
// seconds), further clients were closed without a word and nothing was logged, and
// `ftx send --retries 0` exited 3 ("Connection reset by peer") instead of 1 (busy). Every
// refused client now hears busy, answered without a thread.
TEST_F(Adversarial, RefusalStormEveryoneHearsBusy) {
  server::ServerConfig cfg = config();
  cfg.max_clients = 1;
  TestServer& s = start(cfg);
  auto holder = sender(s.port());
  constexpr int kStorm = 100;
  std::vector<net::UniqueFd> storm;
  const std::string hello =
      frame_bytes(proto::Hello{proto::kProtocolVersion, proto::Role::Send, "storm", ""});
  for (int i = 0; i < kStorm; ++i) {
    // Several addresses, so both limits (clients, per address) turn them away.
    storm.push_back(testing::connect_from(testing::loopback(10 + i % 8), s.port()));
    net::send_all(storm.back().get(), std::span(reinterpret_cast<const uint8_t*>(hello.data()), hello.size()),
                  "server");
  }
  testing::write_file(local_ / "late.txt", "x");
  testing::Process send({testing::ftx_binary(), "send", "127.0.0.1:" + std::to_string(s.port()),
                         (local_ / "late.txt").string(), "--retries", "0", "--no-progress"},
                        local_.path(), "send");
  int busy = 0;
  for (auto& fd : storm) {
    net::set_io_timeout(fd.get(), testing::scaled(10s));
    wire::Channel channel(fd.get(), "server");
    try {
      const proto::Frame f = channel.receive();
      const auto* e = std::get_if<proto::Error>(&f);
      busy += e && e->code == ErrorCode::Busy ? 1 : 0;
    } catch (const std::exception&) {
      // closed without an answer
    }
  }
  EXPECT_EQ(busy, kStorm);
  EXPECT_EQ(send.wait(testing::scaled(30s)), 1) << send.err();
  EXPECT_NE(send.err().find("busy"), std::string::npos) << send.err();
  storm.clear();
  const fs::path log = dir_ / ".ftx" / "transfers.jsonl";
  EXPECT_EQ(count_events(log, "disconnect",
                         [](const nlohmann::json& e) { return ended_busy(e) && e["client"] == "-"; }),
            static_cast<size_t>(kStorm) + 1);
  EXPECT_TRUE(std::holds_alternative<proto::Saved>(upload(*holder, "held.txt", "held")));
  expect_saved("held.txt");
}

// TLS clients turned away are answered inside TLS by a few threads (a handshake each, up to
// 2 s); past them one is closed during its handshake. Was a bug: it got a clear-text ERROR
// busy in the middle of the handshake, and `ftx send` took the server for one without TLS
// and suggested --plain.
TEST_F(Adversarial, TlsRefusalsPastTheirThreadsAreClosedNotAnsweredInClear) {
  server::ServerConfig cfg = config();
  cfg.max_clients = 1;
  cfg.max_per_address = 0;
  // Long enough that the stallers still hold every thread when ftx send arrives, however
  // slow the machine (2 s by default).
  cfg.refuse_handshake = testing::scaled(20s);
  TestServer& s = start(cfg);
  auto holder = sender(s.port());  // the one slot, held
  // Openers that stall in their handshake (a record header, then nothing) keep every TLS
  // refusal thread busy.
  constexpr int kStallers = 16;
  const uint8_t record_header[] = {0x16, 0x03, 0x01, 0x00, 0x40};
  std::vector<net::UniqueFd> stallers;
  for (int i = 0; i < kStallers; ++i) {
    stallers.push_back(testing::connect_from("127.0.0.1", s.port()));
    net::send_all(stallers.back().get(), record_header, "server");
  }
  // Every staller has been answered once those past the threads heard something (an end,
  // or, before the fix, a clear-text line) while the others still wait in a handshake.
  const size_t past_threads = kStallers - server::TlsRefusals::kMax;
  auto answered = [&] {
    size_t n = 0;
    for (const auto& fd : stallers) {
      pollfd p{fd.get(), POLLIN, 0};
      n += ::poll(&p, 1, 0) == 1 ? 1 : 0;
    }
    return n;
  };
  const auto deadline = std::chrono::steady_clock::now() + testing::scaled(10s);
  while (answered() < past_threads && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(answered(), past_threads);
  testing::write_file(local_ / "late.txt", "x");
  testing::Process send({testing::ftx_binary(), "send", "127.0.0.1:" + std::to_string(s.port()),
                         (local_ / "late.txt").string(), "--retries", "0", "--no-progress"},
                        local_.path(), "send");
  EXPECT_EQ(send.wait(testing::scaled(30s)), 3) << send.err();
  EXPECT_NE(send.err().find("closed the connection during the TLS handshake"), std::string::npos)
      << send.err();
  EXPECT_EQ(send.err().find("plain-only"), std::string::npos) << send.err();
  stallers.clear();
  EXPECT_TRUE(std::holds_alternative<proto::Saved>(upload(*holder, "held.txt", "held")));
  expect_saved("held.txt");
  EXPECT_FALSE(fs::exists(dir_ / "late.txt"));
}

TEST_F(Adversarial, ThousandConnectionsOpenedAndDropped) {
  server::ServerConfig c = config();
  c.max_per_address = 0;  // all from 127.0.0.1: this is about drops, not the per-address bound
  TestServer& s = start(std::move(c));
  // Bursts of 50, each once the server is done with the one before: within --max-clients
  // (64), so every connection must get a session of its own, and within the listen backlog
  // (128): an overflowing accept queue makes Linux drop handshake ACKs, and a client that
  // gives up then leaves a half-open connection the server only learns about when TCP
  // retransmission gives up (minutes): not an attack on ftx but on the test's bookkeeping.
  const size_t batch = 50;
  auto count = [&](const char* event) {
    size_t n = 0;
    for (const auto& e : read_log(dir_ / ".ftx" / "transfers.jsonl")) n += e["event"] == event ? 1 : 0;
    return n;
  };
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(s.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto t0 = Clock::now();
  size_t connected = 0;
  for (size_t done = 0; done < 1000; done += batch) {
    std::vector<net::UniqueFd> fds;
    for (size_t i = 0; i < batch; ++i) {
      net::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      ASSERT_TRUE(fd.valid());
      ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);  // EINPROGRESS
      fds.push_back(std::move(fd));
    }
    std::vector<pollfd> pending;
    for (auto& fd : fds) pending.push_back({fd.get(), POLLOUT, 0});
    const auto deadline = Clock::now() + testing::scaled(5s);
    size_t left = pending.size();
    while (left > 0 && Clock::now() < deadline) {
      if (::poll(pending.data(), pending.size(), 100) <= 0) continue;
      for (auto& p : pending) {
        if (p.fd >= 0 && p.revents) {
          int err = 0;
          socklen_t len = sizeof err;
          ::getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          connected += err == 0 ? 1 : 0;
          p.fd = -1;
          --left;
        }
      }
    }
    // Half leave with a reset, half with a FIN.
    for (size_t i = 0; i < fds.size(); i += 2) {
      linger hard{1, 0};
      ::setsockopt(fds[i].get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    }
    fds.clear();
    const auto served = Clock::now() + testing::scaled(10s);
    while ((count("connect") < connected || count("disconnect") < connected) && Clock::now() < served) {
      std::this_thread::sleep_for(10ms);
    }
  }
  RecordProperty("connected", static_cast<int>(connected));
  // Every connection was made, accepted, given a session (its connect logged, never a busy
  // refusal) and ended.
  EXPECT_EQ(connected, 1000u);
  EXPECT_EQ(count("connect"), 1000u);
  EXPECT_EQ(count("disconnect"), 1000u);
  EXPECT_LT(Clock::now() - t0, testing::scaled(40s));
  // verify_after (TearDown) checks the server still serves, within bounded retries.
}

// The real binary with 40 descriptors: accept fails, the server warns and goes on, and
// serves again once the clients leave.
// Under ASan+UBSan this needs -fno-sanitize=vptr (see quickstart): UBSan probes a vtable
// through pipe(2), so with no descriptor free it calls every virtual call invalid.
TEST_F(Adversarial, DescriptorExhaustionInTheRealBinary) {
  TempDir logs;
  capture_baseline();
  testing::Process proc(
      {"/bin/sh", "-c", "ulimit -n 40 && exec \"$0\" serve --host 127.0.0.1 --port 0 --dir \"$1\"",
       testing::ftx_binary(), dir_.string()},
      logs.path(), "server");
  const auto port_text = proc.wait_for_err(R"(on 127\.0\.0\.1:(\d+))");
  ASSERT_TRUE(port_text.has_value()) << proc.err();
  const auto port = static_cast<uint16_t>(std::stoi(*port_text));

  std::vector<net::UniqueFd> held;
  bool warned = false;
  for (int i = 0; i < 120 && !warned; ++i) {
    held.push_back(net::connect_tcp("127.0.0.1", port, 5s));
    if (i >= 20 && i % 5 == 0) {
      std::this_thread::sleep_for(50ms);
      warned = proc.err().find("accept") != std::string::npos;
    }
  }
  if (!warned) warned = proc.wait_for_err("warning: accept", 5s).has_value();
  EXPECT_TRUE(warned) << "no accept warning after " << held.size() << " connections:\n" << proc.err();
  EXPECT_FALSE(proc.wait(0ms).has_value()) << "the server died:\n" << proc.err();
  held.clear();

  verify_after(port, [this](size_t n) {
    // TestServer::wait_disconnects, for a server in another process.
    const auto deadline = Clock::now() + testing::scaled(10s);
    while (Clock::now() < deadline) {
      size_t count = 0;
      for (auto& e : read_log(dir_ / ".ftx" / "transfers.jsonl")) count += e["event"] == "disconnect" ? 1 : 0;
      if (count >= n) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  });
  proc.signal(SIGTERM);
  EXPECT_EQ(proc.wait(15s), 0) << proc.err();
}

// A 2 MiB tmpfs as DIR: refusals at FILE_BEGIN and a full disk mid-stream.
class FullDisk : public Adversarial {
 protected:
  void SetUp() override {
    Adversarial::SetUp();
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs (run as root to test a full disk)";
    if (!mount_tmpfs("size=2m")) {
      if (testing::must_not_skip()) FAIL() << "cannot mount a tmpfs as root in CI: " << mount_->error();
      GTEST_SKIP() << "cannot mount a tmpfs here: " << mount_->error();
    }
  }
};

TEST_F(FullDisk, BiggerThanTheDiskAtFileBegin_Binary) {
  TestServer& s = start(config());
  auto c = sender(s.port());
  c->send(proto::FileBegin{"three.bin", 3u << 20, 0644, 0, 0, ""});
  EXPECT_EQ(error_code(try_receive(*c)), ErrorCode::NoSpace);
  c->send(proto::Bye{});
  EXPECT_TRUE(std::holds_alternative<proto::Bye>(c->receive()));
}

TEST_F(FullDisk, BiggerThanTheDiskAtFileBegin_Text) {
  TestServer& s = start(config());
  AttackTextClient t(s.port());
  t.write("SEND_FILE three.bin " + std::to_string(3u << 20) + "\n" + std::string(65536, 't'));
  EXPECT_EQ(t.line_matching("^(OK|ERROR) ").rfind("ERROR no_space", 0), 0u);
  EXPECT_TRUE(t.closed_by_server());
}

TEST_F(FullDisk, DiskFillsUpMidStream) {
  TestServer& s = start(config());
  const std::string a = testing::random_bytes(1536u << 10, 1);
  const std::string b = testing::random_bytes(1536u << 10, 2);
  // Both begin while the disk is empty, so both pass the free-space check.
  auto ca = sender(s.port());
  auto cb = sender(s.port());
  ca->send(proto::FileBegin{"a.bin", a.size(), 0644, 0, 0, ""});
  ASSERT_TRUE(std::holds_alternative<proto::Ready>(ca->receive()));
  cb->send(proto::FileBegin{"b.bin", b.size(), 0644, 0, 0, ""});
  ASSERT_TRUE(std::holds_alternative<proto::Ready>(cb->receive()));
  ca->send_raw(a);
  ca->send(proto::FileEnd{proto::DigestAlgo::Xxh128, digest_of(a)});
  ASSERT_TRUE(std::holds_alternative<proto::Saved>(ca->receive()));
  expect_saved("a.bin");
  // The second cannot fit any more.
  std::jthread pump([&] {
    try {
      cb->send_raw(b);
      cb->send(proto::FileEnd{proto::DigestAlgo::Xxh128, digest_of(b)});
    } catch (const std::exception&) {
      // the server stopped reading: expected
    }
  });
  EXPECT_EQ(error_code(try_receive(*cb)), ErrorCode::NoSpace);
  pump.join();
  EXPECT_TRUE(cb->closed_by_server());
  EXPECT_FALSE(fs::exists(dir_ / "b.bin"));
  EXPECT_TRUE(testing::read_file(dir_ / "a.bin") == a);
  // ca keeps its connection; a small file fits in what is left.
  EXPECT_TRUE(std::holds_alternative<proto::Saved>(upload(*ca, "small.txt", "small")));
  expect_saved("small.txt");
}

// Out of inodes rather than blocks: no partial file can be created, no directory made.
TEST_F(Adversarial, OutOfInodes) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs (run as root to test inode exhaustion)";
  if (!mount_tmpfs("size=2m,nr_inodes=12")) {
    if (testing::must_not_skip()) FAIL() << "cannot mount a tmpfs as root in CI: " << mount_->error();
    GTEST_SKIP() << "cannot mount a tmpfs here: " << mount_->error();
  }
  TestServer& s = start(config());
  auto c = sender(s.port());
  int saved = 0;
  bool refused = false;
  for (int i = 0; i < 20 && !refused; ++i) {
    const std::string name = "f" + std::to_string(i);
    const auto r = upload(*c, name, "x");
    if (std::holds_alternative<proto::Saved>(r)) {
      expect_saved(name);
      ++saved;
    } else {
      EXPECT_EQ(error_code(r), ErrorCode::NoSpace) << name;
      refused = true;
    }
  }
  EXPECT_TRUE(refused) << "inodes never ran out";
  EXPECT_GT(saved, 0);
  EXPECT_EQ(testing::partial_count(dir_), 0u);
  // Free two inodes, then ask for a directory chain deeper than what is left.
  fs::remove(dir_ / "f0");
  fs::remove(dir_ / "f1");
  added_.erase("f0");
  added_.erase("f1");
  const auto deep = upload(*c, "d1/d2/d3/d4/x", "x");
  EXPECT_EQ(error_code(deep), ErrorCode::NoSpace);
  EXPECT_EQ(testing::partial_count(dir_), 0u);
  // Room for the check's own upload afterwards.
  for (int i = 2; i < saved; ++i) {
    fs::remove(dir_ / ("f" + std::to_string(i)));
    added_.erase("f" + std::to_string(i));
  }
  fs::remove_all(dir_ / "d1");  // directories made before the chain ran out (not files)
}

TEST_F(FullDisk, DiskFillsUpMidStream_Text) {
  TestServer& s = start(config());
  const std::string a = testing::random_bytes(1536u << 10, 3);
  const std::string b = testing::random_bytes(1536u << 10, 4);
  auto ca = sender(s.port());
  ca->send(proto::FileBegin{"a.bin", a.size(), 0644, 0, 0, ""});
  ASSERT_TRUE(std::holds_alternative<proto::Ready>(ca->receive()));
  // The text upload starts (and passes the free-space check) while the disk is still empty.
  AttackTextClient t(s.port());
  t.write("SEND_FILE b.txt " + std::to_string(b.size()) + "\n" + b.substr(0, 1));
  const auto deadline = Clock::now() + testing::scaled(10s);
  while (testing::partial_count(dir_) < 2 && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(testing::partial_count(dir_), 2u);
  ca->send_raw(a);
  ca->send(proto::FileEnd{proto::DigestAlgo::Xxh128, digest_of(a)});
  ASSERT_TRUE(std::holds_alternative<proto::Saved>(ca->receive()));
  expect_saved("a.bin");
  std::jthread pump([&] {
    try {
      t.write(b.substr(1));
    } catch (const std::exception&) {
      // the server stopped reading: expected
    }
  });
  EXPECT_EQ(t.line_matching("^(OK|ERROR) ").rfind("ERROR no_space", 0), 0u);
  pump.join();
  EXPECT_TRUE(t.closed_by_server());
  EXPECT_FALSE(fs::exists(dir_ / "b.txt"));
}

// ---------------------------------------------------------------------------------------
// Chat

TEST_F(Adversarial, ChatMessageOverTheLimit_Binary) {
  TestServer& s = start(config());
  ChatClient big(s.port(), "big");
  ChatClient other(s.port(), "other");
  big.say(std::string(proto::kMaxMessage + 1, 'x'));
  const proto::Frame reply = big.next_non_msg();
  ASSERT_TRUE(std::holds_alternative<proto::Error>(reply));
  EXPECT_EQ(std::get<proto::Error>(reply).code, ErrorCode::TooLarge);
  big.say(std::string(proto::kMaxMessage, 'm'));  // exactly at the limit: fine
  big.say("after");
  const auto got = other.collect(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].text.size(), proto::kMaxMessage);
  EXPECT_EQ(got[1].text, "after");
  EXPECT_TRUE(big.bye());
  EXPECT_TRUE(other.bye());
}

TEST_F(Adversarial, ChatMessageOverTheLimit_Text) {
  TestServer& s = start(config());
  ChatClient other(s.port(), "other");
  AttackTextClient t(s.port());
  t.write(std::string(proto::kMaxMessage + 1, 'y') + "\n");  // a line within the line limit
  EXPECT_EQ(t.line_matching("^ERROR").rfind("ERROR too_large", 0), 0u);
  t.write(std::string(200000, 'z') + "\n");  // over the line limit
  EXPECT_EQ(t.line_matching("^ERROR").rfind("ERROR too_large", 0), 0u);
  t.write("after\n");
  const auto got = other.collect(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].text, "after");
  t.write("QUIT\n");
  EXPECT_TRUE(t.closed_by_server());
  EXPECT_TRUE(other.bye());
}

// A SEND_FILE line over the line limit: the file's bytes follow it, so the connection ends
// (it was skipped like a long chat line, and the file's lines were then said to the room).
TEST_F(Adversarial, AnOverlongSendFileLineEndsTheConnection_Text) {
  TestServer& s = start(config());
  ChatClient other(s.port(), "other");
  AttackTextClient t(s.port());
  t.write("SEND_FILE " + std::string(70000, 'n') + " 40\nsecret file line 1\nsecret file line 2\n");
  EXPECT_EQ(t.line_matching("^ERROR").rfind("ERROR too_large", 0), 0u);
  EXPECT_TRUE(t.closed_by_server());
  // The same in lower case, a near miss of the command, ends it too.
  AttackTextClient near(s.port());
  near.write("send_file " + std::string(70000, 'n') + " 40\nsecret file line 3\n");
  EXPECT_EQ(near.line_matching("^ERROR").rfind("ERROR too_large", 0), 0u);
  EXPECT_TRUE(near.closed_by_server());
  // Nothing of either file reached the room: the next line the room hears is this one.
  AttackTextClient speaker(s.port());
  speaker.write("marker\n");
  const auto got = other.collect(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].text, "marker");
  EXPECT_TRUE(other.bye());
}

TEST_F(Adversarial, ChatSenderNameCannotBeSpoofed) {
  TestServer& s = start(config());
  ChatClient liar(s.port(), "liar");
  ChatClient other(s.port(), "other");
  liar.send(proto::Msg{"server", 0, "I am the operator"});
  const auto got = other.collect(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].sender, "liar");
  EXPECT_TRUE(liar.bye());
  EXPECT_TRUE(other.bye());
}

TEST_F(Adversarial, ChatFloodFromOneClient) {
  TestServer& s = start(config());
  ChatClient a(s.port(), "reader-a");
  ChatClient b(s.port(), "reader-b");
  ChatClient flood(s.port(), "flood");
  AttackTextClient tflood(s.port());
  ASSERT_TRUE(a.await_notice("joined"));
  constexpr int kBinary = 5000;
  constexpr int kText = 2000;
  std::vector<proto::Msg> got_a, got_b;
  std::jthread ra([&] { got_a = a.collect(kBinary + kText, 60s); });
  std::jthread rb([&] { got_b = b.collect(kBinary + kText, 60s); });
  std::jthread fb([&] {
    const std::string pad(200, 'f');
    for (int i = 0; i < kBinary; ++i) flood.say("b" + std::to_string(i) + pad);
  });
  std::string lines;
  for (int i = 0; i < kText; ++i) lines += "t" + std::to_string(i) + "\n";
  tflood.write(lines);
  fb.join();
  ra.join();
  rb.join();
  for (const auto* got : {&got_a, &got_b}) {
    ASSERT_EQ(got->size(), static_cast<size_t>(kBinary + kText));
    int next_b = 0, next_t = 0;
    for (const auto& m : *got) {
      if (m.sender == "flood") {
        ASSERT_EQ(m.text, "b" + std::to_string(next_b++) + std::string(200, 'f'));
      } else {
        ASSERT_EQ(m.text, "t" + std::to_string(next_t++));
      }
    }
  }
  EXPECT_TRUE(flood.bye());
  EXPECT_TRUE(a.bye());
  EXPECT_TRUE(b.bye());
}

// Asking without reading the answers (WHO over and over): the asker is cut off, the room
// goes on.
TEST_F(Adversarial, ChatQuestionsWithoutReadingTheAnswers) {
  TestServer& s = start(strict_room());
  ChatClient listener(s.port(), "listener");
  ChatClient asker(s.port(), "asker");
  AttackTextClient text_asker(s.port());
  shrink_receive_buffer(asker.fd());
  shrink_receive_buffer(text_asker.fd());
  std::string whos;
  for (int i = 0; i < 1000; ++i) whos += frame_bytes(proto::Who{});
  std::string text_whos;
  for (int i = 0; i < 1000; ++i) text_whos += "WHO\n";
  auto flood = [](int fd, const std::string& chunk) {
    try {
      for (int round = 0; round < 200; ++round) {  // up to 200,000 questions, never reading
        net::send_all(fd, std::span(reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()), "server");
      }
    } catch (const std::exception&) {
      return true;  // cut off
    }
    return false;
  };
  const auto t0 = Clock::now();
  bool binary_cut = false, text_cut = false;
  std::jthread fa([&] { binary_cut = flood(asker.fd(), whos); });
  std::jthread ft([&] { text_cut = flood(text_asker.fd(), text_whos); });
  fa.join();
  ft.join();
  // The questions may all fit in kernel buffers before the server reads them: wait for the
  // server to get through them and cut both askers off.
  std::set<std::string> cut;
  const auto deadline = Clock::now() + testing::scaled(15s);
  while (cut.size() < 2 && Clock::now() < deadline) {
    cut.clear();
    for (const auto& e : s.log_events()) {
      if (e["event"] == "chat_leave" && e.contains("reason")) cut.insert(e["client"].get<std::string>());
    }
    std::this_thread::sleep_for(50ms);
  }
  std::string log;
  for (const auto& e : s.log_events()) log += e.dump() + "\n";
  EXPECT_TRUE(cut.count("asker")) << "binary asker not cut off (send failed: " << binary_cut << ")\n" << log;
  EXPECT_EQ(cut.size(), 2u) << "text asker not cut off (send failed: " << text_cut << ")\n" << log;
  EXPECT_LT(Clock::now() - t0, testing::scaled(30s));
  ChatClient talker(s.port(), "talker");
  talker.say("still a room");
  const auto got = listener.collect(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].text, "still a room");
  EXPECT_TRUE(talker.bye());
  EXPECT_TRUE(listener.bye());
}

// Was a bug, fixed with this test: one member that never reads froze the whole room for
// 5 s (the sender waited on its full queue, and nobody else got anything meanwhile) before
// it was cut off. Now a member that is not reading holds nobody up: while its queue is full,
// a reading member keeps receiving, and holds the flood's last line before the non-reader
// is cut off (5 s after it took its last byte).
TEST_F(Adversarial, ChatNonReaderDoesNotPauseTheRoom) {
  TestServer& s = start(config());  // default queue (1 MiB) and stall limit (5 s)
  ChatClient stuck(s.port(), "stuck");
  shrink_receive_buffer(stuck.fd());
  ChatClient reader(s.port(), "reader");
  ChatClient talker(s.port(), "talker");
  ASSERT_TRUE(reader.await_notice("talker joined"));
  // 3 MB: more than the non-reader's socket buffers and queue hold.
  constexpr int kCount = 30000;
  const std::string pad(90, 'p');
  int got = 0;
  int cut_at = -1;  // lines the reader had when it heard the non-reader was cut off
  std::jthread r([&] {
    try {
      while (cut_at < 0) {
        for (const proto::Msg& m : testing::messages_in(reader.receive())) {
          if (m.sender == "talker") {
            ASSERT_EQ(m.text, std::to_string(got) + " " + pad);
            ++got;
          } else if (m.sender.empty() && m.text.find("stuck was disconnected") != std::string::npos) {
            cut_at = got;
          }
        }
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "the reader stopped after " << got << " lines: " << e.what();
    }
  });
  for (int i = 0; i < kCount; ++i) talker.say(std::to_string(i) + " " + pad);
  r.join();
  EXPECT_EQ(got, kCount);
  EXPECT_EQ(cut_at, kCount) << "the room waited for the non-reader: it was cut off after " << cut_at << " of "
                            << kCount << " lines had reached the reader";
  std::string reason;
  for (const auto& e : s.log_events()) {
    if (e["event"] == "chat_leave" && e["client"] == "stuck") reason = e.value("reason", "");
  }
  EXPECT_EQ(reason.rfind("not reading", 0), 0u) << reason;
  EXPECT_TRUE(talker.bye());
  EXPECT_TRUE(reader.bye());
}

TEST_F(Adversarial, ChatReadersThatNeverReadDoNotHurtOthers) {
  TestServer& s = start(strict_room());
  ChatClient stuck(s.port(), "stuck");
  AttackTextClient stuck_text(s.port());
  shrink_receive_buffer(stuck.fd());
  shrink_receive_buffer(stuck_text.fd());
  stuck_text.write("NICK stuck-text\n");
  ChatClient reader(s.port(), "reader");
  ChatClient talker(s.port(), "talker");
  ASSERT_TRUE(reader.await_notice("talker joined"));
  constexpr int kCount = 4000;
  const std::string pad(1000, 'p');
  std::vector<proto::Msg> got;
  std::jthread r([&] { got = reader.collect(kCount, 60s); });
  const auto t0 = Clock::now();
  for (int i = 0; i < kCount; ++i) talker.say(std::to_string(i) + " " + pad);
  r.join();
  ASSERT_EQ(got.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(got[i].text, std::to_string(i) + " " + pad);
  EXPECT_LT(Clock::now() - t0, testing::scaled(30s));
  EXPECT_TRUE(talker.bye());
  EXPECT_TRUE(reader.bye());
  std::set<std::string> cut;
  for (const auto& e : s.log_events()) {
    if (e["event"] == "chat_leave" && e.contains("reason")) cut.insert(e["client"].get<std::string>());
  }
  EXPECT_TRUE(cut.count("stuck")) << "the binary non-reader was not cut off";
  EXPECT_TRUE(cut.count("stuck-text")) << "the text non-reader was not cut off";
}

}  // namespace
}  // namespace ftx
