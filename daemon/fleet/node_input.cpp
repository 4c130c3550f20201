// Validation of a node's registration (see node_input.hpp).

#include "fleet/node_input.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "network/addresses.hpp"
#include "network/ip_pool.hpp"

namespace lxcprov::fleet {

namespace {

Error bad(std::string_view field, std::string_view rule) {
  return make_error(Errc::invalid_argument, fmt::format("{}: {}", field, rule));
}

bool valid_host(std::string_view host) {
  if (network::parse_ipv4(host)) return true;
  return !host.empty() && network::valid_domain(std::string(host));
}

}  // namespace

bool valid_node_name(std::string_view name) {
  if (name.empty() || name.size() > 32 || name.front() == '-') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'; });
}

Result<Endpoint> parse_endpoint(std::string_view endpoint) {
  Endpoint e;
  std::string_view host = endpoint;
  if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    const std::string_view port = host.substr(colon + 1);
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535)
      return make_error(Errc::invalid_argument, "the port after ':' must be 1-65535");
    e.port = static_cast<uint16_t>(value);
    host = host.substr(0, colon);
  }
  if (!valid_host(host))
    return make_error(Errc::invalid_argument, "must be HOST or HOST:PORT, HOST an IPv4 address or a DNS name");
  e.host = std::string(host);
  return e;
}

bool valid_node_subnet(const network::Cidr& subnet) { return subnet.prefix >= 8 && subnet.prefix <= 30; }

Result<state::NodeRecord> node_from_input(const NodeInput& in, const std::vector<std::string>& distributions) {
  if (!valid_node_name(in.name)) return bad("node name", "must be 1-32 of a-z, 0-9 and '-', not starting with '-'");

  if (auto endpoint = parse_endpoint(in.endpoint); !endpoint) return bad("--endpoint", endpoint.error().message);

  const auto slash = in.subnet.find('/');
  if (slash == std::string::npos) return bad("--subnet", "must be an IPv4 subnet in CIDR form, e.g. 10.47.1.0/24");
  const auto subnet = network::parse_cidr(in.subnet);
  if (!subnet || !valid_node_subnet(*subnet)) {
    // When only host bits are wrong, say what the subnet is.
    const auto address = network::parse_ipv4(std::string_view(in.subnet).substr(0, slash));
    const auto prefix = network::parse_cidr("0.0.0.0/" + in.subnet.substr(slash + 1));
    if (address && prefix && valid_node_subnet(*prefix)) {
      const uint32_t mask = 0xffffffffu << (32 - prefix->prefix);
      return bad("--subnet", fmt::format("has host bits set: the subnet is {}",
                                         network::format_cidr({*address & mask, prefix->prefix})));
    }
    return bad("--subnet", "must be an IPv4 subnet in CIDR form with a prefix of 8-30, e.g. 10.47.1.0/24");
  }

  state::NodeRecord n;
  n.name = in.name;
  n.endpoint = in.endpoint;
  n.subnet = network::format_cidr(*subnet);
  n.templates = in.templates.empty() ? distributions : in.templates;
  for (const auto& t : n.templates)
    if (std::find(distributions.begin(), distributions.end(), t) == distributions.end())
      return bad("--templates", fmt::format("{} is not a configured distribution", t));
  std::sort(n.templates.begin(), n.templates.end());
  n.templates.erase(std::unique(n.templates.begin(), n.templates.end()), n.templates.end());
  return n;
}

}  // namespace lxcprov::fleet
