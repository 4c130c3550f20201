#pragma once
// How the entry reaches the containers of the other nodes (docs/architecture.md, "Fleet"): its
// nginx routes and port forwards name container addresses on every node, so the entry needs a
// kernel route to each node's container subnet through that node, generated from the registry.
// Pure: the routes are installed by an edge (network/ip_routes.hpp).

#include <string>
#include <string_view>
#include <vector>

#include "network/addresses.hpp"
#include "state/node_registry.hpp"

namespace lxcprov::fleet {

struct NodeRoute {
  network::Cidr subnet;  ///< the node's container subnet
  std::string via;       ///< its endpoint's host: an IPv4 address, or a DNS name the edge resolves
  bool operator==(const NodeRoute&) const = default;
};

/// A route for each node but `self` whose subnet parses, through its endpoint's host, ordered by
/// subnet. A node whose endpoint is on loopback runs on this host, its bridge local: it needs
/// none. A node with an endpoint that does not parse gets none (the relay refuses it too).
std::vector<NodeRoute> node_routes(const std::vector<state::NodeRecord>& nodes, std::string_view self);

}  // namespace lxcprov::fleet
