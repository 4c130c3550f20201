#include "network/ip_routes.hpp"

#include <netdb.h>
#include <netinet/in.h>

#include <chrono>

#include <fmt/format.h>

#include "network/ip_pool.hpp"

namespace lxcprov::network {

Result<std::string> IpRoutes::run(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {ip_};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = host_.run(argv, "", std::chrono::seconds(10));
  if (!r) return r.error();
  if (r->exit_status != 0) {
    std::string said = r->output;
    while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
    return make_error(Errc::io,
                      fmt::format("`ip {}` failed: {}", args.size() > 1 ? args[0] + " " + args[1] : "", said));
  }
  return std::move(r->output);
}

Status IpRoutes::sync(const std::vector<KernelRoute>& desired, const std::vector<Cidr>& keep) {
  std::lock_guard lock(mutex_);
  const std::string proto = std::to_string(kRouteProtocol);
  auto listed = run({"-json", "route", "show", "proto", proto});
  if (!listed) return listed.error();
  auto installed = parse_ip_routes(*listed);
  if (!installed) return installed.error();
  const RouteChanges changes = route_changes(*installed, desired, keep);
  const std::string metric = std::to_string(kRouteMetric);
  Status first;
  for (const auto& r : changes.replace) {
    auto done =
        run({"route", "replace", format_cidr(r.dst), "via", format_ipv4(r.gateway), "proto", proto, "metric", metric});
    if (!done && first)
      first = make_error(Errc::io, fmt::format("route to {}: {}", format_cidr(r.dst), done.error().message));
  }
  for (const auto& dst : changes.remove) {
    auto done = run({"route", "del", format_cidr(dst), "proto", proto, "metric", metric});
    if (!done && first)
      first = make_error(Errc::io, fmt::format("route to {}: {}", format_cidr(dst), done.error().message));
  }
  return first;
}

Result<uint32_t> resolve_ipv4(const std::string& host) {
  if (auto ip = parse_ipv4(host)) return *ip;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr)
    return make_error(Errc::not_found, fmt::format("{} has no IPv4 address", host));
  const auto* in = reinterpret_cast<const sockaddr_in*>(found->ai_addr);
  const uint32_t ip = ntohl(in->sin_addr.s_addr);
  ::freeaddrinfo(found);
  return ip;
}

}  // namespace lxcprov::network
