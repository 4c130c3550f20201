#include "fleet/node_routes.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "fleet/node_input.hpp"
#include "network/ip_pool.hpp"

namespace lxcprov::fleet {
namespace {

bool overlap(const network::Cidr& a, const network::Cidr& b) {
  const int prefix = std::min(a.prefix, b.prefix);
  const uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return (a.address & mask) == (b.address & mask);
}

}  // namespace

NodeRoutes node_routes(const std::vector<state::NodeRecord>& nodes, std::string_view self, const network::Cidr& own) {
  std::vector<const state::NodeRecord*> by_name;
  for (const auto& n : nodes) by_name.push_back(&n);
  std::sort(by_name.begin(), by_name.end(), [](auto* a, auto* b) { return a->name < b->name; });
  NodeRoutes out;
  std::vector<network::Cidr> taken = {own};
  for (const auto* n : by_name) {
    if (n->name == self) continue;
    auto subnet = network::parse_cidr(n->subnet);
    auto endpoint = parse_endpoint(n->endpoint);
    if (!subnet || !valid_node_subnet(*subnet)) {
      out.refused.push_back(
          fmt::format("node {}: subnet '{}' is not an IPv4 subnet with a prefix of 8-30", n->name, n->subnet));
      continue;
    }
    if (!endpoint) {
      out.refused.push_back(fmt::format("node {}: endpoint: {}", n->name, endpoint.error().message));
      continue;
    }
    if (std::any_of(taken.begin(), taken.end(), [&](const network::Cidr& t) { return overlap(t, *subnet); })) {
      out.refused.push_back(
          fmt::format("node {}: subnet {} overlaps this host's or another node's", n->name, n->subnet));
      continue;
    }
    taken.push_back(*subnet);
    if (endpoint->host == "localhost") continue;
    if (auto ip = network::parse_ipv4(endpoint->host); ip && network::is_loopback(*ip)) continue;
    out.routes.push_back({*subnet, endpoint->host});
  }
  std::sort(out.routes.begin(), out.routes.end(), [](const NodeRoute& a, const NodeRoute& b) {
    return a.subnet.address != b.subnet.address ? a.subnet.address < b.subnet.address
                                                : a.subnet.prefix < b.subnet.prefix;
  });
  return out;
}

}  // namespace lxcprov::fleet
