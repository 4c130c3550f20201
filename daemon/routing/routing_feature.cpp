#include "routing/routing_feature.hpp"

#include <fmt/format.h>

#include "network/ip_pool.hpp"
#include "routing/nginx_routes.hpp"

namespace lxcprov::routing {

void RoutingFeature::create_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) {
  out.push_back({jobs::Phase::with_start,
                 {"route", [this] { return sync(""); }, [this, &ctx] { return sync(ctx.request.container_name); }}});
}

void RoutingFeature::delete_steps(jobs::JobContext&, std::vector<jobs::PhasedStep>& out) {
  out.push_back({jobs::Phase::after_release, {"unroute", [this] { return sync(""); }, {}}});
}

void RoutingFeature::update_steps(jobs::JobContext&, std::vector<jobs::PhasedStep>& out) {
  out.push_back({jobs::Phase::after_update, {"reroute", [this] { return sync(""); }, {}}});
}

Status RoutingFeature::sync(const std::string& exclude) {
  std::lock_guard lock(mutex_);
  auto containers = store_.list_containers("");
  if (!containers) return containers.error();
  std::vector<routing::Route> routes;
  for (const auto& c : *containers) {
    if (c.name == exclude || c.state == state::ContainerState::deleting || !config_.fleet.serves(c.node)) continue;
    if (auto ip = network::parse_ipv4(c.ip)) routes.push_back({c.name, *ip, c.http_port});
  }
  routing::NginxOptions options;
  options.domain = config_.http.domain;
  if (!config_.http.listen_address.empty())
    options.listen_address = network::parse_ipv4(config_.http.listen_address).value_or(0);
  options.listen_port = config_.http.listen_port;
  if (config_.http.tls)
    options.tls =
        routing::NginxTls{config_.http.tls->certificate, config_.http.tls->key, config_.http.tls->listen_port};
  return nginx_.install(routing::render_nginx_routes(options, std::move(routes)));
}

void RoutingFeature::describe(const state::ContainerRecord& rec, std::vector<std::string>& lines) const {
  // With TLS the plain-http URL only redirects, so the https one is the address to give out.
  const bool tls = config_.http.tls.has_value();
  const uint16_t listen = tls ? config_.http.tls->listen_port : config_.http.listen_port;
  const std::string port = listen == (tls ? 443 : 80) ? "" : fmt::format(":{}", listen);
  lines.push_back(fmt::format("  http:  {}://{}.{}{}/   (to port {} in the container)", tls ? "https" : "http",
                              rec.name, config_.http.domain, port, rec.http_port));
}

}  // namespace lxcprov::routing
