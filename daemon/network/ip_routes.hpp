#pragma once
// The edge that keeps lxcprovd's kernel routes (network/kernel_routes.hpp) what state says, with
// iproute2's `ip` (no shell; every argument an address lxcprovd formatted). Each sync reads the
// routes marked as lxcprovd's and changes only the difference, so a beat with nothing new is one
// `ip route show`. Thread-safe (syncs are serialized).

#include <mutex>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "host/host.hpp"
#include "network/kernel_routes.hpp"

namespace lxcprov::network {

class IpRoutes {
 public:
  explicit IpRoutes(host::Host& host, std::string ip = "/sbin/ip") : host_(host), ip_(std::move(ip)) {}

  /// The routes marked kRouteProtocol made equal to `desired`, those to `keep` left as they are.
  /// The first failure is returned, naming the route; the rest are still tried.
  Status sync(const std::vector<KernelRoute>& desired, const std::vector<Cidr>& keep = {});

 private:
  Result<std::string> run(const std::vector<std::string>& args);

  host::Host& host_;
  std::string ip_;
  std::mutex mutex_;
};

/// `host` as an IPv4 address: itself when it is one, else its first A record. Errc::not_found
/// when it has none.
Result<uint32_t> resolve_ipv4(const std::string& host);

}  // namespace lxcprov::network
