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

struct NodeRoutes {
  std::vector<NodeRoute> routes;     ///< ordered by subnet
  std::vector<std::string> refused;  ///< "node hv2: ...", one per row left out, for the log
};

/// A route for each node but `self`, through its endpoint's host. The registry is a table anyone
/// with the database can write, so each row is checked again: a subnet must be a valid node
/// subnet (fleet::valid_node_subnet) that overlaps neither `own` (this host's container subnet)
/// nor another node's (of two that overlap, the first by name keeps its route); the endpoint
/// must parse. A node whose endpoint is on loopback runs on this host, its bridge local: it
/// needs no route, and is not refused.
NodeRoutes node_routes(const std::vector<state::NodeRecord>& nodes, std::string_view self, const network::Cidr& own);

}  // namespace lxcprov::fleet
