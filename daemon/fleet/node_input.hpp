#pragma once
// What an admin types to register a node (lxcprovctl node add), validated into a NodeRecord. Pure.
// Each refusal names the field and the rule, as a request's do.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "network/addresses.hpp"
#include "state/node_registry.hpp"

namespace lxcprov::fleet {

/// A node's name: 1-32 of [a-z0-9-], not starting with '-'. It names the node in the database, in
/// journald fields and in commands, so it is kept plain.
bool valid_node_name(std::string_view name);

/// A node's container subnet: an IPv4 network with a prefix of 8-30 (a /31 or /32 holds no
/// containers; a /0-/7 would route most of the internet to one node). Shared by registration and
/// by the routes the entry generates from the registry, which re-checks every row.
bool valid_node_subnet(const network::Cidr& subnet);

/// Where a node's relay sshd listens: "host" or "host:port", host an IPv4 address or a DNS name.
struct Endpoint {
  std::string host;
  uint16_t port = 22;
};
/// Errc::invalid_argument with the rule broken ("the port after ':' must be 1-65535", ...).
Result<Endpoint> parse_endpoint(std::string_view endpoint);

struct NodeInput {
  std::string name;
  std::string endpoint;                ///< "host" or "host:port": a DNS name or an IPv4 address
  std::string subnet;                  ///< "10.47.1.0/24": the node's container bridge subnet
  std::vector<std::string> templates;  ///< empty = every configured distribution
};

/// The record to add; `distributions` are the configured ones a node may offer. The subnet comes
/// back canonical (host bits must be zero), so two spellings of one subnet collide in the registry.
Result<state::NodeRecord> node_from_input(const NodeInput& in, const std::vector<std::string>& distributions);

}  // namespace lxcprov::fleet
