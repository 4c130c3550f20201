#pragma once
// The routes lxcprovd keeps in the kernel's main table (a fleet entry's routes to the other
// nodes' subnets: fleet/node_routes.hpp), as `ip -json route` shows them, and the changes that
// make them what state says. Pure: network/ip_routes.hpp runs `ip`.
//
// lxcprovd's routes carry their own protocol number (kRouteProtocol), so a sync sees and removes
// only its own: routes an admin or another daemon added are never touched.

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "network/addresses.hpp"

namespace lxcprov::network {

/// `proto 211`: unassigned in iproute2's rt_protos, and what marks a route as lxcprovd's.
inline constexpr int kRouteProtocol = 211;
/// lxcprovd's routes have a metric of their own: the kernel keys a route by destination and
/// metric, so `ip route replace` can never replace an admin's route (metric 0, the default) or a
/// connected one to the same subnet; those, with the lower metric, win.
inline constexpr int kRouteMetric = 211;

struct KernelRoute {
  Cidr dst;
  uint32_t gateway = 0;  ///< host order
  bool operator==(const KernelRoute&) const = default;
};

/// `ip -json route show proto 211` output. Entries without a gateway or with a destination that
/// does not parse (a "default") are left out: lxcprovd installs neither. Errc::invalid_argument
/// when the text is not such a JSON array.
Result<std::vector<KernelRoute>> parse_ip_routes(std::string_view json);

struct RouteChanges {
  std::vector<KernelRoute> replace;  ///< absent, or through another gateway (`ip route replace`)
  std::vector<Cidr> remove;          ///< installed, no longer wanted
  bool empty() const { return replace.empty() && remove.empty(); }
};

/// What makes `installed` equal `desired` (one route per destination: the first wins), leaving
/// the destinations in `keep` as they are (a node whose address could not be resolved this time).
RouteChanges route_changes(const std::vector<KernelRoute>& installed, const std::vector<KernelRoute>& desired,
                           const std::vector<Cidr>& keep = {});

}  // namespace lxcprov::network
