#include "network/kernel_routes.hpp"

#include <algorithm>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "network/ip_pool.hpp"

namespace lxcprov::network {

Result<std::vector<KernelRoute>> parse_ip_routes(std::string_view text) {
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_array()) return make_error(Errc::invalid_argument, "`ip -json route` printed no JSON array");
  std::vector<KernelRoute> out;
  for (const auto& r : json) {
    if (!r.is_object()) continue;
    const auto dst = r.find("dst");
    const auto gateway = r.find("gateway");
    if (dst == r.end() || gateway == r.end() || !dst->is_string() || !gateway->is_string()) continue;
    std::string d = dst->get<std::string>();
    if (d.find('/') == std::string::npos) d += "/32";  // ip prints a host route without its /32
    auto cidr = parse_cidr(d);
    auto via = parse_ipv4(gateway->get<std::string>());
    if (cidr && via) out.push_back({*cidr, *via});
  }
  return out;
}

RouteChanges route_changes(const std::vector<KernelRoute>& installed, const std::vector<KernelRoute>& desired,
                           const std::vector<Cidr>& keep) {
  auto key = [](const Cidr& c) { return (uint64_t{c.address} << 8) | static_cast<uint64_t>(c.prefix); };
  std::map<uint64_t, KernelRoute> want, have;
  for (const auto& r : desired) want.emplace(key(r.dst), r);
  for (const auto& r : installed) have.emplace(key(r.dst), r);
  RouteChanges out;
  for (const auto& [k, r] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second.gateway != r.gateway) out.replace.push_back(r);
  }
  for (const auto& [k, r] : have)
    if (!want.count(k) && std::find(keep.begin(), keep.end(), r.dst) == keep.end()) out.remove.push_back(r.dst);
  return out;
}

}  // namespace lxcprov::network
