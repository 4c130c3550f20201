#include "wazuh/tls_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace lxcprov::wazuh {
namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left, 1 << 30));
}

Error timed_out(const TlsOptions& o, std::string_view during) {
  return make_error(Errc::timeout, fmt::format("{}:{} did not answer in time ({})", o.host, o.port, during));
}

// Waits until fd is ready for what `events` asks; false at the deadline.
bool wait_fd(int fd, short events, Deadline deadline) {
  for (;;) {
    const int left = ms_left(deadline);
    if (left == 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, left);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return true;  // let the next call report the error
  }
}

std::string hex(const unsigned char* d, unsigned n) {
  std::string out;
  for (unsigned i = 0; i < n; ++i) out += fmt::format("{:02x}", d[i]);
  return out;
}

std::string cert_sha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (!cert || X509_digest(cert, EVP_sha256(), md, &n) != 1) return "";
  return hex(md, n);
}

bool is_ip_literal(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return ::inet_pton(AF_INET, host.c_str(), &a4) == 1 || ::inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

// Non-blocking connect to the first address of `host` that accepts before the deadline.
Result<int> tcp_connect(const TlsOptions& o, Deadline deadline) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  // getaddrinfo has no timeout of its own; a configured address (the usual case) resolves at once.
  if (int rc = ::getaddrinfo(o.host.c_str(), std::to_string(o.port).c_str(), &hints, &res); rc != 0)
    return make_error(Errc::unavailable, fmt::format("cannot resolve {}: {}", o.host, ::gai_strerror(rc)));
  std::string last = "no address";
  int fd = -1;
  for (addrinfo* ai = res; ai && fd < 0; ai = ai->ai_next) {
    int s = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (s < 0) continue;
    int rc = ::connect(s, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      if (!wait_fd(s, POLLOUT, deadline)) {
        ::close(s);
        ::freeaddrinfo(res);
        return timed_out(o, "connect");
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err == 0 ? 0 : -1;
      errno = err;
    }
    if (rc == 0)
      fd = s;
    else {
      last = std::strerror(errno);
      ::close(s);
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0) return make_error(Errc::unavailable, fmt::format("cannot connect to {}:{}: {}", o.host, o.port, last));
  return fd;
}

std::string ssl_reason() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "connection closed";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

Result<std::unique_ptr<TlsConnection>> TlsConnection::connect(const TlsOptions& o, Deadline deadline) {
  std::unique_ptr<TlsConnection> c(new TlsConnection());
  auto fd = tcp_connect(o, deadline);
  if (!fd) return fd.error();
  c->fd_ = *fd;
  ERR_clear_error();
  c->ctx_ = SSL_CTX_new(TLS_client_method());
  if (!c->ctx_) return make_error(Errc::internal, "TLS: cannot create a context");
  SSL_CTX_set_min_proto_version(c->ctx_, TLS1_2_VERSION);
  // authd closes without close_notify; the answers are self-delimiting (a line, Content-Length).
  SSL_CTX_set_options(c->ctx_, SSL_OP_IGNORE_UNEXPECTED_EOF);
  const bool pinned = !o.pin_sha256.empty();
  if (!pinned) {
    int ok = o.ca_file.empty() ? SSL_CTX_set_default_verify_paths(c->ctx_)
                               : SSL_CTX_load_verify_locations(c->ctx_, o.ca_file.c_str(), nullptr);
    if (ok != 1) return make_error(Errc::unavailable, "TLS: cannot load the CA file");
    SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_PEER, nullptr);
  } else {
    // The pin replaces the chain check; it is compared after the handshake, before any byte is sent.
    SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_NONE, nullptr);
  }
  c->ssl_ = SSL_new(c->ctx_);
  if (!c->ssl_) return make_error(Errc::internal, "TLS: cannot create a session");
  SSL_set_fd(c->ssl_, c->fd_);
  if (is_ip_literal(o.host)) {
    if (!pinned) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl_), o.host.c_str());
  } else {
    SSL_set_tlsext_host_name(c->ssl_, o.host.c_str());
    if (!pinned) SSL_set1_host(c->ssl_, o.host.c_str());
  }
  for (;;) {
    int rc = SSL_connect(c->ssl_);
    if (rc == 1) break;
    int err = SSL_get_error(c->ssl_, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (!wait_fd(c->fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
        return timed_out(o, "TLS handshake");
      continue;
    }
    long verify = SSL_get_verify_result(c->ssl_);
    if (!pinned && verify != X509_V_OK)
      return make_error(Errc::unavailable, fmt::format("{}:{}: certificate refused: {}", o.host, o.port,
                                                       X509_verify_cert_error_string(verify)));
    return make_error(Errc::unavailable, fmt::format("{}:{}: TLS handshake failed: {}", o.host, o.port, ssl_reason()));
  }
  if (pinned) {
    X509* cert = SSL_get1_peer_certificate(c->ssl_);
    const std::string got = cert_sha256(cert);
    X509_free(cert);
    if (got != o.pin_sha256)
      return make_error(
          Errc::unavailable,
          fmt::format("{}:{}: certificate refused: it does not match the pinned SHA-256", o.host, o.port));
  }
  return c;
}

TlsConnection::~TlsConnection() {
  if (ssl_) SSL_free(ssl_);  // no close_notify wait: the exchange is over either way
  if (ctx_) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

Status TlsConnection::write_all(std::string_view data, Deadline deadline) {
  size_t off = 0;
  while (off < data.size()) {
    size_t n = 0;
    int rc = SSL_write_ex(ssl_, data.data() + off, data.size() - off, &n);
    if (rc == 1) {
      off += n;
      continue;
    }
    int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (!wait_fd(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
        return make_error(Errc::timeout, "the server did not take the request in time");
      continue;
    }
    return make_error(Errc::unavailable, "TLS write failed: " + ssl_reason());
  }
  return {};
}

Result<std::string> TlsConnection::read(size_t max, bool stop_at_newline, Deadline deadline) {
  std::string out;
  char buf[4096];
  for (;;) {
    size_t n = 0;
    int rc = SSL_read_ex(ssl_, buf, sizeof buf, &n);
    if (rc == 1) {
      out.append(buf, n);
      if (out.size() > max) return make_error(Errc::unavailable, "the server's answer is too long");
      if (stop_at_newline && out.find('\n') != std::string::npos) return out;
      continue;
    }
    int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_ZERO_RETURN) return out;
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (!wait_fd(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
        return make_error(Errc::timeout, "the server did not answer in time");
      continue;
    }
    // A peer that closes without close_notify (authd does) ends the answer too.
    if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_SSL) {
      ERR_clear_error();
      if (!out.empty()) return out;
      return make_error(Errc::unavailable, "the server closed the connection without answering");
    }
    return make_error(Errc::unavailable, "TLS read failed: " + ssl_reason());
  }
}

std::string certificate_sha256(const std::string& pem_path) {
  FILE* f = std::fopen(pem_path.c_str(), "re");
  if (!f) return "";
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  std::string out = cert_sha256(cert);
  X509_free(cert);
  return out;
}

}  // namespace lxcprov::wazuh
