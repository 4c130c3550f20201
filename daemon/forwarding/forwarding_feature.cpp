#include "forwarding/forwarding_feature.hpp"

#include <map>

#include <fmt/format.h>

#include "fleet/node_routes.hpp"
#include "forwarding/nft_ruleset.hpp"
#include "network/ip_pool.hpp"
#include "network/protocols.hpp"

namespace lxcprov::forwarding {

Status ForwardingFeature::reserve(const jobs::JobContext& ctx, state::NewContainer& container) {
  const auto& p = config_.ports;
  container.ports.push_back({"SSH", "tcp", 22, p.ssh_first, p.ssh_last});
  for (const auto& name : ctx.request.extra_protocols) {
    const auto* proto = network::find_protocol(config_.protocols, name);
    if (!proto) return make_error(Errc::invalid_argument, "EXTRA_PROTOCOLS: " + name + " is not in the catalog");
    for (const auto& pp : proto->ports)
      container.ports.push_back({proto->name, pp.proto, pp.port, p.extra_first, p.extra_last});
  }
  return {};
}

void ForwardingFeature::create_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) {
  out.push_back({jobs::Phase::with_start,
                 {"ports", [this] { return sync(); },
                  [this, &ctx] {
                    if (auto s = store_.release_ports(ctx.request.container_name); !s) return s;
                    return sync();
                  }}});
}

void ForwardingFeature::delete_steps(jobs::JobContext&, std::vector<jobs::PhasedStep>& out) {
  out.push_back({jobs::Phase::after_release, {"unforward", [this] { return sync(); }, {}}});
}

Status ForwardingFeature::converge() {
  std::lock_guard lock(mutex_);
  table_.forget();
  return sync_locked(true);
}

Status ForwardingFeature::refresh() {
  std::lock_guard lock(mutex_);
  return sync_locked(true);
}

Status ForwardingFeature::sync() {
  std::lock_guard lock(mutex_);
  return sync_locked(false);
}

Status ForwardingFeature::sync_locked(bool read_nodes) {
  auto ports = store_.list_ports();
  if (!ports) return ports.error();
  auto containers = store_.list_containers("");
  if (!containers) return containers.error();
  std::map<std::string, uint32_t> ip_of;
  for (const auto& c : *containers) {
    if (!config_.fleet.serves(c.node)) continue;
    if (auto ip = network::parse_ipv4(c.ip)) ip_of[c.name] = *ip;
  }
  std::vector<forwarding::Forward> forwards;
  for (const auto& p : *ports) {
    auto it = ip_of.find(p.container);
    if (it == ip_of.end()) continue;  // another node's, or a rule to nowhere
    forwards.push_back({p.container, p.service, p.proto, p.public_port, it->second, p.container_port});
  }
  forwarding::NftOptions options;
  options.table = config_.ports.table;
  if (!config_.ports.public_address.empty())
    options.public_address = network::parse_ipv4(config_.ports.public_address).value_or(0);
  options.prefix = config_.pool.prefix_length();
  options.subnet = config_.pool.subnet();
  options.masquerade = config_.ports.masquerade;
  // With isolation on, its table NATs the egress (also when forwards are off); only hairpin here.
  options.masquerade_egress = !config_.isolation.enabled;
  // The other nodes' subnets are read again only when the registry may have changed (start-up,
  // and the entry's refresh on each beat or notification), not in every create's step.
  if (read_nodes && nodes_ != nullptr && config_.fleet.entry.enabled) {
    auto nodes = nodes_->list_nodes();
    if (!nodes) return nodes.error();
    std::vector<network::Cidr> remote;
    for (const auto& r : fleet::node_routes(*nodes, config_.fleet.node, {options.subnet, options.prefix}).routes)
      remote.push_back(r.subnet);
    // The maps' elements are synced by difference; other subnets render the table whole.
    if (remote != remote_) table_.forget();
    remote_ = std::move(remote);
  }
  options.remote_subnets = remote_;
  // Isolation keeps owners apart on one bridge; the routes must not open the other nodes' to
  // this host's containers.
  options.isolate_remote = config_.isolation.enabled;
  const auto elements = forwarding::forward_elements(options.table, forwards);
  return table_.sync(elements, [&] { return forwarding::render_nft_table(options, elements); });
}

void ForwardingFeature::describe(const state::ContainerRecord& rec, std::vector<std::string>& lines) const {
  for (const auto& p : rec.ports)
    if (p.service == "SSH")
      lines.push_back(fmt::format("  ssh:   ssh -p {} root@{}", p.public_port, config_.public_host));
  for (const auto& p : rec.ports)
    if (p.service != "SSH")
      lines.push_back(fmt::format("  {}:  {}:{}/{} -> container port {}", p.service, config_.public_host, p.public_port,
                                  p.proto, p.container_port));
}

}  // namespace lxcprov::forwarding
