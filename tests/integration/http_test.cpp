// SPDX-License-Identifier: MIT
// HTTP on the server's port, through the real binary: curl -T uploads into the inbox,
// refusals in HTTP's words, keep-alive, the slowloris bound, HTTPS and --require-tls.
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net/socket.h"
#include "serve_process.h"
#include "shell.h"
#include "temp_dir.h"
#include "test_env.h"

namespace ftx::testing {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

// The files a user sees in DIR (not its private .ftx).
std::vector<std::string> visible_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    if (it->path().filename() == ".ftx") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) out.push_back(fs::relative(it->path(), dir).string());
  }
  return out;
}

struct CurlResult {
  int status = 0;
  std::string body;
};

// curl ARGS URL: the status and the body.
CurlResult curl(const std::string& args, const std::string& url) {
  const std::string out =
      shell_output("curl -sS --max-time 20 -o - -w '\\n%{http_code}' " + args + " '" + url + "' 2>&1");
  CurlResult r;
  const size_t nl = out.rfind('\n');
  if (nl == std::string::npos) return r;
  r.body = out.substr(0, nl);
  r.status = std::atoi(out.c_str() + nl + 1);
  return r;
}

std::string error_code(const CurlResult& r) {
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.contains("error")) return "(not a JSON error: " + r.body + ")";
  return j["error"]["code"].get<std::string>();
}

// One HTTP/1.1 response from a raw socket: head and Content-Length body.
struct RawResponse {
  int status = 0;
  std::string head;
  std::string body;
};

std::optional<RawResponse> read_response(int fd, std::string& pending) {
  while (pending.find("\r\n\r\n") == std::string::npos) {
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    pending.append(buf, static_cast<size_t>(n));
  }
  RawResponse r;
  const size_t end = pending.find("\r\n\r\n") + 4;
  r.head = pending.substr(0, end);
  pending.erase(0, end);
  r.status = std::atoi(r.head.c_str() + 9);
  size_t length = 0;
  if (const size_t cl = r.head.find("Content-Length: "); cl != std::string::npos) {
    length = std::stoul(r.head.substr(cl + 16));
  }
  while (pending.size() < length) {
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    pending.append(buf, static_cast<size_t>(n));
  }
  r.body = pending.substr(0, length);
  pending.erase(0, length);
  return r;
}

void send_text(int fd, const std::string& s) {
  net::send_all(fd, std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()), "server");
}

// True when the server closes the connection (EOF) within the limit.
bool closed_by_server(int fd, std::chrono::milliseconds limit) {
  net::set_socket_timeouts(fd, limit, limit);
  char buf[4096];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

class Http : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!installed("curl")) GTEST_SKIP() << "curl is not installed";
  }
  std::unique_ptr<ServeProcess> serve(const std::vector<std::string>& extra = {}) {
    return std::make_unique<ServeProcess>(inbox_, extra, tmp_.path(), "server-" + std::to_string(++servers_));
  }
  std::string url(const ServeProcess& s, const std::string& path = "/") {
    return "http://" + s.address() + path;
  }

  TempDir tmp_;
  fs::path inbox_ = tmp_ / "inbox";
  int servers_ = 0;
};

TEST_F(Http, CurlUploadSavesTheFileAndLogsIt) {
  auto server = serve();
  ASSERT_NE(server->port(), 0);
  const std::string data = random_bytes(300000, 7);
  write_file(tmp_ / "a.bin", data);
  const CurlResult r = curl("-T '" + (tmp_ / "a.bin").string() + "'", url(*server));
  ASSERT_EQ(r.status, 201) << r.body;
  const auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["name"], "a.bin");
  EXPECT_EQ(j["path"], "a.bin");
  EXPECT_EQ(j["bytes"], data.size());
  EXPECT_TRUE(j["digest"].get<std::string>().starts_with("xxh128:")) << r.body;
  EXPECT_EQ(read_all(inbox_ / "a.bin"), data);

  // Into a directory under another name; the name taken gets a number, as for ftx send.
  const CurlResult d = curl("-T '" + (tmp_ / "a.bin").string() + "'", url(*server, "/sub/dir/b%20c.bin"));
  ASSERT_EQ(d.status, 201) << d.body;
  EXPECT_EQ(read_all(inbox_ / "sub/dir/b c.bin"), data);
  // The same content again is kept as it is (200, nothing written), as for ftx send.
  struct stat before {};
  ASSERT_EQ(::stat((inbox_ / "a.bin").c_str(), &before), 0);
  const CurlResult same = curl("-T '" + (tmp_ / "a.bin").string() + "'", url(*server));
  ASSERT_EQ(same.status, 200) << same.body;
  const auto kept = nlohmann::json::parse(same.body);
  EXPECT_EQ(kept["path"], "a.bin");
  EXPECT_EQ(kept["unchanged"], true);
  EXPECT_EQ(kept["digest"], j["digest"]);
  struct stat after {};
  ASSERT_EQ(::stat((inbox_ / "a.bin").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_FALSE(fs::exists(inbox_ / "a (1).bin"));
  // Other content under a taken name gets a number.
  write_file(tmp_ / "other.bin", random_bytes(300000, 8));
  const CurlResult again = curl("-T '" + (tmp_ / "other.bin").string() + "'", url(*server, "/a.bin"));
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(nlohmann::json::parse(again.body)["path"], "a (1).bin");
  EXPECT_FALSE(nlohmann::json::parse(again.body).contains("unchanged"));

  // The same `file` events as ftx send's.
  const std::string log = read_all(inbox_ / ".ftx" / "transfers.jsonl");
  size_t files = 0;
  for (size_t at = 0; (at = log.find("\"event\":\"file\"", at)) != std::string::npos; ++at) ++files;
  EXPECT_EQ(files, 4u) << log;
  EXPECT_NE(log.find("\"status\":\"ok\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"status\":\"unchanged\""), std::string::npos) << log;
}

TEST_F(Http, RefusalsAreAnsweredInHttp) {
  auto server = serve({"--max-size", "1000", "--overwrite", "refuse"});
  ASSERT_NE(server->port(), 0);
  write_file(tmp_ / "big", std::string(5000, 'x'));
  write_file(tmp_ / "small", "hello\n");
  const std::string small = "-T '" + (tmp_ / "small").string() + "'";

  const CurlResult big = curl("-T '" + (tmp_ / "big").string() + "'", url(*server));
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_EQ(error_code(big), "too_large");

  for (const std::string path :
       {"/../x", "/%2e%2e/x", "/a%00b", "/a%0ab", "/a%1bb", "/.ftx/x", "/d/..%2f..%2fx"}) {
    const CurlResult r = curl("--path-as-is " + small, url(*server, path));
    EXPECT_EQ(r.status, 400) << path << ": " << r.body;
    EXPECT_EQ(error_code(r), "name_refused") << path;
  }
  ASSERT_EQ(curl(small, url(*server, "/s.txt")).status, 201);
  EXPECT_EQ(curl(small, url(*server, "/s.txt")).status, 200);  // the same content: kept
  write_file(tmp_ / "small", "hello again\n");
  const CurlResult exists = curl(small, url(*server, "/s.txt"));
  EXPECT_EQ(exists.status, 409) << exists.body;
  EXPECT_EQ(error_code(exists), "exists");
  EXPECT_EQ(visible_files(inbox_), std::vector<std::string>{"s.txt"});
  EXPECT_TRUE(fs::exists(tmp_ / "x") == false && fs::exists(inbox_.parent_path() / "x") == false);
}

TEST_F(Http, TheTokenIsABearerToken) {
  auto server = serve({"--token", "s3cret"});
  ASSERT_NE(server->port(), 0);
  write_file(tmp_ / "f", "data\n");
  const std::string file = "-T '" + (tmp_ / "f").string() + "'";
  const CurlResult none = curl(file, url(*server));
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_EQ(error_code(none), "unauthorized");
  EXPECT_EQ(curl(file + " -H 'Authorization: Bearer wrong'", url(*server)).status, 401);
  const CurlResult ok = curl(file + " -H 'Authorization: Bearer s3cret'", url(*server));
  EXPECT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(visible_files(inbox_), std::vector<std::string>{"f"});
}

TEST_F(Http, ABodyShorterThanItsLengthLeavesNothing) {
  auto server = serve();
  ASSERT_NE(server->port(), 0);
  {
    auto fd = net::connect_tcp("127.0.0.1", server->port(), std::chrono::seconds(5));
    send_text(fd.get(), "PUT /short.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                            std::string(1000, 'a'));
  }  // closed in the middle of the body
  // The server logs the failed file once it has noticed.
  const auto log = inbox_ / ".ftx" / "transfers.jsonl";
  const auto deadline = std::chrono::steady_clock::now() + scaled(std::chrono::seconds(10));
  while (read_all(log).find("\"code\":\"interrupted\"") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(read_all(log).find("\"code\":\"interrupted\""), std::string::npos) << read_all(log);
  EXPECT_TRUE(visible_files(inbox_).empty());
}

TEST_F(Http, KeepAliveServesManyRequestsOnOneConnection) {
  auto server = serve();
  ASSERT_NE(server->port(), 0);
  auto fd = net::connect_tcp("127.0.0.1", server->port(), std::chrono::seconds(5));
  net::set_socket_timeouts(fd.get(), scaled(std::chrono::seconds(10)), scaled(std::chrono::seconds(10)));
  std::string pending;
  for (int i = 0; i < 200; ++i) {
    const std::string body = "file " + std::to_string(i) + "\n";
    send_text(fd.get(), "PUT /k/" + std::to_string(i) + ".txt HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body);
    const auto r = read_response(fd.get(), pending);
    ASSERT_TRUE(r.has_value()) << "request " << i;
    ASSERT_EQ(r->status, 201) << r->head << r->body;
    EXPECT_NE(r->head.find("Connection: keep-alive"), std::string::npos);
  }
  EXPECT_EQ(visible_files(inbox_).size(), 200u);
  EXPECT_EQ(read_all(inbox_ / "k" / "199.txt"), "file 199\n");
}

TEST_F(Http, SlowHeadersAreClosedByTheTimeout) {
  auto server = serve({"--idle-timeout", "1"});
  ASSERT_NE(server->port(), 0);
  auto fd = net::connect_tcp("127.0.0.1", server->port(), std::chrono::seconds(5));
  send_text(fd.get(), "GET / HTTP/1.1\r\n");
  // A header byte every 200 ms: each byte is within the socket timeout, the head is not.
  std::string pending;
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {
    if (::send(fd.get(), "X", 1, MSG_NOSIGNAL) != 1) {
      closed = true;
      break;
    }
    if (net::poll_readable(fd.get(), std::chrono::milliseconds(200))) closed = true;
  }
  ASSERT_TRUE(closed) << "the server kept reading a head for 20 s";
  const auto r = read_response(fd.get(), pending);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 408) << r->head;
  EXPECT_TRUE(closed_by_server(fd.get(), scaled(std::chrono::seconds(5))));
}

TEST_F(Http, HttpsWithTheServersOwnKey) {
  auto server = serve();
  ASSERT_NE(server->port(), 0);
  write_file(tmp_ / "t.txt", "over TLS\n");
  const CurlResult r =
      curl("-k -T '" + (tmp_ / "t.txt").string() + "'", "https://" + server->address() + "/");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(read_all(inbox_ / "t.txt"), "over TLS\n");
  // Without -k, curl refuses the self-signed key: what a browser warns about.
  EXPECT_EQ(curl("", "https://" + server->address() + "/").status, 0);
}

TEST_F(Http, PlainHttpUnderRequireTlsIs426) {
  auto server = serve({"--require-tls"});
  ASSERT_NE(server->port(), 0);
  write_file(tmp_ / "t.txt", "x\n");
  const CurlResult plain = curl("-T '" + (tmp_ / "t.txt").string() + "'", url(*server));
  EXPECT_EQ(plain.status, 426) << plain.body;
  EXPECT_EQ(error_code(plain), "tls_required");
  EXPECT_TRUE(visible_files(inbox_).empty());
  const CurlResult tls =
      curl("-k -T '" + (tmp_ / "t.txt").string() + "'", "https://" + server->address() + "/");
  EXPECT_EQ(tls.status, 201) << tls.body;
}

TEST_F(Http, ThePageIsOneSelfContainedFile) {
  auto server = serve();
  ASSERT_NE(server->port(), 0);
  const std::string headers = shell_output("curl -sS -D - -o /dev/null '" + url(*server) + "'");
  EXPECT_NE(headers.find("Content-Type: text/html"), std::string::npos) << headers;
  EXPECT_NE(headers.find("Content-Security-Policy: default-src 'none'"), std::string::npos) << headers;
  const CurlResult page = curl("", url(*server));
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("name=\"viewport\""), std::string::npos);
  EXPECT_NE(page.body.find("webkitdirectory"), std::string::npos);
  // Nothing from elsewhere: no URL with a scheme in a src, href or url().
  for (const char* outside : {"src=\"http", "href=\"http", "url(http", "src=\"//", "href=\"//", "@import"}) {
    EXPECT_EQ(page.body.find(outside), std::string::npos) << outside;
  }
  EXPECT_EQ(curl("", url(*server, "/index.html")).body, page.body);
  EXPECT_EQ(curl("", url(*server, "/no/such/page")).status, 404);
}

TEST_F(Http, TheSignInSetsACookieThePageUploadsWith) {
  auto server = serve({"--token", "s3cret;x"});
  ASSERT_NE(server->port(), 0);
  const std::string jar = (tmp_ / "cookies").string();
  // Not signed in: the form, not the page.
  const CurlResult form = curl("", url(*server));
  EXPECT_EQ(form.status, 200);
  EXPECT_NE(form.body.find("action=\"/.ftx/signin\""), std::string::npos) << form.body;
  EXPECT_EQ(form.body.find("webkitdirectory"), std::string::npos);

  const CurlResult wrong = curl("-c '" + jar + "' --data-urlencode token=nope", url(*server, "/.ftx/signin"));
  EXPECT_EQ(wrong.status, 401);
  const std::string signin =
      shell_output("curl -sS -D - -o /dev/null -c '" + jar + "' --data-urlencode 'token=s3cret;x' '" +
                   url(*server, "/.ftx/signin") + "'");
  EXPECT_NE(signin.find("HTTP/1.1 303"), std::string::npos) << signin;
  EXPECT_NE(signin.find("HttpOnly; SameSite=Strict"), std::string::npos) << signin;
  const CurlResult page = curl("-b '" + jar + "'", url(*server));
  EXPECT_NE(page.body.find("webkitdirectory"), std::string::npos) << page.body;
  write_file(tmp_ / "f", "with a cookie\n");
  const CurlResult put = curl("-b '" + jar + "' -T '" + (tmp_ / "f").string() + "'", url(*server));
  EXPECT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(read_all(inbox_ / "f"), "with a cookie\n");
}

TEST_F(Http, ABrokenUploadResumesFromWhatTheServerKept) {
  auto server = serve();
  ASSERT_NE(server->port(), 0);
  const std::string data = random_bytes(1 << 20, 11);
  const std::string id = "0123456789abcdef";
  const std::string query = "/.ftx/offset?id=" + id +
                            "&name=big%20one.bin&size=" + std::to_string(data.size()) +
                            "&mtime=1700000000000";
  EXPECT_EQ(nlohmann::json::parse(curl("", url(*server, query)).body)["offset"], 0);
  const size_t sent = 400000;
  {
    auto fd = net::connect_tcp("127.0.0.1", server->port(), std::chrono::seconds(5));
    send_text(fd.get(), "PUT /big%20one.bin HTTP/1.1\r\nHost: x\r\nFtx-Transfer-Id: " + id +
                            "\r\nFtx-Mtime: 1700000000000\r\nContent-Length: " + std::to_string(data.size()) +
                            "\r\n\r\n" + data.substr(0, sent));
  }  // the Wi-Fi drops
  uint64_t offset = 0;
  const auto deadline = std::chrono::steady_clock::now() + scaled(std::chrono::seconds(10));
  while (offset == 0 && std::chrono::steady_clock::now() < deadline) {
    const CurlResult r = curl("", url(*server, query));
    offset = nlohmann::json::parse(r.body, nullptr, false).value("offset", uint64_t{0});
    if (offset == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GT(offset, 0u);
  ASSERT_LE(offset, sent);
  EXPECT_TRUE(visible_files(inbox_).empty());

  // A wrong offset is refused, says where to start, and leaves the kept bytes alone.
  const std::string total = std::to_string(data.size());
  const std::string headers = "-H 'Ftx-Transfer-Id: " + id + "' -H 'Ftx-Mtime: 1700000000000' ";
  write_file(tmp_ / "wrong", data.substr(offset + 1));
  const CurlResult wrong =
      curl(headers + "-H 'Content-Range: bytes " + std::to_string(offset + 1) + "-" +
               std::to_string(data.size() - 1) + "/" + total + "' -T '" + (tmp_ / "wrong").string() + "'",
           url(*server, "/big%20one.bin"));
  EXPECT_EQ(wrong.status, 409) << wrong.body;
  EXPECT_EQ(nlohmann::json::parse(wrong.body, nullptr, false).value("offset", uint64_t{0}), offset);

  write_file(tmp_ / "rest", data.substr(offset));
  const CurlResult rest =
      curl(headers + "-H 'Content-Range: bytes " + std::to_string(offset) + "-" +
               std::to_string(data.size() - 1) + "/" + total + "' -T '" + (tmp_ / "rest").string() + "'",
           url(*server, "/big%20one.bin"));
  ASSERT_EQ(rest.status, 201) << rest.body;
  const auto j = nlohmann::json::parse(rest.body);
  EXPECT_EQ(j["bytes"], data.size());
  EXPECT_EQ(j["resumed_from"], offset);
  EXPECT_EQ(read_all(inbox_ / "big one.bin"), data);
  EXPECT_EQ(nlohmann::json::parse(curl("", url(*server, query)).body)["offset"], 0);
}

TEST_F(Http, TheRoomStreamsEventsAndTakesLinesWithTheMembersKey) {
  auto server = serve();
  ASSERT_NE(server->port(), 0);
  auto fd = net::connect_tcp("127.0.0.1", server->port(), std::chrono::seconds(5));
  net::set_socket_timeouts(fd.get(), scaled(std::chrono::seconds(10)), scaled(std::chrono::seconds(10)));
  send_text(fd.get(), "GET /.ftx/events?name=erin HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string stream;
  auto read_until = [&](const std::string& what) {
    char buf[4096];
    while (stream.find(what) == std::string::npos) {
      const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      if (n <= 0) return false;
      stream.append(buf, static_cast<size_t>(n));
    }
    return true;
  };
  ASSERT_TRUE(read_until("\n\n")) << stream;
  EXPECT_NE(stream.find("Content-Type: text/event-stream"), std::string::npos) << stream;
  ASSERT_TRUE(read_until("event: hello\ndata: ")) << stream;
  ASSERT_TRUE(read_until("}\n\n")) << stream;
  const size_t data = stream.find("event: hello\ndata: ") + 19;
  const auto hello = nlohmann::json::parse(stream.substr(data, stream.find('\n', data) - data));
  EXPECT_EQ(hello["name"], "erin");
  const std::string key = hello["key"];

  EXPECT_EQ(curl("-X POST -H 'Ftx-Chat-Key: wrong' --data-binary hi", url(*server, "/.ftx/say")).status, 403);
  // Said by erin: a text client in the room hears it.
  auto text = net::connect_tcp("127.0.0.1", server->port(), std::chrono::seconds(5));
  net::set_socket_timeouts(text.get(), scaled(std::chrono::seconds(10)), scaled(std::chrono::seconds(10)));
  send_text(text.get(), "WHO\n");
  std::string heard;
  char buf[4096];
  while (heard.find("connected:") == std::string::npos || heard.back() != '\n') {
    const ssize_t n = ::recv(text.get(), buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << heard;
    heard.append(buf, static_cast<size_t>(n));
  }
  EXPECT_NE(heard.find("erin"), std::string::npos) << heard;
  EXPECT_EQ(
      curl("-X POST -H 'Ftx-Chat-Key: " + key + "' --data-binary 'hi from erin'", url(*server, "/.ftx/say"))
          .status,
      204);
  while (heard.find("<erin> hi from erin") == std::string::npos) {
    const ssize_t n = ::recv(text.get(), buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << heard;
    heard.append(buf, static_cast<size_t>(n));
  }
  send_text(text.get(), "hello erin\n");
  EXPECT_TRUE(read_until("\"text\":\"hello erin\"")) << stream;
}

TEST_F(Http, ABusyServerSays503) {
  auto server = serve({"--max-clients", "1"});
  ASSERT_NE(server->port(), 0);
  // A silent client takes the one slot; the server greets it once it is served.
  auto holder = net::connect_tcp("127.0.0.1", server->port(), std::chrono::seconds(5));
  ASSERT_TRUE(net::poll_readable(holder.get(), scaled(std::chrono::seconds(5))));
  write_file(tmp_ / "f", "x\n");
  const CurlResult busy = curl("-T '" + (tmp_ / "f").string() + "'", url(*server));
  EXPECT_EQ(busy.status, 503) << busy.body;
  EXPECT_EQ(error_code(busy), "busy");
  const CurlResult tls = curl("-k -T '" + (tmp_ / "f").string() + "'", "https://" + server->address() + "/");
  EXPECT_EQ(tls.status, 503) << tls.body;
  EXPECT_TRUE(visible_files(inbox_).empty());
}

TEST_F(Http, SharedFilesDownloadWithCurl) {
  auto server = serve({"--share"});
  ASSERT_NE(server->port(), 0);
  const std::string data = random_bytes(700000, 11);
  write_file(tmp_ / "up.bin", data);
  const CurlResult up = curl("-T '" + (tmp_ / "up.bin").string() + "'", url(*server, "/docs/r%201.bin"));
  ASSERT_EQ(up.status, 201) << up.body;
  const std::string digest = nlohmann::json::parse(up.body)["digest"].get<std::string>();

  // curl -O's request: the bytes, and the digest in a header.
  const fs::path got = tmp_ / "got.bin";
  const std::string head = shell_output("curl -sS --max-time 20 -D - -o '" + got.string() + "' '" +
                                        url(*server, "/docs/r%201.bin") + "'");
  EXPECT_NE(head.find("HTTP/1.1 200"), std::string::npos) << head;
  EXPECT_NE(head.find("Ftx-Digest: " + digest), std::string::npos) << head;
  EXPECT_EQ(read_all(got), data);
  const CurlResult headonly = curl("-I", url(*server, "/docs/r%201.bin"));
  EXPECT_EQ(headonly.status, 200);
  EXPECT_NE(headonly.body.find("Content-Length: 700000"), std::string::npos) << headonly.body;

  const CurlResult missing = curl("", url(*server, "/nope.bin"));
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_EQ(error_code(missing), "not_found");
  const CurlResult key = curl("--path-as-is", url(*server, "/.ftx/key.pem"));
  EXPECT_EQ(key.status, 403) << key.body;
  EXPECT_EQ(key.body.find("PRIVATE"), std::string::npos);

  const std::string log = read_all(inbox_ / ".ftx" / "transfers.jsonl");
  EXPECT_NE(log.find("\"event\":\"get\""), std::string::npos) << log;
}

// Another method is 405 with the methods the target does take: POST only where the page
// posts (sign-in, chat lines).
TEST_F(Http, AnotherMethodIs405WithWhatTheTargetTakes) {
  auto server = serve();
  ASSERT_NE(server->port(), 0);
  const CurlResult del = curl("-i -X DELETE", url(*server, "/x.txt"));
  EXPECT_EQ(del.status, 405) << del.body;
  EXPECT_NE(del.body.find("Allow: GET, HEAD, PUT\r\n"), std::string::npos) << del.body;
  const CurlResult post = curl("-i -X POST", url(*server, "/x.txt"));
  EXPECT_EQ(post.status, 405) << post.body;
  EXPECT_NE(post.body.find("Allow: GET, HEAD, PUT\r\n"), std::string::npos) << post.body;
  const CurlResult say = curl("-i -X DELETE", url(*server, "/.ftx/say"));
  EXPECT_EQ(say.status, 405) << say.body;
  EXPECT_NE(say.body.find("Allow: POST\r\n"), std::string::npos) << say.body;
}

TEST_F(Http, NothingDownloadsWithoutShare) {
  auto server = serve();
  ASSERT_NE(server->port(), 0);
  write_file(tmp_ / "up.bin", "secret\n");
  ASSERT_EQ(curl("-T '" + (tmp_ / "up.bin").string() + "'", url(*server)).status, 201);
  const CurlResult r = curl("", url(*server, "/up.bin"));
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(error_code(r), "not_found");
  EXPECT_NE(r.body.find("--share"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("secret"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace ftx::testing
