#include <fmt/format.h>

#include "config/json_read.hpp"
#include "config/sections.hpp"
#include "forwarding/nft_ruleset.hpp"
#include "isolation/isolation_ruleset.hpp"

namespace lxcprov::config::detail {
namespace {

using nlohmann::json;

// "tcp/636" or "udp/53".
std::optional<network::HostPort> parse_host_port(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  const std::string proto = text.substr(0, slash), digits = text.substr(slash + 1);
  if ((proto != "tcp" && proto != "udp") || digits.empty() || digits.size() > 5 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  const int port = std::stoi(digits);
  if (port < 1 || port > 65535) return std::nullopt;
  return network::HostPort{proto, static_cast<uint16_t>(port)};
}

template <class T, class Parse>
Status read_list(const json& j, const char* key, std::vector<T>& out, Parse parse, std::string_view rule) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  const std::string name = key_name("isolation", key);
  if (!it->is_array()) return config_error(name, fmt::format("must be an array of {}", rule));
  std::vector<T> values;
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& v = (*it)[i];
    std::optional<T> parsed;
    if (v.is_string()) parsed = parse(v.get<std::string>());
    if (!parsed) return config_error(fmt::format("{}[{}]", name, i), fmt::format("must be {}", rule));
    values.push_back(*parsed);
  }
  out = std::move(values);
  return {};
}

}  // namespace

Status parse_isolation_section(const json& j, Config& c) {
  auto& iso = c.isolation;
  if (auto it = j.find("isolation"); it != j.end()) {
    if (!it->is_object()) return config_error("isolation", "must be an object");
    Status s;
    if (!(s = read_bool(*it, "enabled", iso.enabled, "isolation"))) return s;
    if (!(s = read_text(*it, "table", iso.table, "isolation", false))) return s;
    if (!(s = read_bool(*it, "isolate_owners", iso.isolate_owners, "isolation"))) return s;
    if (!(s = read_bool(*it, "masquerade", iso.masquerade, "isolation"))) return s;
    if (!(s = read_text(*it, "nft", iso.nft, "isolation", false))) return s;
    if (!(s = read_list(*it, "host_ports", iso.host_ports, parse_host_port,
                        "\"tcp/PORT\" or \"udp/PORT\" strings with PORT from 1 to 65535")))
      return s;
    if (!(s = read_list(*it, "deny_destinations", iso.deny_destinations, network::parse_cidr,
                        "\"A.B.C.D/N\" network strings (N from 0 to 32, no host bits set)")))
      return s;
  }
  if (!network::valid_nft_table_name(iso.table))
    return config_error("isolation.table", "must be 1-32 characters of a-z, 0-9 and '_'");
  if (iso.nft.empty() || iso.nft.front() != '/') return config_error("isolation.nft", "must be an absolute path");
  if (!iso.enabled) return {};
  // Both tables of the forwards and of the isolation are `inet`: one name would make each
  // install delete the other's rules.
  if (iso.table == c.ports.table) return config_error("isolation.table", "must differ from ports.table");
  // Rendered between quotes into the ruleset.
  if (!network::valid_interface_name(c.network.bridge))
    return config_error("network.bridge", "must be 1-15 characters of A-Z a-z 0-9 _ . - with isolation enabled");
  return {};
}

}  // namespace lxcprov::config::detail
