// SPDX-License-Identifier: MIT
// TLS 1.3 over OpenSSL 3.
#include "net/tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

#include "net/chunk_pacer.h"
#include "net/socket.h"
#include "util/mutex.h"
#include "util/sys_error.h"

namespace ftx::net {
namespace {

using Clock = std::chrono::steady_clock;

// TLS 1.3 suites, fastest first where the CPU has AES instructions: AES-128-GCM costs least.
constexpr const char* kSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
// Plain bytes per SSL_write of file data: one full record each.
constexpr size_t kRecordBytes = 16 * 1024;
constexpr size_t kReadAhead = 4 * (kRecordBytes + 256);  // four full records with their overhead

struct SslFree {
  void operator()(SSL* p) const { SSL_free(p); }
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(std::FILE* p) const { std::fclose(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, SslFree>;

// The newest OpenSSL error on this thread, emptying the queue.
std::string openssl_error(const std::string& context) {
  std::string out = context;
  unsigned long code = 0;
  unsigned long last = 0;
  while ((code = ERR_get_error()) != 0) last = code;
  if (last != 0) {
    char text[256];
    ERR_error_string_n(last, text, sizeof text);
    out += ": ";
    out += text;
  }
  return out;
}

std::string base64_unpadded(const unsigned char* data, size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::string fingerprint_of(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  if (len <= 0) throw TlsError(openssl_error("encoding the public key"));
  std::string spki(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return spki_fingerprint(spki);
}

// Waits for fd to be ready for events until deadline (none: forever). False on timeout.
bool wait_for(int fd, short events, std::optional<Clock::time_point> deadline) {
  while (true) {
    int wait_ms = -1;
    if (deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
      if (left.count() <= 0) return false;
      wait_ms = static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
    }
    pollfd pfd{fd, events, 0};
    const int n = ::poll(&pfd, 1, wait_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("poll");
    if (n > 0) return true;
  }
}

std::optional<Clock::time_point> deadline_after(std::chrono::milliseconds limit) {
  if (limit.count() <= 0) return std::nullopt;
  return Clock::now() + limit;
}

Owned<EVP_PKEY> load_key(const std::filesystem::path& path) {
  Owned<std::FILE> file(std::fopen(path.c_str(), "re"));
  if (!file) throw_sys("open key " + path.string());
  Owned<EVP_PKEY> key(PEM_read_PrivateKey(file.get(), nullptr, nullptr, nullptr));
  if (!key) throw TlsError(openssl_error(path.string() + " holds no PEM private key"));
  return key;
}

// An EC P-256 key (what every browser and TLS client accepts), written with mode 0600 and
// never over an existing file.
Owned<EVP_PKEY> make_key(const std::filesystem::path& path) {
  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) throw TlsError(openssl_error("making an EC P-256 key"));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw_sys("create key " + path.string());
  Owned<std::FILE> file(::fdopen(fd, "w"));
  if (!file) {
    const int err = errno;
    ::close(fd);
    throw_sys("create key " + path.string(), err);
  }
  if (PEM_write_PrivateKey(file.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      std::fflush(file.get()) != 0 || ::fsync(::fileno(file.get())) != 0) {
    const int err = errno;
    file.reset();
    ::unlink(path.c_str());
    throw TlsError(openssl_error("write key " + path.string() + ": " + std::strerror(err)));
  }
  return key;
}

// A certificate for the key, signed by itself: clients pin the key, not a CA's word.
Owned<X509> self_signed(EVP_PKEY* key) {
  Owned<X509> cert(X509_new());
  if (!cert) throw TlsError(openssl_error("X509_new"));
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -24 * 3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3650L * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("ftx"), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key);
  // Ed25519 signs without a separate digest.
  const EVP_MD* md = EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  if (X509_sign(cert.get(), key, md) == 0) throw TlsError(openssl_error("signing the certificate"));
  return cert;
}

Owned<SSL_CTX> new_context(bool server) {
  Owned<SSL_CTX> ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  if (!ctx) throw TlsError(openssl_error("SSL_CTX_new"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  if (SSL_CTX_set_ciphersuites(ctx.get(), kSuites) != 1)
    throw TlsError(openssl_error("SSL_CTX_set_ciphersuites"));
  // A peer that vanishes without close_notify is an end of stream like a plain close: every
  // ftx message carries its own length (and files their digest), so a cut is seen above,
  // and a killed sender's partial stays resumable.
  SSL_CTX_set_options(ctx.get(), SSL_OP_ENABLE_KTLS | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                     SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One recv(2) takes several records, where one without read-ahead takes a record's
  // header and then its body: a quarter of the system calls on a bulk transfer.
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  SSL_CTX_set_default_read_buffer_len(ctx.get(), kReadAhead);
  // No session resumption: every connection proves the key it is pinned by.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  return ctx;
}

// OpenSSL writes to the socket with write(2), which raises SIGPIPE when the peer has gone;
// a library must not end its process for that. The signal is held for the call, and one
// it raised is taken back before the thread's old mask returns. That is four system calls
// a record, so a process that ignores SIGPIPE (ftx's main does) skips them: each stream
// asks once (process_ignores_sigpipe) and passes the answer.
bool process_ignores_sigpipe() {
  struct sigaction current {};
  return ::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_IGN;
}

class SigpipeHeld {
 public:
  explicit SigpipeHeld(bool needed) : needed_(needed) {
    if (!needed_) return;
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeHeld() {
    if (!needed_) return;
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      const timespec zero{};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeHeld(const SigpipeHeld&) = delete;
  SigpipeHeld& operator=(const SigpipeHeld&) = delete;

 private:
  bool needed_;
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

std::string spki_fingerprint(std::string_view spki_der) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(spki_der.data(), spki_der.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    throw TlsError(openssl_error("SHA-256"));
  }
  return "sha256:" + base64_unpadded(digest, len);
}

bool looks_like_fingerprint(std::string_view text) {
  if (!text.starts_with("sha256:") || text.size() != 7 + 43) return false;
  return std::all_of(text.begin() + 7, text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
  });
}

// The session and its lock. Everything that touches ssl holds mutex; waiting for the socket
// happens outside it, so a reader blocked on a quiet peer never stalls a writer.
struct TlsStream::Session {
  Mutex mutex;
  Owned<SSL> ssl GUARDED_BY(mutex);
  std::atomic<int64_t> read_timeout_ms{0};
  std::atomic<int64_t> write_timeout_ms{0};
  // A failure met while read_some took records beyond the first: reported by the next
  // read_some, after the bytes it returned. OpenSSL keeps its error state but would answer
  // that call with an empty error queue, which reads as a clean end.
  std::exception_ptr read_failure GUARDED_BY(mutex);
  const bool hold_sigpipe = !process_ignores_sigpipe();
};

TlsStream::TlsStream(int fd, std::string peer, std::unique_ptr<Session> session)
    : Stream(fd, std::move(peer)), session_(std::move(session)) {}

TlsStream::~TlsStream() = default;

void TlsStream::handshake(bool server, std::chrono::milliseconds timeout) {
  const auto deadline = deadline_after(timeout);
  while (true) {
    int rc = 0;
    int err = 0;
    {
      MutexLock lock(session_->mutex);
      const SigpipeHeld quiet(session_->hold_sigpipe);
      ERR_clear_error();
      errno = 0;
      rc = server ? SSL_accept(session_->ssl.get()) : SSL_connect(session_->ssl.get());
      if (rc == 1) break;
      err = SSL_get_error(session_->ssl.get(), rc);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        const int saved_errno = errno;
        // With SSL_OP_IGNORE_UNEXPECTED_EOF an end of stream is a ZERO_RETURN, here too.
        if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && saved_errno == 0)) {
          throw TlsClosed("TLS handshake with " + peer_ + ": the peer closed the connection");
        }
        std::string why = openssl_error("TLS handshake with " + peer_);
        if (err == SSL_ERROR_SYSCALL) why += std::string(": ") + std::strerror(saved_errno);
        throw TlsError(why);
      }
    }
    if (!wait_for(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
      throw std::system_error(ETIMEDOUT, std::generic_category(), "TLS handshake with " + peer_);
    }
  }
  MutexLock lock(session_->mutex);
  if (Owned<X509> cert{SSL_get1_peer_certificate(session_->ssl.get())}) {
    peer_fingerprint_ = fingerprint_of(X509_get0_pubkey(cert.get()));
  }
}

bool TlsStream::read_failed(int err) const {
  if (err == SSL_ERROR_ZERO_RETURN) return false;  // close_notify
  if (err == SSL_ERROR_SYSCALL) {
    if (errno == 0) return false;  // closed without close_notify: an end all the same
    throw_sys("recv from " + peer_);
  }
  if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
    throw TlsError(openssl_error("TLS record from " + peer_));
  }
  return true;
}

size_t TlsStream::read_some(std::span<uint8_t> out) {
  if (out.empty()) return 0;
  const auto deadline = deadline_after(std::chrono::milliseconds(session_->read_timeout_ms.load()));
  while (true) {
    int err = 0;
    {
      MutexLock lock(session_->mutex);
      const SigpipeHeld quiet(session_->hold_sigpipe);
      if (session_->read_failure) std::rethrow_exception(session_->read_failure);
      ERR_clear_error();
      errno = 0;
      size_t got = 0;
      if (SSL_read_ex(session_->ssl.get(), out.data(), out.size(), &got) == 1) {
        // SSL_read gives one record a call. The others already read ahead come too, as
        // recv gives a plain reader all that has arrived: a chat relay then forwards a
        // whole burst at once, not a record at a time. What stops this loop (a record not
        // all here, the peer's end) is met again by the next call; a failure is kept for it.
        for (size_t more = 0; got < out.size() && SSL_has_pending(session_->ssl.get()) == 1; got += more) {
          errno = 0;
          if (SSL_read_ex(session_->ssl.get(), out.data() + got, out.size() - got, &more) != 1) {
            try {
              read_failed(SSL_get_error(session_->ssl.get(), 0));
            } catch (...) {
              session_->read_failure = std::current_exception();
            }
            ERR_clear_error();
            break;
          }
        }
        return got;
      }
      err = SSL_get_error(session_->ssl.get(), 0);
      if (!read_failed(err)) return 0;
    }
    if (!wait_for(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
      throw std::system_error(ETIMEDOUT, std::generic_category(), "recv from " + peer_);
    }
  }
}

void TlsStream::write_all(std::span<const uint8_t> data) {
  auto deadline = deadline_after(std::chrono::milliseconds(session_->write_timeout_ms.load()));
  size_t done = 0;
  while (done < data.size()) {
    int err = 0;
    {
      MutexLock lock(session_->mutex);
      const SigpipeHeld quiet(session_->hold_sigpipe);
      ERR_clear_error();
      errno = 0;
      size_t wrote = 0;
      if (SSL_write_ex(session_->ssl.get(), data.data() + done, data.size() - done, &wrote) == 1) {
        done += wrote;
        // The timeout bounds a wait in which the peer takes nothing, as SO_SNDTIMEO does.
        deadline = deadline_after(std::chrono::milliseconds(session_->write_timeout_ms.load()));
        continue;
      }
      err = SSL_get_error(session_->ssl.get(), 0);
      if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN) {
        throw_sys("send to " + peer_, errno != 0 ? errno : EPIPE);
      }
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        throw TlsError(openssl_error("TLS write to " + peer_));
      }
    }
    if (!wait_for(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
      throw std::system_error(ETIMEDOUT, std::generic_category(), "send to " + peer_);
    }
  }
}

void TlsStream::send_file(int file_fd, uint64_t offset, uint64_t count,
                          const std::function<void(uint64_t)>& progress) {
  // Read and encrypted in userspace, a full record per write: kernel TLS (SSL_sendfile)
  // needs the tls module, which this machine's kernel lacks (no "tls" in
  // /proc/sys/net/ipv4/tcp_available_ulp), so that path could not be tested here.
  send_file_read(file_fd, offset, count, progress, {});
}

bool TlsStream::wait_readable(std::chrono::milliseconds timeout) {
  {
    MutexLock lock(session_->mutex);
    if (SSL_has_pending(session_->ssl.get())) return true;
  }
  // Readable bytes may be only part of a record, or a record with no data for us (a key
  // update): the next read may still wait, under the read timeout.
  return poll_readable(fd_, timeout);
}

void TlsStream::set_timeouts(std::chrono::milliseconds read, std::chrono::milliseconds write) {
  session_->read_timeout_ms = read.count();
  session_->write_timeout_ms = write.count();
}

void TlsStream::finish(std::chrono::milliseconds drain) {
  {
    MutexLock lock(session_->mutex);
    const SigpipeHeld quiet(session_->hold_sigpipe);
    ERR_clear_error();
    SSL_shutdown(session_->ssl.get());  // close_notify, sent if the socket takes it now
  }
  drain_and_shutdown(fd_, drain);
}

std::string TlsStream::description() const {
  MutexLock lock(session_->mutex);
  SSL* ssl = session_->ssl.get();
  std::string out = SSL_get_cipher_name(ssl);
  if (BIO_get_ktls_send(SSL_get_wbio(ssl))) out += ", kernel TLS";
  return out;
}

struct TlsServer::Context {
  Owned<SSL_CTX> ctx;
};

TlsServer::TlsServer(const std::filesystem::path& key_path,
                     const std::optional<std::filesystem::path>& cert_path)
    : context_(std::make_unique<Context>()) {
  Owned<EVP_PKEY> key;
  if (::access(key_path.c_str(), F_OK) == 0 || errno != ENOENT) {
    key = load_key(key_path);
  } else {
    key = make_key(key_path);
    key_created_ = true;
  }
  fingerprint_ = fingerprint_of(key.get());
  context_->ctx = new_context(/*server=*/true);
  SSL_CTX* ctx = context_->ctx.get();
  if (cert_path) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_path->c_str()) != 1) {
      throw TlsError(openssl_error("load certificate " + cert_path->string()));
    }
  } else if (SSL_CTX_use_certificate(ctx, self_signed(key.get()).get()) != 1) {
    throw TlsError(openssl_error("use the self-signed certificate"));
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    throw TlsError(openssl_error("the certificate does not match the key " + key_path.string()));
  }
}

TlsServer::~TlsServer() = default;

std::unique_ptr<TlsStream> TlsServer::accept(int fd, std::string peer,
                                             std::chrono::milliseconds timeout) const {
  auto session = std::make_unique<TlsStream::Session>();
  {
    MutexLock lock(session->mutex);
    session->ssl.reset(SSL_new(context_->ctx.get()));
    if (!session->ssl || SSL_set_fd(session->ssl.get(), fd) != 1) throw TlsError(openssl_error("SSL_new"));
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw_sys("fcntl O_NONBLOCK");
  std::unique_ptr<TlsStream> stream(new TlsStream(fd, std::move(peer), std::move(session)));
  stream->handshake(/*server=*/true, timeout);
  return stream;
}

struct TlsClient::Context {
  Owned<SSL_CTX> ctx;
};

TlsClient::TlsClient() : context_(std::make_unique<Context>()) {
  context_->ctx = new_context(/*server=*/false);
  // The key is checked against its pin by the caller, not against a CA.
  SSL_CTX_set_verify(context_->ctx.get(), SSL_VERIFY_NONE, nullptr);
}

TlsClient::~TlsClient() = default;

std::unique_ptr<TlsStream> TlsClient::connect(int fd, std::string peer, const std::string& server_name,
                                              std::chrono::milliseconds timeout) const {
  auto session = std::make_unique<TlsStream::Session>();
  {
    MutexLock lock(session->mutex);
    session->ssl.reset(SSL_new(context_->ctx.get()));
    if (!session->ssl || SSL_set_fd(session->ssl.get(), fd) != 1) throw TlsError(openssl_error("SSL_new"));
    if (!server_name.empty() && !is_ip_literal(server_name)) {
      SSL_set_tlsext_host_name(session->ssl.get(), server_name.c_str());
    }
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw_sys("fcntl O_NONBLOCK");
  std::unique_ptr<TlsStream> stream(new TlsStream(fd, std::move(peer), std::move(session)));
  stream->handshake(/*server=*/false, timeout);
  return stream;
}

}  // namespace ftx::net
