// SPDX-License-Identifier: MIT
// Chat room members driven by the test: a binary chat client and a text-mode client (as nc
// would be), shared by the chat tests and the attack suite.
#pragma once

#include <chrono>
#include <cstdint>
#include <regex>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "net/socket.h"
#include "proto/codec.h"
#include "wire/channel.h"

namespace ftx::testing {

/// The chat messages a frame carries: a MSG's one, a MSG_BATCH's each as a MSG of its own,
/// none for another frame.
inline std::vector<proto::Msg> messages_in(const proto::Frame& f) {
  if (const auto* m = std::get_if<proto::Msg>(&f)) return {*m};
  std::vector<proto::Msg> out;
  if (const auto* b = std::get_if<proto::MsgBatch>(&f)) {
    for (const auto& text : b->texts) out.push_back({b->sender, b->ts_ms, text});
  }
  return out;
}

/// A binary chat client: HELLO as a chat member, then MSG (and, from version 4, MSG_BATCH)
/// frames both ways.
class ChatClient {
 public:
  ChatClient(uint16_t port, const std::string& name, uint16_t version = proto::kProtocolVersion)
      : fd_(net::connect_tcp("127.0.0.1", port, std::chrono::seconds(5))), channel_(fd_.get(), "server") {
    net::set_io_timeout(fd_.get(), std::chrono::seconds(20));
    channel_.send(proto::Hello{version, proto::Role::Chat, name, ""});
    // The server may have changed the name (taken, reserved): tests compare against this one.
    name_ = std::get<proto::Welcome>(channel_.receive()).name;
  }
  ChatClient(const ChatClient&) = delete;
  ChatClient& operator=(const ChatClient&) = delete;

  const std::string& name() const { return name_; }
  /// MSG_BATCH frames collect() took apart so far.
  size_t batches() const { return batches_; }
  void say(const std::string& text) { channel_.send(proto::Msg{"", 0, text}); }
  void send(const proto::Frame& f) { channel_.send(f); }
  proto::Frame receive() { return channel_.receive(); }
  int fd() const { return fd_.get(); }

  /// Messages from others (notices skipped) until `count` arrived or the deadline passed,
  /// a batch's each as a MSG of its own. A broken connection is a test failure, not an
  /// exception, so the caller still gets what arrived before it (and a reader thread ends
  /// normally).
  std::vector<proto::Msg> collect(size_t count, std::chrono::seconds limit = std::chrono::seconds(30)) {
    std::vector<proto::Msg> out;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    try {
      while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
        const proto::Frame f = channel_.receive();
        if (std::holds_alternative<proto::MsgBatch>(f)) ++batches_;
        for (auto& m : messages_in(f)) {
          if (!m.sender.empty()) out.push_back(std::move(m));
        }
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << name_ << " stopped receiving after " << out.size() << " messages: " << e.what();
    }
    return out;
  }

  /// Waits (bounded) until a notice containing `text` arrives.
  bool await_notice(const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      proto::Frame f = channel_.receive();
      if (auto* m = std::get_if<proto::Msg>(&f);
          m && m->sender.empty() && m->text.find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  /// The next non-MSG frame (ERROR, BYE...), skipping notices and relays. Bounded, so a
  /// member buried under a flood still gets an answer or a failure.
  proto::Frame next_non_msg() {
    for (int i = 0; i < 100000; ++i) {
      proto::Frame f = channel_.receive();
      if (!std::holds_alternative<proto::Msg>(f) && !std::holds_alternative<proto::MsgBatch>(f)) return f;
    }
    throw std::runtime_error("no reply among 100000 frames");
  }

  /// Leaves the room: true when the server answers BYE (and not ERROR).
  bool bye() {
    channel_.send(proto::Bye{});
    return std::holds_alternative<proto::Bye>(next_non_msg());
  }

 private:
  net::UniqueFd fd_;
  wire::Channel channel_;
  std::string name_;
  size_t batches_ = 0;
};

/// How a TextClient reads. The chat tests expect a healthy connection, so the defaults make
/// any trouble fail loudly; the attack suite expects to be cut off and changes them.
struct TextClientOptions {
  std::chrono::seconds io_timeout{20};
  /// line_matching() gives up (returns "") after this many lines that do not match.
  int lines_to_match = 50;
  /// A reset or a timeout reads as the line "<reset>" (which, like "<eof>", ends
  /// line_matching()) instead of throwing.
  bool failure_reads_as_line = false;
};

/// A text-mode client, as nc would be: writes bytes, reads lines.
class TextClient {
 public:
  explicit TextClient(uint16_t port, TextClientOptions options = {})
      : options_(options),
        fd_(net::connect_tcp("127.0.0.1", port, std::chrono::seconds(5))),
        channel_(fd_.get(), "server") {
    net::set_io_timeout(fd_.get(), options_.io_timeout);
  }
  TextClient(const TextClient&) = delete;
  TextClient& operator=(const TextClient&) = delete;

  void write(const std::string& bytes) {
    net::send_all(fd_.get(), std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
                  "server");
  }
  int fd() const { return fd_.get(); }

  /// The next line, or "<eof>"; "<reset>" or an exception on a reset or timeout (see
  /// TextClientOptions::failure_reads_as_line).
  std::string line() {
    try {
      std::string l;
      const auto status = channel_.read_line(l, 1 << 20);
      return status == wire::Channel::LineStatus::Eof ? "<eof>" : l;
    } catch (const std::system_error&) {
      if (!options_.failure_reads_as_line) throw;
      return "<reset>";
    }
  }

  /// Exactly n raw bytes after the lines read so far (a GET_FILE answer's data); fewer when
  /// the connection ends first.
  std::string bytes(size_t n) {
    std::string out(n, '\0');
    size_t got = 0;
    while (got < n) {
      const size_t r = channel_.read_raw(std::span(reinterpret_cast<uint8_t*>(out.data()) + got, n - got));
      if (r == 0) break;
      got += r;
    }
    out.resize(got);
    return out;
  }

  /// Lines until one matches, skipping others (chat noise); "" when none of
  /// options.lines_to_match lines does. The end of the connection ends the search too.
  std::string line_matching(const std::string& pattern) {
    const std::regex re(pattern);
    for (int i = 0; i < options_.lines_to_match; ++i) {
      const std::string l = line();
      if (std::regex_search(l, re) || l == "<eof>" || l == "<reset>") return l;
    }
    return "";
  }

 private:
  TextClientOptions options_;
  net::UniqueFd fd_;
  wire::Channel channel_;
};

}  // namespace ftx::testing
