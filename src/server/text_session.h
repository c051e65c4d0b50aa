// SPDX-License-Identifier: MIT
// Text mode: a client like nc chats in lines, uploads with SEND_FILE and fetches with GET_FILE.
#pragma once

#include <stop_token>

#include "proto/text.h"
#include "server/connection.h"
#include "wire/channel.h"

namespace ftx::server {

class TextSession {
 public:
  TextSession(Connection& conn, wire::Channel& channel) : conn_(conn), channel_(channel) {}

  /// Serves lines until QUIT or the end of the stream. A failure that ends the connection
  /// (a refused or broken upload leaves the stream out of step) is thrown for the session to
  /// answer. greet: the client has said nothing yet, so tell it what it can do. Returns true
  /// when that silent client's first bytes were a HELLO after all (it was slow, not a
  /// person): nothing was read, and the binary protocol takes over.
  bool run(bool greet, std::stop_token stop);

 private:
  /// With --token, the first line must be "AUTH <token>". Throws ProtocolError.
  void authenticate(bool greet, std::stop_token stop);
  void serve_lines();
  /// Takes the client's place in the room, if it has none yet.
  void join(bool greet);
  /// SEND_FILE: exactly cmd.size raw bytes follow the line.
  void receive_file(const proto::text::SendFile& cmd);
  /// GET_FILE: an OK line, then exactly the file's size in raw bytes; or an ERROR line.
  void send_file(const proto::text::GetFile& cmd);
  /// LIST_FILES: a line per entry, then END <count>; or an ERROR line.
  void list_files(const proto::text::ListFiles& cmd);
  /// An answer line; a client that asks without reading the answers is cut off.
  void reply(std::string line);

  Connection& conn_;
  wire::Channel& channel_;
};

}  // namespace ftx::server
