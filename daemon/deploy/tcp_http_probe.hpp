#pragma once
// The health check's edges: TcpHttpProbe sends one GET over TCP (or TLS, without checking the
// certificate: it asks our own nginx, and only the status line matters) and returns the first line
// of the response; SystemClock is the steady clock and a real sleep. Blocking: call from a worker
// thread. Thread-safe.

#include "deploy/health.hpp"

namespace lxcprov::deploy {

class TcpHttpProbe final : public HttpProbe {
 public:
  Result<std::string> status_line(const ProbeTarget& target, std::chrono::milliseconds timeout) override;
};

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() override;
  void sleep_for(std::chrono::milliseconds duration) override;
};

}  // namespace lxcprov::deploy
