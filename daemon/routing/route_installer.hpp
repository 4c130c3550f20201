#pragma once
// RouteInstaller: where the nginx routes rendered from the state go, as an interface so the routing
// feature stays pure. Installing takes the *whole* file: installing is replacing, so it is
// idempotent and a retry or a restart converges. Real implementation: NginxInstaller
// (routing/nginx_installer.hpp, on this host or another). Thread-safe.

#include <string>

#include "common/result.hpp"

namespace lxcprov::routing {

/// On failure (the test refuses the file, the reload fails) the previous file is back in place
/// and the error says why.
class RouteInstaller {
 public:
  virtual ~RouteInstaller() = default;
  virtual Status install(const std::string& routes) = 0;
};

}  // namespace lxcprov::routing
