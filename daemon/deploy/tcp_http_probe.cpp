#include "deploy/tcp_http_probe.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "common/fd.hpp"

namespace lxcprov::deploy {
namespace {

using Deadline = std::chrono::steady_clock::time_point;

int ms_left(Deadline deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left, 1 << 30));
}

Error gone(const ProbeTarget& t, std::string_view why) {
  return make_error(Errc::unavailable, fmt::format("{}:{}: {}", t.address, t.port, why));
}

Result<Fd> connect_to(const ProbeTarget& t, Deadline deadline) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(t.address.c_str(), std::to_string(t.port).c_str(), &hints, &res); rc != 0)
    return gone(t, fmt::format("cannot resolve: {}", ::gai_strerror(rc)));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(res, &::freeaddrinfo);
  std::string last = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    Fd s(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
    if (!s.valid()) continue;
    int rc = ::connect(s.get(), ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{s.get(), POLLOUT, 0};
      if (::poll(&p, 1, ms_left(deadline)) <= 0) return make_error(Errc::timeout, "connect timed out");
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err == 0 ? 0 : -1;
      errno = err;
    }
    if (rc == 0) {
      // Blocking from here, each read and write bounded by what is left of the deadline.
      const int flags = ::fcntl(s.get(), F_GETFL);
      ::fcntl(s.get(), F_SETFL, flags & ~O_NONBLOCK);
      const int left = std::max(ms_left(deadline), 1);
      timeval tv{left / 1000, static_cast<suseconds_t>((left % 1000) * 1000)};
      ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      return s;
    }
    last = std::strerror(errno);
  }
  return gone(t, last);
}

// The first line of what `read` gives, up to 1 KiB.
template <class Read>
Result<std::string> first_line(const ProbeTarget& t, Read read) {
  std::string got;
  char buf[512];
  while (got.size() < 1024 && got.find('\n') == std::string::npos) {
    const long n = read(buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  if (got.empty()) return gone(t, "closed without an answer");
  const auto nl = got.find('\n');
  std::string line = got.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

Result<std::string> TcpHttpProbe::status_line(const ProbeTarget& t, std::chrono::milliseconds timeout) {
  const Deadline deadline = std::chrono::steady_clock::now() + timeout;
  auto fd = connect_to(t, deadline);
  if (!fd) return fd.error();
  const std::string request = probe_request(t.host);
  if (!t.tls) {
    if (::send(fd->get(), request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
      return gone(t, "the request could not be sent");
    return first_line(t, [&](char* b, std::size_t n) { return static_cast<long>(::recv(fd->get(), b, n, 0)); });
  }
  std::unique_ptr<SSL_CTX, decltype(&::SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), &::SSL_CTX_free);
  if (!ctx) return make_error(Errc::internal, "TLS is not available");
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  std::unique_ptr<SSL, decltype(&::SSL_free)> ssl(SSL_new(ctx.get()), &::SSL_free);
  if (!ssl || SSL_set_fd(ssl.get(), fd->get()) != 1 || SSL_set_tlsext_host_name(ssl.get(), t.host.c_str()) != 1)
    return make_error(Errc::internal, "TLS is not available");
  if (SSL_connect(ssl.get()) != 1) return gone(t, "the TLS handshake failed");
  if (SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())) != static_cast<int>(request.size()))
    return gone(t, "the request could not be sent");
  return first_line(
      t, [&](char* b, std::size_t n) { return static_cast<long>(SSL_read(ssl.get(), b, static_cast<int>(n))); });
}

std::chrono::steady_clock::time_point SystemClock::now() { return std::chrono::steady_clock::now(); }

void SystemClock::sleep_for(std::chrono::milliseconds duration) { std::this_thread::sleep_for(duration); }

}  // namespace lxcprov::deploy
