#pragma once
// Is the app answering? The I/O edges the deploy's health check needs, and its pure parts: which
// address to ask (through nginx when routing is on), the request, and what counts as an answer.
// Real implementations: deploy/tcp_http_probe.hpp.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "config/config.hpp"
#include "state/store.hpp"

namespace lxcprov::deploy {

/// Where the health check sends its request.
struct ProbeTarget {
  std::string address;  ///< IPv4 address or host name to connect to
  uint16_t port = 0;
  std::string host;       ///< Host header (and TLS server name): "<name>.<domain>", or the container's address
  bool tls = false;       ///< https (the route's certificate is not checked: the probe asks our own nginx)
  bool via_nginx = true;  ///< a 502/503/504 then means nginx could not reach the app
  bool operator==(const ProbeTarget&) const = default;
};

/// Through nginx when routing is on (http.listen_address or 127.0.0.1 when it listens on every
/// address; the remote nginx host when there is one; the TLS port when routes are https),
/// otherwise straight to the container's HTTP_PORT.
ProbeTarget probe_target(const config::Config& config, const state::ContainerRecord& record);
/// "GET / HTTP/1.1" with Host, Connection: close and a User-Agent naming lxcprov.
std::string probe_request(std::string_view host);
/// The status code of an HTTP/1.x status line ("HTTP/1.1 200 OK"); nullopt for anything else.
std::optional<int> status_of(std::string_view status_line);
/// The app answers: any HTTP status line, except 502/503/504 when nginx produced it (it could not
/// reach the app).
bool app_answers(std::string_view status_line, bool via_nginx);

/// Sends one request and returns the response's first line. Errc::unavailable (nothing
/// listening, connection reset) or Errc::timeout: not answering yet. Thread-safe.
class HttpProbe {
 public:
  virtual ~HttpProbe() = default;
  virtual Result<std::string> status_line(const ProbeTarget& target, std::chrono::milliseconds timeout) = 0;
};

/// Time for the health check's polling (tests give a fake that advances without sleeping).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point now() = 0;
  virtual void sleep_for(std::chrono::milliseconds duration) = 0;
};

}  // namespace lxcprov::deploy
