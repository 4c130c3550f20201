#include "fleet/node_routes.hpp"

#include <algorithm>

#include "fleet/node_input.hpp"
#include "network/ip_pool.hpp"

namespace lxcprov::fleet {

std::vector<NodeRoute> node_routes(const std::vector<state::NodeRecord>& nodes, std::string_view self) {
  std::vector<NodeRoute> out;
  for (const auto& n : nodes) {
    if (n.name == self) continue;
    auto subnet = network::parse_cidr(n.subnet);
    auto endpoint = parse_endpoint(n.endpoint);
    if (!subnet || !endpoint) continue;
    if (endpoint->host == "localhost") continue;
    if (auto ip = network::parse_ipv4(endpoint->host); ip && (*ip >> 24) == 127) continue;
    out.push_back({*subnet, endpoint->host});
  }
  std::sort(out.begin(), out.end(), [](const NodeRoute& a, const NodeRoute& b) {
    return a.subnet.address != b.subnet.address ? a.subnet.address < b.subnet.address
                                                : a.subnet.prefix < b.subnet.prefix;
  });
  return out;
}

}  // namespace lxcprov::fleet
